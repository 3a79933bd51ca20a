//! Idempotence: a namespace that already runs the version with a complete rollout has nothing
//! to do (an ignore, not a refusal).

use crate::error::{Reason, ReasonCode};

use super::super::workloads::runs_completely;
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct AlreadyDeployed;

impl Gate for AlreadyDeployed {
    fn name(&self) -> &'static str {
        "gate_not_deployed_yet"
    }

    fn applies(&self, _: &Subject) -> bool {
        true
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        vec![subject.need_target_workloads(), Need::RepositoryUri]
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn listed(&self) -> bool {
        false
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let (Some(workloads), Some(image)) =
            (subject.facts.target_workloads.known(), &subject.image)
        else {
            return Judgment::pass_silently("what runs there is not known yet");
        };
        if runs_completely(workloads, &image.repository, &image.tag) {
            return Judgment::refused(Reason::new(
                ReasonCode::AlreadyDeployed,
                format!(
                    "namespace `{}` already runs {} with a complete rollout",
                    subject.target.namespace, image.tag
                ),
            ));
        }
        Judgment::pass_silently(format!("{} is not running there yet", image.tag))
    }
}
