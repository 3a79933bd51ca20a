//! The deploy's record for people (a GitHub Deployment): created `in_progress` just before the
//! first write — after the lock, the queue re-check and the decision under the lock — and moved
//! to its final state when the run ends. A recorder that fails or hangs never changes the
//! outcome: the report carries a warning saying how to add the record.

use std::time::Duration;

use crate::model::{DeploymentPayload, DeploymentRecord, DeploymentState, Event};
use crate::version::Version;

use super::report::RecordedDeployment;
use super::run::{LivePlan, Run};
use super::{Ending, Executor};

/// How long one call to the recorder may take before the run goes on without it.
const RECORD_BOUND: Duration = Duration::from_secs(20);

impl Executor {
    /// What the record of this deploy says.
    fn deployment_record(&self, plan: &LivePlan, run: &Run<'_>) -> DeploymentRecord {
        let (event, ctx) = (run.event, run.options);
        let environment = plan
            .environment
            .clone()
            .unwrap_or_else(|| plan.namespace.clone());
        let config = plan
            .environment
            .as_deref()
            .and_then(|name| self.config.environment(name));
        // The release tag, or the full commit SHA when the version is a SHA.
        let reference = match event {
            Event::Merged { sha, .. } => sha.to_string(),
            Event::Released { tag, .. } => tag.clone(),
            Event::Promote { version, .. } => version.to_string(),
            Event::Deploy {
                version: Version::GitSha(sha),
                ..
            } => match run.facts.revision.known() {
                Some(Some(full)) => full.to_string(),
                _ => sha.to_string(),
            },
            Event::Deploy { version, .. } => version.to_string(),
            Event::Rollback { .. } => plan.version.clone(),
        };
        let changed = match run
            .report
            .changes
            .as_ref()
            .and_then(|c| c.comparison.as_ref())
        {
            Some(comparison) => format!(" ({})", comparison.summary()),
            None => String::new(),
        };
        DeploymentRecord {
            reference,
            description: format!(
                "{} {} to {environment}{changed}",
                event.kind(),
                plan.version
            ),
            production: config.is_some_and(|c| c.is_promotion_target()),
            environment_url: config.and_then(|c| c.url.clone()),
            log_url: ctx.run_url.clone(),
            environment,
            payload: DeploymentPayload {
                namespace: plan.namespace.clone(),
                version: plan.version.clone(),
                image: plan.image.pinned(),
                digest: plan.image.digest.clone(),
                previous_version: plan.previous_version.clone(),
                deployed_by: ctx.deployed_by(run.facts.actor.known()),
                overridden: plan.notes.overridden(),
                approved_by: plan.notes.approved_by.clone(),
                changes: run.report.changes.clone(),
            },
        }
    }

    /// Creates the record (`in_progress`), once per run, when a recorder is configured.
    pub(super) async fn start_record(&self, plan: &LivePlan, run: &mut Run<'_>) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        if run.report.recorded.is_some() {
            return;
        }
        let record = self.deployment_record(plan, run);
        match crate::bounded::within(RECORD_BOUND, recorder.start(&record)).await {
            Ok(id) => {
                run.report.recorded = Some(RecordedDeployment {
                    id,
                    state: DeploymentState::InProgress,
                });
            }
            Err(why) => run.report.warnings.push(unrecorded(&record, &why)),
        }
    }

    /// Moves the record to the state the run ended in.
    pub(super) async fn finish_record(&self, plan: &LivePlan, run: &mut Run<'_>, ending: &Ending) {
        let (Some(recorder), Some(recorded)) = (&self.recorder, &run.report.recorded) else {
            return;
        };
        let (state, description) = match ending {
            Ending::Deployed | Ending::Converged => (
                DeploymentState::Success,
                format!("{} runs {}", plan.namespace, plan.version),
            ),
            Ending::RolledBack(why)
            | Ending::VerificationFailed(why)
            | Ending::RollbackFailed(why)
            | Ending::Interrupted(why) => (DeploymentState::Failure, why.clone()),
            Ending::Refused(reason) => (DeploymentState::Failure, reason.message.clone()),
            Ending::Failed(error) => (DeploymentState::Error, error.to_string()),
        };
        let id = recorded.id;
        let record = self.deployment_record(plan, run);
        let finished = recorder.finish(id, state, &description, &record);
        match crate::bounded::within(RECORD_BOUND, finished).await {
            Ok(()) => run.report.recorded = Some(RecordedDeployment { id, state }),
            Err(why) => run.report.warnings.push(format!(
                "GitHub Deployment {id} could not be moved to `{}` ({why}); the deploy itself is unaffected",
                state.as_str()
            )),
        }
    }
}

/// The warning for a record that could not be created.
fn unrecorded(record: &DeploymentRecord, why: &str) -> String {
    format!(
        "the deploy could not be recorded as a GitHub Deployment ({why}); the deploy itself is unaffected — add the record afterwards with `neuro-deploy record --env {}`",
        record.environment
    )
}
