//! The app's Deployments: read as the core's `Workload`s, and patched one strategic-merge patch per
//! Deployment (the shape `kubectl set image` sends) with the audit annotations.

use std::collections::BTreeMap;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use kube::api::{ListParams, Patch, PatchParams};
use neuro_deploy_core::model::{AuditRecord, ContainerImage, annotations};
use neuro_deploy_core::{AdapterError, DeployAudit, ImageChange, RolloutCounts, Workload};
use serde_json::json;

use crate::{FIELD_MANAGER, KubeCluster, SERVICE};

impl KubeCluster {
    /// Reads a Deployment set as `Workload`s.
    pub(crate) fn workload(&self, deployment: &Deployment) -> Workload {
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
        // The `Progressing` condition says why a rollout stalled (reason and message).
        let stalled = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|conditions| {
                conditions.iter().find(|c| {
                    c.type_.as_deref() == Some("Progressing")
                        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                })
            });
        let deadline_exceeded = stalled.is_some();
        let condition = stalled.map(|c| {
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or("no message")
            )
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
            condition,
            audit: AuditRecord {
                version: annotation(annotations::VERSION),
                previous_version: annotation(annotations::PREVIOUS_VERSION),
                previous_image: annotation(annotations::PREVIOUS_IMAGE),
                deployed_at: annotation(annotations::DEPLOYED_AT)
                    .and_then(|at| neuro_deploy_core::model::parse_instant(&at)),
                deployed_by: annotation(annotations::DEPLOYED_BY),
                verified: annotation(annotations::VERIFIED),
                rolled_back: annotation(annotations::ROLLED_BACK),
            },
            resource_version: deployment.metadata.resource_version.clone(),
        }
    }

    /// Patches one Deployment's app containers and annotations, with the `resourceVersion` the
    /// changes were judged on as a precondition: a Deployment changed since is not written (the
    /// API server answers 409), and the error names it and what it runs now. A 409 on a retry
    /// whose first attempt landed unanswered is this write, recognised on a fresh read.
    pub(crate) async fn patch_workload(
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
        // Keys this deploy does not set are removed (null in a strategic merge patch).
        let mut annotations = serde_json::to_value(&annotations).unwrap_or_default();
        if let Some(map) = annotations.as_object_mut() {
            for key in audit.cleared_annotations() {
                map.insert(key.to_owned(), serde_json::Value::Null);
            }
        }
        let containers: Vec<_> = changes
            .iter()
            .map(|c| json!({ "name": c.container, "image": c.image }))
            .collect();
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let operation = format!("patching deployment `{name}` in `{namespace}`");
        let judged = changes.iter().find_map(|c| c.resource_version.clone());
        let mut precondition = judged.clone();
        let mut status_moves = 0;
        loop {
            let mut metadata = json!({ "annotations": annotations });
            if let Some(version) = &precondition {
                metadata["resourceVersion"] = json!(version);
            }
            let patch = json!({
                "metadata": metadata,
                "spec": { "template": { "spec": { "containers": containers } } }
            });
            let strategic = Patch::Strategic(&patch);
            let error = match self
                .call(&operation, || api.patch(name, &params, &strategic))
                .await
            {
                Err(error @ AdapterError::Conflict { .. }) => error,
                other => return other.map(|_| ()),
            };
            let now = self.call(&operation, || api.get(name)).await?;
            if carries(&now, changes, audit) {
                return Ok(());
            }
            // Only the status moved on (a rollout's progress, which bumps the version too):
            // nobody changed what this write was judged on, so it goes on the fresh version.
            if unchanged_since_judged(&now, changes)
                && status_moves < self.settings.conflict_retries
            {
                status_moves += 1;
                precondition = now.metadata.resource_version.clone();
                continue;
            }
            tracing::debug!(%error, "a fenced write found the Deployment changed");
            return Err(AdapterError::Conflict {
                service: SERVICE,
                operation: format!(
                    "writing Deployment `{name}` in `{namespace}`: it changed after this run read it (resourceVersion {} then, {} now; generation {} now; it runs {}), so nothing was written to it — see who changed it with `kubectl describe deployment/{name} -n {namespace}`, then run again",
                    judged.as_deref().unwrap_or("?"),
                    now.metadata.resource_version.as_deref().unwrap_or("?"),
                    now.metadata.generation.unwrap_or(0),
                    describe_images(&now)
                ),
            });
        }
    }

    /// Merges `annotations` into each named Deployment's metadata (a merge patch: the pod
    /// template is untouched, so nothing rolls out).
    pub(crate) async fn annotate_workloads(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError> {
        let api = self.deployments(namespace);
        let values: BTreeMap<&str, &str> = annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let patch = json!({ "metadata": { "annotations": values } });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let merge = Patch::Merge(&patch);
        for name in workloads {
            let operation = format!("annotating deployment `{name}` in `{namespace}`");
            self.call(&operation, || api.patch(name, &params, &merge))
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn list_workloads(
        &self,
        namespace: &str,
    ) -> Result<Vec<Workload>, AdapterError> {
        let api = self.deployments(namespace);
        let params = ListParams::default().labels(&self.selector);
        let operation = format!("listing deployments `{}` in `{namespace}`", self.selector);
        let list = self.call(&operation, || api.list(&params)).await?;
        Ok(list.items.iter().map(|d| self.workload(d)).collect())
    }

    pub(crate) async fn patch_images(
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
                source: None,
                service: SERVICE,
                operation,
                message,
            }
        } else {
            AdapterError::failed(SERVICE, operation, message)
        })
    }
}

/// Whether `deployment` already carries this write: every changed container runs its new
/// image and the deploy's record names this run (`deployed-by` holds its run id), so a retry
/// that conflicted with its own unanswered first attempt is not taken for someone else's change.
fn carries(deployment: &Deployment, changes: &[&ImageChange], audit: &DeployAudit) -> bool {
    let deployed_by = deployment
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotations::DEPLOYED_BY));
    deployed_by == Some(&audit.deployed_by)
        && changes
            .iter()
            .all(|change| runs(deployment, &change.container, &change.image))
}

/// Whether `deployment` is still what `changes` were judged on: the same spec (its
/// `generation`, which only a spec change moves — a status update does not) and every changed
/// container still on the image it ran then.
fn unchanged_since_judged(deployment: &Deployment, changes: &[&ImageChange]) -> bool {
    changes.iter().all(|change| {
        change
            .generation
            .is_some_and(|g| deployment.metadata.generation == Some(g))
            && runs(deployment, &change.container, &change.previous_image)
    })
}

/// The containers of `deployment`'s pod template.
fn containers(deployment: &Deployment) -> &[Container] {
    deployment
        .spec
        .template
        .spec
        .as_ref()
        .map(|pod| pod.containers.as_slice())
        .unwrap_or_default()
}

/// Whether container `name` of `deployment` runs `image`.
fn runs(deployment: &Deployment, name: &str, image: &str) -> bool {
    containers(deployment)
        .iter()
        .any(|c| c.name == name && c.image.as_deref() == Some(image))
}

/// `container=image, …` of a Deployment, for messages.
fn describe_images(deployment: &Deployment) -> String {
    containers(deployment)
        .iter()
        .map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ")
}
