//! What a run reports: the [`Report`] (outcome, steps, facts, queue samples, what was applied
//! and restored).
//!
//! What it is not: no logic beyond the report's own bookkeeping (the exit code of an outcome).

use serde::{Deserialize, Serialize};

use crate::error::{AdapterError, ExitStatus, Reason, ReasonCode};
use crate::model::{DeploymentState, Event, ImageChange, QueueDepth};
use crate::policy::Facts;

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

    pub(super) fn describe(&self) -> String {
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
    /// An offline plan (`neuro-deploy plan`): nothing was looked up or written.
    Planned,
}

impl Outcome {
    /// The snake_case word reports spell it with (`deployed`, `rolled_back` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deployed => "deployed",
            Outcome::WouldDeploy => "would_deploy",
            Outcome::Ignored => "ignored",
            Outcome::Refused => "refused",
            Outcome::RolledBack => "rolled_back",
            Outcome::RollbackFailed => "rollback_failed",
            Outcome::Failed => "failed",
            Outcome::ImageReady => "image_ready",
            Outcome::Interrupted => "interrupted",
            Outcome::Planned => "planned",
        }
    }
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
    /// The causes behind an unexpected failure, outermost first (the SDK's and transport's
    /// errors, each once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
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
    /// What the deploy changes: versions, digests, and the commits between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::model::Changes>,
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
    /// The record of this deploy (a GitHub Deployment), when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<RecordedDeployment>,
    /// What went wrong without changing the outcome: a record or a notification that could
    /// not be written, and how to add it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the deploy's record says beyond what it set (`overridden`: why closed gates let it
    /// through, as written to `neuro-deploy.io/override`; `approved_by`: the approvals it used).
    #[serde(flatten)]
    pub notes: crate::model::DeployNotes,
    /// The version this run quarantined in its environment (a failed rollout or verification,
    /// or what a rollback moved away from), and how to clear it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined: Option<String>,
}

/// The record a run wrote about its deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDeployment {
    /// Its id (the GitHub Deployment id).
    pub id: u64,
    /// Its latest state.
    pub state: DeploymentState,
}

impl Report {
    /// Whether the last look at the queues found one not drained (or unreadable).
    pub fn queues_busy(&self) -> bool {
        self.queues.iter().any(|sample| !sample.is_drained())
    }

    /// Whether a real run would wait for the queues: they are busy and the queue gate applies
    /// (an operator who skipped it has them read once and recorded, never waited for).
    pub fn waits_for_queues(&self) -> bool {
        self.queues_busy() && self.steps.iter().any(|s| s.kind == "gate_queues_drained")
    }

    /// Whether the operator skipped the queue gate for this run.
    pub fn queue_gate_skipped(&self) -> bool {
        self.steps.iter().any(|s| s.kind == "queue_gate_skipped")
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitStatus {
        match self.outcome {
            Outcome::Deployed
            | Outcome::WouldDeploy
            | Outcome::Ignored
            | Outcome::ImageReady
            | Outcome::Planned => ExitStatus::Done,
            Outcome::Refused => self
                .reason
                .map_or(ExitStatus::Refused, ReasonCode::exit_code),
            Outcome::RolledBack => ExitStatus::RolledBack,
            Outcome::RollbackFailed => ExitStatus::RollbackFailed,
            Outcome::Failed => ExitStatus::Failed,
            Outcome::Interrupted => ExitStatus::Interrupted,
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

    pub(super) fn new(event: &Event, dry_run: bool) -> Report {
        Report {
            outcome: Outcome::Failed,
            reason: None,
            message: String::new(),
            causes: Vec::new(),
            event: event.clone(),
            dry_run,
            environment: None,
            namespace: None,
            version: None,
            image: None,
            previous_version: None,
            facts: Facts::unknown(),
            changes: None,
            steps: Vec::new(),
            queues: Vec::new(),
            applied: Vec::new(),
            restored: Vec::new(),
            recorded: None,
            warnings: Vec::new(),
            notes: crate::model::DeployNotes::default(),
            quarantined: None,
        }
    }

    pub(super) fn end(
        mut self,
        outcome: Outcome,
        reason: Option<ReasonCode>,
        message: impl Into<String>,
    ) -> Report {
        self.conclude(outcome, reason, message);
        self
    }

    /// Sets how the run ended.
    pub(super) fn conclude(
        &mut self,
        outcome: Outcome,
        reason: Option<ReasonCode>,
        message: impl Into<String>,
    ) {
        self.outcome = outcome;
        self.reason = reason;
        self.message = message.into();
    }

    /// A report for an event refused or ignored before any fact was gathered.
    pub fn from_reason(event: &Event, dry_run: bool, reason: Reason) -> Report {
        Report::new(event, dry_run).refused(reason)
    }

    pub(super) fn refused(mut self, reason: Reason) -> Report {
        self.conclude_refused(reason);
        self
    }

    /// Sets the run refused (or ignored) for `reason`.
    pub(super) fn conclude_refused(&mut self, reason: Reason) {
        let outcome = if reason.code.is_ignore() {
            Outcome::Ignored
        } else {
            Outcome::Refused
        };
        self.conclude(outcome, Some(reason.code), reason.message);
    }

    /// Sets the run failed with `error` (refused when the error is an adapter's refusal).
    pub(super) fn conclude_failed(&mut self, error: &AdapterError) {
        match error.reason_code() {
            Some(code) => self.conclude_refused(Reason::new(code, error.to_string())),
            None => self.conclude(Outcome::Failed, None, error.to_string()),
        }
        self.causes = crate::error::causes(error);
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn an_outcome_is_spelled_as_its_json() {
        for outcome in [
            Outcome::Deployed,
            Outcome::WouldDeploy,
            Outcome::Ignored,
            Outcome::Refused,
            Outcome::RolledBack,
            Outcome::RollbackFailed,
            Outcome::Failed,
            Outcome::ImageReady,
            Outcome::Interrupted,
            Outcome::Planned,
        ] {
            let json = serde_json::to_string(&outcome).expect("serializes");
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
    }
}
