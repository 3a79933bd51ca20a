//! The deploy phase every writing plan ends with: the lock, the re-check, the write, the
//! rollout wait, the verification, the release; and the plan of a rollback decided offline.

use crate::config::Config;
use crate::model::{ImageChange, ImageRef};

use super::gates::Subject;
use super::plan::{DeployPhase, Plan, PlannedStep, Step};
use super::target::Target;
use crate::words::counted;

/// The deploy phase after the gates: the lock, the queues' last look (when the queue gate
/// waits: `recheck`), the write, the rollout wait, the verification, the release. `image` is
/// what is set, `None` offline when it is not known yet; `shown` names it for people.
pub(crate) fn deploy_phase(
    config: &Config,
    target: &Target,
    (image, shown): (Option<&ImageRef>, &str),
    recheck: bool,
    changes: Option<Vec<ImageChange>>,
    awaited: Option<Vec<String>>,
) -> DeployPhase {
    let ns = &target.namespace;
    let queues = &config.queues;
    let set_reason = match &changes {
        Some(changes) => {
            format!(
                "set {shown} on {} of {}; sidecars untouched",
                counted(changes.len(), "container"),
                counted(ImageChange::workloads(changes).len(), "Deployment")
            )
        }
        None => format!(
            "set {shown} on the containers of {} in every Deployment matching `{}`; sidecars untouched",
            image.map_or(&config.registry.repository, |image| &image.repository),
            config.app.selector
        ),
    };
    let verify = target
        .environment
        .as_deref()
        .and_then(|name| config.environment(name))
        .and_then(|env| env.verify.as_ref())
        .filter(|_| target.verify);
    DeployPhase::Write {
        lock: PlannedStep {
            reason: format!("one deploy at a time: take the Lease `neuro-deploy` in `{ns}`"),
            step: Step::AcquireLock {
                namespace: ns.clone(),
            },
        },
        recheck: recheck.then(|| PlannedStep {
            reason: "look at the queues once more, just before the first write".to_owned(),
            step: Step::RecheckQueues {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
            },
        }),
        set: PlannedStep {
            reason: set_reason,
            step: Step::SetImage {
                namespace: ns.clone(),
                image: image.cloned(),
                changes,
            },
        },
        rollout: PlannedStep {
            reason: format!(
                "wait up to {} for the rollout of every app Deployment to complete; on failure restore the previous images",
                crate::config::format_duration(config.rollout.timeout)
            ),
            step: Step::AwaitRollout {
                namespace: ns.clone(),
                workloads: awaited,
                timeout_secs: whole_seconds(config.rollout.timeout),
            },
        },
        verify: verify.map(|verify| PlannedStep {
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
        }),
        release: PlannedStep {
            reason: "release the lock, whatever happened".to_owned(),
            step: Step::ReleaseLock {
                namespace: ns.clone(),
            },
        },
    }
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
    let mut gates = vec![PlannedStep {
        reason: format!(
            "roll `{env}` back to the version recorded in `neuro-deploy.io/previous-version` on its Deployments — read at run time; its image must exist"
        ),
        step: Step::GateImageExists { image: None },
    }];
    gates.extend(gate_steps.into_iter().filter(is_queue_gate));
    let recheck = waits_for_queues(&gates);
    Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: None,
        deploy: deploy_phase(
            config,
            target,
            (None, "the previous version's image"),
            recheck,
            None,
            None,
        ),
        image: None,
        previous_version: None,
        previous_image: None,
        gates,
        image_action: None,
        notes: crate::model::DeployNotes::default(),
    }
}

/// Whether a gate step is the queue gate's (waited for, or skipped on the record).
pub(crate) fn is_queue_gate(step: &PlannedStep) -> bool {
    matches!(
        step.step,
        Step::GateQueuesDrained { .. } | Step::QueueGateSkipped { .. }
    )
}

/// Whether the queue gate waits for the queues (then they are looked at once more under the
/// lock).
pub(crate) fn waits_for_queues(steps: &[PlannedStep]) -> bool {
    steps
        .iter()
        .any(|s| matches!(s.step, Step::GateQueuesDrained { .. }))
}

/// A bound in whole seconds, rounded up (a plan's rollout wait is never shorter than configured).
pub(crate) fn whole_seconds(duration: std::time::Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}
