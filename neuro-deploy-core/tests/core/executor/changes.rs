//! What a deploy changes: one compare per run, on the report, the record and the
//! notification; a compare that fails or hangs is a warning, never a different outcome.

use neuro_deploy_core::config::NotifyFormat;
use neuro_deploy_core::model::{CommitSummary, Comparison, Divergence};
use neuro_deploy_core::{DeploymentRecord, Executor, MockDeploymentRecorder, notify};

use super::*;

fn ahead(base: &str, head: &str) -> Comparison {
    Comparison {
        base: base.to_owned(),
        head: head.to_owned(),
        status: Divergence::Ahead,
        ahead_by: 2,
        behind_by: 0,
        commits: vec![
            CommitSummary {
                sha: "1a2b3c4".to_owned(),
                title: "Add a queue sparkline (#412)".to_owned(),
                author: "octocat".to_owned(),
                pull_request: Some(412),
            },
            CommitSummary {
                sha: "5d6e7f8".to_owned(),
                title: "Fix <script> in titles & more".to_owned(),
                author: "hubot".to_owned(),
                pull_request: None,
            },
        ],
    }
}

/// Production on v1.3.0, staging on v1.4.0, queues empty, the deploy succeeds.
fn deploying_promotion(releases: MockReleaseSource) -> Doubles {
    let mut d = promotion_doubles();
    d.releases = releases;
    d.queues_always(EMPTY).lock_once("leaf-neuro-ui");
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    d
}

#[tokio::test(start_paused = true)]
async fn a_promotion_asks_once_what_changed_and_reports_records_and_notifies_it() {
    let mut releases = MockReleaseSource::new();
    releases
        .expect_compare()
        .withf(|base, head| base == "v1.3.0" && head == "v1.4.0")
        .times(1)
        .returning(|base, head| Ok(Some(ahead(base, head))));
    let mut recorder = MockDeploymentRecorder::new();
    recorder
        .expect_start()
        .withf(|record: &DeploymentRecord| {
            record.description == "promote v1.4.0 to production (v1.3.0 → v1.4.0: 2 commits ahead)"
                && record
                    .payload
                    .changes
                    .as_ref()
                    .and_then(|c| c.comparison.as_ref())
                    .is_some_and(|c| c.commits.len() == 2)
        })
        .times(1)
        .returning(|_| Ok(7));
    recorder
        .expect_finish()
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let report = Executor::new(
        deploying_promotion(releases).adapters(),
        fast_gate(config()),
    )
    .with_recorder(Arc::new(recorder))
    .run(&promote("v1.4.0"), &ctx(false))
    .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let changes = report.changes.as_ref().expect("what changed is reported");
    assert_eq!(changes.from.as_deref(), Some("v1.3.0"));
    assert_eq!(
        changes.lines()[1..],
        [
            "5d6e7f8 Fix <script> in titles & more — hubot".to_owned(),
            "1a2b3c4 Add a queue sparkline (#412) — octocat".to_owned(),
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["changes"]["comparison"]["ahead_by"], 2);

    let mut config = config();
    config.notify.format = NotifyFormat::Slack;
    let message = notify::message(&config, &report, "ops@laptop").to_string();
    assert!(
        message.contains("*What changed* v1.3.0 → v1.4.0: 2 commits ahead"),
        "{message}"
    );
    assert!(
        message.contains("Fix &lt;script&gt; in titles &amp; more"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_compare_that_fails_is_a_warning_and_the_promotion_still_deploys() {
    let mut releases = MockReleaseSource::new();
    releases
        .expect_compare()
        .times(1)
        .returning(|_, _| Err(AdapterError::failed("github", "GET compare", "HTTP 502")));
    let report = run_with(
        deploying_promotion(releases),
        fast_gate(config()),
        &promote("v1.4.0"),
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("HTTP 502") && w.contains("could not be listed")),
        "{:?}",
        report.warnings
    );
    let changes = report
        .changes
        .expect("the versions are reported without the commits");
    assert_eq!(changes.comparison, None);
    assert_eq!(
        changes.headline(),
        "v1.3.0 → v1.4.0: commits not listed (the compare could not be read)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_shows_what_changed_without_writing() {
    let mut d = promotion_doubles();
    d.no_writes().queues_always(EMPTY);
    let mut releases = MockReleaseSource::new();
    releases
        .expect_compare()
        .times(1)
        .returning(|base, head| Ok(Some(ahead(base, head))));
    d.releases = releases;
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), true).await;
    assert_eq!(report.outcome, Outcome::WouldDeploy, "{report:#?}");
    assert!(report.changes.is_some_and(|c| c.comparison.is_some()));
}
