//! The configuration's rules, one test each.

use super::*;

fn reject(text: &str) -> String {
    Config::from_toml(text, "test.toml")
        .expect_err("must be rejected")
        .to_string()
}

#[test]
fn defaults_equal_the_seed() {
    let c = Config::default();
    assert_eq!(c.git.main_branch, "main");
    let ns: Vec<&str> = c
        .environments
        .iter()
        .map(|e| e.namespace.as_str())
        .collect();
    assert_eq!(ns, ["dev", "staging", "leaf-neuro-ui"]);
    assert_eq!(c.queues.names, ["sqs_studioml_gorunner_cpu_production_0"]);
    assert_eq!(c.queues.regions, ["us-west-2", "us-east-2"]);
    assert_eq!(
        c.production().map(|e| e.promote_from.as_deref()),
        Some(Some("staging"))
    );
    assert!(c.validate("built-in").is_ok());
    assert_eq!(
        Config::from_toml("", "empty").expect("empty file is defaults"),
        c
    );
}

#[test]
fn example_file_equals_defaults() {
    let text = include_str!("../../../examples/neuro-deploy.toml");
    let parsed = Config::from_toml(text, "examples/neuro-deploy.toml").expect("example parses");
    assert_eq!(parsed, Config::default());
}

#[test]
fn to_toml_round_trips() {
    let c = Config::default();
    assert_eq!(
        Config::from_toml(&c.to_toml(), "rendered").expect("parses"),
        c
    );
}

#[test]
fn unknown_keys_are_named() {
    let msg = reject("[queues]\nwindw = \"60s\"\n");
    assert!(msg.contains("windw"), "{msg}");
    let top = reject("colour = 1\n");
    assert!(top.contains("colour"), "{top}");
}

#[test]
fn empty_namespace_is_rejected() {
    let msg = reject("[[environments]]\nname = \"dev\"\nnamespace = \"\"\ntrigger = \"merge\"\n");
    assert!(msg.contains("environments[0].namespace"), "{msg}");
}

#[test]
fn duplicate_environments_are_rejected() {
    let msg = reject(
        "[[environments]]\nname = \"dev\"\nnamespace = \"a\"\ntrigger = \"merge\"\n\
         [[environments]]\nname = \"dev\"\nnamespace = \"b\"\ntrigger = \"manual\"\n",
    );
    assert!(msg.contains("defined twice"), "{msg}");
}

#[test]
fn production_needs_a_source() {
    let msg = reject(
        "[[environments]]\nname = \"production\"\nnamespace = \"p\"\ntrigger = \"manual\"\n",
    );
    assert!(msg.contains("promote_from"), "{msg}");
    let unknown = reject(
        "[[environments]]\nname = \"production\"\nnamespace = \"p\"\ntrigger = \"manual\"\npromote_from = \"qa\"\n",
    );
    assert!(unknown.contains("`qa`"), "{unknown}");
}

#[test]
fn nonsense_durations_are_rejected() {
    assert!(reject("[queues]\npoll = \"0s\"\n").contains("queues.poll"));
    assert!(reject("[queues]\npoll = \"soon\"\n").contains("not a duration"));
    assert!(reject("[rollout]\ntimeout = \"0s\"\n").contains("rollout.timeout"));
    assert!(
        reject("[lock]\nlease = \"60s\"\nrenew_every = \"40s\"\n").contains("lock.renew_every")
    );
}

#[test]
fn overrides_are_validated() {
    let c = Config::default()
        .with_queue_overrides(QueueGateOverrides {
            window: Some(Duration::ZERO),
            timeout: Some(Duration::ZERO),
            poll: None,
        })
        .expect("look-once is valid");
    assert_eq!(c.queues.samples_needed(), 1);
    // A timeout shorter than the window bounds only the wait for a drain; it is valid.
    let short = Config::default().with_queue_overrides(QueueGateOverrides {
        timeout: Some(Duration::ZERO),
        ..Default::default()
    });
    assert!(short.is_ok(), "{short:?}");
    let bad = Config::default().with_queue_overrides(QueueGateOverrides {
        poll: Some(Duration::ZERO),
        ..Default::default()
    });
    assert!(bad.is_err());
}

#[test]
fn branch_globs() {
    let c = Config::default();
    assert!(c.is_release_branch("main"));
    assert!(c.is_release_branch("hotfix/v1.4.1"));
    assert!(!c.is_release_branch("feature/x"));
    assert!(!c.is_release_branch("mainline"));
    assert!(glob_match("a*b*c", "axxbyyc"));
    assert!(!glob_match("a*b", "ab/c"));
}
