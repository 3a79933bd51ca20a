//! What the other systems answer: queue depths, releases, the lock, how a rollout wait ended.

use std::fmt;

use serde::{Deserialize, Serialize};

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
