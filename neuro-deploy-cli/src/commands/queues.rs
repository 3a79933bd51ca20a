//! `neuro-deploy queues`: every configured queue in every region, once; exit 3 when any is
//! not drained.

use neuro_deploy_core::{ExitStatus, sample_queues};

use super::{Context, Failure};
use crate::output::documents::QueuesDocument;
use crate::output::{SCHEMA_VERSION, StderrProgress};
use crate::wiring;

/// Samples the queues and prints a table.
pub async fn run(context: &Context) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let inspector = wiring::queues(&context.backend, config).await;
    let progress = StderrProgress {
        quiet: context.quiet,
    };
    let samples = sample_queues(
        inspector.as_ref(),
        &progress,
        &config.queues.names,
        &config.queues.regions,
    )
    .await;
    let drained = samples.iter().all(|s| s.is_drained());
    let status = if drained {
        ExitStatus::Done
    } else {
        ExitStatus::Refused
    };
    let mut text = format!(
        "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
        "QUEUE", "REGION", "VISIBLE", "IN FLIGHT", "DELAYED"
    );
    for s in &samples {
        match (&s.depth, &s.error) {
            (Some(d), _) => text.push_str(&format!(
                "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
                s.queue, s.region, d.visible, d.in_flight, d.delayed
            )),
            (None, e) => text.push_str(&format!(
                "{:<44} {:<10} unreadable: {}\n",
                s.queue,
                s.region,
                e.as_deref().unwrap_or("")
            )),
        }
    }
    text.push_str(if drained {
        "drained in every region\n"
    } else {
        "NOT drained\n"
    });
    let document = QueuesDocument {
        schema_version: SCHEMA_VERSION,
        drained,
        queues: &samples,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}
