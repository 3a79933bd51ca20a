//! Plain data the policy, the executor and the adapters share.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::{GitSha, Version};

/// A container image: `repository:tag`, plus its digest when the registry told us.
///
/// `repository` is the full repository URI (`123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageRef {
    /// Full repository URI, registry host included.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// `sha256:…` when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ImageRef {
    /// An image reference without a digest.
    pub fn new(repository: impl Into<String>, tag: impl Into<String>) -> Self {
        Self {
            repository: repository.into(),
            tag: tag.into(),
            digest: None,
        }
    }

    /// Splits a container image string (`host/path:tag`, `host/path@sha256:…`,
    /// `host/path:tag@sha256:…`) into repository, tag and digest. A missing tag reads as `latest`,
    /// as container runtimes do.
    pub fn parse_container_image(image: &str) -> ImageRef {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_owned())),
            None => (image, None),
        };
        // A `:` after the last `/` separates the tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
            None => (name, if digest.is_some() { "" } else { "latest" }),
        };
        ImageRef {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest,
        }
    }
}

impl ImageRef {
    /// `repository:tag@digest` when the digest is known (what a promotion sets, so the exact
    /// image verified upstream runs), else `repository:tag`.
    pub fn pinned(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}:{}@{digest}", self.repository, self.tag),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// One container of a workload and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerImage {
    /// Container name (the key `kubectl set image` merges by).
    pub container: String,
    /// The image as written in the pod template.
    pub image: String,
}

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
    /// `neuro-deploy.io/deployed-at` (RFC 3339).
    pub deployed_at: Option<String>,
    /// `neuro-deploy.io/deployed-by`.
    pub deployed_by: Option<String>,
}

/// Annotation keys of the audit trail.
pub mod annotations {
    /// The version a deploy set.
    pub const VERSION: &str = "neuro-deploy.io/version";
    /// The version before that deploy; what `rollback` returns to.
    pub const PREVIOUS_VERSION: &str = "neuro-deploy.io/previous-version";
    /// When (RFC 3339, UTC).
    pub const DEPLOYED_AT: &str = "neuro-deploy.io/deployed-at";
    /// Who (`user@host/run-id`).
    pub const DEPLOYED_BY: &str = "neuro-deploy.io/deployed-by";
    /// kubectl's rollout history column.
    pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
    /// Why an operator skipped the queue gate, and the depths skipped (emergency rollback).
    pub const QUEUE_GATE_SKIPPED: &str = "neuro-deploy.io/queue-gate-skipped";
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
    /// The audit annotations found on it.
    #[serde(default)]
    pub audit: AuditRecord,
}

impl Workload {
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

    /// The tag every app container runs, or `None` when they differ or there are none.
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
}

impl ImageChange {
    /// The change that undoes this one (what a rollback applies).
    pub fn reverted(&self) -> ImageChange {
        ImageChange {
            workload: self.workload.clone(),
            container: self.container.clone(),
            image: self.previous_image.clone(),
            previous_image: self.image.clone(),
        }
    }
}

/// The audit annotations a deploy writes on every Deployment it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployAudit {
    /// The version being deployed.
    pub version: String,
    /// The version it replaces (what `rollback` goes back to), when known.
    pub previous_version: Option<String>,
    /// When (RFC 3339, UTC).
    pub deployed_at: String,
    /// Who: `user@host/run-id`.
    pub deployed_by: String,
    /// A sentence for `kubectl rollout history`.
    pub change_cause: String,
    /// Set when an operator skipped the queue gate (emergency rollback): the reason and the
    /// queue depths skipped. `None` clears an earlier record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_gate_skipped: Option<String>,
}

impl DeployAudit {
    /// The annotations, keyed as in [`annotations`].
    pub fn to_annotations(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert(annotations::VERSION.to_owned(), self.version.clone());
        if let Some(previous) = &self.previous_version {
            map.insert(annotations::PREVIOUS_VERSION.to_owned(), previous.clone());
        }
        map.insert(
            annotations::DEPLOYED_AT.to_owned(),
            self.deployed_at.clone(),
        );
        map.insert(
            annotations::DEPLOYED_BY.to_owned(),
            self.deployed_by.clone(),
        );
        map.insert(
            annotations::CHANGE_CAUSE.to_owned(),
            self.change_cause.clone(),
        );
        if let Some(skipped) = &self.queue_gate_skipped {
            map.insert(annotations::QUEUE_GATE_SKIPPED.to_owned(), skipped.clone());
        }
        map
    }
}

/// Message counts of one queue in one region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// `ApproximateNumberOfMessages`: waiting to be received.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received, not deleted — a job running.
    pub in_flight: u64,
    /// `ApproximateNumberOfMessagesDelayed`: not yet receivable.
    pub delayed: u64,
}

impl QueueDepth {
    /// All three counts.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }

    /// Whether nothing is waiting, running or delayed.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

impl fmt::Display for QueueDepth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} visible, {} in flight, {} delayed",
            self.visible, self.in_flight, self.delayed
        )
    }
}

/// A GitHub release as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInfo {
    /// The tag name as written.
    pub tag: String,
    /// `target_commitish`: a branch name or a SHA.
    pub target: String,
    /// Draft releases are not deployed.
    pub draft: bool,
    /// Pre-release flag.
    pub prerelease: bool,
}

/// The held lock on a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHandle {
    /// Namespace the Lease lives in.
    pub namespace: String,
    /// Who holds it (`user@host/run-id`).
    pub holder: String,
    /// The Lease's resourceVersion after our last write (compare-and-swap token).
    pub resource_version: String,
}

/// The answer to a lock attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockAttempt {
    /// We hold the lock.
    Acquired(LockHandle),
    /// Somebody else holds an unexpired lock.
    Held {
        /// Their identity.
        holder: String,
        /// When their lease expires unless renewed (RFC 3339), when known.
        expires: Option<String>,
    },
}

/// How a rollout wait ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RolloutResult {
    /// Every workload completed.
    Complete,
    /// A workload failed.
    Failed {
        /// Which.
        workload: String,
        /// Why.
        reason: String,
    },
    /// The timeout passed first.
    TimedOut {
        /// The workloads still not complete and where they stand.
        pending: Vec<String>,
    },
}

/// A user-facing event the release policy decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A merge landed on `branch` at `sha`.
    Merged {
        /// Branch name.
        branch: String,
        /// Merge commit.
        sha: GitSha,
    },
    /// A GitHub release was published (the tag is kept raw so a bad one is refused with a reason).
    Released {
        /// Tag name as written.
        tag: String,
        /// The tag's commit, when the caller knows it.
        sha: Option<GitSha>,
        /// `target_commitish`: a branch name or a SHA, when known.
        target_branch: Option<String>,
        /// Pre-release flag.
        prerelease: bool,
        /// Draft flag.
        draft: bool,
    },
    /// Promote a verified version into a promotion environment (production).
    Promote {
        /// What to promote.
        version: Version,
        /// Target environment name; the production environment when `None`.
        to: Option<String>,
        /// Allow a version older than what runs there now.
        allow_downgrade: bool,
    },
    /// Deploy any version to a non-production environment or namespace.
    Deploy {
        /// What to deploy.
        version: Version,
        /// Where.
        target: DeployTarget,
    },
    /// Return an environment to the version recorded before its last deploy.
    Rollback {
        /// Environment name.
        env: String,
        /// An emergency: the operator's reason for rolling back while jobs are queued. The
        /// queues are read once and recorded, never waited for. Nothing else skips the gate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skip_queue_gate: Option<String>,
    },
}

impl Event {
    /// A short name for logs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Merged { .. } => "merged",
            Event::Released { .. } => "released",
            Event::Promote { .. } => "promote",
            Event::Deploy { .. } => "deploy",
            Event::Rollback { .. } => "rollback",
        }
    }
}

/// Where an arbitrary deploy goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployTarget {
    /// A configured environment by name.
    Environment(String),
    /// A namespace by name.
    Namespace(String),
}

impl fmt::Display for DeployTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployTarget::Environment(env) => write!(f, "environment `{env}`"),
            DeployTarget::Namespace(ns) => write!(f, "namespace `{ns}`"),
        }
    }
}

/// Checks a Kubernetes namespace name (an RFC 1123 label): at most 63 characters of
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
pub fn validate_namespace(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !name.is_empty() && name.len() <= 63 && ok_chars && ok_ends {
        Ok(())
    } else {
        let shown: String = name.chars().take(80).collect();
        Err(format!(
            "`{shown}` is not a valid namespace: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_image_parsing() {
        let img =
            ImageRef::parse_container_image("123.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.4.0");
        assert_eq!(
            img.repository,
            "123.dkr.ecr.us-west-2.amazonaws.com/neuro-ui"
        );
        assert_eq!(img.tag, "v1.4.0");
        let port = ImageRef::parse_container_image("localhost:5000/neuro-ui");
        assert_eq!(port.repository, "localhost:5000/neuro-ui");
        assert_eq!(port.tag, "latest");
        let digest = ImageRef::parse_container_image("r/neuro-ui:abc1234@sha256:ff");
        assert_eq!(digest.tag, "abc1234");
        assert_eq!(digest.digest.as_deref(), Some("sha256:ff"));
    }

    #[test]
    fn rollout_rule_waits_for_observed_generation() {
        let stale = RolloutCounts {
            generation: 3,
            observed_generation: 2,
            desired: 2,
            replicas: 2,
            updated: 2,
            available: 2,
            deadline_exceeded: false,
        };
        assert!(matches!(stale.state(), RolloutState::Progressing(_)));
        let done = RolloutCounts {
            observed_generation: 3,
            ..stale
        };
        assert_eq!(done.state(), RolloutState::Complete);
        let old_pods = RolloutCounts {
            replicas: 3,
            ..done
        };
        assert!(matches!(old_pods.state(), RolloutState::Progressing(_)));
        let unavailable = RolloutCounts {
            available: 1,
            ..done
        };
        assert!(matches!(unavailable.state(), RolloutState::Progressing(_)));
        let failed = RolloutCounts {
            deadline_exceeded: true,
            ..done
        };
        assert!(matches!(failed.state(), RolloutState::Failed(_)));
    }

    #[test]
    fn namespaces() {
        assert!(validate_namespace("leaf-neuro-ui").is_ok());
        for bad in ["", "Dev", "-dev", "dev-", "dev_1", &"a".repeat(64)] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_tag_ignores_sidecars() {
        let w = Workload {
            name: "neuro-ui".into(),
            containers: vec![
                ContainerImage {
                    container: "web".into(),
                    image: "r/neuro-ui:v1".into(),
                },
                ContainerImage {
                    container: "proxy".into(),
                    image: "envoy:1.2".into(),
                },
            ],
            rollout: RolloutCounts::default(),
            paused: false,
            audit: AuditRecord::default(),
        };
        assert_eq!(w.app_tag("r/neuro-ui").as_deref(), Some("v1"));
        assert_eq!(w.app_containers("r/neuro-ui").count(), 1);
    }
}
