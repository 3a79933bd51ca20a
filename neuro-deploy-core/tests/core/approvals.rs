//! Approvals by authenticated people: the policy's gate (distinct people, of this version and
//! digest, unexpired, never the runner's own, a rollback exempt).

use neuro_deploy_core::config::ApprovalsConfig;
use neuro_deploy_core::model::{Approval, GuardState};
use neuro_deploy_core::{Config, Event, Fact, Facts, ReasonCode, Step, decide};

use crate::policy::{plan, refused};
use crate::support::*;

pub const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// The default environments, production needing `required` approvals for a day.
pub fn needing_approvals(required: u32) -> Config {
    let mut config = config();
    for env in &mut config.environments {
        if env.name == "production" {
            env.approvals = Some(ApprovalsConfig::new(required));
        }
    }
    config
}

pub fn approval(by: &str, digest: &str, at: &str) -> Approval {
    Approval {
        version: "v1.4.0".into(),
        digest: Some(digest.into()),
        by: by.into(),
        at: instant(at),
        reason: String::new(),
    }
}

/// A promotion of v1.4.0 (pinned to [`DIGEST`] on staging) run by carol at noon, with
/// `approvals` on record.
fn promotion(approvals: Vec<Approval>) -> Facts {
    let mut facts = known(app("v1.3.0"));
    facts.source_workloads = Fact::Known(app_pinned("v1.4.0", DIGEST));
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    facts.now = Fact::Known("2026-11-29T12:00:00Z".parse().unwrap());
    facts.actor = Fact::Known("carol".into());
    facts.guard = Fact::Known(GuardState {
        approvals,
        ..GuardState::default()
    });
    facts
}

const EARLIER: &str = "2026-11-29T09:00:00Z";

#[test]
fn two_people_s_approvals_of_the_version_and_digest_let_a_promotion_through() {
    let facts = promotion(vec![
        approval("alice", DIGEST, EARLIER),
        approval("bob", DIGEST, EARLIER),
    ]);
    let plan = plan(decide(&promote("v1.4.0"), &needing_approvals(2), &facts));
    assert_eq!(plan.notes.approved_by, ["alice", "bob"]);
    let gate = plan
        .steps()
        .into_iter()
        .find(|s| matches!(s.step, Step::GateApprovals { .. }))
        .expect("the gate is a step");
    assert!(
        gate.reason.contains("approved by alice, bob"),
        "{}",
        gate.reason
    );
}

#[test]
fn one_approval_is_not_two_and_the_refusal_names_who_and_how_many_more() {
    let facts = promotion(vec![approval("alice", DIGEST, EARLIER)]);
    let message = refused(
        decide(&promote("v1.4.0"), &needing_approvals(2), &facts),
        ReasonCode::ApprovalRequired,
    );
    for needed in [
        "approved by alice",
        "1 more needed",
        "neuro-deploy approve v1.4.0 --env production",
        "carol",
    ] {
        assert!(message.contains(needed), "`{needed}` missing: {message}");
    }
    // The same person twice is one person.
    let facts = promotion(vec![
        approval("alice", DIGEST, EARLIER),
        approval("alice", DIGEST, "2026-11-29T10:00:00Z"),
    ]);
    refused(
        decide(&promote("v1.4.0"), &needing_approvals(2), &facts),
        ReasonCode::ApprovalRequired,
    );
}

#[test]
fn the_promoter_s_own_approval_another_digest_and_an_expired_one_do_not_count() {
    let cases = [
        (
            approval("carol", DIGEST, EARLIER),
            "nobody approves their own deploy",
        ),
        (approval("bob", OTHER, EARLIER), "of another image digest"),
        (approval("bob", DIGEST, "2026-11-28T11:59:59Z"), "expired"),
    ];
    for (second, why) in cases {
        let facts = promotion(vec![approval("alice", DIGEST, EARLIER), second]);
        let message = refused(
            decide(&promote("v1.4.0"), &needing_approvals(2), &facts),
            ReasonCode::ApprovalRequired,
        );
        assert!(message.contains(why), "`{why}` missing: {message}");
    }
}

#[test]
fn a_rollback_needs_no_approval_and_an_offline_plan_says_they_are_checked_at_run_time() {
    let mut facts = rollback_facts("2026-11-29T12:00:00Z");
    facts.actor = Fact::Known("carol".into());
    facts.guard = Fact::Known(GuardState::default());
    let rollback = Event::Rollback {
        env: "production".into(),
        skip_queue_gate: None,
    };
    let plan = crate::policy::plan(decide(&rollback, &needing_approvals(2), &facts));
    assert!(plan.notes.approved_by.is_empty());
    let offline = crate::policy::plan(decide(
        &promote("v1.4.0"),
        &needing_approvals(2),
        &Facts::unknown(),
    ));
    assert!(
        offline
            .steps()
            .into_iter()
            .any(|s| s.reason.contains("2 approvals") && s.reason.contains("checked at run time")),
        "{offline:#?}"
    );
}

#[test]
fn approvals_need_at_least_one_person_and_an_expiry() {
    let file = |section: &str| dev_config_with(&format!("[environments.approvals]\n{section}"));
    for (section, key) in [
        ("required = 0", "environments[0].approvals.required"),
        (
            "required = 1\nexpire = \"0s\"",
            "environments[0].approvals.expire",
        ),
        ("required = -1", "environments[0].approvals.required"),
    ] {
        let error = Config::from_toml(&file(section), "neuro-deploy.toml")
            .expect_err(section)
            .to_string();
        assert!(error.contains(key), "`{key}` missing: {error}");
    }
}

#[test]
fn only_the_named_approvers_count_and_the_refusal_says_whose_did_not() {
    let mut config = needing_approvals(2);
    for env in &mut config.environments {
        if let Some(approvals) = &mut env.approvals {
            approvals.approvers = vec!["alice".into(), "bob".into(), "dave".into()];
        }
    }
    // mallory approved too, but she is not an approver of production.
    let facts = promotion(vec![
        approval("alice", DIGEST, EARLIER),
        approval("mallory", DIGEST, EARLIER),
    ]);
    let message = refused(
        decide(&promote("v1.4.0"), &config, &facts),
        ReasonCode::ApprovalRequired,
    );
    assert!(
        message.contains("approved by alice")
            && message.contains("1 more needed")
            && message.contains(
                "mallory at 2026-11-29T09:00:00Z (not one of `production`'s approvers: alice, bob, dave)"
            ),
        "{message}"
    );
    // bob is one.
    let facts = promotion(vec![
        approval("alice", DIGEST, EARLIER),
        approval("bob", DIGEST, EARLIER),
        approval("mallory", DIGEST, EARLIER),
    ]);
    let plan = plan(decide(&promote("v1.4.0"), &config, &facts));
    assert_eq!(plan.notes.approved_by, ["alice", "bob"]);
}

#[test]
fn approvers_fewer_than_the_approvals_required_or_empty_are_a_config_error() {
    for (approvers, problem) in [
        (vec!["alice"], "names 1 people but 2 approvals are required"),
        (vec!["alice", " "], "names an empty user"),
    ] {
        let mut config = needing_approvals(2);
        for env in &mut config.environments {
            if let Some(approvals) = &mut env.approvals {
                approvals.approvers = approvers.iter().map(|a| (*a).to_owned()).collect();
            }
        }
        let problems = config
            .validate("neuro-deploy.toml")
            .expect_err("refused")
            .to_string();
        assert!(
            problems.contains("approvals.approvers") && problems.contains(problem),
            "{problems}"
        );
    }
}
