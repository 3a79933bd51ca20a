//! The same scenarios against a real cluster. Opt in:
//!
//! ```text
//! NEURO_DEPLOY_E2E_KUBECONFIG=~/.kube/config cargo test -p neuro-deploy-kube -- --ignored
//! ```
//! Each test creates its own namespace `neuro-deploy-e2e-…` with a small Deployment
//! (`registry.k8s.io/pause`), and deletes it at the end. Never run in CI.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use neuro_deploy_kube::KubeCluster;

use crate::scenarios::{self, Harness};

const REPO: &str = "registry.k8s.io/pause";

struct Cluster {
    harness: Harness,
    client: Client,
}

fn kubeconfig() -> PathBuf {
    let path = std::env::var("NEURO_DEPLOY_E2E_KUBECONFIG")
        .expect("set NEURO_DEPLOY_E2E_KUBECONFIG to the kubeconfig of a disposable cluster to run the opt-in suite");
    PathBuf::from(path)
}

async fn start(name: &str) -> Cluster {
    let path = kubeconfig();
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = Client::try_from(config).unwrap();
    let suffix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let namespace = format!("neuro-deploy-e2e-{name}-{suffix}");
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({ "metadata": { "name": namespace } })).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "neuro-ui", "labels": { "app.kubernetes.io/part-of": "neuro-ui" } },
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 20,
            "selector": { "matchLabels": { "app": "neuro-ui" } },
            "template": {
                "metadata": { "labels": { "app": "neuro-ui" } },
                "spec": { "containers": [
                    { "name": "web", "image": format!("{REPO}:3.9") },
                    { "name": "worker", "image": format!("{REPO}:3.9") },
                    { "name": "envoy", "image": "registry.k8s.io/pause:3.8" }
                ] }
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let cluster = KubeCluster::from_kubeconfig(
        &path,
        "app.kubernetes.io/part-of=neuro-ui",
        scenarios::settings(),
    )
    .await
    .unwrap();
    // Wait for the first rollout before the scenarios start.
    let _ = neuro_deploy_core::ClusterDeployer::await_rollout(
        &cluster,
        &namespace,
        &["neuro-ui".to_owned()],
        Duration::from_secs(120),
    )
    .await;
    Cluster {
        harness: Harness {
            cluster,
            namespace,
            // The scenarios expect the app at tag `v1`: the pause image's tags stand in.
            repo: REPO.to_owned(),
            failing_tag: "does-not-exist".to_owned(),
            good_tag: "3.10".to_owned(),
        },
        client,
    }
}

async fn finish(cluster: Cluster) {
    let _ = Api::<Namespace>::all(cluster.client)
        .delete(&cluster.harness.namespace, &DeleteParams::default())
        .await;
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn real_cluster_locks() {
    let c = start("locks").await;
    scenarios::locks(&c.harness).await;
    scenarios::concurrent_lock_attempts_have_one_winner(&c.harness).await;
    scenarios::expired_lease_is_taken_over(&c.harness).await;
    finish(c).await;
}

#[tokio::test]
#[ignore = "needs cluster"]
async fn real_cluster_rollout_and_rollback() {
    let c = start("rollout").await;
    // The scenarios start from tag `v1`; on a real cluster the first image is `3.9`.
    let h = &c.harness;
    let before = scenarios::app_workload(
        &neuro_deploy_core::ClusterDeployer::workloads(&h.cluster, &h.namespace)
            .await
            .unwrap(),
    );
    assert_eq!(before.app_tag(REPO).as_deref(), Some("3.9"));
    scenarios::failed_rollout_then_exact_rollback(h).await;
    finish(c).await;
}
