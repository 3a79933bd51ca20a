//! Fencing: every write under the lock carries the `resourceVersion` it was judged on, and the
//! restore after a failed rollout writes back only over what this run wrote.

use super::safety::workloads_in_turn;
use super::*;

/// `app(tag)` with the resourceVersions a read would show.
fn versioned(tag: &str) -> Vec<Workload> {
    let mut workloads = app(tag);
    for (n, w) in workloads.iter_mut().enumerate() {
        w.resource_version = Some(format!("{}", 100 + n));
    }
    workloads
}

#[tokio::test(start_paused = true)]
async fn each_write_carries_the_version_read_under_the_lock_and_the_restore_the_one_read_before_it()
{
    let mut d = Doubles::new();
    d.workloads("staging", versioned("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    let calls = record_set_images(&mut d);
    rollout_fails_then_restores(&mut d);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    let calls = calls.lock().unwrap();
    let forward: Vec<(&str, Option<&str>)> = calls[..2]
        .iter()
        .flatten()
        .map(|c| (c.workload.as_str(), c.resource_version.as_deref()))
        .collect();
    for (workload, version) in &forward {
        let read = if *workload == "neuro-ui" {
            "100"
        } else {
            "101"
        };
        assert_eq!(*version, Some(read), "{forward:?}");
    }
    // The restore read the Deployments again: each still ran what this run wrote, so each is
    // written back on the version that read showed (not the one before this run's write).
    assert!(
        calls[2..].iter().flatten().all(|c| c
            .resource_version
            .as_deref()
            .is_some_and(|v| v.starts_with("written-"))),
        "{:?}",
        &calls[2..]
    );
}

#[tokio::test(start_paused = true)]
async fn the_restore_leaves_alone_a_deployment_someone_changed_after_this_run_wrote_it() {
    let mut d = Doubles::new();
    // Read before the lock, under it, and — after the failed rollout — once more: by then
    // someone has set another image on `neuro-ui`.
    let mut changed = versioned("v1.3.0");
    for c in changed[0]
        .containers
        .iter_mut()
        .filter(|c| c.image.starts_with(REPO))
    {
        c.image = format!("{REPO}:hotfix-by-hand");
    }
    changed[0].resource_version = Some("999".into());
    workloads_in_turn(
        &mut d,
        "staging",
        vec![versioned("v1.3.0"), versioned("v1.3.0"), changed],
    );
    d.images(&["v1.4.0"]).lock_once("staging");
    let calls = record_set_images(&mut d);
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| {
            Ok(RolloutResult::Failed {
                workload: "neuro-ui-api".into(),
                reason: "progress deadline exceeded".into(),
            })
        });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RollbackFailed);
    assert!(
        report
            .message
            .contains("Deployment `neuro-ui` was changed by someone else")
            && report.message.contains("hotfix-by-hand"),
        "{}",
        report.message
    );
    let calls = calls.lock().unwrap();
    let restored: Vec<&str> = calls[2..]
        .iter()
        .flatten()
        .map(|c| c.workload.as_str())
        .collect();
    assert!(
        !restored.is_empty() && restored.iter().all(|w| *w == "neuro-ui-api"),
        "only what still runs this run's write is written back: {restored:?}"
    );
}
