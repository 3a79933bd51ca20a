//! Guardrail state an environment shares with every operator and CI run, kept in its namespace
//! where the API server lets only the right people write each part: the operators' decisions
//! ([`Decisions`]: a freeze, its lifting, quarantine clearances), quarantine entries (created by
//! deploys, never changed by them), each approver's own approvals, and the approvals deploys
//! spent. [`GuardState`] is what the guardrails judge, assembled from those parts.
//!
//! Times are instants (`DateTime<Utc>`): read in any RFC 3339 form a person may write by hand,
//! written in UTC with whole seconds (`2026-11-29T17:00:00Z`); see [`super::time`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The name of the ConfigMap in each environment's namespace.
pub const STATE_NAME: &str = "neuro-deploy";

/// The ConfigMap key of the freeze.
pub const FREEZE_KEY: &str = "freeze";

/// The ConfigMap key of the last unfreeze (who lifted the freeze, when, why).
pub const UNFROZEN_KEY: &str = "unfrozen";

/// The ConfigMap key of the quarantined versions (cleared ones stay, with who cleared them).
pub const QUARANTINE_KEY: &str = "quarantine";

/// The ConfigMap key of approvals kept the old way, in the operators' ConfigMap: they no
/// longer count (anyone who could write that ConfigMap could write them in any name).
pub const APPROVALS_KEY: &str = "approvals";

/// The name of the ConfigMap of approvals deploys spent (the deployer's to write).
pub const SPENT_NAME: &str = "neuro-deploy-spent";

/// The ConfigMap key of the quarantine clearances.
pub const CLEARANCES_KEY: &str = "clearances";

/// An environment's shared guardrail state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardState {
    /// The freeze, when one was set (it may have ended by itself: see [`Freeze::active_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<Freeze>,
    /// The last lifting of a freeze, on the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfrozen: Option<Unfrozen>,
    /// Versions that failed here (or were rolled back from), newest last; a cleared one keeps
    /// its record with who cleared it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantine: Vec<Quarantined>,
    /// Approvals of a version (and the digest it would deploy) not yet used by a deploy, each
    /// read from its approver's own record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    /// Operators' clearances of quarantined versions (what cleared the entries above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clearances: Vec<Clearance>,
    /// Approvals found where they were kept before each approver had a record of their own:
    /// they do not count, and `status` says so, with how to approve again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_approvals: Vec<Approval>,
}

/// The operators' decisions about an environment: a freeze, its last lifting, the quarantine
/// clearances — kept where only operators may write (the deployer only reads them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    /// The freeze, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<Freeze>,
    /// The last lifting of a freeze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfrozen: Option<Unfrozen>,
    /// Quarantine clearances, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clearances: Vec<Clearance>,
}

/// An operator's clearance of a quarantined version: its entries recorded until then no longer
/// hold (a later failure quarantines it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clearance {
    /// The version cleared.
    pub version: String,
    /// Who cleared it, when and why.
    #[serde(flatten)]
    pub record: Unfrozen,
}

/// An approval a deploy used, by its version, approver and time: it counts no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spent {
    /// The version approved.
    pub version: String,
    /// Who approved it.
    pub by: String,
    /// When they approved it.
    #[serde(with = "super::time::serde_instant")]
    pub at: DateTime<Utc>,
}

impl Spent {
    /// The record that `approval` was used.
    pub fn of(approval: &Approval) -> Spent {
        Spent {
            version: approval.version.clone(),
            by: approval.by.clone(),
            at: approval.at,
        }
    }

    /// Whether this is the record of `approval`.
    pub fn is(&self, approval: &Approval) -> bool {
        self.version == approval.version && self.by == approval.by && self.at == approval.at
    }
}

/// One person's approval of deploying a version — the exact image, by digest — here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The version (image tag).
    pub version: String,
    /// The digest it would deploy (what the promotion source runs), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Who: the Kubernetes-authenticated user of the approver's own credentials.
    pub by: String,
    /// When.
    #[serde(with = "super::time::serde_instant")]
    pub at: DateTime<Utc>,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A version that must not be deployed to this environment again until someone clears it:
/// its rollout or verification failed here, or `rollback` moved away from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The version (image tag).
    pub version: String,
    /// Who ran the deploy that failed (or the rollback).
    pub by: String,
    /// When.
    #[serde(with = "super::time::serde_instant")]
    pub at: DateTime<Utc>,
    /// Why it was quarantined; `None` in records written before reasons were kept (`""`).
    #[serde(default, deserialize_with = "quarantine_reason")]
    pub reason: Option<QuarantineReason>,
    /// What failed: the Deployment or check, or the rollback's why.
    pub detail: String,
    /// Who cleared it, when and why: then it may be deployed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<Unfrozen>,
}

/// Why a version was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// Its rollout failed and was rolled back.
    RolloutFailed,
    /// Its rollout failed and restoring the previous images failed too.
    RollbackFailed,
    /// Its checks after the rollout failed and it was rolled back.
    VerificationFailed,
    /// `rollback` moved the environment away from it.
    RolledBackFrom,
}

impl QuarantineReason {
    /// The word reports and the ConfigMap spell it with (`rollout_failed` …).
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::RolloutFailed => "rollout_failed",
            QuarantineReason::RollbackFailed => "rollback_failed",
            QuarantineReason::VerificationFailed => "verification_failed",
            QuarantineReason::RolledBackFrom => "rolled_back_from",
        }
    }
}

/// A quarantine's reason as stored: one of [`QuarantineReason`], or `""` (older records) for
/// none.
fn quarantine_reason<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<QuarantineReason>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    QuarantineReason::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&text))
        .map(Some)
}

impl Quarantined {
    /// Why, for people: the reason and what failed (`rollout_failed: Deployment …`).
    pub fn why(&self) -> String {
        match self.reason {
            Some(reason) => format!("{}: {}", reason.as_str(), self.detail),
            None => self.detail.clone(),
        }
    }
}

/// Who lifted a freeze, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfrozen {
    /// Who.
    pub by: String,
    /// When.
    #[serde(with = "super::time::serde_instant")]
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// A freeze: every writing run but `rollback` is refused while it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    /// Who froze it (the identity of the run that did).
    pub by: String,
    /// When.
    #[serde(with = "super::time::serde_instant")]
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// When it ends by itself; `None`: only `unfreeze` ends it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::time::serde_optional_instant"
    )]
    pub until: Option<DateTime<Utc>>,
}

impl Freeze {
    /// Whether it holds at `now`.
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

impl GuardState {
    /// The state the guardrails judge, from where each part is kept: the operators'
    /// `decisions`, the quarantine entries (an entry is cleared by a clearance of its version
    /// made after it), the approvers' approvals less those deploys `spent`, and the approvals
    /// kept the old way (`legacy_approvals`, which do not count).
    pub fn assemble(
        decisions: Decisions,
        quarantine: Vec<Quarantined>,
        approvals: Vec<Approval>,
        spent: &[Spent],
        legacy_approvals: Vec<Approval>,
    ) -> GuardState {
        let mut state = GuardState {
            freeze: None,
            unfrozen: None,
            quarantine,
            approvals: approvals
                .into_iter()
                .filter(|a| !spent.iter().any(|s| s.is(a)))
                .collect(),
            clearances: Vec::new(),
            legacy_approvals,
        };
        state.quarantine.sort_by_key(|q| q.at);
        state.apply(decisions);
        state
    }

    /// The operators' decisions in this state.
    pub fn decisions(&self) -> Decisions {
        Decisions {
            freeze: self.freeze.clone(),
            unfrozen: self.unfrozen.clone(),
            clearances: self.clearances.clone(),
        }
    }

    /// This state with `decisions` in force: the freeze as decided, and every quarantine entry
    /// not cleared yet cleared by the latest clearance of its version made after it.
    pub fn apply(&mut self, decisions: Decisions) {
        self.freeze = decisions.freeze;
        self.unfrozen = decisions.unfrozen;
        for entry in self.quarantine.iter_mut().filter(|q| q.cleared.is_none()) {
            entry.cleared = decisions
                .clearances
                .iter()
                .rev()
                .find(|c| c.version == entry.version && c.record.at >= entry.at)
                .map(|c| c.record.clone());
        }
        self.clearances = decisions.clearances;
    }

    /// The freeze that holds at `now`, if any.
    pub fn freeze_at(&self, now: DateTime<Utc>) -> Option<&Freeze> {
        self.freeze.as_ref().filter(|f| f.active_at(now))
    }

    /// The approvals that count for deploying `version` at `digest`: of that version and
    /// digest, given after `expired_until` (older ones have expired), not by `runner`
    /// (nobody approves their own deploy); one a person, the latest.
    pub fn approvals_for(
        &self,
        version: &str,
        digest: Option<&str>,
        expired_until: DateTime<Utc>,
        runner: &str,
    ) -> Vec<&Approval> {
        let mut counted: Vec<&Approval> = Vec::new();
        for approval in self.approvals.iter().rev() {
            let fits = approval.version == version
                && digest.is_some()
                && approval.digest.as_deref() == digest
                && approval.at > expired_until
                && approval.by != runner;
            if fits && !counted.iter().any(|a| a.by == approval.by) {
                counted.push(approval);
            }
        }
        counted.reverse();
        counted
    }

    /// The quarantine of `version` still in force, if any.
    pub fn quarantined(&self, version: &str) -> Option<&Quarantined> {
        self.quarantine
            .iter()
            .rev()
            .find(|q| q.version == version && q.cleared.is_none())
    }
}

/// The state as read, with the version a write of the operators' decisions must carry
/// (`None`: nothing decided yet, so the write creates the record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionedState {
    /// The state.
    pub state: GuardState,
    /// The `resourceVersion` of the operators' decisions, when they exist.
    pub version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::Freeze;

    #[test]
    fn a_freeze_with_an_end_ends_by_itself() {
        let at = |text: &str| crate::model::parse_instant(text).expect("a time");
        let freeze = |until: Option<&str>| Freeze {
            by: "ops".into(),
            at: at("2026-11-29T10:00:00Z"),
            reason: "incident".into(),
            until: until.map(at),
        };
        assert!(freeze(None).active_at(at("2099-01-01T00:00:00Z")));
        let timed = freeze(Some("2026-11-29T12:00:00Z"));
        assert!(timed.active_at(at("2026-11-29T11:59:59Z")));
        assert!(!timed.active_at(at("2026-11-29T12:00:00Z")));
        // Written by a person with an offset: the instant it names, not its text.
        let by_hand = freeze(Some("2026-11-29T13:00:00+05:00"));
        assert!(!by_hand.active_at(at("2026-11-29T08:00:00Z")));
        assert!(by_hand.active_at(at("2026-11-29T07:59:59Z")));
    }

    #[test]
    fn a_quarantine_reason_is_typed_and_older_records_without_one_still_read() {
        use super::{QuarantineReason, Quarantined};
        let written = r#"{"version":"v1.5.0","by":"ci","at":"2026-11-29T10:00:00Z","reason":"rollout_failed","detail":"Deployment `neuro-ui` failed"}"#;
        let read: Quarantined = serde_json::from_str(written).expect("reads");
        assert_eq!(read.reason, Some(QuarantineReason::RolloutFailed));
        assert_eq!(read.why(), "rollout_failed: Deployment `neuro-ui` failed");
        let older = written.replace("rollout_failed", "");
        let read: Quarantined = serde_json::from_str(&older).expect("reads");
        assert_eq!(
            (read.reason, read.why().as_str()),
            (None, "Deployment `neuro-ui` failed")
        );
        let unknown = written.replace("rollout_failed", "tired");
        assert!(serde_json::from_str::<Quarantined>(&unknown).is_err());
    }
}
