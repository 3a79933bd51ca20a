//! Verification after the rollout, the deploy's record and notifications, against mockall
//! doubles: when each happens, what it says, and that none of them ever changes an outcome it
//! should not.

use mockall::Sequence;
use neuro_deploy_core::config::{NotifyFormat, NotifyOn, VerifyConfig};
use neuro_deploy_core::model::annotations;
use neuro_deploy_core::{
    DeploymentRecord, DeploymentState, Executor, MockDeploymentRecorder, MockHealthChecker,
    MockNotifier, notify,
};

use super::*;

const HEALTHZ: &str = "https://staging.neuro-ui.example/healthz";

/// The default config with checks on staging: 20 s of probes every 10 s.
fn verifying_config() -> Config {
    let mut config = config();
    let staging = environment(&mut config, "staging");
    let mut verify = VerifyConfig::new(vec![HEALTHZ.to_owned()]);
    verify.window = Duration::from_secs(20);
    verify.every = Duration::from_secs(10);
    staging.verify = Some(verify);
    fast_gate(config)
}

/// A health checker answering `statuses` in turn (the last repeats), counting probes.
fn checker(statuses: Vec<u16>) -> (MockHealthChecker, Arc<AtomicUsize>) {
    let probes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&probes);
    let mut checker = MockHealthChecker::new();
    checker
        .expect_probe()
        .withf(|url, timeout| url == HEALTHZ && *timeout == Duration::from_secs(5))
        .returning(move |_, _| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Ok(statuses[n.min(statuses.len() - 1)])
        });
    (checker, probes)
}

/// Staging on v1.3.0, v1.4.0 retaggable, the lock taken once.
pub(super) fn staging_release(d: &mut Doubles) {
    d.workloads("staging", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("staging");
    d.registry.expect_retag().returning(|_, to| Ok(image(to)));
}

#[tokio::test(start_paused = true)]
async fn passed_checks_are_recorded_on_the_deployments_metadata() {
    let mut d = Doubles::new();
    staging_release(&mut d);
    d.writes_land(2);
    d.cluster
        .expect_annotate()
        .withf(|ns, workloads, values| {
            ns == "staging"
                && workloads == ["neuro-ui".to_owned(), "neuro-ui-api".to_owned()]
                && values
                    == [(
                        annotations::VERIFIED.to_owned(),
                        "v1.4.0@2026-11-26T12:00:00Z".to_owned(),
                    )]
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (checker, probes) = checker(vec![200, 204]);
    let report = Executor::new(d.adapters(), verifying_config())
        .with_health_checker(Arc::new(checker))
        .run(&released("v1.4.0", "main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    // Probes at 0 s, 10 s and 20 s.
    assert_eq!(probes.load(Ordering::SeqCst), 3);
    let verify = step(&report, "verify");
    assert_eq!(verify.status, StepStatus::Ok);
    assert!(
        verify
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("answered 2xx on all 3 probes over 20s"),
        "{verify:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_check_rolls_back_with_verification_failed() {
    let mut d = Doubles::new();
    staging_release(&mut d);
    let calls = record_set_images(&mut d);
    d.cluster
        .expect_await_rollout()
        .times(2)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    d.cluster.expect_annotate().times(0);
    let (checker, probes) = checker(vec![200, 503]);
    let report = Executor::new(d.adapters(), verifying_config())
        .with_health_checker(Arc::new(checker))
        .run(&released("v1.4.0", "main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(report.reason, Some(ReasonCode::VerificationFailed));
    assert_eq!(report.exit_code(), ExitStatus::RolledBack);
    assert_eq!(probes.load(Ordering::SeqCst), 2);
    let verify = step(&report, "verify");
    assert_eq!(verify.status, StepStatus::Failed);
    let detail = verify.detail.as_deref().unwrap_or("");
    assert!(
        detail.contains(HEALTHZ) && detail.contains("HTTP 503"),
        "{detail}"
    );
    // Forward, then back to v1.3.0.
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 4);
    assert!(
        calls[2..]
            .iter()
            .flatten()
            .all(|c| c.image == format!("{REPO}:v1.3.0"))
    );
    assert!(
        report.message.contains("verification failed"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_times_out_fails_the_checks() {
    let mut d = Doubles::new();
    staging_release(&mut d);
    record_set_images(&mut d);
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let mut checker = MockHealthChecker::new();
    checker.expect_probe().returning(|_, _| {
        Err(AdapterError::Timeout {
            service: "http",
            operation: format!("GET {HEALTHZ}"),
            seconds: 5.0,
        })
    });
    let report = Executor::new(d.adapters(), verifying_config())
        .with_health_checker(Arc::new(checker))
        .run(&released("v1.4.0", "main"), &ctx(false))
        .await;
    assert_eq!(report.reason, Some(ReasonCode::VerificationFailed));
    assert!(
        step(&report, "verify")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("timed out"),
        "{report:#?}"
    );
}

/// Production on v1.3.0; staging on v1.4.0 with `verified` as its annotation.
fn promotion_from_verifying_staging(verified: Option<&str>) -> Doubles {
    let mut staging = app("v1.4.0");
    for w in &mut staging {
        w.audit.verified = verified.map(str::to_owned);
    }
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", staging)
        .images(&["v1.4.0", "v1.3.0"]);
    d
}

#[tokio::test(start_paused = true)]
async fn promotion_needs_the_sources_checks_to_have_passed_for_that_version() {
    for verified in [None, Some("v1.3.0@2026-11-20T00:00:00Z")] {
        let mut d = promotion_from_verifying_staging(verified);
        d.no_writes();
        let report = run_with(d, verifying_config(), &promote("v1.4.0"), false).await;
        assert_eq!(
            report.reason,
            Some(ReasonCode::NotVerifiedOnStaging),
            "{report:#?}"
        );
        assert!(
            report.message.contains("neuro-deploy verify --env staging"),
            "{}",
            report.message
        );
    }

    let mut d = promotion_from_verifying_staging(Some("v1.4.0@2026-11-26T11:00:00Z"));
    d.lock_once("leaf-neuro-ui").queues_always(EMPTY);
    d.writes_land(2);
    let report = run_with(d, verifying_config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        step(&report, "gate_source_verified")
            .reason
            .contains("its verification passed there")
    );
}

/// Production promotion doubles with a recorder expecting one record, finished in `state`.
fn recorder_expecting(seq: &mut Sequence, state: DeploymentState) -> MockDeploymentRecorder {
    let mut recorder = MockDeploymentRecorder::new();
    recorder
        .expect_start()
        .withf(|record: &DeploymentRecord| {
            record.reference == "v1.4.0"
                && record.environment == "production"
                && record.production
                && record.payload.namespace == "leaf-neuro-ui"
                && record.payload.previous_version.as_deref() == Some("v1.3.0")
                && record.payload.deployed_by == "ops@laptop/run-1"
        })
        .times(1)
        .in_sequence(seq)
        .returning(|_| Ok(42));
    recorder
        .expect_finish()
        .withf(move |id, s, _, _| *id == 42 && *s == state)
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    recorder
}

#[tokio::test(start_paused = true)]
async fn a_deploy_is_recorded_after_the_lock_and_before_its_first_write() {
    let mut seq = Sequence::new();
    let mut d = promotion_doubles();
    d.queues_always(EMPTY);
    d.cluster
        .expect_lock()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(LockAttempt::Acquired(handle("leaf-neuro-ui"))));
    let recorder = recorder_expecting(&mut seq, DeploymentState::Success);
    d.cluster
        .expect_set_images()
        .times(2)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(()));
    d.cluster.expect_renew().returning(|h| Ok(h.clone()));
    d.cluster.expect_unlock().returning(|_| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = Executor::new(d.adapters(), fast_gate(config()))
        .with_recorder(Arc::new(recorder))
        .run(&promote("v1.4.0"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let recorded = report.recorded.as_ref().unwrap();
    assert_eq!(
        (recorded.id, recorded.state),
        (42, DeploymentState::Success)
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_deploy_is_recorded_as_a_failure() {
    let mut seq = Sequence::new();
    let mut d = promotion_doubles();
    d.queues_always(EMPTY).lock_once("leaf-neuro-ui");
    let recorder = recorder_expecting(&mut seq, DeploymentState::Failure);
    record_set_images(&mut d);
    let rollouts = Arc::new(AtomicUsize::new(0));
    d.cluster.expect_await_rollout().returning(move |_, _, _| {
        Ok(if rollouts.fetch_add(1, Ordering::SeqCst) == 0 {
            RolloutResult::Failed {
                workload: "neuro-ui".into(),
                reason: "progress deadline exceeded".into(),
            }
        } else {
            RolloutResult::Complete
        })
    });
    let report = Executor::new(d.adapters(), fast_gate(config()))
        .with_recorder(Arc::new(recorder))
        .run(&promote("v1.4.0"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(
        report.recorded.as_ref().map(|r| r.state),
        Some(DeploymentState::Failure)
    );
}

/// A recorder that never answers.
struct HangingRecorder;

#[async_trait::async_trait]
impl neuro_deploy_core::DeploymentRecorder for HangingRecorder {
    async fn start(&self, _: &DeploymentRecord) -> Result<u64, AdapterError> {
        std::future::pending().await
    }
    async fn finish(
        &self,
        _: u64,
        _: DeploymentState,
        _: &str,
        _: &DeploymentRecord,
    ) -> Result<(), AdapterError> {
        std::future::pending().await
    }
    async fn history<'a>(
        &self,
        _: Option<&'a str>,
        _: usize,
    ) -> Result<Vec<neuro_deploy_core::HistoryEntry>, AdapterError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_recorder_that_fails_or_hangs_never_changes_the_outcome() {
    let mut failing = MockDeploymentRecorder::new();
    failing.expect_start().times(1).returning(|_| {
        Err(AdapterError::failed(
            "github",
            "POST deployments",
            "HTTP 500",
        ))
    });
    failing.expect_finish().times(0);
    let recorders: Vec<Arc<dyn neuro_deploy_core::DeploymentRecorder>> =
        vec![Arc::new(failing), Arc::new(HangingRecorder)];
    for recorder in recorders {
        let mut d = promotion_doubles();
        d.queues_always(EMPTY).lock_once("leaf-neuro-ui");
        d.cluster
            .expect_set_images()
            .times(2)
            .returning(|_, _, _| Ok(()));
        d.cluster
            .expect_await_rollout()
            .returning(|_, _, _| Ok(RolloutResult::Complete));
        let report = Executor::new(d.adapters(), fast_gate(config()))
            .with_recorder(recorder)
            .run(&promote("v1.4.0"), &ctx(false))
            .await;
        assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
        assert_eq!(report.exit_code(), ExitStatus::Done);
        assert_eq!(report.recorded, None);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(
            report.warnings[0].contains("neuro-deploy record --env production"),
            "{:?}",
            report.warnings
        );
    }
}

#[tokio::test(start_paused = true)]
async fn runs_that_write_nothing_are_never_recorded() {
    // Already deployed; a refusal before the lock; a dry run.
    let cases: Vec<(Vec<Workload>, Vec<Workload>, QueueDepth, bool)> = vec![
        (app("v1.4.0"), app("v1.4.0"), EMPTY, false),
        (
            app("v1.3.0"),
            app("v1.4.0"),
            QueueDepth {
                in_flight: 1,
                ..EMPTY
            },
            false,
        ),
        (app("v1.3.0"), app("v1.4.0"), EMPTY, true),
    ];
    for (production, staging, depth, dry_run) in cases {
        let mut d = Doubles::new();
        d.workloads("leaf-neuro-ui", production)
            .workloads("staging", staging)
            .images(&["v1.4.0", "v1.3.0"])
            .queues_always(depth)
            .no_writes();
        let mut recorder = MockDeploymentRecorder::new();
        recorder.expect_start().times(0);
        recorder.expect_finish().times(0);
        let report = Executor::new(d.adapters(), fast_gate(config()))
            .with_recorder(Arc::new(recorder))
            .run(&promote("v1.4.0"), &ctx(dry_run))
            .await;
        assert_eq!(report.recorded, None, "{report:#?}");
        assert!(report.warnings.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn a_refusal_under_the_lock_records_nothing() {
    let mut d = Doubles::new();
    // Someone promoted v1.5.0 while this run waited for the lock: a downgrade now.
    super::safety::workloads_in_turn(&mut d, "leaf-neuro-ui", vec![app("v1.3.0"), app("v1.5.0")]);
    d.workloads("staging", app("v1.4.0"))
        .images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    let mut recorder = MockDeploymentRecorder::new();
    recorder.expect_start().times(0);
    recorder.expect_finish().times(0);
    let report = Executor::new(d.adapters(), fast_gate(config()))
        .with_recorder(Arc::new(recorder))
        .run(&promote("v1.4.0"), &ctx(false))
        .await;
    assert_eq!(report.reason, Some(ReasonCode::Downgrade), "{report:#?}");
    assert_eq!(report.recorded, None);
}

// ---- notifications ----

fn finished(outcome: Outcome, reason: Option<ReasonCode>, env: &str, dry_run: bool) -> Report {
    let mut report = Report::without_plan(&promote("v1.4.0"), dry_run, outcome, reason, "done");
    report.environment = Some(env.to_owned());
    report.version = Some("v1.4.0".to_owned());
    report.previous_version = Some("v1.3.0".to_owned());
    report
}

#[test]
fn by_default_production_notifies_everything_and_elsewhere_all_but_deployed() {
    let config = config();
    let yes = |outcome, reason, env| {
        notify::should_notify(&config, &finished(outcome, reason, env, false))
    };
    assert!(yes(Outcome::Deployed, None, "production"));
    assert!(!yes(Outcome::Deployed, None, "staging"));
    assert!(yes(Outcome::RolledBack, None, "staging"));
    assert!(yes(
        Outcome::Refused,
        Some(ReasonCode::QueueNotDrained),
        "staging"
    ));
    assert_eq!(
        notify::notify_on(&finished(
            Outcome::Refused,
            Some(ReasonCode::LockHeld),
            "production",
            false
        )),
        Some(NotifyOn::LockHeld)
    );
    // Dry runs, ignored events and bad input never notify.
    assert!(!notify::should_notify(
        &config,
        &finished(Outcome::Deployed, None, "production", true)
    ));
    assert!(!yes(
        Outcome::Ignored,
        Some(ReasonCode::AlreadyDeployed),
        "production"
    ));
    assert!(!yes(
        Outcome::Refused,
        Some(ReasonCode::InvalidInput),
        "production"
    ));
    assert!(!yes(Outcome::WouldDeploy, None, "production"));
}

#[test]
fn notify_on_lists_exactly_the_outcomes_that_notify() {
    let mut config = config();
    config.notify.on = Some(vec![NotifyOn::Deployed]);
    let report = |outcome, env| finished(outcome, None, env, false);
    assert!(notify::should_notify(
        &config,
        &report(Outcome::Deployed, "staging")
    ));
    assert!(!notify::should_notify(
        &config,
        &report(Outcome::RolledBack, "production")
    ));
}

#[test]
fn the_slack_message_names_environment_version_previous_who_outcome_and_reason() {
    let config = config();
    let report = finished(
        Outcome::Refused,
        Some(ReasonCode::QueueNotDrained),
        "production",
        false,
    );
    let message = notify::message(&config, &report, "ops@laptop");
    let text = message["text"].as_str().unwrap();
    assert_eq!(text, ":no_entry: neuro-ui v1.4.0 → production: refused");
    let context = message["blocks"][1]["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(context.contains("ops@laptop"), "{context}");
    assert!(context.contains("v1.3.0"), "{context}");
    assert!(context.contains("queue_not_drained"), "{context}");

    let mut json_config = config.clone();
    json_config.notify.format = NotifyFormat::Json;
    let message = notify::message(&json_config, &report, "ops@laptop");
    assert_eq!(message["report"]["outcome"], "refused");
    assert_eq!(message["exit_code"], 3);
}

#[tokio::test]
async fn a_notification_that_fails_is_a_warning_not_a_different_outcome() {
    let config = config();
    let mut notifier = MockNotifier::new();
    notifier
        .expect_notify()
        .withf(|message| {
            message["text"]
                .as_str()
                .is_some_and(|t| t.contains("deployed"))
        })
        .times(1)
        .returning(|_| Err(AdapterError::failed("webhook", "POST", "HTTP 502")));
    let mut report = finished(Outcome::Deployed, None, "production", false);
    notify::send(&notifier, &config, &mut report, "ops@laptop").await;
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("HTTP 502"),
        "{:?}",
        report.warnings
    );

    // Nothing due: nothing sent.
    let mut quiet = MockNotifier::new();
    quiet.expect_notify().times(0);
    let mut report = finished(Outcome::Deployed, None, "staging", false);
    notify::send(&quiet, &config, &mut report, "ops@laptop").await;
    assert!(report.warnings.is_empty());
}
