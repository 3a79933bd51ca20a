//! # neuro-deploy-cli
//!
//! The `neuro-deploy` command line (and the `neuro-deploy-codefresh` step binary) over
//! `neuro-deploy-core`, and [`wiring`]: the one place that builds the real adapters (ECR, SQS,
//! Kubernetes, GitHub, Codefresh or a local build command) from config and the environment.
//!
//! **What it is not**: no policy or retry logic lives here. It parses arguments, loads config,
//! builds adapters, calls the library and prints: the result on stdout (text, or one JSON
//! document with `--output json`), logs and progress on stderr.

pub mod args;
pub mod codefresh_step;
pub mod commands;
pub mod identity;
pub mod output;
pub mod signals;
pub mod wiring;

/// Runs a binary's async entry point on a multi-threaded tokio runtime; a runtime that cannot
/// start is exit 1 with the reason on stderr, naming `binary`.
pub fn block_on(
    binary: &str,
    run: impl std::future::Future<Output = neuro_deploy_core::ExitStatus>,
) -> std::process::ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => std::process::ExitCode::from(runtime.block_on(run).code()),
        Err(error) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{binary}: cannot start: {error}");
            std::process::ExitCode::from(1)
        }
    }
}
