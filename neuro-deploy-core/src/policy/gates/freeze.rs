//! A frozen environment takes nothing but a rollback (getting back is never blocked).

use crate::error::{Reason, ReasonCode};
use crate::model::rfc3339;

use super::{Gate, Judgment, Need, Subject};

/// Why a guardrail kept in the shared state was not judged.
pub(super) const NO_STATE: &str =
    "the environment's shared state (ConfigMap `neuro-deploy`) was not read";

pub(crate) struct Freeze;

impl Gate for Freeze {
    fn name(&self) -> &'static str {
        "gate_not_frozen"
    }

    fn applies(&self, _: &Subject) -> bool {
        true
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        if subject.is_rollback() {
            return Vec::new();
        }
        vec![subject.need_shared_state()]
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        if subject.is_rollback() {
            return Judgment::pass_silently("a rollback is never blocked by a freeze");
        }
        let facts = &subject.facts;
        let (Some(guard), Some(now)) = (facts.guard.known(), facts.now.known()) else {
            return Judgment::NotYetKnown {
                why: NO_STATE.to_owned(),
                step: None,
            };
        };
        let Some(freeze) = guard.freeze_at(*now) else {
            return Judgment::pass_silently("not frozen");
        };
        let place = subject.place();
        let until = match &freeze.until {
            Some(until) => format!("until {}", rfc3339(*until)),
            None => "until someone unfreezes it".to_owned(),
        };
        Judgment::refused(Reason::new(
            ReasonCode::Frozen,
            format!(
                "`{place}` is frozen by {} since {} ({}), {until}; nothing was changed — `rollback` still works, and `neuro-deploy unfreeze --env {place} --reason TEXT` lifts it on the record",
                freeze.by,
                rfc3339(freeze.at),
                freeze.reason
            ),
        ))
    }
}
