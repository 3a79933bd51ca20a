//! What is recorded about a deploy outside the cluster (GitHub Deployments) and read back as
//! history.

use serde::{Deserialize, Serialize};

/// A deploy about to write, as a GitHub Deployment records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// The release tag, or the full commit SHA of a SHA version.
    pub reference: String,
    /// The environment's name, or the namespace for a deploy outside any environment.
    pub environment: String,
    /// Promotion-only environments are production environments.
    pub production: bool,
    /// One line for people (`promote v1.4.0 to production`).
    pub description: String,
    /// Where people reach the environment (`[[environments]] url`).
    pub environment_url: Option<String>,
    /// The CI run, when known.
    pub log_url: Option<String>,
    /// What the record carries besides (the GitHub Deployment's `payload`).
    pub payload: DeploymentPayload,
}

/// The details a Deployment record carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentPayload {
    /// Namespace written.
    pub namespace: String,
    /// Version deployed.
    pub version: String,
    /// Image set (`repository:tag`, pinned to its digest when known).
    pub image: String,
    /// `sha256:…` when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The version it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// Who ran it (`user@host/run-id`).
    pub deployed_by: String,
    /// Why it went in although a guardrail was closed (a deploy window overridden, a rollback
    /// inside a deny window).
    #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    /// Who approved it, when the environment requires approvals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
    /// What it changes: versions, digests, and the commits between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<super::Changes>,
}

/// The state of a recorded deploy (GitHub's deployment status states that neuro-deploy uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// Writing and waiting for the rollout.
    InProgress,
    /// The new version runs.
    Success,
    /// Rolled back, rollback failed, interrupted, or verification failed.
    Failure,
    /// An unexpected failure after writes.
    Error,
}

impl DeploymentState {
    /// The word GitHub uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
        }
    }
}

/// One past deploy, newest first in a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Environment name (or namespace).
    pub environment: String,
    /// Version deployed.
    pub version: String,
    /// The version it replaced, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// Who deployed it.
    pub deployed_by: Option<String>,
    /// When.
    #[serde(default, with = "super::time::serde_optional_instant")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest state, when the record has one (`success`, `failure` …).
    pub outcome: Option<String>,
    /// Why it went in although a guardrail was closed, when it did (an override on the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    /// How long it took: from the record's creation to its latest state, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_secs: Option<i64>,
}
