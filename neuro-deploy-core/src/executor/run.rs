//! [`Run`]: one run while it runs — what it was asked (the event and its options), its clock,
//! what it acts on (the facts), what it wrote and wrote back — kept
//! apart from the [`Report`] it produces, which only records.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::error::{AdapterError, Reason, ReasonCode};
use crate::model::{Event, ImageChange, ImageRef};
use crate::policy::{Facts, Plan};

use super::report::{Outcome, Report};
use super::run_options::RunOptions;

/// One run's state; every step of the executor takes it by `&mut`, and [`Run::into_report`]
/// ends it into its report.
pub(super) struct Run<'a> {
    /// What is run.
    pub(super) event: &'a Event,
    /// Who runs it, when, and how.
    pub(super) options: &'a RunOptions,
    /// When it started on tokio's clock (paused in tests): the guardrails are judged again
    /// under the lock, and metrics are stamped, at `options.started_at` plus the time since.
    started: Instant,
    /// What the run is decided on: gathered, then read again under the lock.
    pub(super) facts: Facts,
    /// Image changes this run wrote, or may have written (a patch whose answer was lost).
    pub(super) applied: Vec<ImageChange>,
    /// Changes this run wrote back to undo `applied`.
    pub(super) restored: Vec<ImageChange>,
    /// Whether the approvals this run used were recorded as spent (tried once: a failure is a
    /// warning in the report).
    pub(super) approvals_spent: bool,
    /// The report as it is written: the plan's steps as they end, warnings, the record.
    pub(super) report: Report,
}

impl<'a> Run<'a> {
    /// A run of `event` starting now.
    pub(super) fn start(event: &'a Event, options: &'a RunOptions) -> Run<'a> {
        Run {
            event,
            options,
            started: Instant::now(),
            facts: Facts::unknown(),
            applied: Vec::new(),
            restored: Vec::new(),
            approvals_spent: false,
            report: Report::new(event, options.dry_run),
        }
    }

    /// The instant now on the run's clock.
    pub(super) fn instant(&self) -> DateTime<Utc> {
        let since = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.options.started_at + since
    }

    /// How long the run has taken so far.
    pub(super) fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Whether the run writes nothing.
    pub(super) fn dry_run(&self) -> bool {
        self.options.dry_run
    }

    /// Ends the run: `outcome`, its reason code, and one sentence for people.
    pub(super) fn end(
        &mut self,
        outcome: Outcome,
        reason: Option<ReasonCode>,
        message: impl Into<String>,
    ) {
        self.report.conclude(outcome, reason, message);
    }

    /// Ends the run refused (or ignored) for `reason`.
    pub(super) fn refuse(&mut self, reason: Reason) {
        self.report.conclude_refused(reason);
    }

    /// Ends the run failed with `error` (refused when the error is an adapter's refusal).
    pub(super) fn fail(&mut self, error: &AdapterError) {
        self.report.conclude_failed(error);
    }

    /// The report, with what the run acted on and wrote.
    pub(super) fn into_report(self) -> Report {
        let mut report = self.report;
        report.facts = self.facts;
        report.applied = self.applied;
        report.restored = self.restored;
        report
    }
}

/// The plan a live run carries out: the policy's [`Plan`] with the version and image it
/// deploys. A plan decided on live facts always names both (only a plan made offline may
/// not); a run refuses one that does not, rather than guess.
///
/// It reads as the plan it holds (`Deref`), except that `version` and `image` are the known
/// ones, not the plan's `Option`s.
pub(super) struct LivePlan {
    plan: Plan,
    /// The version deployed.
    pub(super) version: String,
    /// The image deployed.
    pub(super) image: ImageRef,
}

impl LivePlan {
    /// The live plan of `plan`, or why it cannot run.
    pub(super) fn new(plan: Plan) -> Result<LivePlan, Reason> {
        match (plan.version.clone(), plan.image.clone()) {
            (Some(version), Some(image)) => Ok(LivePlan {
                plan,
                version,
                image,
            }),
            _ => Err(Reason::new(
                ReasonCode::InvalidInput,
                format!(
                    "the plan for namespace `{}` does not name the image it deploys, so it cannot run; nothing was changed — a plan decided on what was read always does: check that the registry and the cluster were read",
                    plan.namespace
                ),
            )),
        }
    }

    /// The policy's plan.
    pub(super) fn into_plan(self) -> Plan {
        self.plan
    }
}

impl std::ops::Deref for LivePlan {
    type Target = Plan;

    fn deref(&self) -> &Plan {
        &self.plan
    }
}

impl std::ops::DerefMut for LivePlan {
    fn deref_mut(&mut self) -> &mut Plan {
        &mut self.plan
    }
}
