//! Where each part of an environment's shared guardrail state lives, as ConfigMaps in its
//! namespace, each written by whom RBAC lets write it:
//!
//! | object | holds | written by |
//! |---|---|---|
//! | `neuro-deploy` | the operators' decisions: `freeze`, `unfrozen`, `clearances` | operators |
//! | `neuro-deploy-approval-<user>-<hash>` | one approver's approvals (`approvals`) | that approver |
//! | `neuro-deploy-quarantine-<version>-<hash>` | one quarantine entry (`entry`) | deployer (create only) |
//! | `neuro-deploy-spent` | the approvals deploys used (`spent`) | deployer |
//!
//! Every one is labelled `neuro-deploy.io/record` (its kind), so one list reads them all. An
//! approval counts only from the record named after its approver: the name holds a hash of the
//! user name, which RBAC's `resourceNames` then give to that approver alone.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use sha2::{Digest, Sha256};

/// The label every record carries; its value is the record's kind.
pub const RECORD_LABEL: &str = "neuro-deploy.io/record";

/// The annotation naming an approval record's approver (for people; the name decides).
pub const APPROVER_ANNOTATION: &str = "neuro-deploy.io/approver";

/// The kinds of records.
pub const DECISIONS: &str = "decisions";
/// An approver's record.
pub const APPROVAL: &str = "approval";
/// A quarantine entry.
pub const QUARANTINE: &str = "quarantine";
/// The spent approvals.
pub const SPENT: &str = "spent";

/// The ConfigMap key of an approval record's approvals.
pub const APPROVALS_DATA: &str = "approvals";
/// The ConfigMap key of a quarantine entry.
pub const ENTRY_DATA: &str = "entry";
/// The ConfigMap key of the spent approvals.
pub const SPENT_DATA: &str = "spent";

/// The name of `user`'s approval record: readable, and unique by a hash of the whole name
/// (`system:serviceaccount:ci:x` and `system-serviceaccount-ci-x` differ).
pub fn approval_record(user: &str) -> String {
    format!(
        "neuro-deploy-approval-{}-{}",
        slug(user, 24),
        short_hash(user)
    )
}

/// The name of a quarantine entry's record: its version, and a hash of what makes it unique.
pub fn quarantine_record(version: &str, unique: &str) -> String {
    format!(
        "neuro-deploy-quarantine-{}-{}",
        slug(version, 24),
        short_hash(&format!("{version}\n{unique}"))
    )
}

/// A record's ConfigMap: `name` in `namespace`, labelled `kind`, holding `data`.
pub fn record(
    namespace: &str,
    name: &str,
    kind: &str,
    data: BTreeMap<String, String>,
    annotations: Option<BTreeMap<String, String>>,
) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(RECORD_LABEL.to_owned(), kind.to_owned())])),
            annotations,
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// Lowercase letters, digits and `-` from `text`, at most `max` of them, never empty.
fn slug(text: &str, max: usize) -> String {
    let mut slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "x".to_owned()
    } else {
        slug
    }
}

/// The first 10 hex digits of `text`'s SHA-256.
fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_valid_kubernetes_names_and_unique_per_user() {
        let a = approval_record("system:serviceaccount:ci:neuro-deploy");
        let b = approval_record("system-serviceaccount-ci-neuro-deploy");
        assert_ne!(a, b);
        for name in [&a, &b, &approval_record("Alice.Smith@example.com")] {
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
        assert_eq!(approval_record("alice"), approval_record("alice"));
        assert!(quarantine_record("v1.4.0", "x").starts_with("neuro-deploy-quarantine-v1-4-0-"));
    }
}
