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
        /// `target_commitish`: a branch, or a commit by its full SHA, when known.
        target_branch: Option<ReleaseTarget>,
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

/// What a release targets (GitHub's `target_commitish`): a branch, or a commit named by its
/// full SHA. Read once from the text, so no rule reads the text again; written back as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ReleaseTarget {
    /// A branch (`main`, `hotfix/v1.4.1`).
    Branch(String),
    /// A commit, by its full 40-character SHA.
    Commit(GitSha),
}

impl From<String> for ReleaseTarget {
    /// A full SHA is a commit; anything else names a branch.
    fn from(text: String) -> ReleaseTarget {
        match GitSha::parse(&text) {
            Ok(sha) if text.len() == GitSha::MAX_LEN => ReleaseTarget::Commit(sha),
            _ => ReleaseTarget::Branch(text),
        }
    }
}

impl From<&str> for ReleaseTarget {
    fn from(text: &str) -> ReleaseTarget {
        ReleaseTarget::from(text.to_owned())
    }
}

impl From<ReleaseTarget> for String {
    fn from(target: ReleaseTarget) -> String {
        target.to_string()
    }
}

impl fmt::Display for ReleaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseTarget::Branch(branch) => f.write_str(branch),
            ReleaseTarget::Commit(sha) => write!(f, "{sha}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReleaseTarget;

    #[test]
    fn a_release_target_is_read_once_as_a_branch_or_a_full_sha_and_written_back_as_it_was() {
        let sha = "abc1234def5678abc1234def5678abc1234def56";
        assert!(matches!(ReleaseTarget::from(sha), ReleaseTarget::Commit(_)));
        for branch in ["main", "hotfix/v1.4.1", "abc1234"] {
            assert_eq!(
                ReleaseTarget::from(branch),
                ReleaseTarget::Branch(branch.to_owned())
            );
        }
        for text in [sha, "hotfix/v1.4.1"] {
            let json = serde_json::to_string(&ReleaseTarget::from(text)).expect("writes");
            assert_eq!(json, format!("\"{text}\""));
            let back: ReleaseTarget = serde_json::from_str(&json).expect("reads");
            assert_eq!(back, ReleaseTarget::from(text));
        }
    }
}
