//! Quarantine: a version whose rollout or verification failed in an environment (exit 4, or
//! worse), and the version a `rollback` moved away from, are recorded in the environment's
//! shared state, so no later run — a re-run pipeline, a release event, `deploy`, `promote` —
//! deploys them there again until someone clears them on the record.

use std::time::Duration;

use crate::model::{Event, QuarantineReason, Quarantined};

use super::run::{LivePlan, Run};
use super::{Ending, Executor};

/// How long a change to the shared state after the deploy may take (recording a quarantine,
/// consuming approvals); past it the report carries a warning.
pub(super) const STATE_BOUND: Duration = Duration::from_secs(20);

impl Executor {
    /// Quarantines what this run found bad in its environment; a state that cannot be written
    /// is a warning in the report, never a changed outcome.
    pub(super) async fn quarantine(&self, plan: &LivePlan, run: &mut Run<'_>, ending: &Ending) {
        let Some(state) = self.adapters.state.as_ref().filter(|_| !run.dry_run()) else {
            return;
        };
        let (version, reason, detail) = match (ending, run.event) {
            (Ending::RolledBack(why), _) => (
                plan.version.clone(),
                QuarantineReason::RolloutFailed,
                why.clone(),
            ),
            (Ending::RollbackFailed(why), _) => (
                plan.version.clone(),
                QuarantineReason::RollbackFailed,
                why.clone(),
            ),
            (Ending::VerificationFailed(why), _) => (
                plan.version.clone(),
                QuarantineReason::VerificationFailed,
                why.clone(),
            ),
            (Ending::Deployed, Event::Rollback { .. }) => match &plan.previous_version {
                Some(left) => (
                    left.clone(),
                    QuarantineReason::RolledBackFrom,
                    format!(
                        "`rollback` moved `{}` back to {}",
                        plan.namespace, plan.version
                    ),
                ),
                None => return,
            },
            _ => return,
        };
        let entry = Quarantined {
            version: version.clone(),
            by: run.options.identity.clone(),
            at: run.options.started_at,
            reason: Some(reason),
            detail,
            cleared: None,
        };
        let change =
            crate::bounded::within(STATE_BOUND, state.add_quarantine(&plan.namespace, &entry));
        let place = plan.environment.as_deref().unwrap_or(&plan.namespace);
        let Err(failure) = change.await else {
            run.report.quarantined = Some(format!(
                "{version} is quarantined in `{place}`: no run but `rollback` deploys it there until `neuro-deploy quarantine clear {version} --env {place} --reason TEXT`"
            ));
            return;
        };
        run.report.warnings.push(format!(
            "{version} could not be quarantined in `{}` ({failure}); nothing stops a later run from deploying it there again",
            plan.namespace
        ));
    }
}
