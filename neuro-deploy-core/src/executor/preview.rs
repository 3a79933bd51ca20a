//! [`Preview`]: what a real run would do now, shown before an operator confirms it — every
//! read-only step and gate evaluated (a dry run, which looks at the queues once instead of
//! waiting for them), and a verdict on whether confirming makes sense.

use std::time::Duration;

use crate::model::Event;

use super::Executor;
use super::report::{Outcome, Report};
use super::run_options::RunOptions;

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
    /// Previews `event`: a dry run (every read-only step and gate; the queues looked at once,
    /// never waited for) and what it means for a real run. The real run checks everything again.
    pub async fn preview(&self, event: &Event, ctx: &RunOptions) -> Preview {
        let ctx = RunOptions {
            dry_run: true,
            ..ctx.clone()
        };
        let report = self.run(event, &ctx).await;
        let verdict = match report.outcome {
            Outcome::WouldDeploy if report.waits_for_queues() => PreviewVerdict::WaitsForQueues {
                timeout: self.config.queues.timeout,
                window: self.config.queues.window,
            },
            Outcome::WouldDeploy => PreviewVerdict::WouldDeploy,
            _ => PreviewVerdict::WouldNotDeploy,
        };
        Preview { report, verdict }
    }
}
