//! The steps under the lock: the queue re-check, the decision again on fresh facts, one patch
//! per Deployment with exact bookkeeping, the rollout wait; and what a stop means before and
//! after the first write.

use futures::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::error::{AdapterError, Reason, ReasonCode};
use crate::model::{DeployAudit, ImageChange, ImageRef};
use crate::policy::{Decision, DeployPhase, Fact, PlannedStep, Step, decide};

use super::interrupt::{Halt, Watch};
use super::report::{QueueSample, StepStatus};
use super::rollback::AwaitedRollout;
use super::run::{LivePlan, Run};
use super::{Ending, Executor, StepEnd, Stop, describe_changes, rollout_failing};
use crate::words::counted;

/// How many Deployments are written at once: a few hundred go in a handful of round trips,
/// and neither the API server nor this process holds a request (over HTTP/1.1, a connection
/// with its buffers) per Deployment.
pub(crate) const WRITES_AT_ONCE: usize = 32;

impl Executor {
    /// The steps under the lock, in the deploy phase's order: the queue re-check, the decision
    /// again on fresh facts, the writes, the rollout wait (and a rollback when it fails), the
    /// verification.
    pub(super) async fn locked_steps(
        &self,
        plan: &mut LivePlan,
        run: &mut Run<'_>,
        watch: &Watch,
    ) -> Ending {
        let DeployPhase::Write {
            recheck,
            set,
            verify,
            ..
        } = plan.deploy.clone()
        else {
            return Ending::Deployed;
        };
        if let Some(recheck) = recheck {
            match watch.race(self.run_step(&recheck, run)).await {
                Ok(Ok(())) => {}
                Ok(Err(ending)) => return ending,
                Err(halt) => return self.halted_before_writes(halt),
            }
        }
        if let Err(ending) = self.set_images_step(plan, run, &set, watch).await {
            return ending;
        }
        // The approvals this deploy used are spent now that it wrote: recorded while the
        // rollout is awaited, still under the lock.
        let used = self.approvals_to_spend(plan, run);
        let written: &LivePlan = plan;
        let spending = async {
            if used.is_empty() {
                return None;
            }
            Some(self.spend(written, &used).await)
        };
        let (awaited, spent) =
            futures::future::join(self.await_rollout_step(written, run, watch), spending).await;
        if let Some(warning) = spent {
            run.note_spent(warning);
        }
        match awaited {
            AwaitedRollout::Complete => {}
            AwaitedRollout::Halted(halt) => {
                return self.halted_after_writes(plan, run, halt, watch).await;
            }
            AwaitedRollout::Failing { why, started } => {
                self.step_finished(
                    run,
                    plan.deploy.rollout(),
                    started,
                    StepEnd::Stop(Stop::Failed(AdapterError::failed(
                        "kubernetes",
                        "rollout",
                        why.clone(),
                    ))),
                );
                if run.applied.is_empty() {
                    return Ending::Refused(rollout_failing(plan, &why));
                }
                return self.roll_back(plan, run, &why, watch).await;
            }
        }
        if let Some(verify) = verify
            && let Err(ending) = self.verify_step(plan, run, &verify, watch).await
        {
            return ending;
        }
        Ending::Deployed
    }

    /// The write: the decision again on fresh facts, then one patch per Deployment with exact
    /// bookkeeping into `run.applied` (a failed patch rolls back what was written).
    async fn set_images_step(
        &self,
        plan: &mut LivePlan,
        run: &mut Run<'_>,
        set: &PlannedStep,
        watch: &Watch,
    ) -> Result<(), Ending> {
        let started = self.step_started(set);
        self.decide_again(plan, run, set, watch).await?;
        let changes = plan.changes().unwrap_or_default().to_vec();
        if changes.is_empty() {
            self.step_finished(
                run,
                set,
                started,
                StepEnd::Skipped("every app container already has the image".to_owned()),
            );
            return Ok(());
        }
        if let Some(halt) = watch.check() {
            self.record(
                run,
                set,
                started,
                StepStatus::NotRun,
                Some("stopped before writing".to_owned()),
            );
            return Err(self.halted_before_writes(halt));
        }
        // The record of the deploy exists before its first write.
        self.start_record(plan, run).await;
        let audit = self.audit(plan, run);
        let written = self.set_each(&plan.namespace, &changes, &audit).await;
        let failures = written.failures;
        // A write whose answer was lost may have landed: it counts as applied (and is undone).
        run.applied = written.written;
        run.applied.extend(written.unanswered);
        if !failures.is_empty() {
            let why = failures.join("; ");
            self.record(run, set, started, StepStatus::Failed, Some(why.clone()));
            if run.applied.is_empty() {
                return Err(Ending::Failed(AdapterError::failed(
                    "kubernetes",
                    format!("setting images in `{}`", plan.namespace),
                    format!("{why}; nothing was changed"),
                )));
            }
            return Err(self.roll_back(plan, run, &why, watch).await);
        }
        self.record_unchanged(plan, &changes, &audit, run, watch)
            .await;
        self.step_finished(
            run,
            set,
            started,
            StepEnd::Ok(Some(format!(
                "{} changed",
                counted(changes.len(), "container")
            ))),
        );
        Ok(())
    }

    /// Reads the target's (and the promotion source's) workloads again under the lock and runs
    /// the policy again: facts read before a long queue wait go stale. A changed verdict
    /// refuses; the previous images and the audit trail come from this read.
    pub(super) async fn decide_again(
        &self,
        plan: &mut LivePlan,
        run: &mut Run<'_>,
        set: &PlannedStep,
        watch: &Watch,
    ) -> Result<(), Ending> {
        let started = Instant::now();
        let event = run.event;
        let mut facts = run.facts.clone();
        // The image step ran: the image exists now, whatever was known before.
        if let Fact::Known(None) = facts.target_image {
            facts.target_image = Fact::Known(Some(ImageRef::new(
                plan.image.repository.clone(),
                plan.image.tag.clone(),
            )));
        }
        match watch.race(self.read_again(event, &mut facts)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(self.stop(run, set, started, Stop::Failed(error))),
            Err(halt) => {
                self.record_halt(run, set, started, &halt);
                return Err(self.halted_before_writes(halt));
            }
        }
        // The guardrails are judged now, once the fresh facts are in, not at the run's start
        // nor before the reads: a window that opened, or began, or a freeze that ended
        // meanwhile counts.
        facts.now = Fact::Known(run.instant());
        run.facts = facts;
        let decided = match decide(event, &self.config, &run.facts) {
            Decision::Proceed(fresh) => LivePlan::new(fresh),
            Decision::Ignore(reason) | Decision::Refuse(reason) => Err(reason),
        };
        let fresh = match decided {
            Ok(fresh) => fresh,
            Err(reason) => {
                let reason = Reason::new(
                    reason.code,
                    format!(
                        "decided again under the lock, on what runs now: {}; nothing was written",
                        reason.message
                    ),
                );
                return Err(self.stop(run, set, started, Stop::Refused(reason)));
            }
        };
        if fresh.version != plan.version || fresh.image != plan.image {
            // The same version on another image means the verified image changed (a re-pinned
            // source, a moved tag); another version means the recorded trail changed (rollback).
            let code = if fresh.version == plan.version {
                ReasonCode::ImmutableTag
            } else {
                ReasonCode::NoPreviousVersion
            };
            let reason = Reason::new(
                code,
                format!(
                    "decided again under the lock, the version to deploy is now {} (was {}): the environment changed meanwhile; nothing was written — check `neuro-deploy status` and run again",
                    fresh.image.pinned(),
                    plan.image.pinned()
                ),
            );
            return Err(self.stop(run, set, started, Stop::Refused(reason)));
        }
        let fresh = fresh.into_plan();
        run.report.previous_version = fresh.previous_version.clone();
        plan.previous_version = fresh.previous_version;
        run.report.notes = fresh.notes.clone();
        plan.notes = fresh.notes;
        // What to write and what to await come from this read.
        plan.deploy.take_writes_from(fresh.deploy);
        Ok(())
    }

    /// Patches each Deployment on its own ([`WRITES_AT_ONCE`] at a time), so a failure leaves
    /// an exact record: what was written, any patch whose answer was lost (it may have been
    /// applied: a deploy counts it as applied, a restore never reports it as restored), and
    /// what failed.
    pub(super) async fn set_each(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> SetEach {
        let mut by_workload: Vec<Vec<ImageChange>> = Vec::new();
        for change in changes {
            match by_workload
                .iter_mut()
                .find(|group| group[0].workload == change.workload)
            {
                Some(group) => group.push(change.clone()),
                None => by_workload.push(vec![change.clone()]),
            }
        }
        let writes = by_workload.into_iter().map(|group| async move {
            let result = self
                .adapters
                .cluster
                .set_images(namespace, &group, audit)
                .await;
            (group, result)
        });
        let mut set = SetEach::default();
        let results: Vec<_> = stream::iter(writes)
            .buffered(WRITES_AT_ONCE)
            .collect()
            .await;
        for (group, result) in results {
            match result {
                Ok(()) => set.written.extend(group),
                Err(error) => {
                    let workload = &group[0].workload;
                    if error.outcome_unknown() {
                        set.failures.push(format!(
                            "Deployment `{workload}`: {error}; the write may have landed"
                        ));
                        set.unanswered.extend(group);
                    } else {
                        set.failures
                            .push(format!("Deployment `{workload}`: {error}"));
                    }
                }
            }
        }
        set
    }

    /// Writes this deploy's audit trail on the app Deployments it judged but did not need to
    /// change (their image already matched, e.g. after a `kubectl set image`), so every one of
    /// them records the truth. Metadata only: nothing rolls out. A failure is a warning.
    async fn record_unchanged(
        &self,
        plan: &LivePlan,
        changes: &[ImageChange],
        audit: &DeployAudit,
        run: &mut Run<'_>,
        watch: &Watch,
    ) {
        let unchanged: Vec<String> = plan
            .awaited()
            .unwrap_or_default()
            .iter()
            .filter(|name| !changes.iter().any(|c| &c.workload == *name))
            .cloned()
            .collect();
        if unchanged.is_empty() {
            return;
        }
        // A write after the patches' answers: the lock is checked again first.
        if let Some(why) = watch.lock_lost() {
            run.report.warnings.push(format!(
                "the audit trail of this deploy was not written on {} ({why}), whose image already matched; `neuro-deploy status` may show drift there until the next deploy",
                unchanged.join(", ")
            ));
            return;
        }
        let annotations: Vec<(String, String)> = audit.to_annotations().into_iter().collect();
        let written = self
            .adapters
            .cluster
            .annotate(&plan.namespace, &unchanged, &annotations)
            .await;
        if let Err(error) = written {
            run.report.warnings.push(format!(
                "the audit trail of this deploy could not be written on {} ({error}), whose image already matched; `neuro-deploy status` may show drift there until the next deploy",
                unchanged.join(", ")
            ));
        }
    }

    /// Something stopped the run before it wrote anything.
    pub(super) fn halted_before_writes(&self, halt: Halt) -> Ending {
        match halt {
            Halt::Interrupted => {
                Ending::Interrupted("interrupted before any change; nothing was changed".to_owned())
            }
            Halt::LockLost(why) => Ending::Failed(AdapterError::failed(
                "kubernetes",
                "keeping the lock",
                format!(
                    "{why}; the run stopped before any write — check with `neuro-deploy status` and run again"
                ),
            )),
        }
    }

    /// Something stopped the run after it wrote: a signal restores what it changed (without
    /// waiting for that rollout); a lost lock forbids any further write, so an operator is needed.
    pub(super) async fn halted_after_writes(
        &self,
        plan: &LivePlan,
        run: &mut Run<'_>,
        halt: Halt,
        watch: &Watch,
    ) -> Ending {
        match halt {
            Halt::LockLost(why) => Ending::RollbackFailed(format!(
                "{why} during the rollout of {}; applied ({}) and not restored, since writing without the lock is unsafe — an operator is needed: check `neuro-deploy status` and roll back or deploy again",
                plan.image.pinned(),
                describe_changes(&run.applied)
            )),
            Halt::Interrupted if run.applied.is_empty() => Ending::Interrupted(
                "interrupted while waiting for the rollout; this run had changed nothing"
                    .to_owned(),
            ),
            Halt::Interrupted => self.restore_on_interrupt(plan, run, watch).await,
        }
    }

    pub(super) fn audit(&self, plan: &LivePlan, run: &Run<'_>) -> DeployAudit {
        let ctx = run.options;
        let queue_gate_skipped = plan.gates.iter().find_map(|s| match &s.step {
            Step::QueueGateSkipped { reason, .. } => {
                let seen: Vec<String> = run
                    .report
                    .queues
                    .iter()
                    .map(QueueSample::describe)
                    .collect();
                Some(format!(
                    "{reason} (by {}; queues then: {})",
                    ctx.identity,
                    seen.join("; ")
                ))
            }
            _ => None,
        });
        DeployAudit {
            version: Some(plan.version.clone()),
            previous_version: plan.previous_version.clone(),
            previous_image: plan.previous_image.clone(),
            deployed_at: ctx.started_at,
            deployed_by: ctx.deployed_by(run.facts.actor.known()),
            change_cause: format!(
                "neuro-deploy: {} {} to {} by {}",
                self.config.app.name,
                plan.version,
                plan.environment.as_deref().unwrap_or(&plan.namespace),
                ctx.identity
            ),
            queue_gate_skipped,
            overridden: plan.notes.overridden(),
            approved_by: plan.notes.approvers(),
            rolled_back: None,
        }
    }
}

/// What [`Executor::set_each`] wrote.
#[derive(Default)]
pub(super) struct SetEach {
    /// Changes the API server confirmed.
    pub(super) written: Vec<ImageChange>,
    /// Changes whose answer was lost: they may or may not have landed.
    pub(super) unanswered: Vec<ImageChange>,
    /// What failed, one sentence each.
    pub(super) failures: Vec<String>,
}
