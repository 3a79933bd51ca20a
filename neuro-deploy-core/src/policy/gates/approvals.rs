//! The approval gate: an environment with `[environments.approvals]` takes a version only with
//! `required` distinct people's unexpired approvals of that version and the digest it deploys,
//! none by whoever runs the deploy. A rollback is never blocked.

use crate::config::format_duration;
use crate::error::{Reason, ReasonCode};
use crate::model::{ImageRef, rfc3339};
use crate::words::counted;

use super::super::approvals::expired_until;
use super::super::plan::Step;
use super::{Gate, Judgment, Need, PlannedStep, Subject};
use crate::model::DeployNotes;

pub(crate) struct Approvals;

impl Approvals {
    /// The exact image an approval is of: the digest verified upstream, else the registry's
    /// for the tag (what a deploy of the image would run).
    fn approved_image(subject: &Subject, image: &ImageRef) -> ImageRef {
        let mut judged = image.clone();
        if judged.digest.is_none() {
            judged.digest = subject
                .facts
                .target_image
                .known()
                .and_then(|found| found.as_ref())
                .and_then(|found| found.digest.clone());
        }
        judged
    }
}

impl Gate for Approvals {
    fn name(&self) -> &'static str {
        "gate_approvals"
    }

    fn applies(&self, subject: &Subject) -> bool {
        subject.env.is_some_and(|env| env.approvals.is_some())
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        if subject.is_rollback() {
            return Vec::new();
        }
        let mut needs = vec![
            subject.need_shared_state(),
            Need::Actor {
                namespace: subject.target.namespace.clone(),
            },
        ];
        needs.extend(subject.need_target_image());
        needs
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let (Some(env), Some((image, _))) = (subject.env, subject.deployed()) else {
            return Judgment::image_unknown();
        };
        let Some(rule) = &env.approvals else {
            return Judgment::pass_silently("no approvals are required");
        };
        let image = Self::approved_image(subject, image);
        let required = usize::try_from(rule.required).unwrap_or(usize::MAX);
        let step = |approved_by: Vec<String>| Step::GateApprovals {
            environment: env.name.clone(),
            required: rule.required,
            approved_by,
        };
        if subject.is_rollback() {
            return Judgment::pass(
                step(Vec::new()),
                "a rollback needs no approvals (getting back is never blocked)",
            );
        }
        let facts = &subject.facts;
        let (Some(state), Some(actor), Some(now)) = (
            facts.guard.known(),
            facts.actor.known(),
            facts.now.known().copied(),
        ) else {
            return Judgment::at_run_time(
                step(Vec::new()),
                format!(
                    "{} of {} by people other than whoever runs it, within {} — checked at run time",
                    counted(required, "approval"),
                    image.tag,
                    format_duration(rule.expire)
                ),
            );
        };
        let expired_until = expired_until(now, rule.expire);
        let digest = image.digest.as_deref();
        let counting = state.approvals_for(&image.tag, digest, expired_until, actor);
        let names: Vec<String> = counting
            .iter()
            .filter(|a| rule.admits(&a.by))
            .map(|a| a.by.clone())
            .collect();
        if names.len() >= required {
            let why = format!(
                "approved by {} ({} of {required} required; not by {actor}, who runs it)",
                names.join(", "),
                names.len()
            );
            return Judgment::Passed {
                step: Some(PlannedStep {
                    step: step(names.clone()),
                    reason: why.clone(),
                }),
                why,
                notes: DeployNotes {
                    overrides: Vec::new(),
                    approved_by: names,
                },
            };
        }
        // Say what did not count, so nobody wonders why their approval is missing.
        let mut ignored = Vec::new();
        let of_version = state.approvals.iter().filter(|a| a.version == image.tag);
        for approval in of_version {
            let why = if approval.by == *actor {
                "yours, and nobody approves their own deploy".to_owned()
            } else if !rule.admits(&approval.by) {
                format!(
                    "not one of `{}`'s approvers: {}",
                    env.name,
                    rule.approvers.join(", ")
                )
            } else if digest.is_none() || approval.digest.as_deref() != digest {
                "of another image digest".to_owned()
            } else if approval.at <= expired_until {
                "expired".to_owned()
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
        Judgment::refused(Reason::new(
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
}
