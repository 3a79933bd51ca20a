//! Approvals are spent: once a deploy has written, the approvals it used are recorded as
//! spent (the deployer may write that record, never the approvals), so the next deploy of that
//! version needs new ones.

use crate::model::Spent;

use super::Executor;
use super::quarantine::STATE_BOUND;
use super::run::{LivePlan, Run};

impl Executor {
    /// Records as spent the approvals `plan` used, after a run that wrote; a record that cannot be
    /// written is a warning in the report, never a changed outcome.
    pub(super) async fn consume_approvals(&self, plan: &LivePlan, run: &mut Run<'_>) {
        let Some(state) = self.adapters.state.as_ref() else {
            return;
        };
        if run.dry_run() || plan.notes.approved_by.is_empty() || run.applied.is_empty() {
            return;
        }
        let used: Vec<Spent> = run
            .facts
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
            .unwrap_or_default();
        let change =
            crate::bounded::within(STATE_BOUND, state.spend_approvals(&plan.namespace, &used));
        if let Err(failure) = change.await {
            run.report.warnings.push(format!(
                "the approvals of {} by {} could not be marked used in `{}` ({failure}); until they expire they would count for another deploy of it — mark them with `kubectl edit configmap {} -n {}`",
                plan.version,
                plan.notes.approved_by.join(", "),
                plan.namespace,
                crate::model::guard::SPENT_NAME,
                plan.namespace
            ));
        }
    }
}
