//! The one place that builds real adapters from config and the environment.
//!
//! Endpoints and credentials follow each ecosystem's conventions: the AWS default chain and
//! `AWS_ENDPOINT_URL*`; `KUBECONFIG` or in-cluster; `GITHUB_TOKEN` and `GITHUB_API_URL`;
//! `CF_API_KEY` and `CF_URL`. Nothing here reads a secret into config or logs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_aws::{AwsSettings, EcrRegistry, SqsQueues, load_sdk_config};
use neuro_deploy_codefresh::{BuildSettings, CodefreshBuilder};
use neuro_deploy_core::config::BuilderKind;
use neuro_deploy_core::{
    AdapterError, Adapters, ClusterDeployer, Config, ConfigError, GitSha, ImageBuilder, ImageRef,
    QueueGateOverrides, QueueInspector, Registry, ReleaseSource,
};
use neuro_deploy_github::{GithubReleases, GithubSettings};
use neuro_deploy_kube::{KubeCluster, KubeSettings};

use neuro_deploy_command::CommandBuilder;

/// The config file read by default from the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "neuro-deploy.toml";

/// Loads the configuration: `path` (from `--config` / `NEURO_DEPLOY_CONFIG`) must exist;
/// else `./neuro-deploy.toml` when present; else the built-in defaults. Returns where it came from.
pub fn load_config(
    path: Option<&Path>,
    overrides: QueueGateOverrides,
) -> Result<(Config, String), ConfigError> {
    let (text, origin) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Parse {
                origin: path.display().to_string(),
                message: format!("cannot read it ({e}); check --config / NEURO_DEPLOY_CONFIG"),
            })?;
            (Some(text), path.display().to_string())
        }
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            match std::fs::read_to_string(&default) {
                Ok(text) => (Some(text), DEFAULT_CONFIG_FILE.to_owned()),
                Err(_) => (None, "built-in defaults".to_owned()),
            }
        }
    };
    let config = match text {
        Some(text) => Config::from_toml(&text, &origin)?,
        None => Config::default(),
    };
    Ok((config.with_queue_overrides(overrides)?, origin))
}

/// AWS settings: the reliability defaults.
fn aws_settings() -> AwsSettings {
    AwsSettings::default()
}

/// The image registry (ECR).
pub async fn registry(config: &Config) -> Arc<dyn Registry> {
    let settings = aws_settings();
    let sdk = load_sdk_config(config.registry.region.as_deref(), &settings).await;
    Arc::new(EcrRegistry::new(
        &sdk,
        &settings,
        &config.registry.repository,
        config.registry.uri.clone(),
    ))
}

/// The queues (SQS, one client per configured region).
pub async fn queues(config: &Config) -> Arc<dyn QueueInspector> {
    Arc::new(SqsQueues::connect(&config.queues.regions, &aws_settings()).await)
}

/// The Kubernetes adapter itself (KUBECONFIG or in-cluster), for what only it offers (the lock
/// commands).
pub async fn kube_cluster(config: &Config) -> Result<KubeCluster, AdapterError> {
    KubeCluster::from_env(&config.app.selector, KubeSettings::default()).await
}

/// The cluster (KUBECONFIG or in-cluster).
pub async fn cluster(config: &Config) -> Result<Arc<dyn ClusterDeployer>, AdapterError> {
    Ok(Arc::new(kube_cluster(config).await?))
}

/// Releases on GitHub, when `git.repository` is configured.
pub fn releases(config: &Config) -> Result<Option<Arc<dyn ReleaseSource>>, AdapterError> {
    match &config.git.repository {
        Some(repository) => Ok(Some(Arc::new(GithubReleases::from_env(
            repository,
            GithubSettings::default(),
        )?))),
        None => Ok(None),
    }
}

const NO_REPOSITORY: &str = "`git.repository` is not set in the config; hotfix commands need the GitHub repository (`owner/name`)";

/// Releases on GitHub, required (hotfix commands).
pub fn required_releases(config: &Config) -> Result<Arc<dyn ReleaseSource>, AdapterError> {
    releases(config)?.ok_or_else(|| AdapterError::Refused {
        code: neuro_deploy_core::ReasonCode::InvalidInput,
        message: NO_REPOSITORY.to_owned(),
    })
}

/// A builder that could not be set up: it explains why when (and only when) a build is needed,
/// so runs that never build (promotion) do not need build credentials.
struct UnavailableBuilder(String);

#[async_trait]
impl ImageBuilder for UnavailableBuilder {
    async fn build(&self, _: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError> {
        Err(AdapterError::failed(
            "builder",
            format!("building {image}"),
            self.0.clone(),
        ))
    }
}

/// The configured image builder.
pub fn builder(config: &Config) -> Arc<dyn ImageBuilder> {
    match config.builder.kind {
        BuilderKind::Command => Arc::new(CommandBuilder::new(
            config.builder.command.clone(),
            config.builder.timeout,
        )),
        BuilderKind::Codefresh => {
            let settings = BuildSettings {
                timeout: config.builder.timeout,
                poll: Duration::from_secs(10),
                request_timeout: Duration::from_secs(30),
            };
            match CodefreshBuilder::from_env(&config.builder.codefresh_pipeline, settings) {
                Ok(builder) => Arc::new(builder),
                Err(error) => Arc::new(UnavailableBuilder(error.to_string())),
            }
        }
    }
}

/// Every adapter a deploy needs.
pub async fn adapters(config: &Config) -> Result<Adapters, AdapterError> {
    Ok(Adapters {
        registry: registry(config).await,
        builder: Some(builder(config)),
        queues: queues(config).await,
        cluster: cluster(config).await?,
        releases: releases(config)?,
    })
}
