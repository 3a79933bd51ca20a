//! [`Progress`] as a run goes, and the [`Observer`] that hears it (the binaries print it;
//! library code never does).

use serde::Serialize;

use super::report::{QueueSample, StepStatus};

/// Progress, for binaries to show. Library code never prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "progress", rename_all = "snake_case")]
pub enum Progress {
    /// A step begins.
    StepStarted {
        /// Step kind.
        kind: String,
        /// Why.
        reason: String,
    },
    /// A step ended.
    StepFinished {
        /// Step kind.
        kind: String,
        /// How.
        status: StepStatus,
        /// Details.
        detail: Option<String>,
    },
    /// One look at one queue.
    QueueSample(QueueSample),
    /// Anything else worth a line.
    Note(String),
}

/// Receives [`Progress`].
pub trait Observer: Send + Sync {
    /// Called as things happen.
    fn progress(&self, progress: &Progress);
}

/// An observer that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn progress(&self, _: &Progress) {}
}
