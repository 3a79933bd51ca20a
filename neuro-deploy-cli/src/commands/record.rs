//! `neuro-deploy record --env NAME`: what runs in an environment now, recorded as a GitHub
//! Deployment (`success`) — for a deploy whose record could not be written when it ran.

use neuro_deploy_core::policy::EnvironmentStatus;
use neuro_deploy_core::{
    ClusterDeployer, DeploymentPayload, DeploymentRecord, DeploymentState, ExitStatus, ImageRef,
};

use super::{Context, EnvironmentReader, Failure, environment_namespace};
use crate::identity::run_options;
use crate::output::SCHEMA_VERSION;
use crate::output::documents::RecordDocument;
use crate::wiring;

/// Writes the record and prints its id.
pub async fn run(context: &Context, env: &str) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let namespace = environment_namespace(config, env)?;
    let Some(recorder) = wiring::recorder(&context.backend, config)? else {
        return Err(Failure::invalid(match context.backend {
            wiring::Backend::Real => {
                "recording needs `[git] deployments = true` and `git.repository` in the config"
            }
            wiring::Backend::Simulated(_) => {
                "the playground has no GitHub to record to; `history` reads what the Deployments record"
            }
        }));
    };
    let reader = EnvironmentReader::connect(context, Some(env)).await?;
    let repository = reader.repository;
    let workloads = reader.cluster.workloads(&namespace).await?;
    let status = EnvironmentStatus::of(&workloads, &repository);
    let Some(version) = status.version.clone() else {
        return Err(Failure::refused(
            neuro_deploy_core::ReasonCode::NoWorkloads,
            format!(
                "`{env}` does not run one version of {repository}; nothing to record — deploy one version first"
            ),
        ));
    };
    let apps: Vec<_> = neuro_deploy_core::policy::app_workloads(&workloads, &repository).collect();
    let audit = apps.iter().map(|w| &w.audit).find(|a| a.version.is_some());
    let digest = apps.first().and_then(|w| w.app_digest(&repository));
    let image = ImageRef {
        repository: repository.clone(),
        tag: version.clone(),
        digest: digest.clone(),
    };
    let environment = config.environment(env);
    let ctx = run_options(false);
    let record = DeploymentRecord {
        reference: version.clone(),
        environment: env.to_owned(),
        production: environment.is_some_and(|e| e.is_promotion_target()),
        description: format!("recorded: {env} runs {version}"),
        environment_url: environment.and_then(|e| e.url.clone()),
        log_url: ctx.run_url.clone(),
        payload: DeploymentPayload {
            namespace,
            version,
            image: image.pinned(),
            digest,
            previous_version: audit.and_then(|a| a.previous_version.clone()),
            deployed_by: audit
                .and_then(|a| a.deployed_by.clone())
                .unwrap_or_else(|| ctx.holder()),
            overridden: None,
            approved_by: Vec::new(),
            changes: None,
        },
    };
    let id = recorder.start(&record).await?;
    recorder
        .finish(id, DeploymentState::Success, &record.description, &record)
        .await?;
    let text = format!(
        "recorded: GitHub Deployment {id} says `{env}` runs {} (success)\n",
        record.payload.version
    );
    let document = RecordDocument {
        schema_version: SCHEMA_VERSION,
        outcome: "recorded",
        id,
        record: &record,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
