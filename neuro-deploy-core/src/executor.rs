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
    DeployAudit, Event, ImageChange, LockAttempt, LockHandle, QueueDepth, RolloutResult,
};
use crate::policy::{
    Decision, Fact, Facts, ImageAction, Plan, PlannedStep, Step, Target, decide, previous_version,
    target,
};
use crate::traits::{ClusterDeployer, ImageBuilder, QueueInspector, Registry, ReleaseSource};
use crate::version::Version;

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
}

/// What a whole plan came to.
enum Ending {
    Deployed,
    Refused(Reason),
    Failed(AdapterError),
    RolledBack(String),
    RollbackFailed(String),
}

/// Runs events through the policy and the adapters.
pub struct Executor {
    adapters: Adapters,
    config: Config,
    observer: Arc<dyn Observer>,
}

impl Executor {
    /// An executor over these adapters and settings.
    pub fn new(adapters: Adapters, config: Config) -> Executor {
        Executor {
            adapters,
            config,
            observer: Arc::new(Silent),
        }
    }

    /// Sends progress to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Executor {
        self.observer = observer;
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
        let facts = match self.gather_facts(event, &target).await {
            Ok(facts) => facts,
            Err(error) => return report.failed(&error),
        };
        report.facts = facts.clone();
        let plan = match decide(event, &self.config, &facts) {
            Decision::Proceed(plan) => plan,
            Decision::Ignore(reason) | Decision::Refuse(reason) => return report.refused(reason),
        };
        report.version = Some(plan.version.clone());
        report.image = Some(plan.image.to_string());
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
        let ending = self.execute(&plan, ctx, &mut report, image_only).await;
        let target_text = format!("{} in namespace `{}`", plan.image, plan.namespace);
        match ending {
            Ending::Deployed if image_only => report.end(
                Outcome::ImageReady,
                None,
                format!("image {} is ready; deploy not requested", plan.image),
            ),
            Ending::Deployed if ctx.dry_run => report.end(
                Outcome::WouldDeploy,
                None,
                format!(
                    "dry run: every gate passed; would deploy {target_text}; nothing was written"
                ),
            ),
            Ending::Deployed => {
                report.end(Outcome::Deployed, None, format!("deployed {target_text}"))
            }
            Ending::Refused(reason) => report.refused(reason),
            Ending::Failed(error) => report.failed(&error),
            Ending::RolledBack(message) => report.end(Outcome::RolledBack, None, message),
            Ending::RollbackFailed(message) => report.end(Outcome::RollbackFailed, None, message),
        }
    }

    /// Reads what the policy needs; writes nothing.
    async fn gather_facts(&self, event: &Event, target: &Target) -> Result<Facts, AdapterError> {
        let registry = &self.adapters.registry;
        let cluster = &self.adapters.cluster;
        let repository = registry.repository_uri().await?;
        let workloads = cluster.workloads(&target.namespace).await?;
        let mut facts = Facts {
            repository_uri: Fact::Known(repository),
            ..Facts::unknown()
        };
        let version = match &target.version {
            Some(version) => Some(version.clone()),
            None => previous_version(&workloads).ok(),
        };
        facts.target_workloads = Fact::Known(workloads);
        if let Some((_, source_ns)) = &target.source {
            facts.source_workloads = Fact::Known(cluster.workloads(source_ns).await?);
        }
        let Some(version) = version else {
            return Ok(facts);
        };
        let tag = version.image_tag(self.config.short_sha_length);
        let target_image = registry.find(&tag).await?;
        let may_build = matches!(
            event,
            Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. }
        );
        if may_build && target_image.is_none() {
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
        plan: &Plan,
        ctx: &RunContext,
        report: &mut Report,
        image_only: bool,
    ) -> Ending {
        // Steps before the lock: gates and the image.
        let lock_at = plan
            .steps
            .iter()
            .position(|s| matches!(s.step, Step::AcquireLock { .. }))
            .unwrap_or(plan.steps.len());
        for index in 0..lock_at {
            match self.run_step(index, plan, ctx.dry_run, report).await {
                Ok(()) => {}
                Err(ending) => return ending,
            }
        }
        if image_only {
            return Ending::Deployed;
        }
        if ctx.dry_run {
            return self.dry_run_rest(plan, lock_at, report).await;
        }
        let Some(planned) = plan.steps.get(lock_at) else {
            return Ending::Deployed;
        };
        let started = self.step_started(planned);
        let holder = ctx.holder();
        let attempt = self
            .adapters
            .cluster
            .lock(&plan.namespace, &holder, self.config.lease_duration)
            .await;
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
                        "another deploy holds the lock on namespace `{}`: {other}{until}; wait for it to finish and run again (the lock expires by itself {} after its holder stops)",
                        plan.namespace,
                        format_duration(self.config.lease_duration)
                    ),
                );
                return self.stop(report, lock_at, started, Stop::Refused(reason));
            }
            Err(error) => return self.stop(report, lock_at, started, Stop::Failed(error)),
        };
        let shared = Arc::new(Mutex::new(handle));
        let ending = tokio::select! {
            ending = self.locked_steps(plan, ctx, report, lock_at + 1) => ending,
            lost = self.keep_lock(Arc::clone(&shared)) => lost,
        };
        // Release on every path.
        let release_at = plan
            .steps
            .iter()
            .position(|s| matches!(s.step, Step::ReleaseLock { .. }));
        let handle = lock_value(&shared);
        let started = Instant::now();
        let released = self.adapters.cluster.unlock(&handle).await;
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

    /// Renews the lock until it is lost; returns only then.
    async fn keep_lock(&self, shared: Arc<Mutex<LockHandle>>) -> Ending {
        let mut missed = 0u32;
        loop {
            tokio::time::sleep(self.config.lease_renew_every).await;
            let handle = lock_value(&shared);
            match self.adapters.cluster.renew(&handle).await {
                Ok(renewed) => {
                    missed = 0;
                    if let Ok(mut slot) = shared.lock() {
                        *slot = renewed;
                    }
                }
                Err(error) => {
                    missed += 1;
                    self.observer.progress(&Progress::Note(format!(
                        "lock renewal failed ({missed} in a row): {error}"
                    )));
                    if missed >= 2 {
                        return Ending::Failed(AdapterError::failed(
                            "kubernetes",
                            "keeping the lock",
                            format!(
                                "the lock on namespace `{}` was lost ({error}); the run stopped before any further write — check the Deployments with `neuro-deploy status` and run again",
                                handle.namespace
                            ),
                        ));
                    }
                }
            }
        }
    }

    async fn locked_steps(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        report: &mut Report,
        from: usize,
    ) -> Ending {
        let mut applied: Vec<ImageChange> = Vec::new();
        // What the workloads recorded as their previous version before this run: a rollback
        // restores it, so the trail reads as if the failed deploy never happened.
        let trail = report.facts.target_workloads.known().and_then(|workloads| {
            let mut recorded = workloads.iter().map(|w| w.audit.previous_version.clone());
            let first = recorded.next()??;
            recorded
                .all(|r| r.as_deref() == Some(first.as_str()))
                .then_some(first)
        });
        for index in from..plan.steps.len() {
            let planned = &plan.steps[index];
            match &planned.step {
                Step::ReleaseLock { .. } => break,
                Step::AwaitRollout { workloads, .. } => {
                    let started = self.step_started(planned);
                    let names = workloads.clone().unwrap_or_default();
                    let result = self.await_rollout(&plan.namespace, &names).await;
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
                            let why = match failure {
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
                            };
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
                            return self.roll_back(plan, ctx, &applied, &why, trail).await;
                        }
                    }
                }
                Step::SetImage { changes, .. } => {
                    let started = self.step_started(planned);
                    let changes = changes.clone().unwrap_or_default();
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
                    let audit = self.audit(plan, ctx);
                    // Record before writing: a partial patch must be rolled back too.
                    applied = changes.clone();
                    match self
                        .adapters
                        .cluster
                        .set_images(&plan.namespace, &changes, &audit)
                        .await
                    {
                        Ok(()) => self.step_finished(
                            report,
                            index,
                            started,
                            StepEnd::Ok(Some(format!("{} container(s) changed", changes.len()))),
                        ),
                        Err(error) => {
                            let why = error.to_string();
                            self.step_finished(
                                report,
                                index,
                                started,
                                StepEnd::Stop(Stop::Failed(error)),
                            );
                            return self.roll_back(plan, ctx, &applied, &why, trail).await;
                        }
                    }
                }
                _ => {
                    if let Err(ending) = self.run_step(index, plan, ctx.dry_run, report).await {
                        return ending;
                    }
                }
            }
        }
        Ending::Deployed
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

    async fn roll_back(
        &self,
        plan: &Plan,
        ctx: &RunContext,
        applied: &[ImageChange],
        why: &str,
        trail: Option<String>,
    ) -> Ending {
        if applied.is_empty() {
            return Ending::RolledBack(format!(
                "deploy of {} failed ({why}); nothing had been changed",
                plan.image
            ));
        }
        self.observer.progress(&Progress::Note(format!(
            "rollout failed ({why}); restoring the previous images"
        )));
        let restore: Vec<ImageChange> = applied.iter().map(ImageChange::reverted).collect();
        let audit = DeployAudit {
            version: plan
                .previous_version
                .clone()
                .unwrap_or_else(|| "previous images".to_owned()),
            previous_version: trail,
            deployed_at: ctx.started_at.clone(),
            deployed_by: ctx.holder(),
            change_cause: format!(
                "neuro-deploy: rollout of {} failed ({why}); previous images restored",
                plan.version
            ),
        };
        let mut names: Vec<String> = restore.iter().map(|c| c.workload.clone()).collect();
        names.dedup();
        let restored = match self
            .adapters
            .cluster
            .set_images(&plan.namespace, &restore, &audit)
            .await
        {
            Ok(()) => self.await_rollout(&plan.namespace, &names).await,
            Err(error) => Err(error),
        };
        let previous: Vec<String> = restore
            .iter()
            .map(|c| format!("{}/{}={}", c.workload, c.container, c.image))
            .collect();
        match restored {
            Ok(RolloutResult::Complete) => Ending::RolledBack(format!(
                "rollout of {} failed ({why}); rolled back to the previous images ({})",
                plan.image,
                previous.join(", ")
            )),
            other => {
                let rollback_problem = match other {
                    Ok(RolloutResult::Failed { workload, reason }) => {
                        format!("Deployment `{workload}` failed: {reason}")
                    }
                    Ok(RolloutResult::TimedOut { pending }) => {
                        format!("not complete: {}", pending.join(", "))
                    }
                    Ok(RolloutResult::Complete) => String::new(),
                    Err(error) => error.to_string(),
                };
                Ending::RollbackFailed(format!(
                    "rollout of {} failed ({why}) and restoring the previous images ({}) failed too ({rollback_problem}); an operator is needed: inspect with `kubectl rollout status -n {}`",
                    plan.image,
                    previous.join(", "),
                    plan.namespace
                ))
            }
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

    /// Runs one read-only or image step.
    async fn run_step(
        &self,
        index: usize,
        plan: &Plan,
        dry_run: bool,
        report: &mut Report,
    ) -> Result<(), Ending> {
        let planned = &plan.steps[index];
        let started = self.step_started(planned);
        let end = match &planned.step {
            Step::EnsureImage { image, action } => self.ensure_image(image, action, dry_run).await,
            // Decided from gathered facts by the policy: reaching here means it passed.
            Step::GateImageExists { .. }
            | Step::GateSourceVerified { .. }
            | Step::GateNotDowngrade { .. } => StepEnd::Ok(None),
            Step::GateQueuesDrained { queues, regions } => {
                let (end, samples) = self.wait_for_drained(queues, regions).await;
                report.queues = samples;
                end
            }
            Step::RecheckQueues { queues, regions } => {
                let samples = self.sample_queues(queues, regions).await;
                let end = queue_verdict(&samples, "on the last look after taking the lock");
                report.queues = samples;
                end
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
        image: &crate::model::ImageRef,
        action: &ImageAction,
        dry_run: bool,
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
                match self.adapters.registry.retag(from, &image.tag).await {
                    Ok(done) => {
                        StepEnd::Ok(Some(format!("retagged {from} → {} (no rebuild)", done.tag)))
                    }
                    Err(error) => StepEnd::Stop(Stop::Failed(error)),
                }
            }
            ImageAction::Build { revision } => match &self.adapters.builder {
                Some(builder) => match builder.build(revision, image).await {
                    Ok(built) => StepEnd::Ok(Some(format!("built {revision} as {built}"))),
                    Err(error) => StepEnd::Stop(Stop::Failed(error)),
                },
                None => StepEnd::Stop(Stop::Failed(AdapterError::failed(
                    "neuro-deploy",
                    "build",
                    format!(
                        "no image {image} exists and no builder is configured here; configure `[builder]` or build it in CI first"
                    ),
                ))),
            },
            ImageAction::Resolve { .. } => StepEnd::Stop(Stop::Failed(AdapterError::failed(
                "neuro-deploy",
                "ensure image",
                "the registry was not consulted; this plan is for display only",
            ))),
        }
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
    /// region, within the timeout. Any non-zero or unreadable sample restarts the window.
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
            } else {
                streak = None;
            }
            let elapsed = now.duration_since(start);
            if elapsed >= gate.timeout {
                let waited = if gate.timeout.is_zero() {
                    "on the only look (timeout 0s)".to_owned()
                } else {
                    format!("after waiting {}", format_duration(gate.timeout))
                };
                let end = match queue_verdict(&samples, &waited) {
                    StepEnd::Ok(_) => StepEnd::Stop(Stop::Refused(Reason::new(
                        ReasonCode::QueueNotDrained,
                        format!(
                            "the queues were empty but not yet for {} over {needed} samples {waited}; run again later or shorten `--queue-window`",
                            format_duration(gate.window)
                        ),
                    ))),
                    refused => refused,
                };
                return (end, samples);
            }
            let remaining = gate.timeout - elapsed;
            tokio::time::sleep(gate.poll.min(remaining)).await;
        }
    }

    fn audit(&self, plan: &Plan, ctx: &RunContext) -> DeployAudit {
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
