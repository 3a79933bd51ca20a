//! The minimum soak time: a promotion takes a version only once it has run in the source for
//! `min_soak`, counted from the deploy recorded on the source's Deployments.

use std::time::Duration;

use neuro_deploy_core::{Config, Decision, Fact, ReasonCode, Step, Workload, decide};

use crate::policy::{plan, refused};
use crate::support::*;

/// Production with a 30-minute soak after staging.
pub(crate) fn soaking() -> Config {
    let mut config = config();
    let production = config
        .environments
        .iter_mut()
        .find(|env| env.promote_from.is_some())
        .expect("a production environment");
    production.min_soak = Duration::from_secs(30 * 60);
    config
}

/// Staging's app, running `tag` as deployed by neuro-deploy at `at`.
pub(crate) fn deployed_at(tag: &str, at: &str) -> Vec<Workload> {
    let mut workloads = app(tag);
    for workload in &mut workloads {
        workload.audit.version = Some(tag.to_owned());
        workload.audit.deployed_at = Some(instant(at));
    }
    workloads
}

fn facts(staging: Vec<Workload>, now: &str) -> neuro_deploy_core::Facts {
    let mut facts = known(app("v1.3.0"));
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    facts.source_workloads = Fact::Known(staging);
    facts.now = Fact::Known(instant(now));
    facts
}

/// The plan's soak step.
fn soak_step(plan: &neuro_deploy_core::Plan) -> &neuro_deploy_core::PlannedStep {
    plan.steps()
        .into_iter()
        .find(|s| s.step.kind() == "gate_soak")
        .expect("a soak step")
}

/// Why promoting v1.4.0 at `now`, with staging as given, is refused `soak_not_met`.
fn soak_refusal(staging: Vec<Workload>, now: &str) -> String {
    refused(
        decide(&promote("v1.4.0"), &soaking(), &facts(staging, now)),
        ReasonCode::SoakNotMet,
    )
}

#[test]
fn a_version_that_has_not_soaked_is_refused_naming_since_when_and_the_instant_it_is_allowed() {
    let staging = deployed_at("v1.4.0", "2026-12-03T09:00:00+05:00");
    let why = soak_refusal(staging, "2026-12-03T04:10:00Z");
    assert!(
        why.contains("since 2026-12-03T04:00:00Z")
            && why.contains("at 2026-12-03T04:30:00Z (UTC)")
            && why.contains("--skip-soak --reason"),
        "{why}"
    );
    assert_eq!(
        ReasonCode::SoakNotMet.exit_code(),
        neuro_deploy_core::ExitStatus::Refused
    );
}

#[test]
fn once_it_has_soaked_the_promotion_goes_ahead_and_the_plan_says_so() {
    // Of two Deployments deployed a minute apart, the later one counts.
    let mut staging = deployed_at("v1.4.0", "2026-12-03T04:00:00Z");
    staging[1].audit.deployed_at = Some(instant("2026-12-03T04:01:00Z"));
    soak_refusal(staging.clone(), "2026-12-03T04:30:30Z");
    let plan = plan(decide(
        &promote("v1.4.0"),
        &soaking(),
        &facts(staging, "2026-12-03T04:31:00Z"),
    ));
    let soak = soak_step(&plan);
    assert!(
        soak.reason.contains("since 2026-12-03T04:01:00Z"),
        "{}",
        soak.reason
    );
    let Step::Gate { detail, .. } = &soak.step else {
        panic!("{soak:?}");
    };
    assert_eq!(detail["allowed_at"], "2026-12-03T04:31:00Z");
    assert_eq!(plan.notes.overridden(), None);
}

#[test]
fn a_deploy_time_that_is_not_recorded_is_refused_with_the_fix() {
    let mut staging = deployed_at("v1.4.0", "2026-12-01T00:00:00Z");
    // Set by hand: the record is of another version.
    staging[1].audit.version = Some("v1.3.0".into());
    let why = soak_refusal(staging, "2026-12-03T04:00:00Z");
    assert!(
        why.contains("neuro-ui-api")
            && why.contains("redeploy v1.4.0 to `staging`")
            && why.contains("--skip-soak --reason TEXT"),
        "{why}"
    );
}

#[test]
fn skip_soak_lets_it_through_on_the_record() {
    let staging = deployed_at("v1.4.0", "2026-12-03T04:00:00Z");
    let mut facts = facts(staging, "2026-12-03T04:05:00Z");
    facts
        .overrides
        .insert("skip-soak".into(), "fix for incident 7".into());
    let plan = plan(decide(&promote("v1.4.0"), &soaking(), &facts));
    let note = plan.notes.overridden().expect("the skip is on the record");
    assert!(
        note.contains("--skip-soak: fix for incident 7") && note.contains("5m"),
        "{note}"
    );
    // The flag skips the soak and nothing else: a version staging does not run is refused.
    let mut other = facts.clone();
    other.source_workloads = Fact::Known(deployed_at("v1.3.0", "2026-12-01T00:00:00Z"));
    refused(
        decide(&promote("v1.4.0"), &soaking(), &other),
        ReasonCode::NotVerifiedOnStaging,
    );
}

#[test]
fn offline_the_plan_says_the_soak_is_checked_at_run_time_and_without_a_minimum_there_is_no_gate() {
    let plan = plan(decide(
        &promote("v1.4.0"),
        &soaking(),
        &neuro_deploy_core::Facts::unknown(),
    ));
    let soak = soak_step(&plan);
    assert!(
        soak.reason.contains("at least 30m — checked at run time"),
        "{}",
        soak.reason
    );
    let Decision::Proceed(plain) = decide(
        &promote("v1.4.0"),
        &config(),
        &neuro_deploy_core::Facts::unknown(),
    ) else {
        panic!("a plan");
    };
    assert!(
        plain
            .steps()
            .into_iter()
            .all(|s| s.step.kind() != "gate_soak")
    );
}
