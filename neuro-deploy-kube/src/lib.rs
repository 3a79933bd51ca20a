//! # neuro-deploy-kube
//!
//! The Kubernetes adapter of neuro-deploy: [`KubeCluster`] implements the core's
//! `ClusterDeployer` with kube-rs — the app's Deployments by label selector, one
//! strategic-merge patch per Deployment (merged by container name, like `kubectl set image`)
//! carrying the audit annotations, rollout waiting by kubectl's rule over one watch, and a
//! `coordination.k8s.io/v1` Lease per namespace as the deploy lock.
//!
//! **What it is not**: no policy — which containers change, and to what, is decided by the
//! core; this crate only applies it. kube-rs' default retry (429/503/504 up to 15 times, up to
//! 1000 s apart) is switched off and replaced by a small explicit policy, and every request
//! is bounded by a timeout ([`KubeSettings`]).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use neuro_deploy_core::{
    AdapterError, ClusterDeployer, DeployAudit, ImageChange, LockAttempt, LockHandle, ReasonCode,
    RolloutResult, Workload,
};

mod access;
mod approvers;
mod clusters;
mod lease;
mod rbac;
mod records;
mod request;
mod rollout;
mod state;
mod workloads;

pub use access::REQUIRED_ACCESS;
pub use approvers::{Touched, object_shown};
pub use clusters::{ClusterChoice, Clusters};
pub use lease::{BreakResult, LeaseInfo, LeaseObserver, LeaseState, Observed};
pub use rbac::{Grants, Subject, approver_objects, manifests as rbac_manifests};
pub use records::{RECORD_LABEL, approval_record};

pub(crate) const SERVICE: &str = "kubernetes";
/// The field manager neuro-deploy writes as.
pub const FIELD_MANAGER: &str = "neuro-deploy";

/// Timeouts and retries of every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Bound of one request (a watch is bounded by `watch_timeout` instead).
    pub request_timeout: Duration,
    /// Connection bound.
    pub connect_timeout: Duration,
    /// Retries of 429/500/503/504 and transport errors.
    pub max_retries: u32,
    /// First retry delay (doubles, up to `max_backoff`).
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Re-reads and retries after a 409 conflict.
    pub conflict_retries: u32,
    /// Server-side bound of one watch request; the watch is re-established after it.
    pub watch_timeout: Duration,
    /// Name of the Lease used as the lock.
    pub lease_name: String,
    /// How often a Lease whose holder looks gone is read while it is watched for its whole
    /// duration before a takeover (see [`LeaseObserver`]).
    pub lease_poll: Duration,
}

impl Default for KubeSettings {
    fn default() -> Self {
        KubeSettings {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            conflict_retries: 3,
            watch_timeout: Duration::from_secs(25),
            lease_name: "neuro-deploy".to_owned(),
            lease_poll: Duration::from_secs(1),
        }
    }
}

/// The app's Deployments in a cluster.
#[derive(Clone)]
pub struct KubeCluster {
    pub(crate) client: Client,
    selector: String,
    pub(crate) settings: KubeSettings,
    pub(crate) progress: Option<RolloutProgress>,
    /// Namespace → what this process has seen of another holder's Lease, kept across lock
    /// attempts (see `lease`).
    pub(crate) lease_seen: lease::SeenLeases,
    /// Who this process authenticates as on the cluster (`SelfSubjectReview`), asked once: the
    /// same credentials get the same answer for as long as the process runs.
    pub(crate) authenticated_as: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// Told, during a rollout wait, where a Deployment's rollout stands whenever that changes
/// (`neuro-ui`, `1 of 2 updated replicas available`), as `kubectl rollout status` prints it.
pub type RolloutProgress = std::sync::Arc<dyn Fn(&str, &str) + Send + Sync>;

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("selector", &self.selector)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Where the kubeconfig comes from, for messages.
pub(crate) fn kubeconfig_shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "KUBECONFIG or ~/.kube/config".to_owned(),
        |p| p.display().to_string(),
    )
}

/// A kubeconfig that cannot be read or used is configuration the user gave: invalid input
/// (exit 2) naming the file and why, found before anything is contacted.
pub(crate) fn config_error(
    path: Option<&Path>,
    error: &(dyn std::error::Error + 'static),
) -> AdapterError {
    let why = neuro_deploy_core::error::one_line(error);
    AdapterError::Refused {
        code: ReasonCode::InvalidInput,
        message: format!(
            "the kubeconfig ({}) cannot be used: {why}; point --kubeconfig or KUBECONFIG at a readable kubeconfig, or run inside the cluster",
            kubeconfig_shown(path)
        ),
    }
}

impl KubeCluster {
    /// From `KUBECONFIG` / `~/.kube/config` / in-cluster configuration.
    pub async fn from_env(
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        let config = Config::infer().await.map_err(|e| config_error(None, &e))?;
        KubeCluster::from_config(config, selector, settings)
    }

    /// From a kubeconfig file (its current context).
    pub async fn from_kubeconfig(
        path: &Path,
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| config_error(Some(path), &e))?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| config_error(Some(path), &e))?;
        KubeCluster::from_config(config, selector, settings)
    }

    /// From a client configuration; our retry policy and timeouts replace kube-rs' defaults.
    pub fn from_config(
        mut config: Config,
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        config.default_retry = false;
        config.connect_timeout = Some(settings.connect_timeout);
        // Reads of a watch stream are bounded by its own server-side timeout plus slack.
        config.read_timeout = Some(
            settings
                .request_timeout
                .max(settings.watch_timeout + Duration::from_secs(5)),
        );
        config.write_timeout = Some(settings.request_timeout);
        let client = Client::try_from(config).map_err(|e| config_error(None, &e))?;
        Ok(KubeCluster {
            client,
            selector: selector.to_owned(),
            settings,
            progress: None,
            lease_seen: lease::SeenLeases::default(),
            authenticated_as: std::sync::Arc::default(),
        })
    }

    /// Reports rollout progress to `progress` while waiting for rollouts.
    pub fn with_rollout_progress(mut self, progress: RolloutProgress) -> KubeCluster {
        self.progress = Some(progress);
        self
    }

    pub(crate) fn deployments(&self, namespace: &str) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub(crate) fn leases(&self, namespace: &str) -> Api<Lease> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

#[async_trait]
impl ClusterDeployer for KubeCluster {
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError> {
        self.list_workloads(namespace).await
    }

    /// One patch per Deployment, concurrently; a single Deployment's error is returned as it is
    /// (the executor sends one Deployment per call, to know exactly what landed).
    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        self.patch_images(namespace, changes, audit).await
    }

    async fn await_rollout(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        self.wait_for_rollouts(namespace, workloads, timeout).await
    }

    async fn lock(
        &self,
        namespace: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<LockAttempt, AdapterError> {
        self.take_lease(namespace, holder, lease).await
    }

    async fn renew(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError> {
        self.renew_lease(lock).await
    }

    async fn unlock(&self, lock: &LockHandle) -> Result<(), AdapterError> {
        self.release_lease(lock).await
    }

    async fn annotate(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError> {
        self.annotate_workloads(namespace, workloads, annotations)
            .await
    }
}
