//! The configuration's rules, one test each.

use std::time::Duration;

use super::{Config, NotifyFormat, NotifyOn, RunOverrides, glob_match};

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
        .with_overrides(RunOverrides {
            queue_window: Some(Duration::ZERO),
            queue_timeout: Some(Duration::ZERO),
            ..RunOverrides::default()
        })
        .expect("look-once is valid");
    assert_eq!(c.queues.samples_needed(), 1);
    // A timeout shorter than the window bounds only the wait for a drain; it is valid.
    let short = Config::default().with_overrides(RunOverrides {
        queue_timeout: Some(Duration::ZERO),
        ..Default::default()
    });
    assert!(short.is_ok(), "{short:?}");
    let bad = Config::default().with_overrides(RunOverrides {
        queue_poll: Some(Duration::ZERO),
        ..Default::default()
    });
    assert!(bad.is_err());
    let c = Config::default()
        .with_overrides(RunOverrides {
            rollout_timeout: Some(Duration::from_secs(90)),
            lock_wait: Some(Duration::from_secs(30)),
            ..Default::default()
        })
        .expect("valid");
    assert_eq!(c.rollout.timeout, Duration::from_secs(90));
    assert_eq!(c.lock.wait, Duration::from_secs(30));
    let bad = Config::default().with_overrides(RunOverrides {
        rollout_timeout: Some(Duration::ZERO),
        ..Default::default()
    });
    assert!(bad.unwrap_err().to_string().contains("rollout.timeout"));
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

const STAGING_WITH_CHECKS: &str = r#"
[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"
url = "https://staging.neuro-ui.example"
[environments.verify]
http = ["https://staging.neuro-ui.example/healthz"]
for = "2m"
every = "10s"

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
"#;

#[test]
fn verification_reads_like_the_file_and_its_rules_name_the_key() {
    let config = Config::from_toml(STAGING_WITH_CHECKS, "test.toml").expect("valid");
    let verify = config
        .environment("staging")
        .and_then(|e| e.verify.as_ref())
        .expect("verify");
    assert_eq!(verify.window, Duration::from_secs(120));
    assert_eq!(verify.every, Duration::from_secs(10));
    assert_eq!(verify.probe_timeout(), Duration::from_secs(5));
    // `config show` writes it back the way it was read.
    let shown = toml::to_string(&config).expect("serializes");
    assert!(shown.contains("for = \"2m\""), "{shown}");

    let no_urls = STAGING_WITH_CHECKS.replace(
        "http = [\"https://staging.neuro-ui.example/healthz\"]",
        "http = []",
    );
    let nothing = reject(&no_urls);
    assert!(
        nothing.contains("environments[0].verify") && nothing.contains("must check something"),
        "{nothing}"
    );
    let not_web =
        STAGING_WITH_CHECKS.replace("https://staging.neuro-ui.example/healthz", "ftp://x");
    assert!(reject(&not_web).contains("environments[0].verify.http"));
    let too_rare = STAGING_WITH_CHECKS.replace("every = \"10s\"", "every = \"5m\"");
    assert!(reject(&too_rare).contains("environments[0].verify.every"));
    let bad_url = STAGING_WITH_CHECKS.replace(
        "url = \"https://staging.neuro-ui.example\"",
        "url = \"staging\"",
    );
    assert!(reject(&bad_url).contains("environments[0].url"));
}

#[test]
fn deployments_need_the_repository_and_notify_on_must_list_something() {
    assert!(reject("[git]\ndeployments = true\n").contains("git.deployments"));
    assert!(
        Config::from_toml(
            "[git]\ndeployments = true\nrepository = \"o/r\"\n",
            "test.toml"
        )
        .is_ok()
    );
    assert!(reject("[notify]\non = []\n").contains("notify.on"));
    assert!(reject("[notify]\non = [\"sometimes\"]\n").contains("notify.on"));
    let config = Config::from_toml(
        "[notify]\nformat = \"json\"\non = [\"rolled_back\", \"lock_held\"]\n",
        "test.toml",
    )
    .expect("valid");
    assert_eq!(config.notify.format, NotifyFormat::Json);
    assert_eq!(
        config.notify.on,
        Some(vec![NotifyOn::RolledBack, NotifyOn::LockHeld])
    );
}

#[test]
fn regions_selectors_and_a_window_that_cannot_be_met_are_refused_all_at_once() {
    let error = Config::from_toml(
        "[app]\nselector = \"app==\"\n[queues]\nregions = [\"us-west2\", \"us-east-2\"]\nwindow = \"30s\"\npoll = \"20s\"\nmin_samples = 3\n",
        "test.toml",
    )
    .expect_err("three problems");
    let text = error.to_string();
    let keys: Vec<Option<&str>> = error.problems().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            Some("app.selector"),
            Some("queues.regions[0]"),
            Some("queues.window")
        ],
        "{text}"
    );
    assert!(text.starts_with("test.toml: 3 problems:"), "{text}");
    assert!(
        text.contains("`us-west2` is not an AWS region name"),
        "{text}"
    );
    assert!(
        text.contains("3 samples `queues.poll` (20s) apart span 40s"),
        "{text}"
    );
}

#[test]
fn label_selectors_follow_kubernetes() {
    for good in [
        "app.kubernetes.io/part-of=neuro-ui",
        "app==web",
        "tier in (web, worker)",
        "app=web,!legacy",
        "app=web,env!=dev",
    ] {
        let text = format!("[app]\nselector = \"{good}\"\n");
        assert!(Config::from_toml(&text, "t").is_ok(), "{good}");
    }
    for bad in [
        "app==",
        "=web",
        "app=we b",
        "tier in web",
        "!legacy",
        "app=web,",
        "-app=x",
    ] {
        let text = format!("[app]\nselector = \"{bad}\"\n");
        let error = reject(&text);
        assert!(error.contains("app.selector"), "{bad}: {error}");
    }
}

#[test]
fn the_defaults_warn_about_what_a_real_run_needs() {
    let warnings = Config::default().warnings();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].contains("`registry.region`"), "{warnings:#?}");
    assert!(warnings[1].contains("`git.repository`"), "{warnings:#?}");
    let complete = Config::from_toml(
        "[git]\nrepository = \"o/r\"\n[registry]\nregion = \"us-west-2\"\nuri = \"1.dkr.ecr.us-west-2.amazonaws.com/neuro-ui\"\n",
        "t",
    )
    .expect("valid");
    assert!(complete.warnings().is_empty());
}
