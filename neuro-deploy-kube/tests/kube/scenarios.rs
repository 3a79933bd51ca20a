//! Scenarios that hold on kube-sim and on a real cluster alike.

use std::time::Duration;

use neuro_deploy_core::{
    ClusterDeployer, DeployAudit, ImageChange, LockAttempt, RolloutResult, Workload,
};
use neuro_deploy_kube::{KubeCluster, KubeSettings};

/// A cluster under test: a namespace with the app's Deployment `neuro-ui` (app containers
/// `web` and `worker` on `repo:v1`, sidecar `envoy`).
pub struct Harness {
    pub cluster: KubeCluster,
    pub namespace: String,
    pub repo: String,
    /// An image tag that never becomes available.
    pub failing_tag: String,
    /// A second tag that rolls out fine.
    pub good_tag: String,
}

pub fn settings() -> KubeSettings {
    KubeSettings {
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        max_retries: 3,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        conflict_retries: 3,
        watch_timeout: Duration::from_secs(5),
        lease_name: "neuro-deploy".to_owned(),
        lease_poll: Duration::from_millis(100),
    }
}

pub fn audit(version: &str, previous: Option<&str>) -> DeployAudit {
    DeployAudit {
        version: Some(version.to_owned()),
        previous_version: previous.map(str::to_owned),
        previous_image: None,
        deployed_at: "2026-11-26T12:00:00Z".parse().unwrap(),
        deployed_by: "ops@test/run-1".to_owned(),
        change_cause: format!("neuro-deploy: neuro-ui {version} to test by ops@test"),
        queue_gate_skipped: None,
        overridden: None,
        approved_by: None,
        rolled_back: None,
    }
}

pub fn app_workload(workloads: &[Workload]) -> Workload {
    workloads
        .iter()
        .find(|w| w.name == "neuro-ui")
        .cloned()
        .expect("the neuro-ui Deployment is listed")
}

/// The changes that move both app containers to `tag` (what the core computes), fenced on
/// the resourceVersion `workload` was read at.
pub fn changes_to(h: &Harness, workload: &Workload, tag: &str) -> Vec<ImageChange> {
    workload
        .app_containers(&h.repo)
        .map(|c| ImageChange {
            workload: workload.name.clone(),
            container: c.container.clone(),
            image: format!("{}:{tag}", h.repo),
            previous_image: c.image.clone(),
            resource_version: workload.resource_version.clone(),
            generation: Some(workload.rollout.generation),
        })
        .collect()
}

pub async fn set_image_and_roll_out(h: &Harness) {
    let before = app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    assert_eq!(before.app_tag(&h.repo).as_deref(), Some("v1"));
    assert!(before.rollout.state().is_complete(), "{:?}", before.rollout);
    let changes = changes_to(h, &before, &h.good_tag);
    assert_eq!(changes.len(), 2, "both app containers, not the sidecar");
    h.cluster
        .set_images(&h.namespace, &changes, &audit(&h.good_tag, Some("v1")))
        .await
        .unwrap();
    let result = h
        .cluster
        .await_rollout(
            &h.namespace,
            &["neuro-ui".to_owned()],
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    assert_eq!(result, RolloutResult::Complete);
    let after = app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    assert_eq!(after.app_tag(&h.repo).as_deref(), Some(h.good_tag.as_str()));
    let sidecar = after
        .containers
        .iter()
        .find(|c| c.container == "envoy")
        .unwrap();
    assert_eq!(
        sidecar.image,
        before
            .containers
            .iter()
            .find(|c| c.container == "envoy")
            .unwrap()
            .image
    );
    assert_eq!(after.audit.version.as_deref(), Some(h.good_tag.as_str()));
    assert_eq!(after.audit.previous_version.as_deref(), Some("v1"));
    assert_eq!(after.audit.deployed_by.as_deref(), Some("ops@test/run-1"));
    assert!(after.rollout.state().is_complete());
}

pub async fn failed_rollout_then_exact_rollback(h: &Harness) {
    let before = app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    let changes = changes_to(h, &before, &h.failing_tag);
    h.cluster
        .set_images(&h.namespace, &changes, &audit(&h.failing_tag, Some("v1")))
        .await
        .unwrap();
    let result = h
        .cluster
        .await_rollout(
            &h.namespace,
            &["neuro-ui".to_owned()],
            Duration::from_secs(180),
        )
        .await
        .unwrap();
    assert!(
        matches!(result, RolloutResult::Failed { ref workload, .. } if workload == "neuro-ui"),
        "{result:?}"
    );
    // Roll back exactly what was recorded before the change.
    let restore: Vec<ImageChange> = changes.iter().map(ImageChange::reverted).collect();
    h.cluster
        .set_images(&h.namespace, &restore, &audit("v1", None))
        .await
        .unwrap();
    let result = h
        .cluster
        .await_rollout(
            &h.namespace,
            &["neuro-ui".to_owned()],
            Duration::from_secs(180),
        )
        .await
        .unwrap();
    assert_eq!(result, RolloutResult::Complete);
    let after = app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    let images = |w: &Workload| {
        w.containers
            .iter()
            .map(|c| (c.container.clone(), c.image.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        images(&after),
        images(&before),
        "the exact previous images are back"
    );
    assert_eq!(
        after.audit.version.as_deref(),
        Some("v1"),
        "the audit trail says what runs again"
    );
}

pub async fn locks(h: &Harness) {
    let lease = Duration::from_secs(15);
    let mine = match h
        .cluster
        .lock(&h.namespace, "a@host/1", lease)
        .await
        .unwrap()
    {
        LockAttempt::Acquired(handle) => handle,
        held => panic!("first lock must succeed: {held:?}"),
    };
    match h
        .cluster
        .lock(&h.namespace, "b@host/2", lease)
        .await
        .unwrap()
    {
        LockAttempt::Held { holder, expires } => {
            assert_eq!(holder, "a@host/1");
            assert!(expires.is_some());
        }
        acquired => panic!("a live lease must not be taken: {acquired:?}"),
    }
    let renewed = h.cluster.renew(&mine).await.unwrap();
    assert_ne!(renewed.resource_version, mine.resource_version);
    h.cluster.unlock(&renewed).await.unwrap();
    match h
        .cluster
        .lock(&h.namespace, "b@host/2", lease)
        .await
        .unwrap()
    {
        LockAttempt::Acquired(theirs) => {
            assert!(
                h.cluster.renew(&renewed).await.is_err(),
                "a lost lease cannot be renewed"
            );
            h.cluster.unlock(&theirs).await.unwrap();
        }
        held => panic!("a released lease is free: {held:?}"),
    }
}

pub async fn expired_lease_is_taken_over(h: &Harness) {
    // A holder that died: a 1-second lease, never renewed.
    match h
        .cluster
        .lock(&h.namespace, "crashed@host/1", Duration::from_secs(1))
        .await
        .unwrap()
    {
        LockAttempt::Acquired(_) => {}
        held => panic!("{held:?}"),
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    match h
        .cluster
        .lock(&h.namespace, "next@host/2", Duration::from_secs(15))
        .await
        .unwrap()
    {
        LockAttempt::Acquired(handle) => h.cluster.unlock(&handle).await.unwrap(),
        held => panic!("an expired lease is taken over: {held:?}"),
    }
}

pub async fn concurrent_lock_attempts_have_one_winner(h: &Harness) {
    let attempts = (0..4).map(|i| {
        let cluster = h.cluster.clone();
        let namespace = h.namespace.clone();
        tokio::spawn(async move {
            cluster
                .lock(
                    &namespace,
                    &format!("racer@host/{i}"),
                    Duration::from_secs(15),
                )
                .await
        })
    });
    let mut winners = Vec::new();
    for attempt in futures::future::join_all(attempts).await {
        if let LockAttempt::Acquired(handle) = attempt.unwrap().unwrap() {
            winners.push(handle);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of the concurrent attempts wins: {winners:?}"
    );
    h.cluster.unlock(&winners[0]).await.unwrap();
}
