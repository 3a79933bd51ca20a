//! Approvals are spent: once a deploy has written, the approvals it used are removed from the
//! environment's shared state, so the next deploy of that version needs new ones.

use crate::guard;

use super::Executor;
use super::quarantine::STATE_BOUND;
use super::run::{LivePlan, Run};

impl Executor {
    /// Removes the approvals `plan` used, after a run that wrote; a state that cannot be
    /// written is a warning in the report, never a changed outcome.
    pub(super) async fn consume_approvals(&self, plan: &LivePlan, run: &mut Run<'_>) {
        let Some(state) = self.adapters.state.as_ref() else {
            return;
        };
        if run.dry_run() || plan.notes.approved_by.is_empty() || run.applied.is_empty() {
            return;
        }
        let used = |approval: &crate::model::Approval| {
            approval.version == plan.version && plan.notes.approved_by.contains(&approval.by)
        };
        let change = guard::update_within(state.as_ref(), &plan.namespace, STATE_BOUND, |s| {
            s.approvals.retain(|a| !used(a));
        });
        if let Err(failure) = change.await {
            run.report.warnings.push(format!(
                "the approvals of {} by {} could not be marked used in `{}` ({failure}); remove them with `kubectl edit configmap neuro-deploy -n {}`",
                plan.version,
                plan.notes.approved_by.join(", "),
                plan.namespace,
                plan.namespace
            ));
        }
    }
}
