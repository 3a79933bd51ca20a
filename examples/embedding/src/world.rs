//! The example's own in-memory world: a registry, both regions' queues, a cluster whose
//! Deployments roll out as soon as they are patched, the shared guardrail state, and a health
//! endpoint. Every adapter is a few lines over one `Mutex`: what an embedder writes to drive
//! neuro-deploy-core from anything that is not AWS, Kubernetes or GitHub.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use neuro_deploy_core::model::{AuditRecord, ContainerImage, Decisions, Spent};
use neuro_deploy_core::{
    AdapterError, Approval, ClusterDeployer, DeployAudit, GuardState, HealthChecker, ImageChange,
    ImageRef, LockAttempt, LockHandle, Quarantined, QueueDepth, QueueInspector, Registry,
    RolloutCounts, RolloutResult, SharedState, VersionedState, Workload,
};

/// Where the app's images live.
pub const REPOSITORY: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui";

#[derive(Default)]
struct State {
    /// Tag → digest.
    images: BTreeMap<String, String>,
    /// Namespace → the app's Deployments.
    deployments: BTreeMap<String, Vec<Workload>>,
    /// Namespace → its guardrail state and how often its decisions were written.
    shared: BTreeMap<String, (GuardState, u64)>,
    /// Namespace → who holds its lock.
    locks: BTreeMap<String, String>,
}

/// The whole world behind one lock.
#[derive(Default)]
pub struct World {
    state: Mutex<State>,
}

fn poisoned() -> AdapterError {
    AdapterError::failed(
        "memory",
        "reading the world",
        "a thread panicked holding it",
    )
}

impl World {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T, AdapterError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        Ok(f(&mut state))
    }

    /// An image in the registry.
    pub fn push(&self, tag: &str, digest: &str) {
        let _ = self.with(|s| s.images.insert(tag.to_owned(), digest.to_owned()));
    }

    /// The app in `namespace`: two Deployments running `tag` pinned to its digest, as
    /// neuro-deploy recorded deploying it at `at`.
    pub fn runs(&self, namespace: &str, tag: &str, at: DateTime<Utc>) {
        let _ = self.with(|s| {
            let digest = s.images.get(tag).cloned().unwrap_or_default();
            let deployments = ["neuro-ui", "neuro-ui-worker"]
                .into_iter()
                .map(|name| Workload {
                    name: name.to_owned(),
                    containers: vec![ContainerImage {
                        container: "app".to_owned(),
                        image: format!("{REPOSITORY}:{tag}@{digest}"),
                    }],
                    rollout: complete(1),
                    paused: false,
                    condition: None,
                    audit: AuditRecord {
                        version: Some(tag.to_owned()),
                        deployed_at: Some(at),
                        ..AuditRecord::default()
                    },
                    resource_version: Some("1".to_owned()),
                })
                .collect();
            s.deployments.insert(namespace.to_owned(), deployments);
        });
    }

    /// Changes `namespace`'s guardrail state (an approval given …).
    pub fn guard(&self, namespace: &str, change: impl FnOnce(&mut GuardState)) {
        let _ = self.with(|s| change(&mut s.shared.entry(namespace.to_owned()).or_default().0));
    }

    /// What the app's containers in `namespace` run.
    pub fn images_in(&self, namespace: &str) -> Vec<String> {
        self.with(|s| {
            s.deployments
                .get(namespace)
                .into_iter()
                .flatten()
                .flat_map(|w| w.containers.iter().map(|c| c.image.clone()))
                .collect()
        })
        .unwrap_or_default()
    }
}

/// A rollout the controller finished at `generation`.
fn complete(generation: i64) -> RolloutCounts {
    RolloutCounts {
        generation,
        observed_generation: generation,
        desired: 2,
        replicas: 2,
        updated: 2,
        available: 2,
        deadline_exceeded: false,
    }
}

#[async_trait]
impl Registry for World {
    async fn repository_uri(&self) -> Result<String, AdapterError> {
        Ok(REPOSITORY.to_owned())
    }

    async fn find(&self, tag: &str) -> Result<Option<ImageRef>, AdapterError> {
        self.with(|s| {
            s.images.get(tag).map(|digest| ImageRef {
                digest: Some(digest.clone()),
                ..ImageRef::new(REPOSITORY, tag)
            })
        })
    }

    async fn retag(&self, from: &str, to: &str) -> Result<ImageRef, AdapterError> {
        let digest =
            self.with(|s| s.images.get(from).cloned())?
                .ok_or_else(|| AdapterError::NotFound {
                    service: "memory",
                    what: format!("image {REPOSITORY}:{from}"),
                    source: None,
                })?;
        self.push(to, &digest);
        Ok(ImageRef {
            digest: Some(digest),
            ..ImageRef::new(REPOSITORY, to)
        })
    }
}

#[async_trait]
impl QueueInspector for World {
    /// No training job is queued or running in either region.
    async fn depth(&self, _queue: &str, _region: &str) -> Result<QueueDepth, AdapterError> {
        Ok(QueueDepth::default())
    }
}

#[async_trait]
impl ClusterDeployer for World {
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError> {
        self.with(|s| s.deployments.get(namespace).cloned().unwrap_or_default())
    }

    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        self.with(|s| {
            let deployments = s.deployments.entry(namespace.to_owned()).or_default();
            // A change judged on an older read is refused, as the API server's 409 would.
            for change in changes {
                let now = deployments.iter().find(|w| w.name == change.workload);
                if change.resource_version.is_some()
                    && now.map(|w| &w.resource_version) != Some(&change.resource_version)
                {
                    return Err(AdapterError::Conflict {
                        service: "memory",
                        operation: format!(
                            "writing Deployment `{}`: it changed since it was read, so nothing was written to it",
                            change.workload
                        ),
                    });
                }
            }
            for workload in deployments {
                let mine: Vec<&ImageChange> = changes
                    .iter()
                    .filter(|c| c.workload == workload.name)
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                for change in mine {
                    for container in &mut workload.containers {
                        if container.container == change.container {
                            container.image = change.image.clone();
                        }
                    }
                }
                // This controller finishes every rollout at once.
                workload.rollout = complete(workload.rollout.generation + 1);
                workload.audit = AuditRecord {
                    version: audit.version.clone(),
                    previous_version: audit.previous_version.clone(),
                    previous_image: audit.previous_image.clone(),
                    deployed_at: Some(audit.deployed_at),
                    deployed_by: Some(audit.deployed_by.clone()),
                    ..AuditRecord::default()
                };
                workload.resource_version = Some(workload.rollout.generation.to_string());
            }
            Ok(())
        })?
    }

    async fn await_rollout(
        &self,
        _namespace: &str,
        _workloads: &[String],
        _timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        Ok(RolloutResult::Complete)
    }

    async fn lock(
        &self,
        namespace: &str,
        holder: &str,
        _lease: Duration,
    ) -> Result<LockAttempt, AdapterError> {
        self.with(|s| match s.locks.get(namespace) {
            Some(other) if other != holder => LockAttempt::Held {
                holder: other.clone(),
                expires: None,
            },
            _ => {
                s.locks.insert(namespace.to_owned(), holder.to_owned());
                LockAttempt::Acquired(LockHandle {
                    namespace: namespace.to_owned(),
                    holder: holder.to_owned(),
                    resource_version: "1".to_owned(),
                })
            }
        })
    }

    async fn renew(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError> {
        Ok(lock.clone())
    }

    async fn unlock(&self, lock: &LockHandle) -> Result<(), AdapterError> {
        self.with(|s| {
            s.locks.remove(&lock.namespace);
        })
    }

    async fn annotate(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError> {
        self.with(|s| {
            for workload in s.deployments.entry(namespace.to_owned()).or_default() {
                if !workloads.contains(&workload.name) {
                    continue;
                }
                for (key, value) in annotations {
                    if key == neuro_deploy_core::model::annotations::VERIFIED {
                        workload.audit.verified = Some(value.clone());
                    }
                }
            }
        })
    }
}

#[async_trait]
impl SharedState for World {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        self.with(|s| match s.shared.get(namespace) {
            Some((state, written)) => VersionedState {
                state: state.clone(),
                version: Some(written.to_string()),
            },
            None => VersionedState {
                state: GuardState::default(),
                version: None,
            },
        })
    }

    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        self.with(|s| {
            let entry = s.shared.entry(namespace.to_owned()).or_default();
            if version.is_some() && version.as_deref() != Some(entry.1.to_string().as_str()) {
                return Err(AdapterError::Conflict {
                    service: "memory",
                    operation: format!("writing the decisions of `{namespace}`"),
                });
            }
            entry.0.apply(decisions.clone());
            entry.1 += 1;
            Ok(())
        })?
    }

    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError> {
        self.with(|s| {
            let approvals = &mut s
                .shared
                .entry(namespace.to_owned())
                .or_default()
                .0
                .approvals;
            approvals.retain(|a| !(a.by == approval.by && a.version == approval.version));
            approvals.push(approval.clone());
        })
    }

    async fn spend_approvals(&self, namespace: &str, used: &[Spent]) -> Result<(), AdapterError> {
        self.with(|s| {
            let approvals = &mut s
                .shared
                .entry(namespace.to_owned())
                .or_default()
                .0
                .approvals;
            approvals.retain(|a| !used.iter().any(|spent| spent.is(a)));
        })
    }

    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError> {
        self.with(|s| {
            let state = &mut s.shared.entry(namespace.to_owned()).or_default().0;
            state.quarantine.push(entry.clone());
            let decisions = state.decisions();
            state.apply(decisions);
        })
    }

    async fn authenticated_user(&self, _namespace: &str) -> Result<String, AdapterError> {
        Ok("ci-bot".to_owned())
    }
}

#[async_trait]
impl HealthChecker for World {
    /// The app answers its health check.
    async fn probe(&self, _url: &str, _timeout: Duration) -> Result<u16, AdapterError> {
        Ok(200)
    }
}
