//! `[notify]`: which finished runs send a notification, and its shape.

use serde::{Deserialize, Serialize};

/// Which finished runs are notified, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    /// The new version runs.
    Deployed,
    /// A gate said no (other than a held lock).
    Refused,
    /// Another deploy held the lock.
    LockHeld,
    /// The rollout or its verification failed and the previous images were restored.
    RolledBack,
    /// The restore failed too: an operator is needed.
    RollbackFailed,
    /// A signal stopped the run.
    Interrupted,
    /// Something unexpected failed.
    Failed,
}

impl NotifyOn {
    /// Every outcome.
    pub const ALL: [NotifyOn; 7] = [
        NotifyOn::Deployed,
        NotifyOn::Refused,
        NotifyOn::LockHeld,
        NotifyOn::RolledBack,
        NotifyOn::RollbackFailed,
        NotifyOn::Interrupted,
        NotifyOn::Failed,
    ];
}

/// The message a notification carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// A Slack incoming-webhook message (`text` and `blocks`).
    #[default]
    Slack,
    /// The run's JSON report.
    Json,
}

/// `[notify]`: one POST per finished run to `NEURO_DEPLOY_WEBHOOK_URL` (a secret, so it is
/// read from the environment only, never from this file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The message's shape.
    pub format: NotifyFormat,
    /// Outcomes that notify; default: all of them for promotion-only environments (production),
    /// all but `deployed` elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<Vec<NotifyOn>>,
}
