//! [`Preview`]: what a real run would do now, shown before an operator confirms it — every
//! read-only step and gate evaluated (a dry run), the queues looked at once instead of waited
//! for, and a verdict on whether confirming makes sense.

use std::time::Duration;

use crate::error::ReasonCode;
use crate::model::Event;

use super::Executor;
use super::report::{Outcome, Report};
use super::run_context::RunContext;

/// A dry run's report and what it means for the real run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The dry run's report (queues looked at once).
    pub report: Report,
    /// What a real run would do.
    pub verdict: PreviewVerdict,
}

/// What a real run would do, judged from a preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewVerdict {
    /// Every gate passed now; a real run deploys.
    WouldDeploy,
    /// Only the queues are busy now: a real run waits up to `timeout` for them to drain, then
    /// needs them drained for `window`.
    WaitsForQueues {
        /// `queues.timeout`.
        timeout: Duration,
        /// `queues.window`.
        window: Duration,
    },
    /// A real run would not deploy; the report says why.
    WouldNotDeploy,
}

impl PreviewVerdict {
    /// Whether asking an operator to confirm makes sense (the run could deploy).
    pub fn worth_confirming(self) -> bool {
        !matches!(self, PreviewVerdict::WouldNotDeploy)
    }
}

impl Executor {
    /// Previews `event`: a dry run whose queue gate looks once (no window, no wait), so a
    /// preview never holds anyone up; the real run checks everything again.
    pub async fn preview(&self, event: &Event, ctx: &RunContext) -> Preview {
        let queues = &self.config.queues;
        let verdict_when_busy = PreviewVerdict::WaitsForQueues {
            timeout: queues.timeout,
            window: queues.window,
        };
        let mut glance = self.config.clone();
        glance.queues.window = Duration::ZERO;
        glance.queues.timeout = Duration::ZERO;
        let glancing = Executor {
            adapters: self.adapters.clone(),
            config: glance,
            observer: self.observer.clone(),
            interrupt: self.interrupt.clone(),
            health: self.health.clone(),
            recorder: None,
        };
        let ctx = RunContext {
            dry_run: true,
            ..ctx.clone()
        };
        let report = glancing.run(event, &ctx).await;
        let verdict = match (report.outcome, report.reason) {
            (Outcome::WouldDeploy, _) => PreviewVerdict::WouldDeploy,
            (Outcome::Refused, Some(ReasonCode::QueueNotDrained)) => verdict_when_busy,
            _ => PreviewVerdict::WouldNotDeploy,
        };
        Preview { report, verdict }
    }
}
