//! `examples/prometheus/`: the recording and alerting rules pass `promtool check rules` and
//! their unit tests (`promtool test rules`), and every metric they use is one neuro-deploy
//! pushes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::process::Command;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/prometheus")
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new(neuro_deploy_testkit::monitoring::binary("promtool"))
        .args(args)
        .current_dir(examples())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_rules_are_valid_and_their_unit_tests_pass() {
    let checked = promtool(&["check", "rules", "neuro-deploy.rules.yml"]);
    assert!(checked.contains("SUCCESS: 6 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "neuro-deploy.rules.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn every_metric_the_rules_use_is_one_neuro_deploy_pushes() {
    let rules = std::fs::read_to_string(examples().join("neuro-deploy.rules.yml")).unwrap();
    let used: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("neuro_deploy_"))
        .collect();
    assert!(used.len() >= 6, "{used:?}");
    let pushed: Vec<&str> = neuro_deploy_core::telemetry::METRICS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    for name in used {
        assert!(
            pushed.contains(&name),
            "{name} is not a metric neuro-deploy pushes: {pushed:?}"
        );
    }
}
