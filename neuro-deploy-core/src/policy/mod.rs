//! The release policy: `decide(event, config, facts) -> Decision`, a pure function.
//!
//! | event | decision |
//! |---|---|
//! | merge to the main branch | version = short SHA; build unless the image exists; deploy to the merge environment |
//! | merge to another branch | ignore (`not_release_branch`) |
//! | release of a SemVer tag targeting a release branch | version = tag; retag the commit's image (no rebuild) or build; deploy to the release environment |
//! | draft release / other target / bad tag | ignore (`draft_release`, `not_release_branch`) / refuse (`not_a_release`) |
//! | promote V | V a release (`not_a_release`), image exists (`image_missing`), source runs V complete (`not_verified_on_staging`), not older than now (`downgrade`), the other gates in `gates/`, queues drained (`queue_not_drained`); lock, deploy, await, roll back on failure |
//! | deploy V to env/namespace | non-production only (`production_requires_promotion`); build if needed |
//! | rollback env | set the recorded previous version; production waits for drained queues |
//!
//! Before all of them: the guardrails — a freeze (`frozen`), the deploy windows
//! (`outside_deploy_window`), a quarantined version (`version_quarantined`), approvals
//! (`approval_required`); a rollback is never blocked by them.
//!
//! Each gate is one module under `gates/`, and `GATES` is the one ordered list of them: `decide`,
//! [`gate_verdicts`] and [`needs`] all walk it. The facts the gates need ([`needs`]) are
//! gathered by the executor and passed in. A fact may be [`Fact::Unknown`] (offline `plan`): the
//! plan then shows both branches and the gates as checked at run time.

mod approvals;
mod facts;
mod gates;
mod intent;
mod plan;
mod status;
mod steps;
mod target;
mod verdicts;
mod window;
mod workloads;

pub use crate::model::{parse_instant, rfc3339};
pub use approvals::{PendingApproval, expired_until, pending_approvals};
pub use facts::{Fact, Facts};
pub use gates::{Need, OverrideFlag, Overrides, Source, needs, override_flags};
pub use intent::Intent;
pub use plan::{Decision, DeployPhase, ImageAction, Plan, PlannedStep, Step};
pub use status::{Drift, EnvironmentStatus, RolloutSummary};
pub use target::{Target, target};
pub use verdicts::{GateVerdict, Verdict, first_refusal, gate_verdicts, unjudged_in_a_live_run};
pub use window::{WindowState, window_state};
pub use workloads::{
    RunningReleases, app_workloads, common_tag, image_being_replaced, pinned_digest,
    previous_version, recorded_alike, recorded_previous_digest, runs_completely,
    version_being_replaced,
};

use gates::{GATES, Judgment, Subject, judge};
use steps::{deploy_phase, is_queue_gate, offline_rollback_plan, waits_for_queues, whole_seconds};
use workloads::image_changes;

use crate::config::Config;
use crate::error::Reason;
use crate::model::{DeployNotes, Event, ImageRef};

/// Decides what to do. Pure: no I/O, no clock.
pub fn decide(event: &Event, config: &Config, facts: &Facts) -> Decision {
    match decide_inner(event, config, facts) {
        Ok(plan) => Decision::Proceed(plan),
        Err(reason) => Decision::from(reason),
    }
}

/// What a deploy of an event replaces with what: known from the facts whether or not the gates
/// let it through (what a refused promotion would have changed is worth showing too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The version deployed.
    pub version: String,
    /// Its image, digest included when known.
    pub image: ImageRef,
    /// The version it replaces, when one runs there now.
    pub previous_version: Option<String>,
    /// The exact image it replaces, when one runs there now.
    pub previous_image: Option<String>,
}

/// The [`Replacement`] `event` makes, when the facts name the image it deploys.
pub fn replacement(event: &Event, config: &Config, facts: &Facts) -> Option<Replacement> {
    let target = target(event, config).ok()?;
    let subject = Subject::new(event, config, &target, facts);
    let image = subject.planned_image()?;
    let (previous_version, previous_image) =
        replaced(&subject.facts, &image.repository, &image.tag);
    Some(Replacement {
        version: image.tag.clone(),
        image,
        previous_version,
        previous_image,
    })
}

/// The version and the exact image a deploy of `tag` replaces, from the target's Deployments.
fn replaced(facts: &Facts, repository: &str, tag: &str) -> (Option<String>, Option<String>) {
    match facts.target_workloads.known() {
        Some(workloads) => (
            version_being_replaced(workloads, repository, tag),
            image_being_replaced(workloads, repository, tag),
        ),
        None => (None, None),
    }
}

fn decide_inner(event: &Event, config: &Config, facts: &Facts) -> Result<Plan, Reason> {
    let target = target(event, config)?;
    let subject = Subject::new(event, config, &target, facts);
    let mut gate_steps: Vec<PlannedStep> = Vec::new();
    let mut ensure = None;
    let mut notes = DeployNotes::default();
    for gate in GATES {
        let step = match judge(*gate, &subject) {
            None => continue,
            Some(Judgment::Refused(reason)) => return Err(reason),
            Some(Judgment::Passed {
                step, notes: more, ..
            }) => {
                notes.extend(more);
                step
            }
            Some(Judgment::NotYetKnown { step, .. }) => step,
            Some(Judgment::WhileRunning { step, .. }) => Some(step),
        };
        match step {
            // The image is made only once every gate passed, so a refused run changes nothing.
            Some(step) if matches!(step.step, Step::EnsureImage { .. }) => ensure = Some(step),
            Some(step) => gate_steps.push(step),
            None => {}
        }
    }
    let Some(image) = subject.image.clone() else {
        // Only a rollback planned offline does not know its version: it is recorded on the
        // Deployments, read at run time.
        return Ok(offline_rollback_plan(config, &target, &subject, gate_steps));
    };
    let facts = &subject.facts;
    let tag = image.tag.clone();
    let known = facts.target_workloads.known();
    let changes = match known {
        Some(workloads) => Some(image_changes(
            workloads,
            &image.repository,
            &image,
            &target.namespace,
        )?),
        None => None,
    };
    let awaited: Option<Vec<String>> = known.map(|ws| ws.iter().map(|w| w.name.clone()).collect());
    let (previous, previous_image) = replaced(facts, &image.repository, &tag);
    let mut gates = gate_steps;
    let deploy = match (changes, awaited) {
        // Every app container already has the image, but the rollout is not complete: that is
        // not "already deployed". Nothing is written, so no lock and no queue gate: await it.
        (Some(changes), Some(awaited)) if changes.is_empty() => {
            gates.retain(|s| !is_queue_gate(s));
            DeployPhase::AwaitAsSet {
                rollout: PlannedStep {
                    reason: format!(
                        "every app container already has {tag} but the rollout is not complete: wait up to {} for it (nothing is written; a failing rollout is refused as `rollout_failing`)",
                        crate::config::format_duration(config.rollout.timeout)
                    ),
                    step: Step::AwaitRollout {
                        namespace: target.namespace.clone(),
                        workloads: Some(awaited),
                        timeout_secs: whole_seconds(config.rollout.timeout),
                    },
                },
            }
        }
        (changes, awaited) => {
            let recheck = waits_for_queues(&gates);
            let planned = subject.planned_image();
            let shown = planned.as_ref().map_or_else(
                || format!("{image} (its repository URI read from the registry at run time)"),
                ImageRef::pinned,
            );
            deploy_phase(
                config,
                &target,
                (planned.as_ref(), &shown),
                recheck,
                changes,
                awaited,
            )
        }
    };
    Ok(Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: Some(tag),
        image: subject.planned_image(),
        previous_version: previous,
        previous_image,
        gates,
        image_action: ensure,
        deploy,
        notes,
    })
}
