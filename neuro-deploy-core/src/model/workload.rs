//! A Deployment as neuro-deploy sees it ([`Workload`]): its containers, where its rollout
//! stands by kubectl's rule, and the audit trail neuro-deploy writes on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::image::{ContainerImage, ImageRef};

/// Where a workload's rollout stands, by kubectl's `rollout status` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum RolloutState {
    /// Every replica runs the current template and is available.
    Complete,
    /// Still moving; the text says what is awaited.
    Progressing(String),
    /// Kubernetes gave up (`ProgressDeadlineExceeded`) or the deployment cannot progress.
    Failed(String),
}

impl RolloutState {
    /// Whether the rollout is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self, RolloutState::Complete)
    }
}

/// The numbers kubectl judges a Deployment rollout by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutCounts {
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// `spec.replicas` (Kubernetes defaults it to 1).
    pub desired: i32,
    /// `status.replicas`: pods of every ReplicaSet.
    pub replicas: i32,
    /// `status.updatedReplicas`: pods of the current template.
    pub updated: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// The `Progressing` condition has reason `ProgressDeadlineExceeded`.
    pub deadline_exceeded: bool,
}

impl RolloutCounts {
    /// kubectl's rule (`rollout status`): nothing is judged before the controller has
    /// observed the current generation, so a previous rollout's success is never mistaken for this one's.
    pub fn state(&self) -> RolloutState {
        if self.observed_generation < self.generation {
            return RolloutState::Progressing(format!(
                "waiting for the controller to observe generation {} (seen {})",
                self.generation, self.observed_generation
            ));
        }
        if self.deadline_exceeded {
            return RolloutState::Failed("progress deadline exceeded".to_owned());
        }
        if self.updated < self.desired {
            return RolloutState::Progressing(format!(
                "{} of {} updated replicas",
                self.updated, self.desired
            ));
        }
        if self.replicas > self.updated {
            return RolloutState::Progressing(format!(
                "{} old replicas pending termination",
                self.replicas - self.updated
            ));
        }
        if self.available < self.updated {
            return RolloutState::Progressing(format!(
                "{} of {} updated replicas available",
                self.available, self.updated
            ));
        }
        RolloutState::Complete
    }
}

/// What neuro-deploy wrote on a workload last time (its audit annotations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// `neuro-deploy.io/version`.
    pub version: Option<String>,
    /// `neuro-deploy.io/previous-version`.
    pub previous_version: Option<String>,
    /// `neuro-deploy.io/previous-image`: the exact image (with its digest) the app ran before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// `neuro-deploy.io/deployed-at` (a value that is no time reads as none).
    #[serde(default, with = "super::time::serde_optional_instant")]
    pub deployed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `neuro-deploy.io/deployed-by`.
    pub deployed_by: Option<String>,
    /// `neuro-deploy.io/verified`: `VERSION@TIME` of the last passed verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
    /// `neuro-deploy.io/rolled-back`: the deploy whose failure restored what runs now (JSON
    /// [`RolledBack`]), when that was the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

/// A deploy that failed and was rolled back, as recorded on the Deployments it was rolled back
/// on (`neuro-deploy.io/rolled-back`): the last change there, though the version it set is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The version that was deployed and rolled back.
    pub version: String,
    /// When that deploy started.
    #[serde(with = "super::time::serde_instant")]
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who ran it.
    pub by: String,
    /// Why it was rolled back.
    pub why: String,
}

impl RolledBack {
    /// The record in an annotation, when it reads.
    pub fn parse(annotation: &str) -> Option<RolledBack> {
        serde_json::from_str(annotation).ok()
    }
}

impl AuditRecord {
    /// Whether the last passed verification was of `version`.
    pub fn verified(&self, version: &str) -> bool {
        self.verified
            .as_deref()
            .and_then(|v| v.split_once('@'))
            .is_some_and(|(verified, _)| verified == version)
    }
}

/// Annotation keys of the audit trail.
pub mod annotations {
    /// The version a deploy set.
    pub const VERSION: &str = "neuro-deploy.io/version";
    /// The version before that deploy; what `rollback` returns to.
    pub const PREVIOUS_VERSION: &str = "neuro-deploy.io/previous-version";
    /// The exact image reference (with its digest, when it ran pinned) before that deploy:
    /// what `rollback` restores, digest included.
    pub const PREVIOUS_IMAGE: &str = "neuro-deploy.io/previous-image";
    /// When (RFC 3339, UTC).
    pub const DEPLOYED_AT: &str = "neuro-deploy.io/deployed-at";
    /// Who (`user@host/run-id`).
    pub const DEPLOYED_BY: &str = "neuro-deploy.io/deployed-by";
    /// kubectl's rollout history column.
    pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
    /// Why an operator skipped the queue gate, and the depths skipped (emergency rollback).
    pub const QUEUE_GATE_SKIPPED: &str = "neuro-deploy.io/queue-gate-skipped";
    /// Why the deploy went in although a guardrail was closed: a deploy window overridden
    /// (`--override-window --reason`), or a rollback inside a deny window.
    pub const OVERRIDE: &str = "neuro-deploy.io/override";
    /// Who approved the deploy (the approvals it used and consumed).
    pub const APPROVED_BY: &str = "neuro-deploy.io/approved-by";
    /// On the Deployment's metadata (not the pod template, which would start a rollout):
    /// `VERSION@TIME` of the last verification that passed there.
    pub const VERIFIED: &str = "neuro-deploy.io/verified";
    /// The deploy whose failure restored what runs now (JSON: version, at, by, why); cleared
    /// by the next deploy.
    pub const ROLLED_BACK: &str = "neuro-deploy.io/rolled-back";
    /// On the Lease: who broke the lock, when and why (`neuro-deploy lock break`).
    pub const LOCK_BROKEN_BY: &str = "neuro-deploy.io/lock-broken-by";
}

/// A Deployment the app consists of, as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// Deployment name.
    pub name: String,
    /// Every container of the pod template (sidecars included; the core picks the app's).
    pub containers: Vec<ContainerImage>,
    /// Rollout numbers.
    pub rollout: RolloutCounts,
    /// `spec.paused`: a paused Deployment never rolls out.
    #[serde(default)]
    pub paused: bool,
    /// Why its rollout stalled, as its `Progressing` condition says (`reason: message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The audit annotations found on it.
    #[serde(default)]
    pub audit: AuditRecord,
    /// `metadata.resourceVersion` as read: a write judged on this read carries it as a
    /// precondition, so a Deployment changed since is not overwritten (the API server answers
    /// 409). Bookkeeping, not a fact for people: left out of reports.
    #[serde(default, skip_serializing)]
    pub resource_version: Option<String>,
}

impl Workload {
    /// Where the rollout stands; a failure names the Deployment's condition when it has one.
    pub fn rollout_state(&self) -> RolloutState {
        match (self.rollout.state(), &self.condition) {
            (RolloutState::Failed(_), Some(condition)) => RolloutState::Failed(condition.clone()),
            (state, _) => state,
        }
    }

    /// The containers that run the app's repository; sidecars are left out.
    pub fn app_containers<'a>(
        &'a self,
        repository: &'a str,
    ) -> impl Iterator<Item = &'a ContainerImage> + 'a {
        self.containers
            .iter()
            .filter(move |c| ImageRef::parse_container_image(&c.image).repository == repository)
    }

    /// Whether any container runs the app's repository (a cache selected by the same label
    /// does not: it is never patched and never judged).
    pub fn runs_app(&self, repository: &str) -> bool {
        self.app_containers(repository).next().is_some()
    }

    /// The digest every app container is pinned to (`…@sha256:…`), when they all agree.
    pub fn app_digest(&self, repository: &str) -> Option<String> {
        let mut digests = self
            .app_containers(repository)
            .map(|c| ImageRef::parse_container_image(&c.image).digest);
        let first = digests.next()??;
        digests
            .all(|d| d.as_deref() == Some(first.as_str()))
            .then_some(first)
    }

    /// The image string every app container runs (digest included), when they agree.
    pub fn app_image(&self, repository: &str) -> Option<String> {
        let mut images = self.app_containers(repository).map(|c| c.image.clone());
        let first = images.next()?;
        images.all(|i| i == first).then_some(first)
    }

    /// The tag every app container runs, when they agree.
    pub fn app_tag(&self, repository: &str) -> Option<String> {
        let mut tags = self
            .app_containers(repository)
            .map(|c| ImageRef::parse_container_image(&c.image).tag);
        let first = tags.next()?;
        tags.all(|t| t == first).then_some(first)
    }
}

/// One container image change: what `kubectl set image` does for one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageChange {
    /// Deployment name.
    pub workload: String,
    /// Container name.
    pub container: String,
    /// The image to set.
    pub image: String,
    /// The image it had before (what a rollback restores).
    pub previous_image: String,
    /// The Deployment's `metadata.resourceVersion` the change was judged on: written only if
    /// it is still current (a change someone made since is never overwritten). Bookkeeping:
    /// left out of reports.
    #[serde(default, skip_serializing)]
    pub resource_version: Option<String>,
    /// The Deployment's `metadata.generation` then, which only a change of its spec moves: a
    /// write refused because just its status moved on (a rollout's progress) goes on the fresh
    /// version. Bookkeeping: left out of reports.
    #[serde(default, skip_serializing)]
    pub generation: Option<i64>,
}

impl ImageChange {
    /// The Deployments `changes` touch, each once, in the order first touched.
    pub fn workloads(changes: &[ImageChange]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for change in changes {
            if !names.contains(&change.workload) {
                names.push(change.workload.clone());
            }
        }
        names
    }

    /// The change that undoes this one (what a rollback applies). Its precondition is not
    /// known yet: the Deployment is read again to check it still runs what this one wrote.
    pub fn reverted(&self) -> ImageChange {
        ImageChange {
            workload: self.workload.clone(),
            container: self.container.clone(),
            image: self.previous_image.clone(),
            previous_image: self.image.clone(),
            resource_version: None,
            generation: None,
        }
    }
}

/// The audit annotations a deploy writes on every Deployment it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployAudit {
    /// The version being deployed; `None` for a restore of images whose version nobody
    /// recorded (the annotation is removed: a record never holds what is not a version).
    pub version: Option<String>,
    /// The version it replaces (what `rollback` goes back to), when known.
    pub previous_version: Option<String>,
    /// The exact image the app ran before (digest included), when one image ran there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// When.
    #[serde(with = "super::time::serde_instant")]
    pub deployed_at: chrono::DateTime<chrono::Utc>,
    /// Who: `user@host/run-id`.
    pub deployed_by: String,
    /// A sentence for `kubectl rollout history`.
    pub change_cause: String,
    /// Set when an operator skipped the queue gate (emergency rollback): the reason and the
    /// queue depths skipped. `None` clears an earlier record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_gate_skipped: Option<String>,
    /// Set when the deploy went in although a guardrail was closed (see
    /// [`annotations::OVERRIDE`]). `None` clears an earlier record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    /// Who approved it, when approvals are required. `None` clears an earlier record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// A rollback after a failed deploy: that deploy, as [`RolledBack`] JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

impl DeployAudit {
    /// The annotations, keyed as in [`annotations`].
    pub fn to_annotations(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        if let Some(version) = &self.version {
            map.insert(annotations::VERSION.to_owned(), version.clone());
        }
        if let Some(previous) = &self.previous_version {
            map.insert(annotations::PREVIOUS_VERSION.to_owned(), previous.clone());
        }
        if let Some(previous) = &self.previous_image {
            map.insert(annotations::PREVIOUS_IMAGE.to_owned(), previous.clone());
        }
        map.insert(
            annotations::DEPLOYED_AT.to_owned(),
            super::time::rfc3339(self.deployed_at),
        );
        map.insert(
            annotations::DEPLOYED_BY.to_owned(),
            self.deployed_by.clone(),
        );
        map.insert(
            annotations::CHANGE_CAUSE.to_owned(),
            self.change_cause.clone(),
        );
        let optional = [
            (annotations::QUEUE_GATE_SKIPPED, &self.queue_gate_skipped),
            (annotations::OVERRIDE, &self.overridden),
            (annotations::APPROVED_BY, &self.approved_by),
            (annotations::ROLLED_BACK, &self.rolled_back),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.to_owned(), value.clone());
            }
        }
        map
    }

    /// The annotations this deploy does not set but an earlier one may have: a patch removes
    /// them, so an old override or approval is never read as this deploy's.
    pub fn cleared_annotations(&self) -> Vec<&'static str> {
        [
            (annotations::VERSION, &self.version),
            (annotations::QUEUE_GATE_SKIPPED, &self.queue_gate_skipped),
            (annotations::OVERRIDE, &self.overridden),
            (annotations::APPROVED_BY, &self.approved_by),
            (annotations::ROLLED_BACK, &self.rolled_back),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_none())
        .map(|(key, _)| key)
        .collect()
    }
}
