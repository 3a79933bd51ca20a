//! # neuro-deploy-codefresh
//!
//! The Codefresh adapter of neuro-deploy:
//! - [`PipelineRequest::from_env`]: what a pipeline step was triggered for — a merge
//!   (`CF_BRANCH`, `CF_REVISION`), a GitHub release (`CF_RELEASE_TAG`, `CF_PRERELEASE_FLAG`) or the
//!   team's manual form (`NAMESPACE` + `NEURO_UI_VERSION` / `neuro-ui_VERSION`) — and the core event for it;
//! - [`cf_export`]: hand variables to later steps the way `cf_export` does;
//! - [`CodefreshBuilder`]: the core's `ImageBuilder`, running the `build` pipeline through the
//!   Codefresh API (`CF_URL`, `CF_API_KEY`) without ever starting a second build of a revision.
//!
//! **What it is not**: the `neuro-deploy-codefresh` binary is built by the `neuro-deploy-cli`
//! package, because it reuses the CLI's wiring (the one place that builds adapters from config)
//! and that wiring needs this crate's builder — cargo does not allow the cycle the other way.

mod builder;
mod pipeline;

pub use builder::{API_KEY_ENV, BuildSettings, CodefreshBuilder, DEFAULT_URL, URL_ENV};
pub use pipeline::{
    DEFAULT_VOLUME, EXPORT_FILE, EnvError, PipelineRequest, VARIABLES, cf_export, export_file,
};
