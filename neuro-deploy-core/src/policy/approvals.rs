//! Approvals that still count: when one expires, and which are pending (`approvals list`,
//! `status`). The gate that judges a run by them is `gates/approvals.rs`.

use chrono::{DateTime, Utc};

/// The instant at or before which an approval given at `now` with `expire` to live has expired
/// (the earliest instant there is, when `expire` reaches back past it: none has expired).
pub fn expired_until(now: DateTime<Utc>, expire: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(expire)
        .ok()
        .and_then(|expire| now.checked_sub_signed(expire))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An approval not yet spent and not expired: `approvals list` and `status` show them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingApproval {
    /// The version (image tag).
    pub version: String,
    /// The digest it approves, when known.
    pub digest: Option<String>,
    /// Who approved (the Kubernetes-authenticated user).
    pub by: String,
    /// When.
    #[serde(with = "crate::model::time::serde_instant")]
    pub at: DateTime<Utc>,
    /// When it stops counting.
    #[serde(with = "crate::model::time::serde_instant")]
    pub expires: DateTime<Utc>,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The approvals in `approvals` that still count at `now`, given an environment's `expire`,
/// oldest first.
pub fn pending_approvals(
    approvals: &[crate::model::Approval],
    expire: std::time::Duration,
    now: DateTime<Utc>,
) -> Vec<PendingApproval> {
    let Ok(expire) = chrono::Duration::from_std(expire) else {
        return Vec::new();
    };
    approvals
        .iter()
        .filter_map(|approval| {
            let expires = approval.at.checked_add_signed(expire)?;
            (expires > now).then(|| PendingApproval {
                version: approval.version.clone(),
                digest: approval.digest.clone(),
                by: approval.by.clone(),
                at: approval.at,
                expires,
                reason: approval.reason.clone(),
            })
        })
        .collect()
}
