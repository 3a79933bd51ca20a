//! Running and recording steps: each step's start and end reach the observer and the report;
//! a step that stops the run says how the run ends.

use tokio::time::Instant;

use crate::error::{AdapterError, Reason, ReasonCode};
use crate::policy::{PlannedStep, Step};

use super::interrupt::{Halt, Watch};
use super::{Ending, Executor, StepEnd, Stop, queue_verdict};

use super::progress::Progress;
use super::report::{QueueSample, StepStatus};
use super::run::{LivePlan, Run};

impl Executor {
    /// A dry run reports the lock and the writes as skipped, but still looks at the queues.
    pub(super) async fn dry_run_rest(&self, plan: &LivePlan, run: &mut Run<'_>) -> Ending {
        for planned in plan.deploy.steps() {
            if planned.step.writes() {
                let started = self.step_started(planned);
                self.step_finished(
                    run,
                    planned,
                    started,
                    StepEnd::Skipped("dry run: not performed".to_owned()),
                );
            } else if let Err(ending) = self.run_step(planned, run).await {
                return ending;
            }
        }
        Ending::Deployed
    }

    /// Runs one gate, image or read-only step; a signal stops it.
    pub(super) async fn run_step(
        &self,
        planned: &PlannedStep,
        run: &mut Run<'_>,
    ) -> Result<(), Ending> {
        let dry_run = run.dry_run();
        let started = self.step_started(planned);
        let watch = Watch::unlocked(&self.interrupt);
        let end = match &planned.step {
            Step::EnsureImage {
                image: Some(image),
                action,
            } => self.ensure_image(image, action, dry_run, &watch).await,
            // Only a plan made offline leaves the image out, and a run never carries one out.
            Step::EnsureImage { image: None, .. } => StepEnd::Stop(Stop::Refused(Reason::new(
                ReasonCode::InvalidInput,
                "the plan's image step does not name the image, so it cannot run; nothing was changed",
            ))),
            // Decided from gathered facts by the policy: reaching here means it passed.
            Step::GateImageExists { .. }
            | Step::GateDeployWindow { .. }
            | Step::GateApprovals { .. }
            | Step::GateSourceVerified { .. }
            | Step::GateNotDowngrade { .. }
            | Step::Gate { .. } => StepEnd::Ok(None),
            // A dry run looks once and says what a real run would do; it never waits.
            Step::GateQueuesDrained { queues, regions } if dry_run => {
                match watch.race(self.sample_queues(queues, regions)).await {
                    Ok(samples) => {
                        let end = self.glance_verdict(&samples, regions);
                        run.report.queues = samples;
                        end
                    }
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            Step::RecheckQueues { .. } if dry_run => StepEnd::Skipped(
                "dry run: a real run looks at the queues once more after taking the lock"
                    .to_owned(),
            ),
            Step::GateQueuesDrained { queues, regions } => {
                let samples = super::metrics::queue_wait_started(run.instant());
                self.push_metrics(run, samples).await;
                match watch.race(self.wait_for_drained(queues, regions)).await {
                    Ok((end, samples)) => {
                        run.report.queues = samples;
                        end
                    }
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            Step::QueueGateSkipped {
                queues,
                regions,
                reason,
            } => match watch.race(self.sample_queues(queues, regions)).await {
                Ok(samples) => {
                    let seen: Vec<String> = samples.iter().map(QueueSample::describe).collect();
                    run.report.queues = samples;
                    StepEnd::Ok(Some(format!(
                        "skipped by the operator ({reason}); seen and not waited for: {}",
                        seen.join("; ")
                    )))
                }
                Err(_) => StepEnd::Stop(Stop::Interrupted),
            },
            Step::RecheckQueues { queues, regions } => {
                match watch.race(self.sample_queues(queues, regions)).await {
                    Ok(samples) => {
                        let end = queue_verdict(&samples, "on the last look after taking the lock");
                        run.report.queues = samples;
                        end
                    }
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            Step::AcquireLock { .. }
            | Step::SetImage { .. }
            | Step::AwaitRollout { .. }
            | Step::Verify { .. }
            | Step::ReleaseLock { .. } => StepEnd::Skipped("handled by the executor".to_owned()),
        };
        match end {
            StepEnd::Stop(stop) => Err(self.stop(run, planned, started, stop)),
            other => {
                self.step_finished(run, planned, started, other);
                Ok(())
            }
        }
    }

    pub(super) fn step_started(&self, planned: &PlannedStep) -> Instant {
        self.observer.progress(&Progress::StepStarted {
            kind: planned.step.kind().to_owned(),
            reason: planned.reason.clone(),
        });
        Instant::now()
    }

    /// Records how a step ended; a stop also says how the run ends.
    pub(super) fn step_finished(
        &self,
        run: &mut Run<'_>,
        planned: &PlannedStep,
        started: Instant,
        end: StepEnd,
    ) {
        let (status, detail) = match end {
            StepEnd::Ok(detail) => (StepStatus::Ok, detail),
            StepEnd::Skipped(detail) => (StepStatus::Skipped, Some(detail)),
            StepEnd::Stop(stop) => {
                self.stop(run, planned, started, stop);
                return;
            }
        };
        self.record(run, planned, started, status, detail);
    }

    /// Records a step that stops the run and says how the run ends. An adapter's refusal
    /// (an immutable tag …) is a refusal, not a failure.
    pub(super) fn stop(
        &self,
        run: &mut Run<'_>,
        planned: &PlannedStep,
        started: Instant,
        stop: Stop,
    ) -> Ending {
        let reason = match stop {
            Stop::Refused(reason) => reason,
            Stop::Failed(AdapterError::Refused { code, message }) => Reason::new(code, message),
            Stop::Failed(error) => {
                self.record(
                    run,
                    planned,
                    started,
                    StepStatus::Failed,
                    Some(error.to_string()),
                );
                return Ending::Failed(error);
            }
            Stop::Interrupted => {
                self.record_halt(run, planned, started, &Halt::Interrupted);
                return self.halted_before_writes(Halt::Interrupted);
            }
        };
        self.record(
            run,
            planned,
            started,
            StepStatus::Refused,
            Some(reason.to_string()),
        );
        Ending::Refused(reason)
    }

    /// Records how `planned` ended in its report step, found by its kind (a plan has one step
    /// of each kind).
    pub(super) fn record(
        &self,
        run: &mut Run<'_>,
        planned: &PlannedStep,
        started: Instant,
        status: StepStatus,
        detail: Option<String>,
    ) {
        let kind = planned.step.kind();
        if let Some(step) = run.report.steps.iter_mut().find(|step| step.kind == kind) {
            self.observer.progress(&Progress::StepFinished {
                kind: step.kind.clone(),
                status,
                detail: detail.clone(),
            });
            step.status = status;
            step.detail = detail;
            step.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        }
    }

    /// Records a step that something from outside stopped before it ended.
    pub(super) fn record_halt(
        &self,
        run: &mut Run<'_>,
        planned: &PlannedStep,
        started: Instant,
        halt: &Halt,
    ) {
        let why = super::interrupt::halt_text(halt).to_owned();
        self.record(run, planned, started, StepStatus::NotRun, Some(why));
    }
}
