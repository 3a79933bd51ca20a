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

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use neuro_deploy_core::model::{AuditRecord, ContainerImage, annotations};
use neuro_deploy_core::{
    AdapterError, ClusterDeployer, DeployAudit, ImageChange, LockAttempt, LockHandle,
    RolloutCounts, RolloutResult, RolloutState, Workload,
};
use serde_json::json;

mod lease;

pub use lease::{BreakResult, LeaseInfo, LeaseObserver, LeaseState, Observed};

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
    client: Client,
    selector: String,
    pub(crate) settings: KubeSettings,
}

impl std::fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeCluster")
            .field("selector", &self.selector)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn config_error(error: impl std::fmt::Display) -> AdapterError {
    AdapterError::failed(
        SERVICE,
        "loading the cluster configuration",
        format!("{error}; set KUBECONFIG or run inside the cluster"),
    )
}

impl KubeCluster {
    /// From `KUBECONFIG` / `~/.kube/config` / in-cluster configuration.
    pub async fn from_env(
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        let config = Config::infer().await.map_err(config_error)?;
        KubeCluster::from_config(config, selector, settings)
    }

    /// From a kubeconfig file (its current context).
    pub async fn from_kubeconfig(
        path: &Path,
        selector: &str,
        settings: KubeSettings,
    ) -> Result<KubeCluster, AdapterError> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(config_error)?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(config_error)?;
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
        let client = Client::try_from(config).map_err(config_error)?;
        Ok(KubeCluster {
            client,
            selector: selector.to_owned(),
            settings,
        })
    }

    fn deployments(&self, namespace: &str) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub(crate) fn leases(&self, namespace: &str) -> Api<Lease> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Runs one request with the timeout and the retry policy.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &str,
        request: F,
    ) -> Result<T, AdapterError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 0u32;
        loop {
            let result = tokio::time::timeout(self.settings.request_timeout, request()).await;
            let error = match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => {
                    return Err(AdapterError::Timeout {
                        service: SERVICE,
                        operation: operation.to_owned(),
                        seconds: self.settings.request_timeout.as_secs_f64(),
                    });
                }
            };
            if is_retryable(&error) && attempt < self.settings.max_retries {
                let delay = self
                    .settings
                    .min_backoff
                    .saturating_mul(2u32.saturating_pow(attempt))
                    .min(self.settings.max_backoff);
                attempt += 1;
                tracing::debug!(%error, attempt, "retrying Kubernetes request");
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(map_error(operation, error));
        }
    }

    /// Patches one Deployment's app containers and annotations; a 409 re-reads and retries.
    async fn patch_workload(
        &self,
        namespace: &str,
        name: &str,
        changes: &[&ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        let api = self.deployments(namespace);
        let mut annotations: BTreeMap<String, String> = audit.to_annotations();
        // `None` leaves a recorded previous version as it is (a rollback restores the old trail).
        if audit.previous_version.is_none() {
            annotations.remove(annotations::PREVIOUS_VERSION);
        }
        let containers: Vec<_> = changes
            .iter()
            .map(|c| json!({ "name": c.container, "image": c.image }))
            .collect();
        let patch = json!({
            "metadata": { "annotations": annotations },
            "spec": { "template": { "spec": { "containers": containers } } }
        });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let operation = format!("patching deployment `{name}` in `{namespace}`");
        let strategic = Patch::Strategic(&patch);
        let mut conflicts = 0;
        loop {
            let result = self
                .call(&operation, || api.patch(name, &params, &strategic))
                .await;
            match result {
                Err(AdapterError::Conflict { .. })
                    if conflicts < self.settings.conflict_retries =>
                {
                    conflicts += 1;
                    // Re-read so the next attempt is judged against the current object.
                    self.call(&operation, || api.get(name)).await?;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// Reads a Deployment set as `Workload`s.
    fn workload(&self, deployment: &Deployment) -> Workload {
        let spec = &deployment.spec;
        let status = deployment.status.as_ref();
        let containers = spec
            .template
            .spec
            .as_ref()
            .map(|pod| {
                pod.containers
                    .iter()
                    .map(|c| ContainerImage {
                        container: c.name.clone(),
                        image: c.image.clone().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let deadline_exceeded =
            status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        c.type_.as_deref() == Some("Progressing")
                            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                    })
                });
        let annotation = |key: &str| {
            deployment
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key).cloned())
        };
        Workload {
            name: deployment.metadata.name.clone().unwrap_or_default(),
            containers,
            rollout: RolloutCounts {
                generation: deployment.metadata.generation.unwrap_or(0),
                observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
                desired: spec.replicas.unwrap_or(1),
                replicas: status.and_then(|s| s.replicas).unwrap_or(0),
                updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
                available: status.and_then(|s| s.available_replicas).unwrap_or(0),
                deadline_exceeded,
            },
            paused: spec.paused.unwrap_or(false),
            audit: AuditRecord {
                version: annotation(annotations::VERSION),
                previous_version: annotation(annotations::PREVIOUS_VERSION),
                deployed_at: annotation(annotations::DEPLOYED_AT),
                deployed_by: annotation(annotations::DEPLOYED_BY),
            },
        }
    }
}

fn is_retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn map_error(operation: &str, error: kube::Error) -> AdapterError {
    match &error {
        // 409 AlreadyExists on create is the same lost race as 409 Conflict on update.
        kube::Error::Api(status) if status.is_conflict() || status.is_already_exists() => {
            AdapterError::Conflict {
                service: SERVICE,
                operation: operation.to_owned(),
            }
        }
        kube::Error::Api(status) if status.is_not_found() => AdapterError::NotFound {
            service: SERVICE,
            what: format!("{operation}: {}", status.message),
        },
        kube::Error::Api(status) if status.is_forbidden() || status.code == 401 => {
            AdapterError::Unauthorized {
                service: SERVICE,
                operation: operation.to_owned(),
                message: format!(
                    "{}; grant the Role in examples/k8s/rbac.yaml to the identity neuro-deploy runs as",
                    status.message
                ),
            }
        }
        // A server error may come after the write was applied (an etcd timeout …).
        kube::Error::Api(status) if status.code >= 500 => AdapterError::Unanswered {
            service: SERVICE,
            operation: operation.to_owned(),
            message: format!("{} ({})", status.message, status.code),
        },
        kube::Error::Api(status) => AdapterError::failed(
            SERVICE,
            operation.to_owned(),
            format!("{} ({})", status.message, status.code),
        ),
        // The connection broke: the request may have been applied before it did.
        kube::Error::HyperError(_) | kube::Error::Service(_) => AdapterError::Unanswered {
            service: SERVICE,
            operation: operation.to_owned(),
            message: format!("{error}; check that the API server is reachable"),
        },
        _ => AdapterError::failed(
            SERVICE,
            operation.to_owned(),
            format!("{error}; check that the API server is reachable"),
        ),
    }
}

#[async_trait]
impl ClusterDeployer for KubeCluster {
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError> {
        let api = self.deployments(namespace);
        let params = ListParams::default().labels(&self.selector);
        let operation = format!("listing deployments `{}` in `{namespace}`", self.selector);
        let list = self.call(&operation, || api.list(&params)).await?;
        Ok(list.items.iter().map(|d| self.workload(d)).collect())
    }

    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        let mut by_workload: BTreeMap<&str, Vec<&ImageChange>> = BTreeMap::new();
        for change in changes {
            by_workload
                .entry(change.workload.as_str())
                .or_default()
                .push(change);
        }
        let patches = by_workload
            .iter()
            .map(|(name, changes)| self.patch_workload(namespace, name, changes, audit));
        let mut errors: Vec<AdapterError> = join_all(patches)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        // One Deployment (what the executor sends): its error as it is. Several: one error
        // that says whether any of the writes may have landed.
        if errors.len() <= 1 {
            return errors.pop().map_or(Ok(()), Err);
        }
        let operation = format!("setting images in `{namespace}`");
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Err(if errors.iter().any(AdapterError::outcome_unknown) {
            AdapterError::Unanswered {
                service: SERVICE,
                operation,
                message,
            }
        } else {
            AdapterError::failed(SERVICE, operation, message)
        })
    }

    async fn await_rollout(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let api = self.deployments(namespace);
        let wanted: Vec<String> = workloads.to_vec();
        let mut states: HashMap<String, RolloutState> = HashMap::new();
        let verdict = |states: &HashMap<String, RolloutState>| -> Option<RolloutResult> {
            for name in &wanted {
                if let Some(RolloutState::Failed(reason)) = states.get(name) {
                    return Some(RolloutResult::Failed {
                        workload: name.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            wanted
                .iter()
                .all(|name| states.get(name).is_some_and(RolloutState::is_complete))
                .then_some(RolloutResult::Complete)
        };
        let pending = |states: &HashMap<String, RolloutState>| -> Vec<String> {
            wanted
                .iter()
                .filter(|name| !states.get(*name).is_some_and(RolloutState::is_complete))
                .map(|name| match states.get(name) {
                    Some(RolloutState::Progressing(why)) => format!("{name}: {why}"),
                    Some(RolloutState::Failed(why)) => format!("{name}: {why}"),
                    _ => format!("{name}: not seen"),
                })
                .collect()
        };
        let operation = format!("watching deployments in `{namespace}`");
        // One list, then one watch over the selector, re-established after disconnects.
        loop {
            let list_params = ListParams::default().labels(&self.selector);
            let list = match tokio::time::timeout_at(
                deadline,
                self.call(&operation, || api.list(&list_params)),
            )
            .await
            {
                Err(_) => {
                    return Ok(RolloutResult::TimedOut {
                        pending: pending(&states),
                    });
                }
                Ok(list) => list?,
            };
            for deployment in &list.items {
                let workload = self.workload(deployment);
                states.insert(workload.name.clone(), workload.rollout.state());
            }
            if let Some(result) = verdict(&states) {
                return Ok(result);
            }
            let version = list.metadata.resource_version.clone().unwrap_or_default();
            let watch_params = WatchParams::default()
                .labels(&self.selector)
                .timeout(u32::try_from(self.settings.watch_timeout.as_secs()).unwrap_or(25));
            let stream =
                match tokio::time::timeout_at(deadline, api.watch(&watch_params, &version)).await {
                    Err(_) => {
                        return Ok(RolloutResult::TimedOut {
                            pending: pending(&states),
                        });
                    }
                    Ok(Err(error)) if is_retryable(&error) => {
                        tokio::time::sleep(self.settings.min_backoff).await;
                        continue;
                    }
                    Ok(Err(error)) => return Err(map_error(&operation, error)),
                    Ok(Ok(stream)) => stream,
                };
            let mut stream = stream.boxed();
            loop {
                let next = match tokio::time::timeout_at(deadline, stream.try_next()).await {
                    Err(_) => {
                        return Ok(RolloutResult::TimedOut {
                            pending: pending(&states),
                        });
                    }
                    Ok(next) => next,
                };
                match next {
                    Ok(Some(WatchEvent::Added(d) | WatchEvent::Modified(d))) => {
                        let workload = self.workload(&d);
                        states.insert(workload.name.clone(), workload.rollout.state());
                        if let Some(result) = verdict(&states) {
                            return Ok(result);
                        }
                    }
                    Ok(Some(WatchEvent::Deleted(d))) => {
                        let name = d.metadata.name.clone().unwrap_or_default();
                        if wanted.contains(&name) {
                            return Ok(RolloutResult::Failed {
                                workload: name,
                                reason: "deleted during the rollout".to_owned(),
                            });
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(_))) => {}
                    // 410 Gone or another watch error: list again.
                    Ok(Some(WatchEvent::Error(status))) => {
                        tracing::debug!(code = status.code, "watch error; re-listing");
                        break;
                    }
                    // Stream ended (server timeout or dropped connection): re-establish.
                    Ok(None) | Err(_) => break,
                }
            }
        }
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
}
