//! The release policy: `decide(event, config, facts) -> Decision`, a pure function.
//!
//! | event | decision |
//! |---|---|
//! | merge to the main branch | version = short SHA; build unless the image exists; deploy to the merge environment |
//! | merge to another branch | ignore (`not_release_branch`) |
//! | release of a SemVer tag targeting a release branch | version = tag; retag the commit's image (no rebuild) or build; deploy to the release environment |
//! | draft release / other target / bad tag | ignore (`draft_release`, `not_release_branch`) / refuse (`not_a_release`) |
//! | promote V | V a release (`not_a_release`), image exists (`image_missing`), source runs V complete (`not_verified_on_staging`), not older than now (`downgrade`), queues drained (`queue_not_drained`); lock, deploy, await, roll back on failure |
//! | deploy V to env/namespace | non-production only (`production_requires_promotion`); build if needed |
//! | rollback env | set the recorded previous version; production waits for drained queues |
//!
//! Before all of them: the guardrails — a freeze (`frozen`), the deploy windows
//! (`outside_deploy_window`), a quarantined version (`version_quarantined`), approvals
//! (`approval_required`); a rollback is never blocked by them.
//!
//! Facts the policy needs are gathered by the executor and passed in. A fact may be
//! [`Fact::Unknown`] (offline `plan`): the plan then shows both branches and the gates as
//! checked at run time.

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
pub use intent::Intent;
pub use plan::{Decision, ImageAction, Plan, PlannedStep, Step};
pub use status::{Drift, EnvironmentStatus, RolloutSummary};
pub use target::{Target, target};
pub use verdicts::{GateVerdict, Verdict, first_refusal, gate_verdicts, unjudged_in_a_live_run};
pub use window::{WindowState, window_state};
pub use workloads::{
    RunningReleases, app_workloads, common_tag, image_being_replaced, pinned_digest,
    previous_version, recorded_alike, recorded_previous_digest, runs_completely,
    version_being_replaced,
};

use approvals::{approval_gate, approved_image};
use facts::only_app_workloads;
use gates::{
    ensure_image_step, freeze_gate, promotion_gates, quarantine_gate, verified_digest, window_gate,
};
use steps::{deploy_steps, offline_rollback_plan};
use target::{ignore, refuse};
use workloads::image_changes;

use crate::config::Config;
use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ImageRef, ReleaseTarget};

/// Decides what to do. Pure: no I/O, no clock.
pub fn decide(event: &Event, config: &Config, facts: &Facts) -> Decision {
    match decide_inner(event, config, facts) {
        Ok(plan) => Decision::Proceed(plan),
        Err(reason) => Decision::from(reason),
    }
}

fn decide_inner(event: &Event, config: &Config, facts: &Facts) -> Result<Plan, Reason> {
    let target = target(event, config)?;
    freeze_gate(event, &target, facts)?;
    let window = window_gate(event, config, &target, facts)?;
    let repository = facts
        .repository_uri
        .known()
        .cloned()
        .or_else(|| config.registry.uri.clone())
        .unwrap_or_else(|| format!("<{} repository URI>", config.registry.repository));
    // Only Deployments that run the app count: a cache selected by the same label is never
    // patched, awaited or judged.
    let facts = &only_app_workloads(facts, &repository);

    let version = match (&target.version, event) {
        (Some(v), _) => v.clone(),
        (None, Event::Rollback { env, .. }) => match facts.target_workloads.known() {
            Some(workloads) => previous_version(workloads, &repository)?,
            None => {
                return Ok(offline_rollback_plan(config, &target, &repository, env));
            }
        },
        (None, _) => {
            return Err(refuse(
                ReasonCode::InvalidInput,
                "the event names no version",
            ));
        }
    };
    let tag = version.image_tag(config.git.short_sha_length);
    quarantine_gate(event, &target, facts, &tag)?;
    let mut image = ImageRef::new(repository.clone(), tag.clone());
    let (window_step, overridden) = window.unzip();
    let mut steps: Vec<PlannedStep> = window_step.into_iter().collect();

    // A release targeting a commit SHA must be on a release branch.
    if let Event::Released {
        target_branch: Some(ReleaseTarget::Commit(commit)),
        tag: release_tag,
        ..
    } = event
        && let Fact::Known(false) = facts.target_on_release_branch
    {
        return Err(ignore(
            ReasonCode::NotReleaseBranch,
            format!(
                "release `{release_tag}` targets commit {commit}, which is on no release branch; it is not deployed"
            ),
        ));
    }

    // Idempotence: already there with a complete rollout → nothing to do.
    if let Some(workloads) = facts.target_workloads.known()
        && runs_completely(workloads, &repository, &tag)
    {
        return Err(ignore(
            ReasonCode::AlreadyDeployed,
            format!(
                "namespace `{}` already runs {tag} with a complete rollout",
                target.namespace
            ),
        ));
    }

    let mut ensure = None;
    match event {
        Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. } => {
            ensure = Some(ensure_image_step(
                event, config, facts, &target, &version, &image,
            )?);
        }
        Event::Promote {
            allow_downgrade, ..
        } => {
            image.digest = verified_digest(facts, &target, &image)?;
            let gates = promotion_gates(facts, &target, &version, &image, *allow_downgrade)?;
            steps.extend(gates);
        }
        Event::Rollback { .. } => {
            // Back to exactly what ran: the recorded digest, not just the tag.
            if let Some(workloads) = facts.target_workloads.known() {
                image.digest = recorded_previous_digest(workloads, &repository, &image);
            }
            steps.push(rollback_image_gate(facts, &image)?);
        }
    }

    // Approvals are of the exact image: the digest verified upstream, else the registry's.
    let approved = approval_gate(
        event,
        config,
        &target,
        facts,
        &approved_image(&image, facts),
    )?;
    let (approval_step, approved_by) = approved.unzip();
    steps.extend(approval_step);

    let changes = match facts.target_workloads.known() {
        Some(workloads) => Some(image_changes(
            workloads,
            &repository,
            &image,
            &target.namespace,
        )?),
        None => None,
    };
    let awaited: Option<Vec<String>> = facts
        .target_workloads
        .known()
        .map(|ws| ws.iter().map(|w| w.name.clone()).collect());
    let previous = facts
        .target_workloads
        .known()
        .and_then(|ws| version_being_replaced(ws, &repository, &tag));
    let previous_image = facts
        .target_workloads
        .known()
        .and_then(|ws| image_being_replaced(ws, &repository, &tag));
    match (changes, awaited) {
        // Every app container already has the image, but the rollout is not complete: that is
        // not "already deployed". Nothing is written, so no lock and no queue gate: await it.
        (Some(changes), Some(awaited)) if changes.is_empty() => {
            steps.extend(ensure);
            steps.push(PlannedStep {
                reason: format!(
                    "every app container already has {tag} but the rollout is not complete: wait up to {} for it (nothing is written; a failing rollout is refused as `rollout_failing`)",
                    crate::config::format_duration(config.rollout.timeout)
                ),
                step: Step::AwaitRollout {
                    namespace: target.namespace.clone(),
                    workloads: Some(awaited),
                    timeout_secs: config.rollout.timeout.as_secs(),
                },
            });
        }
        (changes, awaited) => {
            steps.extend(deploy_steps(
                config, &target, &image, ensure, changes, awaited,
            ));
        }
    }
    Ok(Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: tag,
        image,
        previous_version: previous,
        previous_image,
        steps,
        overridden: overridden.flatten(),
        approved_by: approved_by.unwrap_or_default(),
    })
}

/// A rollback goes only to a version whose image is still in the registry.
pub(super) fn rollback_image_gate(facts: &Facts, image: &ImageRef) -> Result<PlannedStep, Reason> {
    let tag = &image.tag;
    let reason = match facts.target_image.known() {
        Some(None) => {
            return Err(refuse(
                ReasonCode::ImageMissing,
                format!(
                    "the previous version's image {image} is not in the registry; deploy another version explicitly"
                ),
            ));
        }
        Some(Some(_)) => {
            format!("roll back to the recorded previous version {tag}; its image exists")
        }
        None => format!(
            "roll back to the recorded previous version {tag}; its image must exist — checked at run time"
        ),
    };
    Ok(PlannedStep {
        reason,
        step: Step::GateImageExists {
            image: image.clone(),
        },
    })
}
