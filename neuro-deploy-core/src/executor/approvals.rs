//! Approvals are spent: once a deploy has written, the approvals it used are recorded as
//! spent (the deployer may write that record, never the approvals), so the next deploy of that
//! version needs new ones. Recorded while the rollout is awaited, under the lock; a run that
//! stopped before that (a write failed, it was interrupted) records them when it ends.

use crate::model::Spent;

use super::Executor;
use super::quarantine::STATE_BOUND;
use super::run::{LivePlan, Run};

impl Executor {
    /// Records as spent the approvals `plan` used, after a run that wrote, unless that was done
    /// already (while the rollout was awaited, under the lock: see `locked_steps`); a record
    /// that cannot be written is a warning in the report, never a changed outcome.
    pub(super) async fn consume_approvals(&self, plan: &LivePlan, run: &mut Run<'_>) {
        let used = self.approvals_to_spend(plan, run);
        if used.is_empty() {
            return;
        }
        let warning = self.spend(plan, &used).await;
        run.note_spent(warning);
    }

    /// The approvals `plan` used, when this run wrote and has not recorded them spent yet
    /// (none for a dry run, a run that needed none, or one that wrote nothing).
    pub(super) fn approvals_to_spend(&self, plan: &LivePlan, run: &Run<'_>) -> Vec<Spent> {
        if self.adapters.state.is_none()
            || run.approvals_spent
            || run.dry_run()
            || plan.notes.approved_by.is_empty()
            || run.applied.is_empty()
        {
            return Vec::new();
        }
        run.facts
            .guard
            .known()
            .map(|guard| {
                guard
                    .approvals
                    .iter()
                    .filter(|a| a.version == plan.version && plan.notes.approved_by.contains(&a.by))
                    .map(Spent::of)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records `used` as spent; what to warn about when it could not be.
    pub(super) async fn spend(&self, plan: &LivePlan, used: &[Spent]) -> Option<String> {
        let state = self.adapters.state.as_ref()?;
        let change =
            crate::bounded::within(STATE_BOUND, state.spend_approvals(&plan.namespace, used));
        let failure = change.await.err()?;
        Some(format!(
            "the approvals of {} by {} could not be marked used in `{}` ({failure}); until they expire they would count for another deploy of it — mark them with `kubectl edit configmap {} -n {}`",
            plan.version,
            plan.notes.approved_by.join(", "),
            plan.namespace,
            crate::model::guard::SPENT_NAME,
            plan.namespace
        ))
    }
}

impl Run<'_> {
    /// The approvals were recorded as spent, or `warning` says why not.
    pub(super) fn note_spent(&mut self, warning: Option<String>) {
        self.approvals_spent = true;
        self.report.warnings.extend(warning);
    }
}
