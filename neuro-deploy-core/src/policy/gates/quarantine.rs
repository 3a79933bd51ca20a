//! A version that failed in an environment (or was rolled back from there) is not deployed
//! there again until someone clears it on the record; a rollback is never blocked.

use crate::error::{Reason, ReasonCode};

use super::freeze::NO_STATE;
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct Quarantine;

impl Gate for Quarantine {
    fn name(&self) -> &'static str {
        "gate_not_quarantined"
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
            return Judgment::pass_silently("a rollback is never blocked by a quarantine");
        }
        let Some(tag) = subject.tag() else {
            return Judgment::NotYetKnown {
                why: "the version is not known".to_owned(),
                step: None,
            };
        };
        let Some(guard) = subject.facts.guard.known() else {
            return Judgment::NotYetKnown {
                why: NO_STATE.to_owned(),
                step: None,
            };
        };
        let Some(quarantined) = guard.quarantined(&tag) else {
            return Judgment::pass_silently(format!("{tag} is not quarantined"));
        };
        let place = subject.place();
        let why = quarantined.why();
        Judgment::refused(Reason::new(
            ReasonCode::VersionQuarantined,
            format!(
                "{tag} is quarantined in `{place}` since {} ({why}; deployed by {}); nothing was changed — deploy another version, or clear it on the record with `neuro-deploy quarantine clear {tag} --env {place} --reason TEXT`",
                quarantined.at, quarantined.by
            ),
        ))
    }
}
