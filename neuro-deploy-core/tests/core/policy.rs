//! The release policy table, row by row, positive and negative.

use neuro_deploy_core::policy::{ImageAction, Intent, version_being_replaced};
use neuro_deploy_core::{
    Decision, DeployTarget, Event, ExitStatus, Fact, Facts, Plan, ReasonCode, Step, decide,
};

use crate::support::*;

pub(crate) fn plan(decision: Decision) -> Plan {
    match decision {
        Decision::Proceed(plan) => plan,
        other => panic!("expected a plan, got {other:?}"),
    }
}

pub(crate) fn refused(decision: Decision, code: ReasonCode) -> String {
    match decision {
        Decision::Refuse(reason) if reason.code == code => reason.message,
        other => panic!("expected refusal {code}, got {other:?}"),
    }
}

fn ignored(decision: Decision, code: ReasonCode) -> String {
    match decision {
        Decision::Ignore(reason) if reason.code == code => reason.message,
        other => panic!("expected ignore {code}, got {other:?}"),
    }
}

fn kinds(plan: &Plan) -> Vec<&str> {
    plan.steps().into_iter().map(|s| s.step.kind()).collect()
}

fn image_action(plan: &Plan) -> ImageAction {
    plan.steps()
        .into_iter()
        .find_map(|s| match &s.step {
            Step::EnsureImage { action, .. } => Some(action.clone()),
            _ => None,
        })
        .expect("plan has an ensure_image step")
}

fn set_image_changes(plan: &Plan) -> Vec<(String, String, String)> {
    plan.steps()
        .into_iter()
        .find_map(|s| match &s.step {
            Step::SetImage {
                changes: Some(c), ..
            } => Some(
                c.iter()
                    .map(|c| (c.workload.clone(), c.container.clone(), c.image.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .expect("plan has known changes")
}

// ---- merge ----

#[test]
fn merge_to_main_offline_deploys_short_sha_to_dev() {
    let p = plan(decide(&merged("main"), &config(), &Facts::unknown()));
    assert_eq!(p.namespace, "dev");
    assert_eq!(p.environment.as_deref(), Some("dev"));
    assert_eq!(p.version.as_deref(), Some(SHORT));
    assert_eq!(
        kinds(&p),
        [
            "ensure_image",
            "acquire_lock",
            "set_image",
            "await_rollout",
            "release_lock"
        ]
    );
    assert!(matches!(
        image_action(&p),
        ImageAction::Resolve {
            from: None,
            revision: Some(_)
        }
    ));
}

#[test]
fn merge_to_main_builds_when_the_image_is_missing() {
    let p = plan(decide(&merged("main"), &config(), &known(app("0000000"))));
    assert_eq!(image_action(&p), ImageAction::Build { revision: sha() });
    assert_eq!(
        p.image.as_ref().map(ToString::to_string),
        Some(format!("{REPO}:{SHORT}"))
    );
}

#[test]
fn merge_to_main_skips_the_build_when_the_image_exists() {
    let mut facts = known(app("0000000"));
    facts.target_image = Fact::Known(Some(image(SHORT)));
    let p = plan(decide(&merged("main"), &config(), &facts));
    assert_eq!(image_action(&p), ImageAction::Present);
}

#[test]
fn merge_to_other_branch_is_ignored() {
    let msg = ignored(
        decide(&merged("feature/login"), &config(), &Facts::unknown()),
        ReasonCode::NotReleaseBranch,
    );
    assert!(msg.contains("feature/login"), "{msg}");
}

#[test]
fn merge_already_running_is_a_no_op() {
    let mut facts = known(app(SHORT));
    facts.target_image = Fact::Known(Some(image(SHORT)));
    let d = decide(&merged("main"), &config(), &facts);
    ignored(d, ReasonCode::AlreadyDeployed);
    assert_eq!(ReasonCode::AlreadyDeployed.exit_code(), ExitStatus::Done);
}

#[test]
fn merge_running_but_incomplete_waits_without_changes() {
    let mut facts = known(vec![workload("neuro-ui", SHORT, progressing())]);
    facts.target_image = Fact::Known(Some(image(SHORT)));
    let p = plan(decide(&merged("main"), &config(), &facts));
    // Nothing to write: no lock, no set_image; the rollout already set is awaited.
    assert_eq!(kinds(&p), ["ensure_image", "await_rollout"]);
    assert!(!p.writes_to_cluster());
    assert_eq!(p.awaited(), Some(&["neuro-ui".to_owned()][..]));
}

// ---- release ----

#[test]
fn release_retags_the_commit_image_instead_of_rebuilding() {
    let mut facts = known(app("0000000"));
    facts.commit_image = Fact::Known(Some(image(SHORT)));
    facts.revision = Fact::Known(Some(sha()));
    let p = plan(decide(&released("v1.4.0", "main"), &config(), &facts));
    assert_eq!(p.namespace, "staging");
    assert_eq!(p.version.as_deref(), Some("v1.4.0"));
    assert_eq!(
        image_action(&p),
        ImageAction::Retag {
            from: SHORT.to_owned()
        }
    );
    assert!(
        p.steps()[0].reason.contains("build once"),
        "{}",
        p.steps()[0].reason
    );
}

#[test]
fn release_with_existing_tag_image_needs_nothing() {
    let mut facts = known(app("v1.3.0"));
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    let p = plan(decide(&released("v1.4.0", "main"), &config(), &facts));
    assert_eq!(image_action(&p), ImageAction::Present);
}

#[test]
fn release_builds_when_no_image_of_the_commit_exists() {
    let p = plan(decide(
        &released("v1.4.0", "main"),
        &config(),
        &known(app("v1.3.0")),
    ));
    assert_eq!(image_action(&p), ImageAction::Build { revision: sha() });
}

#[test]
fn release_without_a_known_commit_cannot_build() {
    let event = Event::Released {
        tag: "v1.4.0".into(),
        sha: None,
        target_branch: Some("main".into()),
        prerelease: false,
        draft: false,
    };
    let msg = refused(
        decide(&event, &config(), &known(app("v1.3.0"))),
        ReasonCode::ImageMissing,
    );
    assert!(msg.contains("--sha"), "{msg}");
}

#[test]
fn draft_release_is_ignored() {
    let event = Event::Released {
        tag: "v1.4.0".into(),
        sha: Some(sha()),
        target_branch: Some("main".into()),
        prerelease: false,
        draft: true,
    };
    ignored(
        decide(&event, &config(), &Facts::unknown()),
        ReasonCode::DraftRelease,
    );
}

#[test]
fn non_semver_release_tag_is_refused() {
    for tag in ["release-1", "v1.4", "latest", "1.4.0+build"] {
        let msg = refused(
            decide(&released(tag, "main"), &config(), &Facts::unknown()),
            ReasonCode::NotARelease,
        );
        assert!(msg.contains("SemVer"), "{msg}");
    }
    assert_eq!(ReasonCode::NotARelease.exit_code(), ExitStatus::Refused);
}

#[test]
fn release_targeting_another_branch_is_ignored() {
    ignored(
        decide(
            &released("v1.4.0", "feature/x"),
            &config(),
            &Facts::unknown(),
        ),
        ReasonCode::NotReleaseBranch,
    );
}

#[test]
fn hotfix_release_deploys_to_staging() {
    let p = plan(decide(
        &released("v1.4.1", "hotfix/v1.4.1"),
        &config(),
        &known(app("v1.4.0")),
    ));
    assert_eq!(p.namespace, "staging");
    assert_eq!(p.version.as_deref(), Some("v1.4.1"));
    assert_eq!(p.previous_version.as_deref(), Some("v1.4.0"));
}

#[test]
fn release_targeting_a_sha_needs_it_on_a_release_branch() {
    let event = released("v1.4.0", SHA);
    let mut facts = known(app("v1.3.0"));
    facts.target_on_release_branch = Fact::Known(false);
    ignored(
        decide(&event, &config(), &facts),
        ReasonCode::NotReleaseBranch,
    );
    facts.target_on_release_branch = Fact::Known(true);
    assert_eq!(plan(decide(&event, &config(), &facts)).namespace, "staging");
}

#[test]
fn prerelease_deploys_to_staging_and_keeps_its_spelling() {
    let event = Event::Released {
        tag: "1.5.0-rc.1".into(),
        sha: Some(sha()),
        target_branch: Some("main".into()),
        prerelease: true,
        draft: false,
    };
    let p = plan(decide(&event, &config(), &Facts::unknown()));
    assert_eq!(p.version.as_deref(), Some("1.5.0-rc.1"));
    assert!(matches!(image_action(&p), ImageAction::Resolve { from: Some(f), .. } if f == SHORT));
}

// ---- promote ----

fn promotion_facts(staging: &str, production: &str) -> Facts {
    let mut facts = known(app(production));
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    facts.source_workloads = Fact::Known(app(staging));
    facts
}

#[test]
fn promote_verified_release_plans_every_gate_in_order() {
    let p = plan(decide(
        &promote("v1.4.0"),
        &config(),
        &promotion_facts("v1.4.0", "v1.3.0"),
    ));
    assert_eq!(p.namespace, "leaf-neuro-ui");
    assert_eq!(
        kinds(&p),
        [
            "gate_image_exists",
            "gate_source_verified",
            "gate_not_downgrade",
            "gate_queues_drained",
            "acquire_lock",
            "recheck_queues",
            "set_image",
            "await_rollout",
            "release_lock"
        ]
    );
    assert!(
        !kinds(&p).contains(&"ensure_image"),
        "production never builds"
    );
    assert_eq!(p.previous_version.as_deref(), Some("v1.3.0"));
}

#[test]
fn promote_a_sha_is_refused_as_not_a_release() {
    let msg = refused(
        decide(&promote(SHORT), &config(), &Facts::unknown()),
        ReasonCode::NotARelease,
    );
    assert!(msg.contains("git SHA"), "{msg}");
}

#[test]
fn promote_without_an_image_is_refused_and_never_builds() {
    let mut facts = promotion_facts("v1.4.0", "v1.3.0");
    facts.target_image = Fact::Known(None);
    let msg = refused(
        decide(&promote("v1.4.0"), &config(), &facts),
        ReasonCode::ImageMissing,
    );
    assert!(msg.contains("never builds"), "{msg}");
}

#[test]
fn promote_what_staging_does_not_run_is_refused() {
    let msg = refused(
        decide(
            &promote("v1.4.0"),
            &config(),
            &promotion_facts("v1.3.9", "v1.3.0"),
        ),
        ReasonCode::NotVerifiedOnStaging,
    );
    assert!(msg.contains("v1.3.9"), "{msg}");
}

#[test]
fn promote_while_staging_rollout_is_incomplete_is_refused() {
    let mut facts = promotion_facts("v1.4.0", "v1.3.0");
    facts.source_workloads = Fact::Known(vec![workload("neuro-ui", "v1.4.0", progressing())]);
    let msg = refused(
        decide(&promote("v1.4.0"), &config(), &facts),
        ReasonCode::NotVerifiedOnStaging,
    );
    assert!(msg.contains("incomplete"), "{msg}");
}

#[test]
fn promote_an_older_version_is_a_downgrade_unless_allowed() {
    let facts = promotion_facts("v1.4.0", "v1.5.0");
    let msg = refused(
        decide(&promote("v1.4.0"), &config(), &facts),
        ReasonCode::Downgrade,
    );
    assert!(msg.contains("--allow-downgrade"), "{msg}");
    let allowed = Event::Promote {
        version: version("v1.4.0"),
        to: None,
        allow_downgrade: true,
    };
    assert_eq!(
        plan(decide(&allowed, &config(), &facts)).version.as_deref(),
        Some("v1.4.0")
    );
}

#[test]
fn promote_below_the_highest_of_mixed_versions_is_a_downgrade() {
    // After a crash or a manual change, production runs v1.5.0 in one Deployment.
    let mut facts = promotion_facts("v1.4.0", "v1.3.0");
    facts.target_workloads = Fact::Known(vec![
        workload("neuro-ui", "v1.5.0", complete()),
        workload("neuro-ui-api", "v1.3.0", complete()),
    ]);
    let msg = refused(
        decide(&promote("v1.4.0"), &config(), &facts),
        ReasonCode::Downgrade,
    );
    assert!(msg.contains("v1.5.0"), "{msg}");
    // Not below the highest: passes, and the gate names what it compared with.
    let p = plan(decide(&promote("v1.5.1"), &config(), &{
        let mut f = facts.clone();
        f.target_image = Fact::Known(Some(image("v1.5.1")));
        f.source_workloads = Fact::Known(app("v1.5.1"));
        f
    }));
    assert!(p.steps().into_iter().any(|s| matches!(
        &s.step,
        Step::GateNotDowngrade { current: Some(c), .. } if c == "v1.5.0"
    )));
}

#[test]
fn a_non_release_running_there_cannot_be_compared_and_refuses_unless_allowed() {
    let mut facts = promotion_facts("v1.4.0", "v1.3.0");
    facts.target_workloads = Fact::Known(vec![
        workload("neuro-ui", SHORT, complete()),
        workload("neuro-ui-api", "v1.3.0", complete()),
    ]);
    let msg = refused(
        decide(&promote("v1.4.0"), &config(), &facts),
        ReasonCode::Downgrade,
    );
    assert!(
        msg.contains("not a release") && msg.contains(SHORT) && msg.contains("--allow-downgrade"),
        "{msg}"
    );
    let allowed = Event::Promote {
        version: version("v1.4.0"),
        to: None,
        allow_downgrade: true,
    };
    assert_eq!(
        plan(decide(&allowed, &config(), &facts)).version.as_deref(),
        Some("v1.4.0")
    );
}

#[test]
fn images_set_but_rollout_failing_plans_only_the_wait() {
    let mut facts = promotion_facts("v1.4.0", "v1.4.0");
    let mut failing = app("v1.4.0");
    failing[0].rollout.deadline_exceeded = true;
    facts.target_workloads = Fact::Known(failing);
    let p = plan(decide(&promote("v1.4.0"), &config(), &facts));
    assert_eq!(
        kinds(&p),
        [
            "gate_image_exists",
            "gate_source_verified",
            "gate_not_downgrade",
            "await_rollout"
        ],
        "no queue gate, no lock, no write"
    );
}

#[test]
fn promote_what_production_already_runs_is_a_no_op() {
    ignored(
        decide(
            &promote("v1.4.0"),
            &config(),
            &promotion_facts("v1.4.0", "v1.4.0"),
        ),
        ReasonCode::AlreadyDeployed,
    );
}

#[test]
fn promote_to_a_non_promotion_environment_is_invalid() {
    let event = Event::Promote {
        version: version("v1.4.0"),
        to: Some("dev".into()),
        allow_downgrade: false,
    };
    let msg = refused(
        decide(&event, &config(), &Facts::unknown()),
        ReasonCode::InvalidInput,
    );
    assert!(msg.contains("deploy v1.4.0 --env dev"), "{msg}");
    let unknown = Event::Promote {
        version: version("v1.4.0"),
        to: Some("prod".into()),
        allow_downgrade: false,
    };
    let msg = refused(
        decide(&unknown, &config(), &Facts::unknown()),
        ReasonCode::InvalidInput,
    );
    assert!(msg.contains("dev, staging, production"), "{msg}");
}

#[test]
fn offline_promotion_shows_gates_as_checked_at_run_time() {
    let p = plan(decide(&promote("v1.4.0"), &config(), &Facts::unknown()));
    let reasons: Vec<&str> = p.steps().into_iter().map(|s| s.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .filter(|r| r.contains("checked at run time"))
            .count()
            >= 4,
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("us-west-2 and us-east-2")),
        "{reasons:#?}"
    );
}

#[test]
fn an_offline_plan_leaves_out_what_it_does_not_know_instead_of_a_placeholder() {
    let images = |p: &Plan| -> Vec<Option<String>> {
        p.steps()
            .into_iter()
            .filter_map(|s| match &s.step {
                Step::GateImageExists { image }
                | Step::SetImage { image, .. }
                | Step::EnsureImage { image, .. } => Some(image.as_ref().map(|i| i.pinned())),
                _ => None,
            })
            .collect()
    };
    // Without `registry.uri` the repository URI is read from the registry at run time.
    let mut unconfigured = config();
    unconfigured.registry.uri = None;
    let p = plan(decide(&promote("v1.4.0"), &unconfigured, &Facts::unknown()));
    assert_eq!(p.version.as_deref(), Some("v1.4.0"));
    assert_eq!(p.image, None);
    assert_eq!(images(&p), [None, None]);
    assert!(
        p.image_text()
            .contains("read from the registry at run time")
    );
    // With it, the plan names the image.
    let p = plan(decide(&promote("v1.4.0"), &config(), &Facts::unknown()));
    let named = Some(format!("{REPO}:v1.4.0"));
    assert_eq!(images(&p), [named.clone(), named]);
    // A rollback's version is recorded on the Deployments, read at run time.
    let rollback = Event::Rollback {
        env: "production".into(),
        skip_queue_gate: None,
    };
    let p = plan(decide(&rollback, &config(), &Facts::unknown()));
    assert_eq!((&p.version, &p.image), (&None, &None));
    assert_eq!(images(&p), [None, None]);
    assert_eq!(p.version_text(), "the previous version");
    let json = serde_json::to_string(&p).expect("a plan serializes");
    assert!(!json.contains('<'), "{json}");
}

// ---- arbitrary deploy ----

#[test]
fn deploy_a_sha_to_dev_builds_if_needed() {
    let p = plan(decide(
        &deploy(SHA, DeployTarget::Environment("dev".into())),
        &config(),
        &known(app("0000000")),
    ));
    assert_eq!(p.version.as_deref(), Some(SHORT));
    assert_eq!(image_action(&p), ImageAction::Build { revision: sha() });
}

#[test]
fn deploy_to_production_requires_promotion() {
    for target in [
        DeployTarget::Environment("production".into()),
        DeployTarget::Namespace("leaf-neuro-ui".into()),
    ] {
        let msg = refused(
            decide(&deploy("v1.4.0", target), &config(), &Facts::unknown()),
            ReasonCode::ProductionRequiresPromotion,
        );
        assert!(msg.contains("promote v1.4.0"), "{msg}");
    }
}

#[test]
fn deploy_to_a_malformed_namespace_is_invalid() {
    let msg = refused(
        decide(
            &deploy(SHORT, DeployTarget::Namespace("Dev_1".into())),
            &config(),
            &Facts::unknown(),
        ),
        ReasonCode::InvalidInput,
    );
    assert!(msg.contains("not a valid namespace"), "{msg}");
}

#[test]
fn deploy_to_an_unconfigured_namespace_has_no_environment_and_no_queue_gate() {
    let p = plan(decide(
        &deploy(SHORT, DeployTarget::Namespace("feature-login".into())),
        &config(),
        &Facts::unknown(),
    ));
    assert_eq!(p.namespace, "feature-login");
    assert_eq!(p.environment, None);
    assert!(!kinds(&p).contains(&"gate_queues_drained"));
}

#[test]
fn deploy_a_release_without_its_commit_retags_or_refuses() {
    let mut facts = known(app("v1.3.0"));
    facts.revision = Fact::Known(Some(sha()));
    facts.commit_image = Fact::Known(Some(image(SHORT)));
    let p = plan(decide(
        &deploy("v1.4.0", DeployTarget::Environment("staging".into())),
        &config(),
        &facts,
    ));
    assert_eq!(image_action(&p), ImageAction::Retag { from: SHORT.into() });
    let unknown_commit = known(app("v1.3.0"));
    refused(
        decide(
            &deploy("v1.4.0", DeployTarget::Environment("staging".into())),
            &config(),
            &unknown_commit,
        ),
        ReasonCode::ImageMissing,
    );
}

// ---- rollback ----

#[test]
fn rollback_sets_the_recorded_previous_version() {
    let workloads = vec![
        with_previous(
            workload("neuro-ui", "v1.4.0", complete()),
            "v1.4.0",
            "v1.3.0",
        ),
        with_previous(
            workload("neuro-ui-api", "v1.4.0", complete()),
            "v1.4.0",
            "v1.3.0",
        ),
    ];
    let mut facts = known(workloads);
    facts.target_image = Fact::Known(Some(image("v1.3.0")));
    let p = plan(decide(
        &Event::Rollback {
            env: "staging".into(),
            skip_queue_gate: None,
        },
        &config(),
        &facts,
    ));
    assert_eq!(p.version.as_deref(), Some("v1.3.0"));
    assert_eq!(set_image_changes(&p).len(), 4);
    assert!(!kinds(&p).contains(&"gate_queues_drained"));
}

#[test]
fn production_rollback_waits_for_drained_queues() {
    let mut facts = known(vec![with_previous(
        workload("neuro-ui", "v1.4.0", complete()),
        "v1.4.0",
        "v1.3.0",
    )]);
    facts.target_image = Fact::Known(Some(image("v1.3.0")));
    let p = plan(decide(
        &Event::Rollback {
            env: "production".into(),
            skip_queue_gate: None,
        },
        &config(),
        &facts,
    ));
    assert!(kinds(&p).contains(&"gate_queues_drained"));
    assert!(kinds(&p).contains(&"recheck_queues"));
}

#[test]
fn rollback_without_a_recorded_version_is_refused() {
    let msg = refused(
        decide(
            &Event::Rollback {
                env: "staging".into(),
                skip_queue_gate: None,
            },
            &config(),
            &known(app("v1.4.0")),
        ),
        ReasonCode::NoPreviousVersion,
    );
    assert!(msg.contains("neuro-deploy.io/previous-version"), "{msg}");
}

#[test]
fn rollback_to_a_missing_image_is_refused() {
    let facts = known(vec![with_previous(
        workload("neuro-ui", "v1.4.0", complete()),
        "v1.4.0",
        "v1.3.0",
    )]);
    refused(
        decide(
            &Event::Rollback {
                env: "staging".into(),
                skip_queue_gate: None,
            },
            &config(),
            &facts,
        ),
        ReasonCode::ImageMissing,
    );
}

#[test]
fn rollback_of_an_unknown_environment_is_invalid() {
    refused(
        decide(
            &Event::Rollback {
                env: "qa".into(),
                skip_queue_gate: None,
            },
            &config(),
            &Facts::unknown(),
        ),
        ReasonCode::InvalidInput,
    );
}

// ---- workloads ----

#[test]
fn sidecars_are_never_changed() {
    let p = plan(decide(&merged("main"), &config(), &known(app("0000000"))));
    let changes = set_image_changes(&p);
    assert_eq!(
        changes.len(),
        4,
        "two app containers in each of two Deployments"
    );
    assert!(changes.iter().all(|(_, container, _)| container != "envoy"));
    assert!(
        changes
            .iter()
            .all(|(_, _, img)| img == &format!("{REPO}:{SHORT}"))
    );
}

#[test]
fn no_matching_workloads_is_refused() {
    refused(
        decide(&merged("main"), &config(), &known(vec![])),
        ReasonCode::NoWorkloads,
    );
    let mut foreign = workload("other", "x", complete());
    foreign.containers.retain(|c| c.container == "envoy");
    refused(
        decide(&merged("main"), &config(), &known(vec![foreign])),
        ReasonCode::NoWorkloads,
    );
}

#[test]
fn a_paused_deployment_is_refused() {
    let mut w = workload("neuro-ui", "0000000", complete());
    w.paused = true;
    let msg = refused(
        decide(&merged("main"), &config(), &known(vec![w])),
        ReasonCode::WorkloadPaused,
    );
    assert!(msg.contains("kubectl rollout resume"), "{msg}");
}

#[test]
fn interrupted_deploy_remembers_what_it_replaced() {
    // One Deployment already moved by a crashed run (annotated), one not yet.
    let moved = with_previous(
        workload("neuro-ui", "v1.4.0", progressing()),
        "v1.4.0",
        "v1.3.0",
    );
    let waiting = workload("neuro-ui-api", "v1.3.0", complete());
    assert_eq!(
        version_being_replaced(&[moved.clone(), waiting.clone()], REPO, "v1.4.0").as_deref(),
        Some("v1.3.0")
    );
    let mut facts = known(vec![moved, waiting]);
    facts.target_image = Fact::Known(Some(image("v1.4.0")));
    let p = plan(decide(&released("v1.4.0", "main"), &config(), &facts));
    let changes = set_image_changes(&p);
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|(w, _, _)| w == "neuro-ui-api"));
    assert_eq!(p.previous_version.as_deref(), Some("v1.3.0"));
}

// ---- confirmation ----

#[test]
fn production_changes_need_confirmation() {
    let c = config();
    let confirmation = |event: &Event| Intent::of(event, &c).unwrap().confirmation;
    let reason = confirmation(&promote("v1.4.0")).expect("a promotion needs confirmation");
    assert!(
        confirmation(&Event::Rollback {
            env: "production".into(),
            skip_queue_gate: None,
        })
        .is_some()
    );
    assert!(confirmation(&merged("main")).is_none());
    assert!(confirmation(&deploy(SHORT, DeployTarget::Environment("dev".into()))).is_none());
    assert_eq!(reason.code, ReasonCode::ConfirmationRequired);
    assert_eq!(reason.code.exit_code(), ExitStatus::Refused);
    assert!(reason.message.contains("--yes") && reason.message.contains("promote"));
}

#[test]
fn an_intent_names_the_environments_a_run_touches() {
    let c = config();
    let intent = Intent::of(&promote("v1.4.0"), &c).unwrap();
    assert_eq!(intent.environments(), ["production", "staging"]);
    assert_eq!(intent.target.namespace, "leaf-neuro-ui");
    let intent = Intent::of(&merged("main"), &c).unwrap();
    assert_eq!(intent.environments(), ["dev"]);
    let ignored = Intent::of(&merged("feature/x"), &c).unwrap_err();
    assert_eq!(ignored.code, ReasonCode::NotReleaseBranch);
}

#[test]
fn every_decision_serializes_with_its_code() {
    let d = decide(&merged("feature/x"), &config(), &Facts::unknown());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["decision"], "ignore");
    assert_eq!(json["code"], "not_release_branch");
}

#[test]
fn a_promotion_of_a_release_written_without_its_v_names_the_one_that_exists() {
    let mut facts = known(app("v1.3.0"));
    facts.source_workloads = Fact::Known(app("v1.4.0"));
    facts.other_spelling = Fact::Known(Some("v1.4.0".into()));
    let message = refused(
        decide(&promote("1.4.0"), &config(), &facts),
        ReasonCode::ImageMissing,
    );
    assert!(message.contains("did you mean `v1.4.0`?"), "{message}");
    // Nothing else exists: the usual advice.
    facts.other_spelling = Fact::Known(None);
    let message = refused(
        decide(&promote("1.4.0"), &config(), &facts),
        ReasonCode::ImageMissing,
    );
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn a_rollback_restores_the_recorded_digest_of_the_previous_image() {
    let digest = format!("sha256:{}", "a".repeat(64));
    // Production runs v1.5.0, recorded as replacing v1.4.0 that ran as `previous_image`.
    let rollback_plan = |previous_image: String| {
        let mut running = with_previous(
            workload("neuro-ui", "v1.5.0", complete()),
            "v1.5.0",
            "v1.4.0",
        );
        running.audit.previous_image = Some(previous_image);
        let mut facts = known(vec![running]);
        facts.target_image = Fact::Known(Some(image("v1.4.0")));
        plan(decide(
            &Event::Rollback {
                env: "production".into(),
                skip_queue_gate: None,
            },
            &config(),
            &facts,
        ))
    };
    let p = rollback_plan(format!("{REPO}:v1.4.0@{digest}"));
    let image = p.image.expect("a live plan names its image");
    assert_eq!(image.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(image.pinned(), format!("{REPO}:v1.4.0@{digest}"));
    // A recorded image of another tag is not this rollback's: no digest is borrowed from it.
    let p = rollback_plan(format!("{REPO}:v1.3.9@{digest}"));
    assert_eq!(p.image.expect("a live plan names its image").digest, None);
}

#[test]
fn drift_is_what_runs_against_what_was_recorded() {
    use neuro_deploy_core::policy::EnvironmentStatus;
    // Never deployed by neuro-deploy: nothing recorded, no drift — even with mixed versions.
    let mixed = vec![
        workload("neuro-ui", "v1.3.0", complete()),
        workload("neuro-ui-api", "v1.2.0", complete()),
    ];
    let status = EnvironmentStatus::of(&mixed, REPO);
    assert!(status.drift.is_empty() && !status.drifted(), "{status:?}");
    // Recorded v1.4.0, running v1.3.0: that Deployment drifted.
    let mut changed = workload("neuro-ui", "v1.3.0", complete());
    changed.audit.version = Some("v1.4.0".into());
    let status = EnvironmentStatus::of(&[changed], REPO);
    assert_eq!(status.drift.len(), 1);
    assert_eq!(status.drift[0].recorded.as_deref(), Some("v1.4.0"));
    assert_eq!(status.drift[0].running.as_deref(), Some("v1.3.0"));
    // Recorded and running agree: none.
    let mut same = workload("neuro-ui", "v1.4.0", complete());
    same.audit.version = Some("v1.4.0".into());
    assert!(
        EnvironmentStatus::of(&[same.clone()], REPO)
            .drift
            .is_empty()
    );
    // Two Deployments, each running what was recorded on it, but not the same version: no
    // Deployment drifted, the environment runs mixed versions — said once, as such.
    let mut other = workload("neuro-ui-api", "v1.3.0", complete());
    other.audit.version = Some("v1.3.0".into());
    let status = EnvironmentStatus::of(&[same.clone(), other], REPO);
    assert!(status.drift.is_empty(), "{:?}", status.drift);
    assert!(status.drifted());
    assert_eq!(
        status.mixed_versions,
        std::collections::BTreeMap::from([
            ("v1.3.0".to_owned(), vec!["neuro-ui-api".to_owned()]),
            ("v1.4.0".to_owned(), vec!["neuro-ui".to_owned()]),
        ])
    );
    // One moved by hand: only that one drifted, though the other's record is the same.
    let mut moved = workload("neuro-ui-api", "v1.3.0", complete());
    moved.audit.version = Some("v1.4.0".into());
    let status = EnvironmentStatus::of(&[same, moved], REPO);
    let drifted: Vec<&str> = status.drift.iter().map(|d| d.workload.as_str()).collect();
    assert_eq!(drifted, ["neuro-ui-api"]);
}

// ---- freeze ----

fn frozen(until: Option<&str>) -> neuro_deploy_core::model::GuardState {
    neuro_deploy_core::model::GuardState {
        freeze: Some(neuro_deploy_core::model::Freeze {
            by: "alice".into(),
            at: "2026-11-29T10:00:00Z".parse().unwrap(),
            reason: "incident 42".into(),
            until: until.map(instant),
        }),
        ..Default::default()
    }
}

#[test]
fn a_frozen_environment_refuses_everything_but_a_rollback() {
    let mut facts = known(app("v1.3.0"));
    facts.guard = Fact::Known(frozen(None));
    facts.now = Fact::Known("2026-11-29T11:00:00Z".parse().unwrap());
    let message = refused(
        decide(
            &deploy(SHORT, DeployTarget::Environment("dev".into())),
            &config(),
            &facts,
        ),
        ReasonCode::Frozen,
    );
    assert!(
        message.contains("alice")
            && message.contains("incident 42")
            && message.contains("unfreeze"),
        "{message}"
    );
    assert_eq!(ReasonCode::Frozen.exit_code(), ExitStatus::Refused);
    // Getting back is never blocked.
    let mut facts = rollback_facts("2026-11-29T11:00:00Z");
    facts.guard = Fact::Known(frozen(None));
    plan(decide(
        &Event::Rollback {
            env: "dev".into(),
            skip_queue_gate: None,
        },
        &config(),
        &facts,
    ));
}

#[test]
fn a_freeze_for_a_while_ends_by_itself() {
    let mut facts = known(app("v1.3.0"));
    facts.target_image = Fact::Known(Some(image(SHORT)));
    facts.guard = Fact::Known(frozen(Some("2026-11-29T12:00:00Z")));
    facts.now = Fact::Known("2026-11-29T12:00:01Z".parse().unwrap());
    plan(decide(
        &deploy(SHORT, DeployTarget::Environment("dev".into())),
        &config(),
        &facts,
    ));
}

#[test]
fn a_quarantined_version_is_refused_everywhere_but_in_a_rollback_until_cleared() {
    use neuro_deploy_core::model::{GuardState, Quarantined, Unfrozen};
    let quarantined = |cleared: Option<Unfrozen>| GuardState {
        quarantine: vec![Quarantined {
            version: SHORT.into(),
            by: "ci".into(),
            at: "2026-11-29T10:00:00Z".parse().unwrap(),
            reason: None,
            detail: "Deployment `neuro-ui` failed: ProgressDeadlineExceeded".into(),
            cleared,
        }],
        ..GuardState::default()
    };
    let mut facts = known(app("v1.3.0"));
    facts.target_image = Fact::Known(Some(image(SHORT)));
    facts.guard = Fact::Known(quarantined(None));
    let message = refused(
        decide(
            &deploy(SHORT, DeployTarget::Environment("dev".into())),
            &config(),
            &facts,
        ),
        ReasonCode::VersionQuarantined,
    );
    assert!(
        message.contains("ProgressDeadlineExceeded") && message.contains("quarantine clear"),
        "{message}"
    );
    assert_eq!(
        ReasonCode::VersionQuarantined.exit_code(),
        ExitStatus::Refused
    );
    facts.guard = Fact::Known(quarantined(Some(Unfrozen {
        by: "ops".into(),
        at: "2026-11-29T11:00:00Z".parse().unwrap(),
        reason: "fixed".into(),
    })));
    plan(decide(
        &deploy(SHORT, DeployTarget::Environment("dev".into())),
        &config(),
        &facts,
    ));
}

#[test]
fn a_rollback_after_someone_moved_one_deployment_replaces_the_recorded_version() {
    // v1.4.0 recorded on both; `kubectl set image` moved neuro-ui back to v1.3.0 by hand.
    let moved = with_previous(
        workload("neuro-ui", "v1.3.0", complete()),
        "v1.4.0",
        "v1.3.0",
    );
    let kept = with_previous(
        workload("neuro-ui-api", "v1.4.0", complete()),
        "v1.4.0",
        "v1.3.0",
    );
    let mut facts = known(vec![moved, kept]);
    facts.target_image = Fact::Known(Some(image("v1.3.0")));
    let rollback = Event::Rollback {
        env: "staging".into(),
        skip_queue_gate: None,
    };
    let Decision::Proceed(plan) = decide(&rollback, &config(), &facts) else {
        panic!("a rollback goes");
    };
    assert_eq!(plan.version.as_deref(), Some("v1.3.0"));
    // What ran before this run is what neuro-deploy recorded, not "unknown".
    assert_eq!(plan.previous_version.as_deref(), Some("v1.4.0"));
    // Only the Deployment still on v1.4.0 changes; both are awaited (and recorded).
    let changed: Vec<&str> = plan
        .changes()
        .unwrap()
        .iter()
        .map(|c| c.workload.as_str())
        .collect();
    assert!(changed.iter().all(|w| *w == "neuro-ui-api"), "{changed:?}");
    assert_eq!(plan.awaited().unwrap(), ["neuro-ui", "neuro-ui-api"]);
}
