//! A rollback returns to the version every app Deployment records as the previous one: with
//! none recorded (or records that disagree) there is nothing to return to.

use super::super::workloads::previous_version;
use super::{Gate, Judgment, Need, ROLLBACK_VERSION_UNREAD, Subject};

pub(crate) struct PreviousVersion;

impl Gate for PreviousVersion {
    fn name(&self) -> &'static str {
        "gate_previous_version"
    }

    fn applies(&self, subject: &Subject) -> bool {
        subject.is_rollback()
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        vec![subject.need_target_workloads(), Need::RepositoryUri]
    }

    fn listed(&self) -> bool {
        false
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let (Some(workloads), Some(repository)) = (
            subject.facts.target_workloads.known(),
            subject.repository.as_deref(),
        ) else {
            return Judgment::NotYetKnown {
                why: ROLLBACK_VERSION_UNREAD.to_owned(),
                step: None,
            };
        };
        match previous_version(workloads, repository) {
            Ok(version) => {
                Judgment::pass_silently(format!("the recorded previous version is {version}"))
            }
            Err(reason) => Judgment::refused(reason),
        }
    }
}
