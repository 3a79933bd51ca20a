//! Several clusters behind one `ClusterDeployer`: each environment's namespace is served by the
//! cluster of its kubeconfig context (dev and staging in one, production in another), so a
//! promotion reads the source in the source's cluster and writes — and locks — the target in
//! the target's. Namespaces no environment names go to the default cluster.
//!
//! What it is not: it chooses no context; the binaries map environments to contexts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::config::{KubeConfigOptions, Kubeconfig};
use neuro_deploy_core::model::{Approval, Decisions, Quarantined, Spent};
use neuro_deploy_core::{
    AdapterError, ClusterDeployer, DeployAudit, ImageChange, LockAttempt, LockHandle, ReasonCode,
    RolloutResult, SharedState, VersionedState, Workload,
};

use crate::{KubeCluster, KubeSettings, config_error, kubeconfig_shown};

/// Which cluster: a kubeconfig (this path, else `KUBECONFIG` or `~/.kube/config`, else the
/// in-cluster service account) and a context in it (else its current context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterChoice {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`, or an environment's `kube_context`.
    pub context: Option<String>,
}

impl KubeCluster {
    /// Connects to the chosen cluster. A context that the kubeconfig does not have is invalid
    /// input naming the kubeconfig's contexts. Nothing is contacted yet.
    pub async fn connect(
        choice: &ClusterChoice,
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        if choice.kubeconfig.is_none() && choice.context.is_none() {
            return KubeCluster::from_env(selector, settings).await;
        }
        let kubeconfig = match &choice.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|e| config_error(choice.kubeconfig.as_deref(), &e))?;
        if let Some(context) = &choice.context
            && !kubeconfig.contexts.iter().any(|c| &c.name == context)
        {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(AdapterError::Refused {
                code: ReasonCode::InvalidInput,
                message: format!(
                    "kube context `{context}` is not in the kubeconfig ({}); its contexts: {}",
                    kubeconfig_shown(choice.kubeconfig.as_deref()),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        }
        let options = KubeConfigOptions {
            context: choice.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| config_error(choice.kubeconfig.as_deref(), &e))?;
        KubeCluster::from_config(config, selector, settings)
    }
}

/// Namespaces served by their environments' clusters; any other by the default one.
#[derive(Debug, Clone)]
pub struct Clusters {
    default: Arc<KubeCluster>,
    by_namespace: BTreeMap<String, Arc<KubeCluster>>,
}

impl Clusters {
    /// All namespaces in `default`, until [`Clusters::serve`] says otherwise.
    pub fn new(default: Arc<KubeCluster>) -> Clusters {
        Clusters {
            default,
            by_namespace: BTreeMap::new(),
        }
    }

    /// `namespace` lives in `cluster`.
    pub fn serve(&mut self, namespace: &str, cluster: Arc<KubeCluster>) {
        self.by_namespace.insert(namespace.to_owned(), cluster);
    }

    /// The cluster `namespace` lives in.
    pub fn of(&self, namespace: &str) -> &KubeCluster {
        self.by_namespace.get(namespace).unwrap_or(&self.default)
    }
}

#[async_trait]
impl ClusterDeployer for Clusters {
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError> {
        self.of(namespace).workloads(namespace).await
    }

    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        self.of(namespace)
            .set_images(namespace, changes, audit)
            .await
    }

    async fn await_rollout(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        self.of(namespace)
            .await_rollout(namespace, workloads, timeout)
            .await
    }

    async fn lock(
        &self,
        namespace: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<LockAttempt, AdapterError> {
        self.of(namespace).lock(namespace, holder, lease).await
    }

    async fn renew(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError> {
        self.of(&lock.namespace).renew(lock).await
    }

    async fn unlock(&self, lock: &LockHandle) -> Result<(), AdapterError> {
        self.of(&lock.namespace).unlock(lock).await
    }

    async fn annotate(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError> {
        self.of(namespace)
            .annotate(namespace, workloads, annotations)
            .await
    }
}

#[async_trait]
impl SharedState for Clusters {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        self.of(namespace).read_state(namespace).await
    }

    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        self.of(namespace)
            .write_decisions(namespace, decisions, version)
            .await
    }

    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError> {
        self.of(namespace)
            .record_approval(namespace, approval)
            .await
    }

    async fn spend_approvals(
        &self,
        namespace: &str,
        approvals: &[Spent],
    ) -> Result<(), AdapterError> {
        self.of(namespace)
            .spend_approvals(namespace, approvals)
            .await
    }

    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError> {
        self.of(namespace).add_quarantine(namespace, entry).await
    }

    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError> {
        self.of(namespace).authenticated_user(namespace).await
    }
}
