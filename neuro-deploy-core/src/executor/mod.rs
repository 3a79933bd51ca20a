//! The executor: gathers facts through the traits, asks the policy, and carries the plan out.
//!
//! It takes time from tokio (`tokio::time`), so tests run with paused time. Every write
//! happens after the gates passed and under the namespace lock; the lock is released on
//! every path; a failed rollout is rolled back to the images recorded before the change.
//!
//! The parts, one concept a file: `run` (one run's state while it runs: its clock, the facts it
//! acts on, what it wrote and wrote back), [`report`] (what it reports), `interrupt` (signals and a
//! lost lock), `queue_gate`, `image` (retag or build, then check), `lock` (take, renew, release),
//! `locked_steps` (re-decide, write, await), `verify` (checks after the rollout), `record` (the
//! deploy's GitHub Deployment), `rollback`, `quarantine` (what failed here is not deployed here
//! again), `approvals` (spent once a deploy wrote), `telemetry` (metrics pushed), `changes` (the
//! versions, digests and commits a deploy changes), and `preview` (what a run would do, before an
//! operator confirms it).

use std::sync::Arc;

use tracing::Instrument;

use crate::config::Config;
use crate::error::{AdapterError, Reason, ReasonCode};
use crate::model::{Event, ImageChange};
use crate::policy::{
    Decision, DeployPhase, PlannedStep, decide, gate_verdicts, target, unjudged_in_a_live_run,
};
use crate::traits::{DeploymentRecorder, HealthChecker, MetricsSink, SignalSource};

mod adapters;
mod approvals;
mod builder;
mod changes;
mod gather;
mod image;
mod interrupt;
mod lock;
mod locked_steps;
pub mod metrics;
mod preview;
mod progress;
mod quarantine;
mod queue_gate;
mod record;
pub mod report;
mod rollback;
mod run;
mod run_options;
mod steps;
mod telemetry;
mod verify;

pub use adapters::Adapters;
pub use builder::{ExecutorBuilder, MissingAdapter};
pub use changes::{COMPARE_BOUND, Side, what_changed};
pub use interrupt::{CLEANUP_BOUND, Interrupt, Interrupter, interrupt_channel};
pub use preview::{Preview, PreviewVerdict};
pub use progress::{Observer, Progress, Silent};
pub use queue_gate::sample_queues;
pub use report::{Outcome, QueueSample, RecordedDeployment, Report, StepReport, StepStatus};
pub use run_options::RunOptions;
pub use verify::Verification;

use gather::verdict_steps;
use interrupt::Watch;
use queue_gate::queue_verdict;
use rollback::AwaitedRollout;
use run::{LivePlan, Run};

/// How a step ended, inside the executor.
enum StepEnd {
    Ok(Option<String>),
    Skipped(String),
    Stop(Stop),
}

/// Why a step stops the run.
enum Stop {
    Refused(Reason),
    Failed(AdapterError),
    Interrupted,
}

/// What a whole plan came to.
enum Ending {
    Deployed,
    /// A plan that wrote nothing saw the rollout already set complete.
    Converged,
    Refused(Reason),
    Failed(AdapterError),
    RolledBack(String),
    /// Rolled back because the checks after the rollout failed.
    VerificationFailed(String),
    RollbackFailed(String),
    Interrupted(String),
}

/// Runs events through the policy and the adapters.
///
/// Its methods live with the concept they serve, one `impl Executor` a file, each file importing
/// what it uses by name; the methods of a run take its state (`run.rs`'s `Run`) by `&mut`:
///
/// | file | methods |
/// |---|---|
/// | `builder.rs` | `builder` (checked: every gate and check the config asks for has its adapter) |
/// | `mod.rs` | building (`new`, `with_*`), `run`, `prepare_image`, `run_to_end`, `run_scoped`, `execute`, `await_as_set` |
/// | `gather.rs` | `gather_facts`, `read`, `read_again`, `refused_without` |
/// | `changes.rs` | `note_changes` |
/// | `preview.rs` | `preview` |
/// | `steps.rs` | `run_step`, `dry_run_rest`, `step_started`, `step_finished`, `stop`, `record`, `record_halt` |
/// | `queue_gate.rs` | `wait_for_drained`, `sample_queues` |
/// | `image.rs` | `ensure_image`, `check_built` |
/// | `lock.rs` | `locked`, `take_lock`, `keep_lock` |
/// | `locked_steps.rs` | `locked_steps`, `decide_again`, `set_each`, `audit`, `halted_before_writes`, `halted_after_writes` |
/// | `rollback.rs` | `await_rollout_step`, `await_rollout`, `rollout_problem`, `roll_back`, `restore_on_interrupt`, `restore_audit` |
/// | `verify.rs` | `verify_step`, `run_checks`, `mark_verified`, `verify_environment` |
/// | `record.rs` | `deployment_record`, `start_record`, `finish_record` |
/// | `quarantine.rs` | `quarantine` |
/// | `approvals.rs` | `consume_approvals`, `approvals_to_spend`, `spend` |
/// | `telemetry.rs` | `push_metrics`, `push_run_metrics` |
pub struct Executor {
    adapters: Adapters,
    config: Config,
    observer: Arc<dyn Observer>,
    interrupt: Interrupt,
    health: Option<Arc<dyn HealthChecker>>,
    signals: Option<Arc<dyn SignalSource>>,
    metrics: Option<Arc<dyn MetricsSink>>,
    recorder: Option<Arc<dyn DeploymentRecorder>>,
}

impl Executor {
    /// An executor over these adapters and settings.
    pub fn new(adapters: Adapters, config: Config) -> Executor {
        Executor {
            adapters,
            config,
            observer: Arc::new(Silent),
            interrupt: Interrupt::never(),
            health: None,
            signals: None,
            metrics: None,
            recorder: None,
        }
    }

    /// Probes environments' `[environments.verify]` checks with `checker` (without one, a
    /// configured verification fails and the deploy is rolled back).
    pub fn with_health_checker(mut self, checker: Arc<dyn HealthChecker>) -> Executor {
        self.health = Some(checker);
        self
    }

    /// Asks the team's monitoring during verification (`[environments.verify]`'s `queries` and
    /// `alerts`); without it, configured queries and alerts fail the verification.
    pub fn with_signals(mut self, signals: Arc<dyn SignalSource>) -> Executor {
        self.signals = Some(signals);
        self
    }

    /// Pushes every finished run's metrics (and a held lock, a queue wait) to `[telemetry]`'s
    /// Pushgateway through `sink`. A push that fails is a warning, never a changed outcome.
    pub fn with_metrics(mut self, sink: Arc<dyn MetricsSink>) -> Executor {
        self.metrics = Some(sink);
        self
    }

    /// Records every deploy that writes with `recorder` (a GitHub Deployment: `in_progress`
    /// just before the first write, then its final state). A recorder that fails never changes
    /// the outcome: the report carries a warning instead.
    pub fn with_recorder(mut self, recorder: Arc<dyn DeploymentRecorder>) -> Executor {
        self.recorder = Some(recorder);
        self
    }

    /// Sends progress to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Executor {
        self.observer = observer;
        self
    }

    /// Lets signals stop runs: the first stops the waits, restores what the run changed if its
    /// rollout is not complete (without waiting for it), cancels a build it started, releases
    /// the lock and reports `interrupted`, all within [`CLEANUP_BOUND`]; a second skips the
    /// restore and only releases the lock. A rollout already complete is kept.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Executor {
        self.interrupt = interrupt;
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs one event to its end and reports. Never panics on adapter failures; every
    /// failure is in the report.
    pub async fn run(&self, event: &Event, options: &RunOptions) -> Report {
        self.run_to_end(event, options, false).await
    }

    /// Makes sure the event's image exists (retag or build, after the gates) and stops there:
    /// no lock, no cluster write. What a CI step that only prepares the image calls.
    pub async fn prepare_image(&self, event: &Event, options: &RunOptions) -> Report {
        self.run_to_end(event, options, true).await
    }

    async fn run_to_end(&self, event: &Event, options: &RunOptions, image_only: bool) -> Report {
        let mut run = Run::start(event, options);
        self.run_scoped(&mut run, image_only)
            .instrument(run_span(event, options))
            .await;
        self.push_run_metrics(&mut run).await;
        run.into_report()
    }

    async fn run_scoped(&self, run: &mut Run<'_>, image_only: bool) {
        let event = run.event;
        let target = match target(event, &self.config) {
            Ok(target) => target,
            Err(reason) => return run.refuse(reason),
        };
        run.report.environment = target.environment.clone();
        run.report.namespace = Some(target.namespace.clone());
        let span = tracing::Span::current();
        span.record("namespace", target.namespace.as_str());
        if let Some(environment) = &target.environment {
            span.record("environment", environment.as_str());
        }
        run.report.version = target
            .version
            .as_ref()
            .map(|v| v.image_tag(self.config.git.short_sha_length));
        let unlocked = Watch::unlocked(&self.interrupt);
        let (facts, unread) = match unlocked.race(self.gather_facts(event, run.options)).await {
            Ok(gathered) => gathered,
            Err(_) => {
                return run.end(
                    Outcome::Interrupted,
                    None,
                    "interrupted while reading the facts; nothing was changed",
                );
            }
        };
        run.facts = facts;
        if let Some(error) = unread {
            return self.refused_without(run, &error);
        }
        let verdicts = gate_verdicts(event, &self.config, &run.facts);
        let decision = decide(event, &self.config, &run.facts);
        if !matches!(decision, Decision::Ignore(_)) {
            self.note_changes(run).await;
        }
        let mut plan = match decision {
            Decision::Ignore(reason) => return run.refuse(reason),
            Decision::Refuse(reason) => {
                run.report.steps = verdict_steps(&verdicts);
                return run.refuse(reason);
            }
            Decision::Proceed(plan) => match unjudged_in_a_live_run(&verdicts) {
                // Fail closed: a gate this run's adapters cannot judge refuses it.
                Some(reason) => {
                    run.report.steps = verdict_steps(&verdicts);
                    return run.refuse(reason);
                }
                None => match LivePlan::new(plan) {
                    Ok(plan) => plan,
                    Err(reason) => return run.refuse(reason),
                },
            },
        };
        tracing::Span::current().record("version", plan.version.as_str());
        run.report.version = Some(plan.version.clone());
        run.report.image = Some(plan.image.pinned());
        run.report.previous_version = plan.previous_version.clone();
        run.report.notes = plan.notes.clone();
        run.report.steps = plan
            .steps()
            .into_iter()
            .map(|s| StepReport {
                kind: s.step.kind().to_owned(),
                reason: s.reason.clone(),
                status: StepStatus::NotRun,
                duration_ms: 0,
                detail: None,
            })
            .collect();
        let ending = self.execute(&mut plan, run, image_only).await;
        self.finish_record(&plan, run, &ending).await;
        self.quarantine(&plan, run, &ending).await;
        self.consume_approvals(&plan, run).await;
        let target_text = format!("{} in namespace `{}`", plan.image.pinned(), plan.namespace);
        match ending {
            Ending::Deployed if image_only => run.end(
                Outcome::ImageReady,
                None,
                format!("image {} is ready; deploy not requested", plan.image),
            ),
            Ending::Deployed | Ending::Converged if run.dry_run() => {
                let message = if run.report.queue_gate_skipped() {
                    format!(
                        "would deploy {target_text} with the queue gate skipped by the operator (dry run: the queues are read once and recorded, not waited for; every other gate passed); nothing was written"
                    )
                } else if run.report.waits_for_queues() {
                    format!(
                        "would deploy {target_text} once the queues drain (dry run: every other gate passed; the queues are busy now, so a real run would wait up to {} for them); nothing was written",
                        crate::config::format_duration(self.config.queues.timeout)
                    )
                } else {
                    format!(
                        "would deploy {target_text} (dry run: every gate passed); nothing was written"
                    )
                };
                run.end(Outcome::WouldDeploy, None, message)
            }
            Ending::Deployed if matches!(event, Event::Rollback { .. }) => run.end(
                Outcome::Deployed,
                None,
                format!("rolled back to {target_text}"),
            ),
            Ending::Deployed => run.end(Outcome::Deployed, None, format!("deployed {target_text}")),
            Ending::Converged => run.end(
                Outcome::Deployed,
                None,
                format!(
                    "{target_text} was already set; its rollout completed while this run waited (nothing was written)"
                ),
            ),
            Ending::Refused(reason) => run.refuse(reason),
            Ending::Failed(error) => run.fail(&error),
            Ending::RolledBack(message) => run.end(Outcome::RolledBack, None, message),
            Ending::VerificationFailed(message) => run.end(
                Outcome::RolledBack,
                Some(ReasonCode::VerificationFailed),
                message,
            ),
            Ending::RollbackFailed(message) => run.end(Outcome::RollbackFailed, None, message),
            Ending::Interrupted(message) => run.end(Outcome::Interrupted, None, message),
        }
    }

    async fn execute(&self, plan: &mut LivePlan, run: &mut Run<'_>, image_only: bool) -> Ending {
        // Before the deploy phase: the gates and the image (the queue gate waits here).
        let before: Vec<PlannedStep> = plan
            .gates
            .iter()
            .chain(&plan.image_action)
            .cloned()
            .collect();
        for planned in &before {
            if let Err(ending) = self.run_step(planned, run).await {
                return ending;
            }
        }
        if image_only {
            return Ending::Deployed;
        }
        if run.dry_run() {
            return self.dry_run_rest(plan, run).await;
        }
        match plan.deploy {
            DeployPhase::Write { .. } => self.locked(plan, run).await,
            DeployPhase::AwaitAsSet { .. } => self.await_as_set(plan, run).await,
        }
    }

    /// A plan that writes nothing: the images are set, the rollout is awaited; a failing one
    /// is refused as `rollout_failing`, since this run changed nothing.
    async fn await_as_set(&self, plan: &LivePlan, run: &mut Run<'_>) -> Ending {
        let watch = Watch::unlocked(&self.interrupt);
        match self.await_rollout_step(plan, run, &watch).await {
            AwaitedRollout::Complete => Ending::Converged,
            AwaitedRollout::Halted(halt) => self.halted_before_writes(halt),
            AwaitedRollout::Failing { why, started } => {
                let reason = rollout_failing(plan, &why);
                self.stop(run, plan.deploy.rollout(), started, Stop::Refused(reason))
            }
        }
    }
}

/// One span per run: every log line of the run carries the event, the run id, and (once known)
/// the environment, namespace and version.
fn run_span(event: &Event, options: &RunOptions) -> tracing::Span {
    tracing::info_span!(
        "run",
        event = event.kind(),
        run_id = %options.run_id,
        environment = tracing::field::Empty,
        namespace = tracing::field::Empty,
        version = tracing::field::Empty,
    )
}

/// The refusal for images already set whose rollout fails: this run changed nothing.
fn rollout_failing(plan: &LivePlan, why: &str) -> Reason {
    Reason::new(
        ReasonCode::RolloutFailing,
        format!(
            "namespace `{}` already has {} but its rollout is failing ({why}); this run changed nothing — deploy or promote another version, or roll back (`neuro-deploy rollback --env …`)",
            plan.namespace,
            plan.image.pinned()
        ),
    )
}

/// `workload/container=image, …` for messages.
fn describe_changes(changes: &[ImageChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{}/{}={}", c.workload, c.container, c.image))
        .collect::<Vec<_>>()
        .join(", ")
}
