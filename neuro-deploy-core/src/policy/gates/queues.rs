//! The queue gate: a job in flight during a deploy is lost, so the configured queues must be
//! drained in every region over the stability window. The executor waits for it as the run
//! goes (after every other gate passed) and looks once more under the lock; an operator may
//! skip it for an emergency rollback, on the record.

use super::super::plan::{PlannedStep, Step};
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct Queues;

impl Gate for Queues {
    fn name(&self) -> &'static str {
        "gate_queues_drained"
    }

    fn applies(&self, subject: &Subject) -> bool {
        subject.target.queue_gate && !subject.config.queues.names.is_empty()
    }

    fn needs(&self, _: &Subject) -> Vec<Need> {
        // Sampled by the executor over the window, not read once with the facts.
        Vec::new()
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let queues = &subject.config.queues;
        let are = if queues.names.len() == 1 { "is" } else { "are" };
        if let Some(reason) = &subject.target.skip_queue_gate {
            return Judgment::Passed {
                why: format!(
                    "skipped by the operator ({reason}): the queues are read once and recorded"
                ),
                step: Some(PlannedStep {
                    reason: format!(
                        "EMERGENCY: the queue gate is skipped ({reason}); {} in {} {are} read once and recorded, not waited for — a job in flight may be lost",
                        queues.names.join(", "),
                        queues.regions.join(" and "),
                    ),
                    step: Step::QueueGateSkipped {
                        queues: queues.names.clone(),
                        regions: queues.regions.clone(),
                        reason: reason.clone(),
                    },
                }),
                notes: crate::model::DeployNotes::default(),
            };
        }
        Judgment::WhileRunning {
            why: "the queues are looked at only once every other gate passed".to_owned(),
            step: PlannedStep {
                reason: format!(
                    "a job in flight during a deploy is lost: wait until {} {are} drained (visible + in flight + delayed = 0) in {} for {} over ≥ {} samples, up to {} for a busy queue — checked at run time",
                    queues.names.join(", "),
                    queues.regions.join(" and "),
                    crate::config::format_duration(queues.window),
                    queues.samples_needed(),
                    crate::config::format_duration(queues.timeout),
                ),
                step: Step::GateQueuesDrained {
                    queues: queues.names.clone(),
                    regions: queues.regions.clone(),
                },
            },
        }
    }
}
