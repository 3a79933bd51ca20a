//! The executor: gathers facts through the traits, asks the policy, and carries the plan out.
//!
//! It takes time from tokio (`tokio::time`), so tests run with paused time. Every write
//! happens after the gates passed and under the namespace lock; the lock is released on
//! every path; a failed rollout is rolled back to the images recorded before the change.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::{Config, format_duration};
use crate::error::{AdapterError, ExitCode, Reason, ReasonCode};
use crate::model::{
    DeployAudit, Event, ImageChange, ImageRef, LockAttempt, LockHandle, QueueDepth, RolloutResult,
};
use crate::policy::{
    Decision, Fact, Facts, ImageAction, Plan, PlannedStep, Step, Target, decide, previous_version,
    target,
};
use crate::traits::{ClusterDeployer, ImageBuilder, QueueInspector, Registry, ReleaseSource};
use crate::version::{GitSha, Version};

/// The adapters a run acts through.
#[derive(Clone)]
pub struct Adapters {
    /// Image registry.
    pub registry: Arc<dyn Registry>,
    /// Image builder; `None` when builds are not possible here (a build is then a failure).
    pub builder: Option<Arc<dyn ImageBuilder>>,
    /// Queue depths.
    pub queues: Arc<dyn QueueInspector>,
    /// The cluster.
    pub cluster: Arc<dyn ClusterDeployer>,
    /// Releases; `None` when no GitHub repository is configured.
    pub releases: Option<Arc<dyn ReleaseSource>>,
}

/// Who runs, when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// `user@host`.
    pub identity: String,
    /// A unique id for this run (lock holder and audit).
    pub run_id: String,
    /// When the run started, RFC 3339 UTC (written to `neuro-deploy.io/deployed-at`).
    pub started_at: String,
    /// Gather facts and evaluate gates, write nothing.
    pub dry_run: bool,
}

impl RunContext {
    /// The lock holder and `deployed-by` value: `user@host/run-id`.
    pub fn holder(&self) -> String {
        format!("{}/{}", self.identity, self.run_id)
    }
}

/// Progress, for binaries to show. Library code never prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "progress", rename_all = "snake_case")]
pub enum Progress {
    /// A step begins.
    StepStarted {
        /// Step kind.
        kind: String,
        /// Why.
        reason: String,
    },
    /// A step ended.
    StepFinished {
        /// Step kind.
        kind: String,
        /// How.
        status: StepStatus,
        /// Details.
        detail: Option<String>,
    },
    /// One look at one queue.
    QueueSample(QueueSample),
    /// Anything else worth a line.
    Note(String),
}

/// Receives [`Progress`].
pub trait Observer: Send + Sync {
    /// Called as things happen.
    fn progress(&self, progress: &Progress);
}

/// An observer that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn progress(&self, _: &Progress) {}
}

/// One queue in one region, at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSample {
    /// Queue name.
    pub queue: String,
    /// Region.
    pub region: String,
    /// Counts, when read.
    pub depth: Option<QueueDepth>,
    /// Why it could not be read (counts as not drained).
    pub error: Option<String>,
}

impl QueueSample {
    /// Read and all zero.
    pub fn is_drained(&self) -> bool {
        self.depth.is_some_and(|d| d.is_empty())
    }

    fn describe(&self) -> String {
        match (&self.depth, &self.error) {
            (Some(depth), _) => format!("{} in {}: {depth}", self.queue, self.region),
            (None, Some(error)) => format!(
                "{} in {}: could not be read ({error})",
                self.queue, self.region
            ),
            (None, None) => format!("{} in {}: not read", self.queue, self.region),
        }
    }
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Done or passed.
    Ok,
    /// Not needed (nothing to change) or not performed (dry run).
    Skipped,
    /// Refused by a gate.
    Refused,
    /// Failed.
    Failed,
    /// Never reached.
    NotRun,
}

/// One step's record in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// Step kind (`set_image` …).
    pub kind: String,
    /// Why the step was planned.
    pub reason: String,
    /// How it went.
    pub status: StepStatus,
    /// Time spent.
    pub duration_ms: u64,
    /// What happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The version runs with a complete rollout.
    Deployed,
    /// A dry run found every gate open; nothing was written.
    WouldDeploy,
    /// Nothing to do (already deployed, or the event does not deploy).
    Ignored,
    /// A gate or rule refused; nothing changed.
    Refused,
    /// The rollout failed and the previous images were restored.
    RolledBack,
    /// The rollout failed and restoring the previous images failed too.
    RollbackFailed,
    /// Something failed unexpectedly (after retries).
    Failed,
    /// The image exists (retagged or built); deploying was not requested.
    ImageReady,
    /// A signal stopped the run; what it changed was restored and the lock released.
    Interrupted,
}

/// Everything a run decided and did; `--output json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// The reason code, when refused or ignored.
    pub reason: Option<ReasonCode>,
    /// One sentence for people.
    pub message: String,
    /// The event.
    pub event: Event,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Environment.
    pub environment: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Version deployed (image tag).
    pub version: Option<String>,
    /// Image deployed.
    pub image: Option<String>,
    /// The version replaced.
    pub previous_version: Option<String>,
    /// The facts gathered.
    pub facts: Facts,
    /// Steps in plan order.
    pub steps: Vec<StepReport>,
    /// Queue samples of the last gate evaluation.
    pub queues: Vec<QueueSample>,
    /// Image changes this run wrote, or may have written (a patch whose answer was lost).
    #[serde(default)]
    pub applied: Vec<ImageChange>,
    /// Changes this run wrote back to undo `applied` (rollback, interruption).
    #[serde(default)]
    pub restored: Vec<ImageChange>,
}

impl Report {
    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self.outcome {
            Outcome::Deployed | Outcome::WouldDeploy | Outcome::Ignored | Outcome::ImageReady => {
                ExitCode::Done
            }
            Outcome::Refused => self.reason.map_or(ExitCode::Refused, ReasonCode::exit_code),
            Outcome::RolledBack => ExitCode::RolledBack,
            Outcome::RollbackFailed => ExitCode::RollbackFailed,
            Outcome::Failed => ExitCode::Failed,
            Outcome::Interrupted => ExitCode::Interrupted,
        }
    }

    /// A report for a run that ended before any plan (invalid input, unconfirmed production
    /// change, adapters that could not be built).
    pub fn without_plan(
        event: &Event,
        dry_run: bool,
        outcome: Outcome,
        reason: Option<ReasonCode>,
        message: impl Into<String>,
    ) -> Report {
        Report::new(event, dry_run).end(outcome, reason, message)
    }

    fn new(event: &Event, dry_run: bool) -> Report {
        Report {
            outcome: Outcome::Failed,
            reason: None,
            message: String::new(),
            event: event.clone(),
            dry_run,
            environment: None,
            namespace: None,
            version: None,
            image: None,
            previous_version: None,
            facts: Facts::unknown(),
            steps: Vec::new(),
            queues: Vec::new(),
            applied: Vec::new(),
            restored: Vec::new(),
        }
    }

    fn end(
        mut self,
        outcome: Outcome,
        reason: Option<ReasonCode>,
        message: impl Into<String>,
    ) -> Report {
        self.outcome = outcome;
        self.reason = reason;
        self.message = message.into();
        self
    }

    /// A report for an event refused or ignored before any fact was gathered.
    pub fn from_reason(event: &Event, dry_run: bool, reason: Reason) -> Report {
        Report::new(event, dry_run).refused(reason)
    }

    fn refused(self, reason: Reason) -> Report {
        let outcome = if reason.code.is_ignore() {
            Outcome::Ignored
        } else {
            Outcome::Refused
        };
        self.end(outcome, Some(reason.code), reason.message)
    }

    fn failed(self, error: &AdapterError) -> Report {
        match error.reason_code() {
            Some(code) => self.refused(Reason::new(code, error.to_string())),
            None => self.end(Outcome::Failed, None, error.to_string()),
        }
    }
}

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
    RollbackFailed(String),
    Interrupted(String),
}

/// What can stop a run from outside its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Halt {
    /// SIGINT/SIGTERM (the count of signals so far).
    Interrupted,
    /// The lock could not be kept; the text says why.
    LockLost(String),
}

/// How long the clean-up after a signal may take (restore and unlock): pipelines kill a
/// cancelled step after a grace period, and the clean-up must fit in it.
pub const CLEANUP_BOUND: Duration = Duration::from_secs(20);

/// How long releasing the lock may take once a run is interrupted.
const UNLOCK_BOUND: Duration = Duration::from_secs(5);

/// Sends interrupts (SIGINT, SIGTERM) to a running [`Executor`]; see [`interrupt_channel`].
#[derive(Debug)]
pub struct Interrupter {
    signals: tokio::sync::watch::Sender<u32>,
}

impl Interrupter {
    /// Counts one more signal. The first asks the run to stop and clean up; the second asks
    /// it to skip the restore and only release the lock.
    pub fn interrupt(&self) {
        self.signals.send_modify(|count| *count += 1);
    }
}

/// What a run watches for interrupts; [`Interrupt::never`] when nothing can interrupt it.
#[derive(Debug, Clone)]
pub struct Interrupt {
    signals: Option<tokio::sync::watch::Receiver<u32>>,
}

impl Interrupt {
    /// An interrupt that never fires.
    pub fn never() -> Interrupt {
        Interrupt { signals: None }
    }

    /// Signals received so far.
    pub fn count(&self) -> u32 {
        self.signals.as_ref().map_or(0, |signals| *signals.borrow())
    }

    /// Resolves once at least `at_least` signals have arrived (never, when nothing can send them).
    pub async fn reached(&self, at_least: u32) {
        if let Some(signals) = &self.signals {
            let mut signals = signals.clone();
            if signals.wait_for(|count| *count >= at_least).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

/// A connected [`Interrupter`] and [`Interrupt`]: the binary's signal handler holds the first,
/// the executor the second ([`Executor::with_interrupt`]).
pub fn interrupt_channel() -> (Interrupter, Interrupt) {
    let (signals_tx, signals) = tokio::sync::watch::channel(0);
    (
        Interrupter {
            signals: signals_tx,
        },
        Interrupt {
            signals: Some(signals),
        },
    )
}

/// Watches both ways a run can be stopped from outside: a signal and, once it holds the
/// lock, losing it.
struct Watch {
    interrupt: Interrupt,
    lost: Option<tokio::sync::watch::Receiver<Option<String>>>,
}

impl Watch {
    /// Before the lock: only signals.
    fn unlocked(interrupt: &Interrupt) -> Watch {
        Watch {
            interrupt: interrupt.clone(),
            lost: None,
        }
    }

    /// What has stopped the run, if anything.
    fn check(&self) -> Option<Halt> {
        if let Some(why) = self.lost.as_ref().and_then(|lost| lost.borrow().clone()) {
            return Some(Halt::LockLost(why));
        }
        (self.interrupt.count() > 0).then_some(Halt::Interrupted)
    }

    /// Resolves when something stops the run.
    async fn halted(&self) -> Halt {
        let lock_lost = async {
            if let Some(lost) = &self.lost {
                let mut lost = lost.clone();
                if let Ok(why) = lost.wait_for(Option::is_some).await {
                    return why.clone().unwrap_or_default();
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            () = self.interrupt.reached(1) => Halt::Interrupted,
            why = lock_lost => Halt::LockLost(why),
        }
    }

    /// Runs `work` unless something stops the run first.
    async fn race<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, Halt> {
        if let Some(halt) = self.check() {
            return Err(halt);
        }
        tokio::select! {
            biased;
            halt = self.halted() => Err(halt),
            value = work => Ok(value),
        }
    }
}

/// Runs events through the policy and the adapters.
pub struct Executor {
    adapters: Adapters,
    config: Config,
    observer: Arc<dyn Observer>,
    interrupt: Interrupt,
}

impl Executor {
    /// An executor over these adapters and settings.
    pub fn new(adapters: Adapters, config: Config) -> Executor {
        Executor {
            adapters,
            config,
            observer: Arc::new(Silent),
            interrupt: Interrupt::never(),
        }
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
    pub async fn run(&self, event: &Event, ctx: &RunContext) -> Report {
        self.run_scoped(event, ctx, false).await
    }

    /// Makes sure the event's image exists (retag or build, after the gates) and stops there:
    /// no lock, no cluster write. What a CI step that only prepares the image calls.
    pub async fn prepare_image(&self, event: &Event, ctx: &RunContext) -> Report {
        self.run_scoped(event, ctx, true).await
    }

    async fn run_scoped(&self, event: &Event, ctx: &RunContext, image_only: bool) -> Report {
        let mut report = Report::new(event, ctx.dry_run);
        let target = match target(event, &self.config) {
            Ok(target) => target,
            Err(reason) => return report.refused(reason),
        };
        report.environment = target.environment.clone();
        report.namespace = Some(target.namespace.clone());
        report.version = target
            .version
            .as_ref()
            .map(|v| v.image_tag(self.config.short_sha_length));
        let unlocked = Watch::unlocked(&self.interrupt);
        let facts = match unlocked.race(self.gather_facts(event, &target)).await {
            Ok(Ok(facts)) => facts,
            Ok(Err(error)) => return report.failed(&error),
            Err(_) => {
                return report.end(
                    Outcome::Interrupted,
                    None,
                    "interrupted while reading the facts; nothing was changed",
                );
            }
        };
        report.facts = facts.clone();
        let mut plan = match decide(event, &self.config, &facts) {
            Decision::Proceed(plan) => plan,
            Decision::Ignore(reason) | Decision::Refuse(reason) => return report.refused(reason),
        };
        report.version = Some(plan.version.clone());
        report.image = Some(plan.image.pinned());
        report.previous_version = plan.previous_version.clone();
        report.steps = plan
            .steps
            .iter()
            .map(|s| StepReport {
                kind: s.step.kind().to_owned(),
                reason: s.reason.clone(),
                status: StepStatus::NotRun,
                duration_ms: 0,
                detail: None,
            })
            .collect();
        let ending = self
            .execute(event, &mut plan, ctx, &mut report, image_only)
            .await;
        let target_text = format!("{} in namespace `{}`", plan.image.pinned(), plan.namespace);
        match ending {
            Ending::Deployed if image_only => report.end(
                Outcome::ImageReady,
                None,
                format!("image {} is ready; deploy not requested", plan.image),
            ),
            Ending::Deployed | Ending::Converged if ctx.dry_run => report.end(
                Outcome::WouldDeploy,
                None,
                format!(
                    "dry run: every gate passed; would deploy {target_text}; nothing was written"
                ),
            ),
            Ending::Deployed => {
                report.end(Outcome::Deployed, None, format!("deployed {target_text}"))
            }
            Ending::Converged => report.end(
                Outcome::Deployed,
                None,
                format!(
                    "{target_text} was already set; its rollout completed while this run waited (nothing was written)"
                ),
            ),
            Ending::Refused(reason) => report.refused(reason),
            Ending::Failed(error) => report.failed(&error),
            Ending::RolledBack(message) => report.end(Outcome::RolledBack, None, message),
            Ending::RollbackFailed(message) => report.end(Outcome::RollbackFailed, None, message),
            Ending::Interrupted(message) => report.end(Outcome::Interrupted, None, message),
        }
    }

    /// The app's Deployments in the target namespace and, for a promotion, in the source's.
    async fn read_workloads(&self, target: &Target, facts: &mut Facts) -> Result<(), AdapterError> {
        let cluster = &self.adapters.cluster;
        facts.target_workloads = Fact::Known(cluster.workloads(&target.namespace).await?);
        if let Some((_, source_ns)) = &target.source {
            facts.source_workloads = Fact::Known(cluster.workloads(source_ns).await?);
        }
        Ok(())
    }

    /// Reads what the policy needs; writes nothing.
    async fn gather_facts(&self, event: &Event, target: &Target) -> Result<Facts, AdapterError> {
        let registry = &self.adapters.registry;
        let repository = registry.repository_uri().await?;
        let mut facts = Facts {
            repository_uri: Fact::Known(repository.clone()),
            ..Facts::unknown()
        };
        self.read_workloads(target, &mut facts).await?;
        let version = match &target.version {
            Some(version) => Some(version.clone()),
            None => facts
                .target_workloads
                .known()
                .and_then(|workloads| previous_version(workloads, &repository).ok()),
        };
        let Some(version) = version else {
            return Ok(facts);
        };
        let tag = version.image_tag(self.config.short_sha_length);
        let target_image = registry.find(&tag).await?;
        let may_build = matches!(
            event,
            Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. }
        );
        // A release whose tag exists is compared with its commit's image when the commit is
        // known without asking anyone (a tag is never moved onto another image).
        let compare_commit = target_image.is_some() && target.commit.is_some();
        if may_build && (target_image.is_none() || compare_commit) {
            let revision = match (&target.commit, &version) {
                (Some(commit), _) => Some(commit.clone()),
                (None, Version::Release(tag)) => match &self.adapters.releases {
                    Some(releases) => releases.resolve(tag.as_str()).await?,
                    None => None,
                },
                (None, Version::GitSha(sha)) => Some(sha.clone()),
            };
            if let (Version::Release(_), Some(revision)) = (&version, &revision) {
                let short = revision.short(self.config.short_sha_length);
                facts.commit_image = Fact::Known(registry.find(short).await?);
            }
            facts.revision = Fact::Known(revision);
        }
        facts.target_image = Fact::Known(target_image);
        if let Event::Released {
            target_branch: Some(branch),
            ..
        } = event
            && !self.config.is_release_branch(branch)
            && let (Some(releases), Ok(sha)) = (
                &self.adapters.releases,
                crate::version::GitSha::parse(branch),
            )
        {
            let contained = releases
                .branch_contains(&self.config.main_branch, &sha)
                .await?;
            facts.target_on_release_branch = Fact::Known(contained);
        }
        Ok(facts)
    }

    async fn execute(
        &self,
        event: &Event,
        plan: &mut Plan,
        ctx: &RunContext,
        report: &mut Report,
        image_only: bool,
    ) -> Ending {
        // Steps before the deploy: gates and the image. The deploy starts with the lock, or,
        // in a plan that writes nothing, with the wait for the rollout already set.
        let deploy_at = plan
            .steps
            .iter()
            .position(|s| matches!(s.step, Step::AcquireLock { .. } | Step::AwaitRollout { .. }))
            .unwrap_or(plan.steps.len());
        for index in 0..deploy_at {
            if let Err(ending) = self.run_step(index, plan, ctx.dry_run, report).await {
                return ending;
            }
        }
        if image_only {
            return Ending::Deployed;
        }
        if ctx.dry_run {
            return self.dry_run_rest(plan, deploy_at, report).await;
        }
        match plan.steps.get(deploy_at).map(|s| &s.step) {
            Some(Step::AcquireLock { .. }) => {
                self.locked(event, plan, ctx, report, deploy_at).await
            }
            Some(Step::AwaitRollout { .. }) => self.await_as_set(plan, report, deploy_at).await,
            _ => Ending::Deployed,
        }
    }

    /// A plan that writes nothing: the images are set, the rollout is awaited; a failing one
    /// is refused as `rollout_failing`, since this run changed nothing.
    async fn await_as_set(&self, plan: &Plan, report: &mut Report, index: usize) -> Ending {
        let started = self.step_started(&plan.steps[index]);
        let names = plan.awaited().unwrap_or_default().to_vec();
        let watch = Watch::unlocked(&self.interrupt);
        let result = match watch
            .race(self.await_rollout(&plan.namespace, &names))
            .await
        {
            Ok(result) => result,
            Err(_) => {
                self.record(
                    report,
                    index,
                    started,
                    StepStatus::NotRun,
                    Some("interrupted".to_owned()),
                );
                return Ending::Interrupted(
                    "interrupted while waiting for the rollout; this run had changed nothing"
                        .to_owned(),
                );
            }
        };
        match result {
            Ok(RolloutResult::Complete) => {
                self.step_finished(
                    report,
                    index,
                    started,
                    StepEnd::Ok(Some("rollout complete".to_owned())),
                );
                Ending::Converged
            }
            failure => {
                let reason = rollout_failing(plan, &self.rollout_problem(failure));
                self.stop(report, index, started, Stop::Refused(reason))
            }
        }
    }

    /// Takes the lock, runs the locked steps while renewing it, and releases it on every path.
    async fn locked(
        &self,
        event: &Event,
        plan: &mut Plan,
        ctx: &RunContext,
        report: &mut Report,
        lock_at: usize,
    ) -> Ending {
        let started = self.step_started(&plan.steps[lock_at]);
        let holder = ctx.holder();
        let unlocked = Watch::unlocked(&self.interrupt);
        let attempt = match unlocked
            .race(
                self.adapters
                    .cluster
                    .lock(&plan.namespace, &holder, self.config.lease_duration),
            )
            .await
        {
            Ok(attempt) => attempt,
            Err(_) => {
                self.record(
                    report,
                    lock_at,
                    started,
                    StepStatus::NotRun,
                    Some("interrupted".to_owned()),
                );
                return Ending::Interrupted(
                    "interrupted while taking the lock; nothing was changed".to_owned(),
                );
            }
        };
        // Taking a lock over can first watch a dead holder's Lease for its whole duration: our
        // hold starts when the acquiring write answered (the margin covers its latency).
        let taken_at = Instant::now();
        let handle = match attempt {
            Ok(LockAttempt::Acquired(handle)) => {
                self.step_finished(
                    report,
                    lock_at,
                    started,
                    StepEnd::Ok(Some(format!("held by {holder}"))),
                );
                handle
            }
            Ok(LockAttempt::Held {
                holder: other,
                expires,
            }) => {
                let until = expires.map(|e| format!(" until {e}")).unwrap_or_default();
                let reason = Reason::new(
                    ReasonCode::LockHeld,
                    format!(
                        "another deploy holds the lock on namespace `{}`: {other}{until}; wait for it to finish and run again (a dead holder's lock is taken over once it has stayed unrenewed for {}; see `neuro-deploy lock status`)",
                        plan.namespace,
                        format_duration(self.config.lease_duration)
                    ),
                );
                return self.stop(report, lock_at, started, Stop::Refused(reason));
            }
            Err(error) => return self.stop(report, lock_at, started, Stop::Failed(error)),
        };
        let shared = Arc::new(Mutex::new(handle));
        let (lost_tx, lost) = tokio::sync::watch::channel(None);
        let watch = Watch {
            interrupt: self.interrupt.clone(),
            lost: Some(lost),
        };
        let ending = tokio::select! {
            ending = self.locked_steps(event, plan, ctx, report, lock_at + 1, &watch) => ending,
            never = self.keep_lock(Arc::clone(&shared), taken_at, lost_tx) => match never {},
        };
        // Release on every path; bounded once a signal asked the run to stop.
        let release_at = plan
            .steps
            .iter()
            .position(|s| matches!(s.step, Step::ReleaseLock { .. }));
        let handle = lock_value(&shared);
        let started = Instant::now();
        let unlock = self.adapters.cluster.unlock(&handle);
        let released = if self.interrupt.count() > 0 {
            tokio::time::timeout(UNLOCK_BOUND, unlock)
                .await
                .unwrap_or_else(|_| {
                    Err(AdapterError::Timeout {
                        service: "kubernetes",
                        operation: "releasing the lock".to_owned(),
                        seconds: UNLOCK_BOUND.as_secs_f64(),
                    })
                })
        } else {
            unlock.await
        };
        if let Some(index) = release_at {
            let end = match released {
                Ok(()) => StepEnd::Ok(None),
                Err(error) => {
                    self.observer.progress(&Progress::Note(format!(
                        "could not release the lock ({error}); it expires by itself after {}",
                        format_duration(self.config.lease_duration)
                    )));
                    StepEnd::Stop(Stop::Failed(error))
                }
            };
            self.step_finished(report, index, started, end);
        }
        ending
    }

    /// Renews the lock every `lock.renew_every`. Our hold is judged by elapsed time on this
    /// process's monotonic clock: when no renewal has succeeded within the lease minus a
    /// margin, others may soon take the lock over, so the run is told to stop before its next
    /// write. Never returns.
    async fn keep_lock(
        &self,
        shared: Arc<Mutex<LockHandle>>,
        taken_at: Instant,
        lost: tokio::sync::watch::Sender<Option<String>>,
    ) -> std::convert::Infallible {
        let lease = self.config.lease_duration;
        let every = self.config.lease_renew_every;
        let hold = lease - lease / 4;
        let mut last_ok = taken_at;
        let mut next_attempt = taken_at + every;
        let why = loop {
            let deadline = last_ok + hold;
            if next_attempt >= deadline {
                tokio::time::sleep_until(deadline).await;
                break format!(
                    "no renewal succeeded for {}",
                    format_duration(deadline.duration_since(last_ok))
                );
            }
            tokio::time::sleep_until(next_attempt).await;
            let handle = lock_value(&shared);
            let attempt_at = Instant::now();
            match tokio::time::timeout_at(deadline, self.adapters.cluster.renew(&handle)).await {
                Ok(Ok(renewed)) => {
                    if let Ok(mut slot) = shared.lock() {
                        *slot = renewed;
                    }
                    last_ok = attempt_at;
                    next_attempt = attempt_at + every;
                }
                Ok(Err(error @ AdapterError::Conflict { .. })) => {
                    break format!("another holder took it ({error})");
                }
                Ok(Err(error)) => {
                    self.observer.progress(&Progress::Note(format!(
                        "lock renewal failed: {error}; retrying"
                    )));
                    next_attempt = Instant::now() + (every / 4).max(Duration::from_millis(500));
                }
                Err(_) => {
                    break format!(
                        "no renewal succeeded for {}",
                        format_duration(deadline.duration_since(last_ok))
                    );
                }
            }
        };
        let handle = lock_value(&shared);
        self.observer.progress(&Progress::Note(format!(
            "the lock on namespace `{}` was lost: {why}; no further write",
            handle.namespace
        )));
        let _ = lost.send(Some(format!(
            "the lock on namespace `{}` was lost ({why})",
            handle.namespace
        )));
        std::future::pending().await
    }

    /// The steps under the lock: the queue re-check, the decision again on fresh facts, the
    /// writes, the rollout wait (and a rollback when it fails).
    async fn locked_steps(
        &self,
        event: &Event,
        plan: &mut Plan,
        ctx: &RunContext,
        report: &mut Report,
        from: usize,
        watch: &Watch,
    ) -> Ending {
        let mut applied: Vec<ImageChange> = Vec::new();
        for index in from..plan.steps.len() {
            let planned = plan.steps[index].clone();
            match &planned.step {
                Step::ReleaseLock { .. } => break,
                Step::SetImage { .. } => {
                    let started = self.step_started(&planned);
                    if let Err(ending) = self.decide_again(event, plan, report, index, watch).await
                    {
                        return ending;
                    }
                    let changes = plan.changes().unwrap_or_default().to_vec();
                    if changes.is_empty() {
                        self.step_finished(
                            report,
                            index,
                            started,
                            StepEnd::Skipped(
                                "every app container already has the image".to_owned(),
                            ),
                        );
                        continue;
                    }
                    if let Some(halt) = watch.check() {
                        self.record(
                            report,
                            index,
                            started,
                            StepStatus::NotRun,
                            Some("stopped before writing".to_owned()),
                        );
                        return self.halted_before_writes(halt);
                    }
                    let audit = self.audit(plan, ctx, report);
                    let (written, failures) =
                        self.set_each(&plan.namespace, &changes, &audit).await;
                    applied = written;
                    report.applied = applied.clone();
                    if !failures.is_empty() {
                        let why = failures.join("; ");
                        self.record(
                            report,
                            index,
                            started,
                            StepStatus::Failed,
                            Some(why.clone()),
                        );
                        if applied.is_empty() {
                            return Ending::Failed(AdapterError::failed(
                                "kubernetes",
                                format!("setting images in `{}`", plan.namespace),
                                format!("{why}; nothing was changed"),
                            ));
                        }
                        return self
                            .roll_back(plan, ctx, report, &applied, &why, watch)
                            .await;
                    }
                    self.step_finished(
                        report,
                        index,
                        started,
                        StepEnd::Ok(Some(format!("{} container(s) changed", changes.len()))),
                    );
                }
                Step::AwaitRollout { .. } => {
                    let started = self.step_started(&planned);
                    let names = plan.awaited().unwrap_or_default().to_vec();
                    let result = match watch
                        .race(self.await_rollout(&plan.namespace, &names))
                        .await
                    {
                        Ok(result) => result,
                        Err(halt) => {
                            self.record(
                                report,
                                index,
                                started,
                                StepStatus::NotRun,
                                Some(halt_text(&halt).to_owned()),
                            );
                            return self
                                .halted_after_writes(plan, ctx, report, &applied, halt)
                                .await;
                        }
                    };
                    match result {
                        Ok(RolloutResult::Complete) => {
                            self.step_finished(
                                report,
                                index,
                                started,
                                StepEnd::Ok(Some("rollout complete".to_owned())),
                            );
                        }
                        failure => {
                            let why = self.rollout_problem(failure);
                            self.step_finished(
                                report,
                                index,
                                started,
                                StepEnd::Stop(Stop::Failed(AdapterError::failed(
                                    "kubernetes",
                                    "rollout",
                                    why.clone(),
                                ))),
                            );
                            if applied.is_empty() {
                                return Ending::Refused(rollout_failing(plan, &why));
                            }
                            return self
                                .roll_back(plan, ctx, report, &applied, &why, watch)
                                .await;
                        }
                    }
                }
                _ => {
                    let outcome = watch
                        .race(self.run_step(index, plan, ctx.dry_run, report))
                        .await;
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(ending)) => return ending,
                        Err(halt) => return self.halted_before_writes(halt),
                    }
                }
            }
        }
        Ending::Deployed
    }

    /// Reads the target's (and the promotion source's) workloads again under the lock and runs
    /// the policy again: facts read before a long queue wait go stale. A changed verdict
    /// refuses; the previous images and the audit trail come from this read.
    async fn decide_again(
        &self,
        event: &Event,
        plan: &mut Plan,
        report: &mut Report,
        index: usize,
        watch: &Watch,
    ) -> Result<(), Ending> {
        let started = Instant::now();
        let mut facts = report.facts.clone();
        // The image step ran: the image exists now, whatever was known before.
        if let Fact::Known(None) = facts.target_image {
            facts.target_image = Fact::Known(Some(ImageRef::new(
                plan.image.repository.clone(),
                plan.image.tag.clone(),
            )));
        }
        let Some(target) = target(event, &self.config).ok() else {
            return Ok(());
        };
        match watch.race(self.read_workloads(&target, &mut facts)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(self.stop(report, index, started, Stop::Failed(error))),
            Err(halt) => {
                self.record(
                    report,
                    index,
                    started,
                    StepStatus::NotRun,
                    Some(halt_text(&halt).to_owned()),
                );
                return Err(self.halted_before_writes(halt));
            }
        }
        report.facts = facts.clone();
        let fresh = match decide(event, &self.config, &facts) {
            Decision::Proceed(fresh) => fresh,
            Decision::Ignore(reason) | Decision::Refuse(reason) => {
                let reason = Reason::new(
                    reason.code,
                    format!(
                        "decided again under the lock, on what runs now: {}; nothing was written",
                        reason.message
                    ),
                );
                return Err(self.stop(report, index, started, Stop::Refused(reason)));
            }
        };
        if fresh.version != plan.version || fresh.image != plan.image {
            let reason = Reason::new(
                ReasonCode::NoPreviousVersion,
                format!(
                    "decided again under the lock, the version to deploy is now {} (was {}): the environment changed meanwhile; nothing was written — check `neuro-deploy status` and run again",
                    fresh.image.pinned(),
                    plan.image.pinned()
                ),
            );
            return Err(self.stop(report, index, started, Stop::Refused(reason)));
        }
        report.previous_version = fresh.previous_version.clone();
        plan.previous_version = fresh.previous_version;
        for (mine, theirs) in plan.steps.iter_mut().zip(fresh.steps) {
            if matches!(
                (&mine.step, &theirs.step),
                (Step::SetImage { .. }, Step::SetImage { .. })
                    | (Step::AwaitRollout { .. }, Step::AwaitRollout { .. })
            ) {
                *mine = theirs;
            }
        }
        Ok(())
    }

    /// Patches each Deployment on its own (concurrently), so a failure leaves an exact record:
    /// what was written, plus any patch whose answer was lost (it may have been applied).
    async fn set_each(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> (Vec<ImageChange>, Vec<String>) {
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
        let mut applied = Vec::new();
        let mut failures = Vec::new();
        for (group, result) in join_all(writes).await {
            match result {
                Ok(()) => applied.extend(group),
                Err(error) => {
                    failures.push(format!("Deployment `{}`: {error}", group[0].workload));
                    if error.outcome_unknown() {
                        applied.extend(group);
                    }
                }
            }
        }
        (applied, failures)
    }

    /// Something stopped the run before it wrote anything.
    fn halted_before_writes(&self, halt: Halt) -> Ending {
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
    async fn halted_after_writes(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        report: &mut Report,
        applied: &[ImageChange],
        halt: Halt,
    ) -> Ending {
        match halt {
            Halt::LockLost(why) => Ending::RollbackFailed(format!(
                "{why} during the rollout of {}; applied ({}) and not restored, since writing without the lock is unsafe — an operator is needed: check `neuro-deploy status` and roll back or deploy again",
                plan.image.pinned(),
                describe_changes(applied)
            )),
            Halt::Interrupted if applied.is_empty() => Ending::Interrupted(
                "interrupted while waiting for the rollout; this run had changed nothing"
                    .to_owned(),
            ),
            Halt::Interrupted => self.restore_on_interrupt(plan, ctx, report, applied).await,
        }
    }

    /// Writes the recorded images back after a signal, bounded by [`CLEANUP_BOUND`]; a second
    /// signal abandons it. Their rollout is not awaited (the report says so).
    async fn restore_on_interrupt(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        report: &mut Report,
        applied: &[ImageChange],
    ) -> Ending {
        self.observer.progress(&Progress::Note(
            "interrupted: restoring the previous images (a second signal skips this)".to_owned(),
        ));
        let restore: Vec<ImageChange> = applied.iter().map(ImageChange::reverted).collect();
        let audit = self.restore_audit(plan, ctx, report, "interrupted");
        let restoring = tokio::time::timeout(
            CLEANUP_BOUND,
            self.set_each(&plan.namespace, &restore, &audit),
        );
        let outcome = tokio::select! {
            biased;
            () = self.interrupt.reached(2) => Err("a second signal abandoned the restore".to_owned()),
            done = restoring => done.map_err(|_| format!("the restore took longer than {}", format_duration(CLEANUP_BOUND))),
        };
        match outcome {
            Ok((restored, failures)) if failures.is_empty() => {
                report.restored = restored;
                Ending::Interrupted(format!(
                    "interrupted during the rollout of {}; the previous images were written back ({}) without waiting for their rollout — check with `neuro-deploy status`",
                    plan.image.pinned(),
                    describe_changes(&report.restored)
                ))
            }
            Ok((restored, failures)) => {
                report.restored = restored;
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
                describe_changes(applied)
            )),
        }
    }

    fn rollout_problem(&self, result: Result<RolloutResult, AdapterError>) -> String {
        match result {
            Ok(RolloutResult::Failed { workload, reason }) => {
                format!("Deployment `{workload}` failed: {reason}")
            }
            Ok(RolloutResult::TimedOut { pending }) => format!(
                "not complete after {}: {}",
                format_duration(self.config.rollout_timeout),
                pending.join(", ")
            ),
            Ok(RolloutResult::Complete) => String::new(),
            Err(error) => error.to_string(),
        }
    }

    async fn await_rollout(
        &self,
        namespace: &str,
        names: &[String],
    ) -> Result<RolloutResult, AdapterError> {
        let timeout = self.config.rollout_timeout;
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
    fn restore_audit(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        report: &Report,
        why: &str,
    ) -> DeployAudit {
        let trail = report.facts.target_workloads.known().and_then(|workloads| {
            let repository = &plan.image.repository;
            let mut recorded = crate::policy::app_workloads(workloads, repository)
                .map(|w| w.audit.previous_version.clone());
            let first = recorded.next()??;
            recorded
                .all(|r| r.as_deref() == Some(first.as_str()))
                .then_some(first)
        });
        DeployAudit {
            version: plan
                .previous_version
                .clone()
                .unwrap_or_else(|| "previous images".to_owned()),
            previous_version: trail,
            deployed_at: ctx.started_at.clone(),
            deployed_by: ctx.holder(),
            change_cause: format!(
                "neuro-deploy: deploy of {} {why}; previous images restored",
                plan.version
            ),
            queue_gate_skipped: None,
        }
    }

    async fn roll_back(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        report: &mut Report,
        applied: &[ImageChange],
        why: &str,
        watch: &Watch,
    ) -> Ending {
        self.observer.progress(&Progress::Note(format!(
            "deploy failed ({why}); restoring the previous images"
        )));
        if let Some(halt) = watch.check() {
            return self
                .halted_after_writes(plan, ctx, report, applied, halt)
                .await;
        }
        let restore: Vec<ImageChange> = applied.iter().map(ImageChange::reverted).collect();
        let audit = self.restore_audit(plan, ctx, report, &format!("failed ({why})"));
        let (restored, failures) = self.set_each(&plan.namespace, &restore, &audit).await;
        report.restored = restored.clone();
        let previous = describe_changes(&restore);
        let problem = if failures.is_empty() {
            let mut names: Vec<String> = restored.iter().map(|c| c.workload.clone()).collect();
            names.dedup();
            match watch
                .race(self.await_rollout(&plan.namespace, &names))
                .await
            {
                Ok(Ok(RolloutResult::Complete)) => None,
                Ok(other) => Some(self.rollout_problem(other)),
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

    /// A dry run reports the lock and the writes as skipped, but still looks at the queues.
    async fn dry_run_rest(&self, plan: &Plan, from: usize, report: &mut Report) -> Ending {
        for index in from..plan.steps.len() {
            let planned = &plan.steps[index];
            if planned.step.writes() {
                let started = self.step_started(planned);
                self.step_finished(
                    report,
                    index,
                    started,
                    StepEnd::Skipped("dry run: not performed".to_owned()),
                );
            } else if let Err(ending) = self.run_step(index, plan, true, report).await {
                return ending;
            }
        }
        Ending::Deployed
    }

    /// Runs one read-only or image step; a signal stops it.
    async fn run_step(
        &self,
        index: usize,
        plan: &Plan,
        dry_run: bool,
        report: &mut Report,
    ) -> Result<(), Ending> {
        let planned = &plan.steps[index];
        let started = self.step_started(planned);
        let watch = Watch::unlocked(&self.interrupt);
        let end = match &planned.step {
            Step::EnsureImage { image, action } => {
                self.ensure_image(image, action, dry_run, &watch).await
            }
            // Decided from gathered facts by the policy: reaching here means it passed.
            Step::GateImageExists { .. }
            | Step::GateSourceVerified { .. }
            | Step::GateNotDowngrade { .. } => StepEnd::Ok(None),
            Step::GateQueuesDrained { queues, regions } => {
                match watch.race(self.wait_for_drained(queues, regions)).await {
                    Ok((end, samples)) => {
                        report.queues = samples;
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
                    report.queues = samples;
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
                        report.queues = samples;
                        end
                    }
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            Step::AcquireLock { .. }
            | Step::SetImage { .. }
            | Step::AwaitRollout { .. }
            | Step::ReleaseLock { .. } => StepEnd::Skipped("handled by the executor".to_owned()),
        };
        match end {
            StepEnd::Stop(stop) => Err(self.stop(report, index, started, stop)),
            other => {
                self.step_finished(report, index, started, other);
                Ok(())
            }
        }
    }

    async fn ensure_image(
        &self,
        image: &ImageRef,
        action: &ImageAction,
        dry_run: bool,
        watch: &Watch,
    ) -> StepEnd {
        match action {
            ImageAction::Present => StepEnd::Ok(Some(format!("{image} exists"))),
            ImageAction::Retag { from } if dry_run => {
                StepEnd::Skipped(format!("dry run: would retag {from} → {}", image.tag))
            }
            ImageAction::Build { revision } if dry_run => {
                StepEnd::Skipped(format!("dry run: would build {revision} as {image}"))
            }
            ImageAction::Retag { from } => {
                match watch
                    .race(self.adapters.registry.retag(from, &image.tag))
                    .await
                {
                    Ok(Ok(done)) => {
                        StepEnd::Ok(Some(format!("retagged {from} → {} (no rebuild)", done.tag)))
                    }
                    Ok(Err(error)) => StepEnd::Stop(Stop::Failed(error)),
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            ImageAction::Build { revision } => {
                let Some(builder) = &self.adapters.builder else {
                    return StepEnd::Stop(Stop::Failed(AdapterError::failed(
                        "neuro-deploy",
                        "build",
                        format!(
                            "no image {image} exists and no builder is configured here; configure `[builder]` or build it in CI first"
                        ),
                    )));
                };
                let built = match watch.race(builder.build(revision, image)).await {
                    Ok(Ok(built)) => built,
                    Ok(Err(error)) => return StepEnd::Stop(Stop::Failed(error)),
                    Err(_) => {
                        // The build future is dropped (a local build's child is killed with
                        // it); a remote build this run started is stopped explicitly.
                        if let Ok(Err(error)) =
                            tokio::time::timeout(CLEANUP_BOUND, builder.cancel()).await
                        {
                            self.observer.progress(&Progress::Note(format!(
                                "could not stop the build it started: {error}"
                            )));
                        }
                        return StepEnd::Stop(Stop::Interrupted);
                    }
                };
                self.check_built(revision, image, &built).await
            }
            ImageAction::Resolve { .. } => StepEnd::Stop(Stop::Failed(AdapterError::failed(
                "neuro-deploy",
                "ensure image",
                "the registry was not consulted; this plan is for display only",
            ))),
        }
    }

    /// A build must leave the tag in the registry before anything runs it. A build of the same
    /// commit started for another tag (a merge's short SHA) left the commit's image under that
    /// tag: it is retagged (build once). Otherwise the image is missing and nothing is deployed.
    async fn check_built(&self, revision: &GitSha, image: &ImageRef, built: &ImageRef) -> StepEnd {
        let registry = &self.adapters.registry;
        match registry.find(&image.tag).await {
            Ok(Some(_)) => return StepEnd::Ok(Some(format!("built {revision} as {built}"))),
            Ok(None) => {}
            Err(error) => return StepEnd::Stop(Stop::Failed(error)),
        }
        let short = revision.short(self.config.short_sha_length);
        if short != image.tag {
            match registry.find(short).await {
                Ok(Some(_)) => {
                    return match registry.retag(short, &image.tag).await {
                        Ok(done) => StepEnd::Ok(Some(format!(
                            "the build of {revision} pushed it as {short} (a build of the same commit for another tag); retagged {short} → {} (build once)",
                            done.tag
                        ))),
                        Err(error) => StepEnd::Stop(Stop::Failed(error)),
                    };
                }
                Ok(None) => {}
                Err(error) => return StepEnd::Stop(Stop::Failed(error)),
            }
        }
        StepEnd::Stop(Stop::Refused(Reason::new(
            ReasonCode::ImageMissing,
            format!(
                "the build of commit {revision} (reported as {built}) finished, but the registry has no image {} nor {short}; nothing was deployed — check that the build pipeline pushes to {}",
                image.tag, image.repository
            ),
        )))
    }

    /// Reads every queue in every region concurrently (see [`sample_queues`]).
    pub async fn sample_queues(&self, queues: &[String], regions: &[String]) -> Vec<QueueSample> {
        sample_queues(
            self.adapters.queues.as_ref(),
            self.observer.as_ref(),
            queues,
            regions,
        )
        .await
    }

    /// The queue gate: all counts zero on consecutive samples spanning the window, in every
    /// region. Any non-zero or unreadable sample restarts the window. The timeout bounds the
    /// wait for a drain: a busy sample after it refuses; a drained streak still has to hold for
    /// the whole window (the gate is never weakened), however short the timeout.
    async fn wait_for_drained(
        &self,
        queues: &[String],
        regions: &[String],
    ) -> (StepEnd, Vec<QueueSample>) {
        let gate = &self.config.queues;
        let needed = gate.samples_needed();
        let start = Instant::now();
        let mut streak: Option<(Instant, u32)> = None;
        loop {
            let samples = self.sample_queues(queues, regions).await;
            let now = Instant::now();
            if samples.iter().all(QueueSample::is_drained) {
                let (since, count) = streak.get_or_insert((now, 0));
                *count += 1;
                if *count >= needed && now.duration_since(*since) >= gate.window {
                    let detail = format!(
                        "drained in {} for {} over {} samples",
                        regions.join(" and "),
                        format_duration(now.duration_since(*since)),
                        count
                    );
                    return (StepEnd::Ok(Some(detail)), samples);
                }
                let (since, count) = (*since, *count);
                // Wait for the next sample of the streak; never sooner than the window needs.
                let left = gate.window.saturating_sub(now.duration_since(since));
                let wait = if count + 1 >= needed {
                    left.min(gate.poll).max(Duration::from_millis(1))
                } else {
                    gate.poll
                };
                tokio::time::sleep(wait).await;
                continue;
            }
            streak = None;
            let elapsed = now.duration_since(start);
            if elapsed >= gate.timeout {
                let waited = if gate.timeout.is_zero() {
                    "on the first look (`--queue-timeout 0s`: no waiting for a busy queue)"
                        .to_owned()
                } else {
                    format!("after waiting {}", format_duration(gate.timeout))
                };
                return (queue_verdict(&samples, &waited), samples);
            }
            let remaining = gate.timeout - elapsed;
            tokio::time::sleep(gate.poll.min(remaining)).await;
        }
    }

    fn audit(&self, plan: &Plan, ctx: &RunContext, report: &Report) -> DeployAudit {
        let queue_gate_skipped = plan.steps.iter().find_map(|s| match &s.step {
            Step::QueueGateSkipped { reason, .. } => {
                let seen: Vec<String> = report.queues.iter().map(QueueSample::describe).collect();
                Some(format!(
                    "{reason} (by {}; queues then: {})",
                    ctx.identity,
                    seen.join("; ")
                ))
            }
            _ => None,
        });
        DeployAudit {
            version: plan.version.clone(),
            previous_version: plan.previous_version.clone(),
            deployed_at: ctx.started_at.clone(),
            deployed_by: ctx.holder(),
            change_cause: format!(
                "neuro-deploy: {} {} to {} by {}",
                self.config.app,
                plan.version,
                plan.environment.as_deref().unwrap_or(&plan.namespace),
                ctx.identity
            ),
            queue_gate_skipped,
        }
    }

    fn step_started(&self, planned: &PlannedStep) -> Instant {
        self.observer.progress(&Progress::StepStarted {
            kind: planned.step.kind().to_owned(),
            reason: planned.reason.clone(),
        });
        Instant::now()
    }

    /// Records how a step ended; a stop also says how the run ends.
    fn step_finished(&self, report: &mut Report, index: usize, started: Instant, end: StepEnd) {
        let (status, detail) = match end {
            StepEnd::Ok(detail) => (StepStatus::Ok, detail),
            StepEnd::Skipped(detail) => (StepStatus::Skipped, Some(detail)),
            StepEnd::Stop(stop) => {
                self.stop(report, index, started, stop);
                return;
            }
        };
        self.record(report, index, started, status, detail);
    }

    /// Records a step that stops the run and says how the run ends. An adapter's refusal
    /// (an immutable tag …) is a refusal, not a failure.
    fn stop(&self, report: &mut Report, index: usize, started: Instant, stop: Stop) -> Ending {
        let reason = match stop {
            Stop::Refused(reason) => reason,
            Stop::Failed(AdapterError::Refused { code, message }) => Reason::new(code, message),
            Stop::Failed(error) => {
                self.record(
                    report,
                    index,
                    started,
                    StepStatus::Failed,
                    Some(error.to_string()),
                );
                return Ending::Failed(error);
            }
            Stop::Interrupted => {
                self.record(
                    report,
                    index,
                    started,
                    StepStatus::NotRun,
                    Some("interrupted".to_owned()),
                );
                return self.halted_before_writes(Halt::Interrupted);
            }
        };
        self.record(
            report,
            index,
            started,
            StepStatus::Refused,
            Some(reason.to_string()),
        );
        Ending::Refused(reason)
    }

    fn record(
        &self,
        report: &mut Report,
        index: usize,
        started: Instant,
        status: StepStatus,
        detail: Option<String>,
    ) {
        if let Some(step) = report.steps.get_mut(index) {
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
}

/// The refusal for images already set whose rollout fails: this run changed nothing.
fn rollout_failing(plan: &Plan, why: &str) -> Reason {
    Reason::new(
        ReasonCode::RolloutFailing,
        format!(
            "namespace `{}` already has {} but its rollout is failing ({why}); this run changed nothing — deploy or promote another version, or roll back (`neuro-deploy rollback --env …`)",
            plan.namespace,
            plan.image.pinned()
        ),
    )
}

fn halt_text(halt: &Halt) -> &str {
    match halt {
        Halt::Interrupted => "interrupted",
        Halt::LockLost(why) => why,
    }
}

/// `workload/container=image, …` for messages.
fn describe_changes(changes: &[ImageChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{}/{}={}", c.workload, c.container, c.image))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads every queue in every region concurrently, reporting each sample to `observer`.
/// An unreadable queue is a sample with an error, which counts as not drained.
pub async fn sample_queues(
    inspector: &dyn QueueInspector,
    observer: &dyn Observer,
    queues: &[String],
    regions: &[String],
) -> Vec<QueueSample> {
    let reads = queues.iter().flat_map(|queue| {
        regions.iter().map(move |region| async move {
            let result = inspector.depth(queue, region).await;
            let sample = QueueSample {
                queue: queue.clone(),
                region: region.clone(),
                depth: result.as_ref().ok().copied(),
                error: result.err().map(|e| e.to_string()),
            };
            observer.progress(&Progress::QueueSample(sample.clone()));
            sample
        })
    });
    join_all(reads).await
}

fn lock_value(shared: &Mutex<LockHandle>) -> LockHandle {
    match shared.lock() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn queue_verdict(samples: &[QueueSample], when: &str) -> StepEnd {
    let busy: Vec<String> = samples
        .iter()
        .filter(|s| !s.is_drained())
        .map(QueueSample::describe)
        .collect();
    if busy.is_empty() {
        StepEnd::Ok(Some("every queue is empty in every region".to_owned()))
    } else {
        StepEnd::Stop(Stop::Refused(Reason::new(
            ReasonCode::QueueNotDrained,
            format!(
                "queues not drained {when}: {}; a training job in flight would be lost — wait for the queues to empty and run again",
                busy.join("; ")
            ),
        )))
    }
}
