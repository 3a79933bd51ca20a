//! The deploy steps every writing plan ends with: the queue gate (or its recorded skip), the
//! lock, the re-check, the write, the rollout wait, the release.

use crate::config::Config;
use crate::model::{ImageChange, ImageRef};

use super::gates::Subject;
use super::plan::{Plan, PlannedStep, Step};
use super::target::Target;
use crate::words::counted;

/// The deploy phase after the gates: the image step, the lock, the queues' last look (when
/// the queue gate waits: `recheck`), the write, the rollout wait, the verification, the release.
pub(crate) fn deploy_steps(
    config: &Config,
    target: &Target,
    image: &ImageRef,
    ensure: Option<PlannedStep>,
    recheck: bool,
    changes: Option<Vec<ImageChange>>,
    awaited: Option<Vec<String>>,
) -> Vec<PlannedStep> {
    let ns = &target.namespace;
    let queues = &config.queues;
    let mut steps = Vec::new();
    // Images are made only once the gates passed, so a refused run changes nothing.
    steps.extend(ensure);
    steps.push(PlannedStep {
        reason: format!("one deploy at a time: take the Lease `neuro-deploy` in `{ns}`"),
        step: Step::AcquireLock {
            namespace: ns.clone(),
        },
    });
    if recheck {
        steps.push(PlannedStep {
            reason: "look at the queues once more, just before the first write".to_owned(),
            step: Step::RecheckQueues {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
            },
        });
    }
    let set_reason = match &changes {
        Some(changes) => {
            format!(
                "set {} on {} of {}; sidecars untouched",
                image.pinned(),
                counted(changes.len(), "container"),
                counted(ImageChange::workloads(changes).len(), "Deployment")
            )
        }
        None => format!(
            "set {} on the containers of {} in every Deployment matching `{}`; sidecars untouched",
            image.pinned(),
            image.repository,
            config.app.selector
        ),
    };
    steps.push(PlannedStep {
        reason: set_reason,
        step: Step::SetImage {
            namespace: ns.clone(),
            image: image.clone(),
            changes,
        },
    });
    steps.push(PlannedStep {
        reason: format!(
            "wait up to {} for the rollout of every app Deployment to complete; on failure restore the previous images",
            crate::config::format_duration(config.rollout.timeout)
        ),
        step: Step::AwaitRollout {
            namespace: ns.clone(),
            workloads: awaited,
            timeout_secs: config.rollout.timeout.as_secs(),
        },
    });
    if let Some(verify) = target
        .environment
        .as_deref()
        .and_then(|name| config.environment(name))
        .and_then(|env| env.verify.as_ref())
        .filter(|_| target.verify)
    {
        steps.push(PlannedStep {
            reason: format!(
                "verify on every probe for {}, every {} (each probe bounded by {}): {}; on failure restore the previous images",
                crate::config::format_duration(verify.window),
                crate::config::format_duration(verify.every),
                crate::config::format_duration(verify.probe_timeout()),
                verify.describe(),
            ),
            step: Step::Verify {
                namespace: ns.clone(),
                checks: verify.clone(),
            },
        });
    }
    steps.push(PlannedStep {
        reason: "release the lock, whatever happened".to_owned(),
        step: Step::ReleaseLock {
            namespace: ns.clone(),
        },
    });
    steps
}

/// A rollback planned offline: the version it returns to is recorded on the Deployments, read
/// at run time. Of the gates' steps only the queue gate's is known to apply before then.
pub(crate) fn offline_rollback_plan(
    config: &Config,
    target: &Target,
    subject: &Subject,
    gate_steps: Vec<PlannedStep>,
) -> Plan {
    let env = subject.place();
    let repository = subject
        .repository
        .clone()
        .unwrap_or_else(|| format!("<{} repository URI>", config.registry.repository));
    let image = ImageRef::new(repository, "<previous version>");
    let mut steps = vec![PlannedStep {
        reason: format!(
            "roll `{env}` back to the version recorded in `neuro-deploy.io/previous-version` on its Deployments — read at run time; its image must exist"
        ),
        step: Step::GateImageExists {
            image: image.clone(),
        },
    }];
    let queue_steps: Vec<PlannedStep> = gate_steps
        .into_iter()
        .filter(|s| {
            matches!(
                s.step,
                Step::GateQueuesDrained { .. } | Step::QueueGateSkipped { .. }
            )
        })
        .collect();
    let recheck = waits_for_queues(&queue_steps);
    steps.extend(queue_steps);
    steps.extend(deploy_steps(
        config, target, &image, None, recheck, None, None,
    ));
    Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: "<previous version>".to_owned(),
        image,
        previous_version: None,
        previous_image: None,
        steps,
        overridden: None,
        approved_by: Vec::new(),
    }
}

/// Whether the queue gate waits for the queues (then they are looked at once more under the
/// lock).
pub(crate) fn waits_for_queues(steps: &[PlannedStep]) -> bool {
    steps
        .iter()
        .any(|s| matches!(s.step, Step::GateQueuesDrained { .. }))
}
