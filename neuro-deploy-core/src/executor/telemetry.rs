//! Pushing the run's metrics to `[telemetry]`'s Pushgateway: when the lock is taken, when the
//! queue gate starts waiting, and when the run ends (not for a dry run). A push is bounded, and
//! one that fails is a warning in the report, never a changed outcome.

use std::time::Duration;

use super::metrics as telemetry;
use crate::model::Sample;

use super::Executor;
use super::run::Run;

/// How long one push may take (short: one is made while the lock is held, before renewals).
pub const PUSH_BOUND: Duration = Duration::from_secs(5);

impl Executor {
    /// Pushes `samples` into the run's group, when a sink and a Pushgateway are configured.
    pub(super) async fn push_metrics(&self, run: &mut Run<'_>, samples: Vec<Sample>) {
        let (Some(sink), Some(pushgateway)) =
            (&self.metrics, self.config.telemetry.pushgateway.as_deref())
        else {
            return;
        };
        if run.dry_run() {
            return;
        }
        let Some(grouping) = telemetry::grouping(&self.config, &run.report) else {
            return;
        };
        let pushed = sink.push(pushgateway, &grouping, &samples);
        let Err(failure) = crate::bounded::within(PUSH_BOUND, pushed).await else {
            return;
        };
        let warning = format!(
            "the run's metrics could not be pushed to the Pushgateway ({failure}); the run's outcome is unaffected"
        );
        if !run.report.warnings.contains(&warning) {
            run.report.warnings.push(warning);
        }
    }

    /// Pushes what the finished run says about itself.
    pub(super) async fn push_run_metrics(&self, run: &mut Run<'_>) {
        let samples =
            telemetry::run_samples(&run.report, run.instant(), run.elapsed().as_secs_f64());
        self.push_metrics(run, samples).await;
    }
}
