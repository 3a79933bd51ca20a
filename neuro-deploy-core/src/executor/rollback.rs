//! Writing the recorded images back: after a failed rollout or patch (then awaited), and after a
//! signal (not awaited, bounded, abandoned on a second signal).

use std::time::Duration;

use tokio::time::Instant;

use crate::config::format_duration;
use crate::error::AdapterError;
use crate::model::{DeployAudit, ImageChange, RolloutResult, Workload};
use crate::policy::recorded_alike;

use super::interrupt::{CLEANUP_BOUND, Halt, Watch};
use super::progress::Progress;
use super::run::{LivePlan, Run};
use super::{Ending, Executor, StepEnd, describe_changes};

/// How a plan's `AwaitRollout` step came out.
pub(super) enum AwaitedRollout {
    /// Every awaited Deployment completed (recorded on the step).
    Complete,
    /// A signal or the lost lock stopped the wait (recorded on the step).
    Halted(Halt),
    /// The rollout failed or timed out: `why` says how; the step, started at `started`, is
    /// not finished yet.
    Failing { why: String, started: Instant },
}

const SECOND_SIGNAL: &str = "a second signal abandoned the restore";

fn too_slow() -> String {
    format!(
        "the restore took longer than {}",
        format_duration(CLEANUP_BOUND)
    )
}

impl Executor {
    /// Writes the recorded images back after a signal, bounded by [`CLEANUP_BOUND`]; a second
    /// signal abandons it. Their rollout is not awaited (the report says so).
    pub(super) async fn restore_on_interrupt(
        &self,
        plan: &LivePlan,
        run: &mut Run<'_>,
        watch: &Watch,
    ) -> Ending {
        self.observer.progress(&Progress::Note(
            "interrupted: restoring the previous images (a second signal skips this)".to_owned(),
        ));
        let audit = self.restore_audit(plan, run, "interrupted");
        let restoring = tokio::time::timeout(CLEANUP_BOUND, async {
            let (restore, mut failures) = self.fenced_restore(&plan.namespace, &run.applied).await;
            // The read may have taken long: the lock is checked again right before writing.
            if let Some(why) = watch.lock_lost() {
                failures.push(format!(
                    "{why}, so nothing was written back (writing without the lock is unsafe)"
                ));
                return (Vec::new(), failures);
            }
            // Only confirmed writes are reported restored; a lost answer is a failure named.
            let set = self.set_each(&plan.namespace, &restore, &audit).await;
            failures.extend(set.failures);
            (set.written, failures)
        });
        let outcome = tokio::select! {
            biased;
            () = self.interrupt.reached(2) => Err(SECOND_SIGNAL.to_owned()),
            done = restoring => done.map_err(|_| too_slow()),
        };
        match outcome {
            Ok((restored, failures)) if failures.is_empty() => {
                run.restored = restored;
                Ending::Interrupted(format!(
                    "interrupted during the rollout of {}; the previous images were written back ({}) without waiting for their rollout — check with `neuro-deploy status`",
                    plan.image.pinned(),
                    describe_changes(&run.restored)
                ))
            }
            Ok((restored, failures)) => {
                run.restored = restored;
                Ending::RollbackFailed(format!(
                    "interrupted during the rollout of {}, and restoring the previous images failed ({}); an operator is needed: inspect with `kubectl rollout status -n {}`",
                    plan.image.pinned(),
                    failures.join("; "),
                    plan.namespace
                ))
            }
            Err(why) => Ending::RollbackFailed(format!(
                "interrupted during the rollout of {}; {why}, so {} may still be set — an operator is needed: roll back with `neuro-deploy rollback`",
                plan.image.pinned(),
                describe_changes(&run.applied)
            )),
        }
    }

    /// What to write back to undo `applied`, fenced on a fresh read: a Deployment that no
    /// longer runs what this run wrote was changed by someone since, and is left as it is
    /// (named in the second list, which says why nothing was written there); the rest carry
    /// the `resourceVersion` just read, so a change made after this read is not overwritten
    /// either. (The version this run's own write returned would not do: the rollout's status
    /// updates move it on.)
    pub(super) async fn fenced_restore(
        &self,
        namespace: &str,
        applied: &[ImageChange],
    ) -> (Vec<ImageChange>, Vec<String>) {
        let workloads = match self.adapters.cluster.workloads(namespace).await {
            Ok(workloads) => workloads,
            Err(error) => {
                return (
                    Vec::new(),
                    vec![format!(
                        "the Deployments could not be read to check that nobody changed them since this run wrote them ({error}), so nothing was written back"
                    )],
                );
            }
        };
        let mut restore = Vec::new();
        let mut left_alone = Vec::new();
        for change in applied {
            let now = workloads.iter().find(|w| w.name == change.workload);
            let runs = now.and_then(|w| {
                w.containers
                    .iter()
                    .find(|c| c.container == change.container)
                    .map(|c| c.image.as_str())
            });
            match (now, runs) {
                (Some(workload), Some(image)) if image == change.image => {
                    let mut back = change.reverted();
                    back.resource_version = workload.resource_version.clone();
                    back.generation = Some(workload.rollout.generation);
                    restore.push(back);
                }
                (_, runs) => left_alone.push(format!(
                    "Deployment `{}` was changed by someone else after this run wrote it (container `{}` runs {}), so it was left as it is",
                    change.workload,
                    change.container,
                    runs.unwrap_or("nothing: the container or the Deployment is gone")
                )),
            }
        }
        (restore, left_alone)
    }

    /// What went wrong with a rollout awaited up to `timeout`; `None` when it completed.
    pub(super) fn rollout_problem(
        &self,
        result: Result<RolloutResult, AdapterError>,
        timeout: Duration,
    ) -> Option<String> {
        match result {
            Ok(RolloutResult::Complete) => None,
            Ok(RolloutResult::Failed { workload, reason }) => {
                Some(format!("Deployment `{workload}` failed: {reason}"))
            }
            Ok(RolloutResult::TimedOut { pending }) => Some(format!(
                "not complete after {}: {}",
                format_duration(timeout),
                pending.join(", ")
            )),
            Err(error) => Some(error.to_string()),
        }
    }

    /// The plan's `AwaitRollout` step: waits for the Deployments it awaits, unless something
    /// stops the run. A complete rollout and a halt are recorded on the step here; a failing
    /// rollout is left to the caller, which alone knows whether this run wrote anything.
    pub(super) async fn await_rollout_step(
        &self,
        plan: &LivePlan,
        run: &mut Run<'_>,
        watch: &Watch,
    ) -> AwaitedRollout {
        let rollout = plan.deploy.rollout();
        let started = self.step_started(rollout);
        let names = plan.awaited().unwrap_or_default();
        let timeout = plan
            .rollout_timeout()
            .unwrap_or(self.config.rollout.timeout);
        match watch
            .race(self.await_rollout(&plan.namespace, names, timeout))
            .await
        {
            Err(halt) => {
                self.record_halt(run, rollout, started, &halt);
                AwaitedRollout::Halted(halt)
            }
            Ok(result) => match self.rollout_problem(result, timeout) {
                None => {
                    self.step_finished(
                        run,
                        rollout,
                        started,
                        StepEnd::Ok(Some("rollout complete".to_owned())),
                    );
                    AwaitedRollout::Complete
                }
                Some(why) => AwaitedRollout::Failing { why, started },
            },
        }
    }

    pub(super) async fn await_rollout(
        &self,
        namespace: &str,
        names: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        // The adapter bounds its own wait; this guard covers an adapter that does not.
        let guard = timeout + Duration::from_secs(30);
        match tokio::time::timeout(
            guard,
            self.adapters
                .cluster
                .await_rollout(namespace, names, timeout),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Ok(RolloutResult::TimedOut {
                pending: names.to_vec(),
            }),
        }
    }

    /// The audit for writing the previous images back: the trail reads as if the failed deploy
    /// never happened.
    pub(super) fn restore_audit(&self, plan: &LivePlan, run: &Run<'_>, why: &str) -> DeployAudit {
        let ctx = run.options;
        let workloads: &[Workload] = run.facts.target_workloads.known().map_or(&[], |w| w);
        let repository = &plan.image.repository;
        let trail = recorded_alike(workloads, repository, |audit| {
            audit.previous_version.clone()
        });
        let deployed_by = ctx.deployed_by(run.facts.actor.known());
        // The failed deploy is the last change here; the restored version keeps the record of
        // when and by whom it was deployed (history shows both, not the restore as a deploy).
        let rolled_back = crate::model::RolledBack {
            version: plan.version.clone(),
            at: ctx.started_at,
            by: deployed_by.clone(),
            why: why.to_owned(),
        };
        DeployAudit {
            version: plan.previous_version.clone(),
            previous_version: trail,
            // Like the version trail: `None` leaves the recorded previous image as it is.
            previous_image: None,
            deployed_at: recorded_alike(workloads, repository, |audit| audit.deployed_at)
                .unwrap_or(ctx.started_at),
            deployed_by: recorded_alike(workloads, repository, |audit| audit.deployed_by.clone())
                .unwrap_or(deployed_by),
            change_cause: format!(
                "neuro-deploy: deploy of {} {why}; previous images restored",
                plan.version
            ),
            queue_gate_skipped: None,
            overridden: None,
            approved_by: None,
            rolled_back: serde_json::to_string(&rolled_back).ok(),
        }
    }

    pub(super) async fn roll_back(
        &self,
        plan: &LivePlan,
        run: &mut Run<'_>,
        why: &str,
        watch: &Watch,
    ) -> Ending {
        self.observer.progress(&Progress::Note(format!(
            "deploy failed ({why}); restoring the previous images"
        )));
        if let Some(halt) = watch.check() {
            return self.halted_after_writes(plan, run, halt, watch).await;
        }
        let audit = self.restore_audit(plan, run, &format!("failed ({why})"));
        let (restore, mut failures) = self.fenced_restore(&plan.namespace, &run.applied).await;
        // The read may have taken long (a slow answer, a process stopped): the lock is checked
        // again right before writing back.
        if let Some(why) = watch.lock_lost() {
            return self
                .halted_after_writes(plan, run, Halt::LockLost(why), watch)
                .await;
        }
        // Only confirmed writes are reported restored; a lost answer is a failure named.
        let set = self.set_each(&plan.namespace, &restore, &audit).await;
        failures.extend(set.failures);
        let restored = set.written;
        run.restored = restored.clone();
        let previous = describe_changes(&restore);
        let problem = if failures.is_empty() {
            let names = ImageChange::workloads(&restored);
            let timeout = plan
                .rollout_timeout()
                .unwrap_or(self.config.rollout.timeout);
            match watch
                .race(self.await_rollout(&plan.namespace, &names, timeout))
                .await
            {
                Ok(result) => self.rollout_problem(result, timeout),
                Err(Halt::Interrupted) => {
                    return Ending::Interrupted(format!(
                        "deploy of {} failed ({why}); the previous images were written back ({previous}), and a signal stopped the wait for their rollout",
                        plan.image.pinned()
                    ));
                }
                Err(Halt::LockLost(lost)) => Some(format!("{lost} while the restore rolled out")),
            }
        } else {
            Some(failures.join("; "))
        };
        match problem {
            None => Ending::RolledBack(format!(
                "deploy of {} failed ({why}); rolled back to the previous images ({previous})",
                plan.image.pinned()
            )),
            Some(rollback_problem) => Ending::RollbackFailed(format!(
                "deploy of {} failed ({why}) and restoring the previous images ({previous}) failed too ({rollback_problem}); an operator is needed: inspect with `kubectl rollout status -n {}`",
                plan.image.pinned(),
                plan.namespace
            )),
        }
    }
}
