//! The queue gate: every queue in every region drained (visible, in flight and delayed all zero)
//! on consecutive samples spanning the window; the timeout bounds only the wait for a busy queue.

use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;

use crate::config::{format_duration, format_elapsed};
use crate::error::{Reason, ReasonCode};
use crate::traits::QueueInspector;

use super::progress::{Observer, Progress};
use super::report::QueueSample;
use super::{Executor, StepEnd, Stop};
use crate::words::counted;

/// Reads every queue in every region concurrently, reporting each sample to `observer`.
/// An unreadable queue is a sample with an error, which counts as not drained.
pub async fn sample_queues(
    inspector: &dyn QueueInspector,
    observer: &dyn Observer,
    queues: &[String],
    regions: &[String],
) -> Vec<QueueSample> {
    let reads = queues.iter().flat_map(|queue| {
        regions.iter().map(move |region| async move {
            let result = inspector.depth(queue, region).await;
            let sample = QueueSample {
                queue: queue.clone(),
                region: region.clone(),
                depth: result.as_ref().ok().copied(),
                error: result.err().map(|e| crate::error::one_line(&e)),
            };
            observer.progress(&Progress::QueueSample(sample.clone()));
            sample
        })
    });
    join_all(reads).await
}

/// When a busy first sample refuses: no waiting is allowed.
const FIRST_LOOK: &str = "on the first look (`--queue-timeout 0s`: no waiting for a busy queue)";

/// The samples that are not drained, described.
fn busy(samples: &[QueueSample]) -> Vec<String> {
    samples
        .iter()
        .filter(|s| !s.is_drained())
        .map(QueueSample::describe)
        .collect()
}

pub(super) fn queue_verdict(samples: &[QueueSample], when: &str) -> StepEnd {
    let busy = busy(samples);
    if busy.is_empty() {
        StepEnd::Ok(Some("every queue is empty in every region".to_owned()))
    } else {
        StepEnd::Stop(Stop::Refused(Reason::new(
            ReasonCode::QueueNotDrained,
            format!(
                "queues not drained {when}: {}; a training job in flight would be lost — wait for the queues to empty and run again",
                busy.join("; ")
            ),
        )))
    }
}

impl Executor {
    /// What a dry run's one look at the queues means for a real run: drained now (the real run
    /// still holds them for the window), busy now (the real run would wait up to the timeout —
    /// not a refusal), or busy with no waiting allowed (`queues.timeout = 0s`: the real run
    /// refuses, and so does the dry run).
    pub(super) fn glance_verdict(&self, samples: &[QueueSample], regions: &[String]) -> StepEnd {
        let gate = &self.config.queues;
        let hold = if gate.window.is_zero() {
            String::new()
        } else {
            format!(
                ", then hold them drained for {}",
                format_duration(gate.window)
            )
        };
        if samples.iter().all(QueueSample::is_drained) {
            return StepEnd::Ok(Some(format!(
                "drained now in {}; a real run samples them again{hold}",
                regions.join(" and ")
            )));
        }
        if gate.timeout.is_zero() {
            return queue_verdict(samples, FIRST_LOOK);
        }
        StepEnd::Skipped(format!(
            "busy now ({}): a real run would wait up to {} for them to drain{hold}",
            busy(samples).join("; "),
            format_duration(gate.timeout)
        ))
    }

    /// Reads every queue in every region concurrently (see [`sample_queues`]).
    pub async fn sample_queues(&self, queues: &[String], regions: &[String]) -> Vec<QueueSample> {
        sample_queues(
            self.adapters.queues.as_ref(),
            self.observer.as_ref(),
            queues,
            regions,
        )
        .await
    }

    /// The queue gate: all counts zero on consecutive samples spanning the window, in every
    /// region. Any non-zero or unreadable sample restarts the window. The timeout bounds the
    /// wait for a drain: a busy sample after it refuses; a drained streak still has to hold for
    /// the whole window (the gate is never weakened), however short the timeout.
    pub(super) async fn wait_for_drained(
        &self,
        queues: &[String],
        regions: &[String],
    ) -> (StepEnd, Vec<QueueSample>) {
        let gate = &self.config.queues;
        let needed = gate.samples_needed();
        let start = Instant::now();
        let mut streak: Option<(Instant, u32)> = None;
        loop {
            let samples = self.sample_queues(queues, regions).await;
            let now = Instant::now();
            if samples.iter().all(QueueSample::is_drained) {
                let (since, count) = streak.get_or_insert((now, 0));
                *count += 1;
                if *count >= needed && now.duration_since(*since) >= gate.window {
                    let detail = format!(
                        "drained in {} for {} over {}",
                        regions.join(" and "),
                        format_elapsed(now.duration_since(*since)),
                        counted(*count as usize, "sample")
                    );
                    return (StepEnd::Ok(Some(detail)), samples);
                }
                let (since, count) = (*since, *count);
                // Wait for the next sample of the streak; never sooner than the window needs.
                let left = gate.window.saturating_sub(now.duration_since(since));
                let wait = if count + 1 >= needed {
                    left.min(gate.poll).max(Duration::from_millis(1))
                } else {
                    gate.poll
                };
                // Past the samples needed only the window is left to wait for.
                let streak = if count < needed {
                    format!("{count} of {}", counted(needed as usize, "sample"))
                } else {
                    counted(count as usize, "sample")
                };
                self.observer.progress(&Progress::Note(format!(
                    "queues clear for {} of {} ({streak}); waited {}",
                    format_elapsed(now.duration_since(since)),
                    format_duration(gate.window),
                    format_elapsed(now.duration_since(start))
                )));
                tokio::time::sleep(wait).await;
                continue;
            }
            streak = None;
            let elapsed = now.duration_since(start);
            if elapsed >= gate.timeout {
                let waited = if gate.timeout.is_zero() {
                    FIRST_LOOK.to_owned()
                } else {
                    format!("after waiting {}", format_duration(gate.timeout))
                };
                return (queue_verdict(&samples, &waited), samples);
            }
            let remaining = gate.timeout - elapsed;
            self.observer.progress(&Progress::Note(format!(
                "queues busy; waited {}, {} left for them to drain",
                format_elapsed(elapsed),
                format_elapsed(remaining)
            )));
            tokio::time::sleep(gate.poll.min(remaining)).await;
        }
    }
}
