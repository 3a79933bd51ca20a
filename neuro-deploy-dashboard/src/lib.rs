//! # neuro-deploy-dashboard
//!
//! neuro-deploy's read-only dashboard: one page that answers "what runs where, what would the
//! next promotion change, and why isn't it in production yet?" — the pipeline as columns, each
//! pair's gates (the verdicts `promote --dry-run` gives), the queues with sparklines, what
//! changed, and the history. The same data is `GET /api/state` (with a `schema_version`).
//!
//! **What it is**: the data ([`DashboardState`]), the page ([`page`], an askama template checked
//! at compile time), and the server ([`serve`]: axum, GET and HEAD only, a strict
//! Content-Security-Policy, every asset embedded) that reads the world through a [`Reader`]
//! every refresh and serves the latest read.
//!
//! **What it is not**: it reads nothing itself and writes nothing anywhere. Whoever embeds it
//! (the `neuro-deploy dashboard` command) implements [`Reader`] with its adapters, the same
//! facts and the same policy its commands use.

mod page;
mod server;
pub mod sparkline;
pub mod state;

pub use page::{fragment, page};
pub use server::{DashboardError, Reader, ServeOptions, serve};
pub use state::{DashboardState, SCHEMA_VERSION};
