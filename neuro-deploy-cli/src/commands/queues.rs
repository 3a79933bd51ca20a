//! `neuro-deploy queues`: every configured queue in every region, once. Exit 0 when every queue
//! was read and is empty, 3 when every queue was read and one is busy, 1 when a queue could not
//! be read (naming why) — so `until neuro-deploy queues; [ $? -ne 3 ]; do sleep 60; done` waits
//! for busy queues but stops on a credentials or network problem.

use neuro_deploy_core::{ExitStatus, sample_queues};

use super::{Context, Failure};
use crate::output::documents::QueuesDocument;
use crate::output::{SCHEMA_VERSION, StderrProgress};
use crate::wiring;

/// Samples the queues and prints a table.
pub async fn run(context: &Context) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let inspector = wiring::queues(&context.backend, config).await;
    // The table says everything; progress on stderr would say each failure again.
    let progress = StderrProgress { quiet: true };
    let samples = sample_queues(
        inspector.as_ref(),
        &progress,
        &config.queues.names,
        &config.queues.regions,
    )
    .await;
    let drained = samples.iter().all(|s| s.is_drained());
    let unreadable: Vec<_> = samples.iter().filter(|s| s.depth.is_none()).collect();
    let status = if drained {
        ExitStatus::Done
    } else if unreadable.is_empty() {
        ExitStatus::Refused
    } else {
        ExitStatus::Failed
    };
    let mut text = format!(
        "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
        "QUEUE", "REGION", "VISIBLE", "IN FLIGHT", "DELAYED"
    );
    for s in &samples {
        match &s.depth {
            Some(d) => text.push_str(&format!(
                "{:<44} {:<10} {:>8} {:>10} {:>8}\n",
                s.queue, s.region, d.visible, d.in_flight, d.delayed
            )),
            None => text.push_str(&format!(
                "{:<44} {:<10} {:>8}\n",
                s.queue, s.region, "unreadable"
            )),
        }
    }
    text.push_str(match status {
        ExitStatus::Done => "drained in every region\n",
        ExitStatus::Refused => "NOT drained\n",
        _ => "NOT known: a queue could not be read\n",
    });
    // One reason said once: missing credentials fail every queue in every region alike.
    let mut reasons: Vec<(String, String, Vec<String>)> = Vec::new();
    for s in unreadable {
        let error = s.error.clone().unwrap_or_else(|| "no answer".to_owned());
        let alike = error.replace(&s.queue, "").replace(&s.region, "");
        let place = format!("{} in {}", s.queue, s.region);
        match reasons.iter_mut().find(|(known, _, _)| *known == alike) {
            Some((_, _, places)) => places.push(place),
            None => reasons.push((alike, error, vec![place])),
        }
    }
    for (_, error, places) in reasons {
        let (first, others) = places
            .split_first()
            .map_or(("", &[][..]), |(f, o)| (f.as_str(), o));
        text.push_str(&format!("{first} could not be read: {error}\n"));
        if !others.is_empty() {
            text.push_str(&format!("  the same for {}\n", others.join(", ")));
        }
    }
    let document = QueuesDocument {
        schema_version: SCHEMA_VERSION,
        drained,
        queues: &samples,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}
