//! `neuro-deploy verify --env NAME`: the environment's checks, now, against what runs there; a
//! pass is recorded on its Deployments (what a promotion from it requires).

use neuro_deploy_core::{Executor, ExitStatus, ReasonCode};

use super::{Context, Failure, environment_namespace};
use crate::identity::run_options;
use crate::output::documents::VerifyDocument;
use crate::output::{SCHEMA_VERSION, StderrProgress};
use crate::wiring;

/// Runs the checks and prints the result: exit 0 passed, 3 failed.
pub async fn run(context: &Context, env: &str) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    environment_namespace(config, env)?;
    let adapters =
        wiring::adapters(&context.backend, config, &context.cluster, &[env], None).await?;
    let observer = std::sync::Arc::new(StderrProgress {
        quiet: context.quiet,
    });
    let executor = wiring::verification(Executor::new(adapters, config.clone()), config)?
        .with_observer(observer);
    let verification = executor
        .verify_environment(env, &run_options(false))
        .await?;
    let (status, outcome, reason, text) = if verification.passed {
        (
            ExitStatus::Done,
            "verified",
            None,
            format!(
                "verified: `{env}` runs {} and its checks passed ({}); recorded on its Deployments\n",
                verification.version, verification.detail
            ),
        )
    } else {
        (
            ExitStatus::Refused,
            "refused",
            Some(ReasonCode::VerificationFailed),
            format!(
                "refused (verification_failed): `{env}` runs {} and its checks failed: {}; nothing was rolled back or recorded\n",
                verification.version, verification.detail
            ),
        )
    };
    let document = VerifyDocument {
        outcome,
        reason,
        schema_version: SCHEMA_VERSION,
        verification: &verification,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}
