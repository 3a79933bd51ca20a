//! The approval gate: an environment with `[environments.approvals]` takes a version only with
//! `required` distinct people's unexpired approvals of that version and the digest it deploys,
//! none by whoever runs the deploy. A rollback is never blocked.

use crate::config::{Config, format_duration};
use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ImageRef};
use crate::words::counted;

use super::facts::Facts;
use super::plan::{PlannedStep, Step};
use super::target::{Target, refuse};
use crate::model::rfc3339;
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

/// The exact image an approval is of: the digest verified upstream, else the registry's for
/// the tag (what a deploy of `image` would run).
pub(super) fn approved_image(image: &ImageRef, facts: &Facts) -> ImageRef {
    let mut judged = image.clone();
    if judged.digest.is_none() {
        judged.digest = facts
            .target_image
            .known()
            .and_then(|found| found.as_ref())
            .and_then(|found| found.digest.clone());
    }
    judged
}

/// The gate's step and who approved (the approvals the deploy uses), or `None` when the
/// environment requires no approvals.
pub(super) fn approval_gate(
    event: &Event,
    config: &Config,
    target: &Target,
    facts: &Facts,
    image: &ImageRef,
) -> Result<Option<(PlannedStep, Vec<String>)>, Reason> {
    let Some((env, rule)) = target
        .environment
        .as_deref()
        .and_then(|name| config.environment(name))
        .and_then(|env| env.approvals.as_ref().map(|rule| (env, rule)))
    else {
        return Ok(None);
    };
    let required = usize::try_from(rule.required).unwrap_or(usize::MAX);
    let step = |approved_by: Vec<String>, reason: String| PlannedStep {
        reason,
        step: Step::GateApprovals {
            environment: env.name.clone(),
            required: rule.required,
            approved_by,
        },
    };
    if matches!(event, Event::Rollback { .. }) {
        let reason = "a rollback needs no approvals (getting back is never blocked)".to_owned();
        return Ok(Some((step(Vec::new(), reason), Vec::new())));
    }
    let (Some(state), Some(actor), Some(now)) = (
        facts.guard.known(),
        facts.actor.known(),
        facts.now.known().copied(),
    ) else {
        let reason = format!(
            "{} of {} by people other than whoever runs it, within {} — checked at run time",
            counted(required, "approval"),
            image.tag,
            format_duration(rule.expire)
        );
        return Ok(Some((step(Vec::new(), reason), Vec::new())));
    };
    let expired_until = expired_until(now, rule.expire);
    let digest = image.digest.as_deref();
    let counting = state.approvals_for(&image.tag, digest, expired_until, actor);
    let names: Vec<String> = counting.iter().map(|a| a.by.clone()).collect();
    if names.len() >= required {
        let reason = format!(
            "approved by {} ({} of {required} required; not by {actor}, who runs it)",
            names.join(", "),
            names.len()
        );
        return Ok(Some((step(names.clone(), reason), names)));
    }
    // Say what did not count, so nobody wonders why their approval is missing.
    let mut ignored = Vec::new();
    let of_version = state.approvals.iter().filter(|a| a.version == image.tag);
    for approval in of_version {
        let why = if approval.by == *actor {
            "yours, and nobody approves their own deploy"
        } else if digest.is_none() || approval.digest.as_deref() != digest {
            "of another image digest"
        } else if approval.at <= expired_until {
            "expired"
        } else {
            continue;
        };
        ignored.push(format!(
            "{} at {} ({why})",
            approval.by,
            rfc3339(approval.at)
        ));
    }
    let approved = if names.is_empty() {
        "nobody has approved it yet".to_owned()
    } else {
        format!("approved by {}", names.join(", "))
    };
    let ignored = if ignored.is_empty() {
        String::new()
    } else {
        format!("; not counted: {}", ignored.join(", "))
    };
    let image_text = match digest {
        Some(digest) => format!("{} ({digest})", image.tag),
        None => format!(
            "{} (whose digest is not known yet: build it first)",
            image.tag
        ),
    };
    Err(refuse(
        ReasonCode::ApprovalRequired,
        format!(
            "`{}` needs {} of {image_text} by people other than {actor}, who runs it — {approved}, so {} more needed{ignored}; nothing was changed — each approver runs `neuro-deploy approve {} --env {}` with their own credentials",
            env.name,
            counted(required, "approval"),
            required - names.len(),
            image.tag,
            env.name
        ),
    ))
}
