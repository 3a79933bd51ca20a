//! Verification by the team's monitoring against a mockall `SignalSource`: every series of
//! every query within its bounds, an empty result and NaN failing, an unreadable Prometheus
//! failing the probe, an active matching alert rolling back — and how a query is judged.

use std::collections::BTreeMap;

use neuro_deploy_core::config::{Bound, NoData, QueryCheck, VerifyConfig};
use neuro_deploy_core::model::{ActiveAlert, QueryAnswer, Series};
use neuro_deploy_core::{Executor, MockSignalSource};

use super::*;

const PROMETHEUS: &str = "http://127.0.0.1:9090";
const ALERTMANAGER: &str = "http://127.0.0.1:9093";

fn ratio_check() -> QueryCheck {
    QueryCheck {
        name: "5xx ratio".into(),
        query: "sum(rate(http_requests_total{code=~\"5..\"}[1m]))".into(),
        min: None,
        max: Some(Bound(0.01)),
        no_data: NoData::Fail,
    }
}

fn series(code: &str, value: f64) -> Series {
    Series {
        labels: BTreeMap::from([("code".to_owned(), code.to_owned())]),
        value,
    }
}

#[test]
fn every_series_must_lie_within_the_bounds_and_no_data_or_nan_fails() {
    let check = ratio_check();
    let fine = QueryAnswer::Vector(vec![series("500", 0.001), series("502", 0.0)]);
    assert!(fine.judge(&check).is_ok());
    let one_bad = QueryAnswer::Vector(vec![series("500", 0.001), series("502", 0.2)]);
    let why = one_bad.judge(&check).unwrap_err();
    for needed in [
        "5xx ratio",
        "0.2 > max 0.01",
        "{code=\"502\"}",
        "at most 0.01",
    ] {
        assert!(why.contains(needed), "`{needed}` missing: {why}");
    }
    assert!(QueryAnswer::Scalar(0.5).judge(&check).is_err());
    assert!(
        QueryAnswer::Scalar(f64::NAN)
            .judge(&check)
            .unwrap_err()
            .contains("NaN")
    );
    let empty = QueryAnswer::Vector(Vec::new());
    assert!(empty.judge(&check).unwrap_err().contains("no data"));
    let lenient = QueryCheck {
        no_data: NoData::Pass,
        ..ratio_check()
    };
    assert!(empty.judge(&lenient).is_ok());
    let floor = QueryCheck {
        min: Some(Bound(1.0)),
        max: None,
        ..ratio_check()
    };
    assert!(
        QueryAnswer::Scalar(0.5)
            .judge(&floor)
            .unwrap_err()
            .contains("< min 1")
    );
}

/// The verify step's detail of a run its verification failed (and so rolled back).
fn failed_verification(report: &Report) -> String {
    assert_eq!(
        report.reason,
        Some(ReasonCode::VerificationFailed),
        "{report:#?}"
    );
    step(report, "verify").detail.clone().unwrap_or_default()
}

/// Staging verified by one query and the alerts of the app, for 20 s every 10 s.
fn monitored_config() -> Config {
    let mut config = config();
    let staging = environment(&mut config, "staging");
    let mut verify = VerifyConfig::new(Vec::new());
    verify.prometheus = Some(PROMETHEUS.into());
    verify.queries = vec![ratio_check()];
    verify.alertmanager = Some(ALERTMANAGER.into());
    verify.alerts = vec!["app=\"neuro-ui\"".into()];
    verify.window = Duration::from_secs(20);
    verify.every = Duration::from_secs(10);
    staging.verify = Some(verify);
    fast_gate(config)
}

/// A release to staging whose monitoring answers the query with `ratios` in turn (the last
/// repeats) and the alerts with `alerts`.
async fn release_watched(ratios: Vec<f64>, alerts: Vec<ActiveAlert>) -> Report {
    let mut d = Doubles::new();
    super::record_verify::staging_release(&mut d);
    record_set_images(&mut d);
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    d.cluster.expect_annotate().returning(|_, _, _| Ok(()));
    let mut signals = MockSignalSource::new();
    let asked = AtomicUsize::new(0);
    signals
        .expect_query()
        .withf(|at, query, timeout| {
            at == PROMETHEUS && query.starts_with("sum(") && *timeout == Duration::from_secs(5)
        })
        .returning(move |_, _, _| {
            let n = asked.fetch_add(1, Ordering::SeqCst);
            Ok(QueryAnswer::Vector(vec![series(
                "500",
                ratios[n.min(ratios.len() - 1)],
            )]))
        });
    signals
        .expect_active_alerts()
        .withf(|at, matchers, _| at == ALERTMANAGER && matchers == ["app=\"neuro-ui\"".to_owned()])
        .returning(move |_, _, _| Ok(alerts.clone()));
    Executor::new(d.adapters(), monitored_config())
        .with_signals(Arc::new(signals))
        .run(&released("v1.4.0", "main"), &ctx(false))
        .await
}

#[tokio::test(start_paused = true)]
async fn a_query_within_its_bound_on_every_probe_passes() {
    let report = release_watched(vec![0.0, 0.004], Vec::new()).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let detail = step(&report, "verify").detail.clone().unwrap_or_default();
    assert!(
        detail.contains("1 PromQL check stayed within bounds")
            && detail.contains("on all 3 probes"),
        "{detail}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_error_ratio_that_rises_after_the_rollout_rolls_back_naming_query_value_and_bound() {
    let report = release_watched(vec![0.0, 0.25], Vec::new()).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(report.reason, Some(ReasonCode::VerificationFailed));
    assert_eq!(report.exit_code(), ExitStatus::RolledBack);
    let detail = step(&report, "verify").detail.clone().unwrap_or_default();
    for needed in ["5xx ratio", "0.25 > max 0.01"] {
        assert!(detail.contains(needed), "`{needed}` missing: {detail}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_active_matching_alert_rolls_back_naming_it() {
    let alert = ActiveAlert {
        labels: BTreeMap::from([
            ("alertname".to_owned(), "HighErrorRate".to_owned()),
            ("app".to_owned(), "neuro-ui".to_owned()),
        ]),
        starts_at: "2026-11-26T12:00:05Z".into(),
    };
    let report = release_watched(vec![0.0], vec![alert]).await;
    let detail = failed_verification(&report);
    assert!(
        detail.contains("HighErrorRate") && detail.contains("since 2026-11-26T12:00:05Z"),
        "{detail}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_prometheus_fails_the_probe() {
    let mut d = Doubles::new();
    super::record_verify::staging_release(&mut d);
    record_set_images(&mut d);
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let mut signals = MockSignalSource::new();
    signals.expect_query().returning(|_, _, _| {
        Err(AdapterError::failed(
            "prometheus",
            "querying",
            "bad_data: parse error",
        ))
    });
    let report = Executor::new(d.adapters(), monitored_config())
        .with_signals(Arc::new(signals))
        .run(&released("v1.4.0", "main"), &ctx(false))
        .await;
    let detail = failed_verification(&report);
    assert!(
        detail.contains("could not be evaluated") && detail.contains("bad_data"),
        "{detail}"
    );
}

// ---- telemetry: what a run pushes ----

const PUSHGATEWAY: &str = "http://127.0.0.1:9091";

type Pushes = Arc<Mutex<Vec<Vec<neuro_deploy_core::model::Sample>>>>;

/// A sink recording every push into the staging group, answering `answer`.
fn sink(answer: fn() -> Result<(), AdapterError>) -> (neuro_deploy_core::MockMetricsSink, Pushes) {
    let pushes: Pushes = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&pushes);
    let mut sink = neuro_deploy_core::MockMetricsSink::new();
    sink.expect_push()
        .withf(|at, grouping, _| {
            at == PUSHGATEWAY
                && grouping
                    == [
                        ("job".to_owned(), "neuro_deploy".to_owned()),
                        ("app".to_owned(), "neuro-ui".to_owned()),
                        ("environment".to_owned(), "staging".to_owned()),
                    ]
        })
        .returning(move |_, _, samples| {
            log.lock().unwrap().push(samples.to_vec());
            answer()
        });
    (sink, pushes)
}

fn value(samples: &[neuro_deploy_core::model::Sample], name: &str) -> Option<f64> {
    samples.iter().find(|s| s.name == name).map(|s| s.value)
}

fn telemetry_config() -> Config {
    let mut config = fast_gate(config());
    config.telemetry.pushgateway = Some(PUSHGATEWAY.into());
    config
}

/// A release to staging whose rollout completes (or fails and is restored), pushing its metrics
/// to a sink answering `answer`.
async fn release_pushing(
    fails: bool,
    answer: fn() -> Result<(), AdapterError>,
    dry_run: bool,
) -> (Report, Pushes) {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0")).images(&[SHORT]);
    d.registry.expect_retag().returning(|_, to| Ok(image(to)));
    if !dry_run {
        d.lock_once("staging");
        record_set_images(&mut d);
        if fails {
            rollout_fails_then_restores(&mut d);
        } else {
            d.cluster
                .expect_await_rollout()
                .returning(|_, _, _| Ok(RolloutResult::Complete));
        }
    }
    let (sink, pushes) = sink(answer);
    let report = Executor::new(d.adapters(), telemetry_config())
        .with_metrics(Arc::new(sink))
        .run(&released("v1.4.0", "main"), &ctx(dry_run))
        .await;
    (report, pushes)
}

#[tokio::test(start_paused = true)]
async fn a_deploy_pushes_its_lock_then_its_outcome_its_version_and_when_it_succeeded() {
    let (report, pushes) = release_pushing(false, || Ok(()), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let pushes = pushes.lock().unwrap().clone();
    assert_eq!(pushes.len(), 2, "the lock taken, then the end: {pushes:#?}");
    assert!(value(&pushes[0], "neuro_deploy_lock_held_since_timestamp_seconds").unwrap() > 1.7e9);
    let end = &pushes[1];
    // 2026-11-26T12:00:00Z plus the (paused) run.
    let finished = value(end, "neuro_deploy_last_run_timestamp_seconds").unwrap();
    assert!(
        (1_795_694_400.0..1_795_694_500.0).contains(&finished),
        "{finished}"
    );
    assert_eq!(
        value(end, "neuro_deploy_last_success_timestamp_seconds"),
        Some(finished)
    );
    assert_eq!(
        value(end, "neuro_deploy_lock_held_since_timestamp_seconds"),
        Some(0.0)
    );
    let outcome = end
        .iter()
        .find(|s| s.name == "neuro_deploy_last_run_outcome")
        .unwrap();
    assert_eq!(
        outcome.labels,
        [
            ("outcome".to_owned(), "deployed".to_owned()),
            ("reason".to_owned(), String::new())
        ]
    );
    let info = end
        .iter()
        .find(|s| s.name == "neuro_deploy_deployed_version_info")
        .unwrap();
    assert_eq!(info.labels[0], ("version".to_owned(), "v1.4.0".to_owned()));
    assert!(value(end, "neuro_deploy_rollout_duration_seconds").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_deploy_keeps_the_last_success_and_a_failed_push_is_only_a_warning() {
    let (report, pushes) = release_pushing(true, || Ok(()), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    let pushes = pushes.lock().unwrap().clone();
    let end = pushes.last().unwrap();
    assert_eq!(
        value(end, "neuro_deploy_last_success_timestamp_seconds"),
        None
    );
    assert!(value(end, "neuro_deploy_last_failure_timestamp_seconds").is_some());
    assert!(end.iter().any(|s| s.name == "neuro_deploy_last_run_outcome"
        && s.labels[0] == ("outcome".to_owned(), "rolled_back".to_owned())));

    let unreachable = || {
        Err(AdapterError::failed(
            "pushgateway",
            "pushing",
            "connection refused",
        ))
    };
    let (report, _) = release_pushing(false, unreachable, false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let warnings: Vec<&String> = report
        .warnings
        .iter()
        .filter(|w| w.contains("could not be pushed to the Pushgateway"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, however many pushes: {:?}",
        report.warnings
    );

    // A dry run pushes nothing.
    let (report, pushes) = release_pushing(false, || Ok(()), true).await;
    assert_eq!(report.outcome, Outcome::WouldDeploy, "{report:#?}");
    assert!(pushes.lock().unwrap().is_empty());
}
