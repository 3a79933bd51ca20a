//! Reading the facts: what one source is asked is asked at once, and a source is asked only
//! when every source before it answered.

use async_trait::async_trait;
use neuro_deploy_core::model::{Approval, Decisions, Quarantined, Spent};
use neuro_deploy_core::{SharedState, VersionedState};

use super::*;

/// The shared state, each answer a second late on tokio's (paused) clock.
struct Slow(MockSharedState);

#[async_trait]
impl SharedState for Slow {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.read_state(namespace).await
    }

    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        self.0.write_decisions(namespace, decisions, version).await
    }

    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError> {
        self.0.record_approval(namespace, approval).await
    }

    async fn spend_approvals(
        &self,
        namespace: &str,
        approvals: &[Spent],
    ) -> Result<(), AdapterError> {
        self.0.spend_approvals(namespace, approvals).await
    }

    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError> {
        self.0.add_quarantine(namespace, entry).await
    }

    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.authenticated_user(namespace).await
    }
}

/// dev with one approval required: a run there reads its Deployments, its shared state and who
/// runs it from the cluster, then the image from the registry.
fn approvals_config() -> Config {
    Config::from_toml(
        &dev_config_with("[environments.approvals]\nrequired = 1"),
        "neuro-deploy.toml",
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn what_the_cluster_is_asked_is_asked_at_once() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&["v1.4.0"])
        .no_writes();
    let mut adapters = d.adapters();
    adapters.state = Some(Arc::new(Slow(neuro_deploy_core::nothing_shared(Some(
        "ops",
    )))));
    let executor = neuro_deploy_core::Executor::new(adapters, approvals_config());
    let started = tokio::time::Instant::now();
    let report = executor
        .run(
            &deploy("v1.4.0", DeployTarget::Environment("dev".into())),
            &ctx(true),
        )
        .await;
    // Refused (nobody approved), after reading the shared state and who runs: both a second
    // late, asked together, so a second passed rather than two.
    assert_eq!(report.outcome, Outcome::Refused, "{report:#?}");
    assert!(
        report.message.contains("approv"),
        "refused for want of an approval: {report:#?}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_cluster_that_cannot_be_read_leaves_the_registry_unasked() {
    let mut d = Doubles::new();
    d.cluster.expect_workloads().returning(|_| {
        Err(AdapterError::failed(
            "kubernetes",
            "listing deployments",
            "connection refused",
        ))
    });
    // Nothing may be asked of the registry (a call without an expectation fails the test).
    d.registry = MockRegistry::new();
    d.registry.expect_repository_uri().times(0);
    d.registry.expect_find().times(0);
    d.no_writes();
    let report = run_with(
        d,
        config(),
        &deploy("v1.4.0", DeployTarget::Environment("dev".into())),
        true,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:#?}");
    assert!(report.message.contains("connection refused"), "{report:#?}");
}
