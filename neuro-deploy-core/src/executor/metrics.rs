//! Deploy metrics for the team's dashboards: what every finished run (not a dry run) pushes to
//! `[telemetry]`'s Pushgateway, grouped by `job="neuro_deploy"`, `app` and `environment`, and the
//! two pushes while a run waits (a lock held, a queue gate waiting), so alerts can see a run
//! that is stuck. Pure: the samples from a report; the executor pushes them.
//!
//! Each push replaces only the metrics of the same names in the group (the Pushgateway's POST):
//! `neuro_deploy_last_success_timestamp_seconds` is pushed only by a successful run, so a later
//! failure keeps it.

use chrono::{DateTime, Utc};

use super::report::{Outcome, Report};
use crate::config::Config;
use crate::model::Sample;

/// The `job` label of every group.
pub const JOB: &str = "neuro_deploy";

/// Every metric neuro-deploy pushes, with its HELP text (the README's table is this list).
pub const METRICS: [(&str, &str); 11] = [
    (
        LAST_RUN_TIMESTAMP,
        "When the last run finished (Unix seconds).",
    ),
    (LAST_RUN_DURATION, "How long the last run took, in seconds."),
    (
        LAST_RUN_OUTCOME,
        "1 for the outcome and reason code of the last run (deployed, refused, rolled_back …).",
    ),
    (
        LAST_SUCCESS_TIMESTAMP,
        "When the last successful deploy finished (Unix seconds); kept when a later run fails.",
    ),
    (
        LAST_FAILURE_TIMESTAMP,
        "When the last deploy that was rolled back (or whose rollback failed) finished (Unix seconds).",
    ),
    (
        DEPLOYED_VERSION_INFO,
        "1 for the version and digest the last successful deploy set.",
    ),
    (
        QUEUE_WAIT,
        "How long the last run's queue gate waited, in seconds (0 without one).",
    ),
    (
        ROLLOUT_DURATION,
        "How long the last run's rollout took, in seconds (0 without one).",
    ),
    (
        VERIFICATION_DURATION,
        "How long the last run's verification took, in seconds (0 without one).",
    ),
    (
        LOCK_HELD_SINCE,
        "When the running deploy took its lock (Unix seconds); 0 when no run holds it.",
    ),
    (
        QUEUE_WAIT_STARTED,
        "When the running deploy's queue gate started waiting (Unix seconds); 0 when none waits.",
    ),
];

const LAST_RUN_TIMESTAMP: &str = "neuro_deploy_last_run_timestamp_seconds";
const LAST_RUN_DURATION: &str = "neuro_deploy_last_run_duration_seconds";
const LAST_RUN_OUTCOME: &str = "neuro_deploy_last_run_outcome";
const LAST_SUCCESS_TIMESTAMP: &str = "neuro_deploy_last_success_timestamp_seconds";
const LAST_FAILURE_TIMESTAMP: &str = "neuro_deploy_last_failure_timestamp_seconds";
const DEPLOYED_VERSION_INFO: &str = "neuro_deploy_deployed_version_info";
const QUEUE_WAIT: &str = "neuro_deploy_queue_wait_seconds";
const ROLLOUT_DURATION: &str = "neuro_deploy_rollout_duration_seconds";
const VERIFICATION_DURATION: &str = "neuro_deploy_verification_duration_seconds";
const LOCK_HELD_SINCE: &str = "neuro_deploy_lock_held_since_timestamp_seconds";
const QUEUE_WAIT_STARTED: &str = "neuro_deploy_queue_wait_started_timestamp_seconds";

fn sample(name: &'static str, labels: Vec<(String, String)>, value: f64) -> Sample {
    let help = METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, help)| help);
    Sample {
        name,
        help,
        labels,
        value,
    }
}

/// Unix seconds, with the fraction.
fn unix(at: DateTime<Utc>) -> f64 {
    at.timestamp() as f64 + f64::from(at.timestamp_subsec_millis()) / 1000.0
}

/// The group a run's metrics go in (`job`, `app`, `environment` — the namespace when the run
/// has no environment); `None` for a run that never got to one (bad input).
pub fn grouping(config: &Config, report: &Report) -> Option<Vec<(String, String)>> {
    let environment = report
        .environment
        .clone()
        .or_else(|| report.namespace.clone())?;
    Some(vec![
        ("job".to_owned(), JOB.to_owned()),
        ("app".to_owned(), config.app.name.clone()),
        ("environment".to_owned(), environment),
    ])
}

/// Seconds the report's steps of `kinds` took.
fn step_seconds(report: &Report, kinds: &[&str]) -> f64 {
    let millis: u64 = report
        .steps
        .iter()
        .filter(|s| kinds.contains(&s.kind.as_str()))
        .map(|s| s.duration_ms)
        .sum();
    millis as f64 / 1000.0
}

/// What a run that finished at `finished`, after `duration` seconds, pushes.
pub fn run_samples(report: &Report, finished: DateTime<Utc>, duration: f64) -> Vec<Sample> {
    let at = unix(finished);
    let outcome = vec![
        ("outcome".to_owned(), report.outcome.as_str().to_owned()),
        (
            "reason".to_owned(),
            report.reason.map(|r| r.to_string()).unwrap_or_default(),
        ),
    ];
    let mut samples = vec![
        sample(LAST_RUN_TIMESTAMP, Vec::new(), at),
        sample(LAST_RUN_DURATION, Vec::new(), duration),
        sample(LAST_RUN_OUTCOME, outcome, 1.0),
        sample(
            QUEUE_WAIT,
            Vec::new(),
            step_seconds(report, &["gate_queues_drained", "recheck_queues"]),
        ),
        sample(
            ROLLOUT_DURATION,
            Vec::new(),
            step_seconds(report, &["await_rollout"]),
        ),
        sample(
            VERIFICATION_DURATION,
            Vec::new(),
            step_seconds(report, &["verify"]),
        ),
        // The run is over: it holds no lock and waits for no queue.
        sample(LOCK_HELD_SINCE, Vec::new(), 0.0),
        sample(QUEUE_WAIT_STARTED, Vec::new(), 0.0),
    ];
    match report.outcome {
        Outcome::Deployed => {
            samples.push(sample(LAST_SUCCESS_TIMESTAMP, Vec::new(), at));
            let version = vec![
                (
                    "version".to_owned(),
                    report.version.clone().unwrap_or_default(),
                ),
                (
                    "digest".to_owned(),
                    report
                        .image
                        .as_deref()
                        .and_then(|image| image.split_once('@'))
                        .map(|(_, digest)| digest.to_owned())
                        .unwrap_or_default(),
                ),
            ];
            samples.push(sample(DEPLOYED_VERSION_INFO, version, 1.0));
        }
        Outcome::RolledBack | Outcome::RollbackFailed => {
            samples.push(sample(LAST_FAILURE_TIMESTAMP, Vec::new(), at));
        }
        _ => {}
    }
    samples
}

/// What a run pushes when it takes its lock at `at`.
pub fn lock_taken(at: DateTime<Utc>) -> Vec<Sample> {
    vec![sample(LOCK_HELD_SINCE, Vec::new(), unix(at))]
}

/// What a run pushes when its queue gate starts waiting at `at`.
pub fn queue_wait_started(at: DateTime<Utc>) -> Vec<Sample> {
    vec![sample(QUEUE_WAIT_STARTED, Vec::new(), unix(at))]
}
