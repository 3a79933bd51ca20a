//! The deploy steps every writing plan ends with: the queue gate (or its recorded skip), the
//! lock, the re-check, the write, the rollout wait, the release.

use crate::config::Config;
use crate::model::{ImageChange, ImageRef};

use super::plan::{Plan, PlannedStep, Step};
use super::target::Target;
use crate::words::counted;

pub(crate) fn deploy_steps(
    config: &Config,
    target: &Target,
    image: &ImageRef,
    ensure: Option<PlannedStep>,
    changes: Option<Vec<ImageChange>>,
    awaited: Option<Vec<String>>,
) -> Vec<PlannedStep> {
    let ns = &target.namespace;
    let queues = &config.queues;
    let gate = target.queue_gate && !queues.names.is_empty();
    let skipped = target.skip_queue_gate.as_ref().filter(|_| gate);
    let mut steps = Vec::new();
    if let Some(reason) = skipped {
        steps.push(PlannedStep {
            reason: format!(
                "EMERGENCY: the queue gate is skipped ({reason}); {} in {} {} read once and recorded, not waited for — a job in flight may be lost",
                queues.names.join(", "),
                queues.regions.join(" and "),
                if queues.names.len() == 1 { "is" } else { "are" },
            ),
            step: Step::QueueGateSkipped {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
                reason: reason.clone(),
            },
        });
    } else if gate {
        steps.push(PlannedStep {
            reason: format!(
                "a job in flight during a deploy is lost: wait until {} {} drained (visible + in flight + delayed = 0) in {} for {} over ≥ {} samples, up to {} for a busy queue — checked at run time",
                queues.names.join(", "),
                if queues.names.len() == 1 { "is" } else { "are" },
                queues.regions.join(" and "),
                crate::config::format_duration(queues.window),
                queues.samples_needed(),
                crate::config::format_duration(queues.timeout),
            ),
            step: Step::GateQueuesDrained {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
            },
        });
    }
    // Images are made only once the gates passed, so a refused run changes nothing.
    steps.extend(ensure);
    steps.push(PlannedStep {
        reason: format!("one deploy at a time: take the Lease `neuro-deploy` in `{ns}`"),
        step: Step::AcquireLock {
            namespace: ns.clone(),
        },
    });
    if gate && skipped.is_none() {
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

pub(crate) fn offline_rollback_plan(
    config: &Config,
    target: &Target,
    repository: &str,
    env: &str,
) -> Plan {
    let image = ImageRef::new(repository.to_owned(), "<previous version>");
    let mut steps = vec![PlannedStep {
        reason: format!(
            "roll `{env}` back to the version recorded in `neuro-deploy.io/previous-version` on its Deployments — read at run time; its image must exist"
        ),
        step: Step::GateImageExists {
            image: image.clone(),
        },
    }];
    steps.extend(deploy_steps(config, target, &image, None, None, None));
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
