//! What the release policy decides on: an [`Event`] (merge, release, promote, deploy, rollback)
//! and where an arbitrary deploy goes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::{GitSha, Version};

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
