//! The page: an askama template (checked when the crate compiles, every value escaped) over a
//! [`DashboardState`] — the whole page, or only the part inside `<main>`, which the page's
//! script fetches to update itself in place.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::sparkline;
use crate::state::{DashboardState, QueueView};

/// The page, whole or only its `<main>`.
#[derive(Template)]
#[template(path = "page.html")]
struct View<'a> {
    state: &'a DashboardState,
    /// The whole document, or only what goes inside `<main>`.
    whole: bool,
}

impl View<'_> {
    /// An instant as people read it on the page: `2026-12-03 16:44:21 UTC`.
    fn when(&self, at: &DateTime<Utc>) -> String {
        at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }

    /// An optional instant; `-` when unknown.
    fn when_known(&self, at: &Option<DateTime<Utc>>) -> String {
        at.as_ref()
            .map_or_else(|| "-".to_owned(), |at| self.when(at))
    }

    /// A queue's samples as a sparkline's points.
    fn spark(&self, queue: &QueueView) -> String {
        let values: Vec<u64> = queue.samples.iter().map(|p| p.messages).collect();
        sparkline::points(&values)
    }

    /// The sparkline box's `viewBox`.
    fn spark_box(&self) -> String {
        format!("0 0 {} {}", sparkline::WIDTH, sparkline::HEIGHT)
    }
}

/// The whole page for `state`.
pub fn page(state: &DashboardState) -> Result<String, askama::Error> {
    View { state, whole: true }.render()
}

/// Only the part inside `<main>` for `state`.
pub fn fragment(state: &DashboardState) -> Result<String, askama::Error> {
    View {
        state,
        whole: false,
    }
    .render()
}
