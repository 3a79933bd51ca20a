//! The one place that builds adapters from config and the environment: the real ones, or the
//! playground's simulated world ([`Backend`]).
//!
//! Endpoints and credentials follow each ecosystem's conventions: the AWS default chain and
//! `AWS_ENDPOINT_URL*`; `KUBECONFIG` or in-cluster; `GITHUB_TOKEN` and `GITHUB_API_URL`;
//! `CF_API_KEY` and `CF_URL`; `NEURO_DEPLOY_{PROMETHEUS,ALERTMANAGER,PUSHGATEWAY}_TOKEN`. Nothing here
//! reads a secret into config or logs. The simulated
//! backend reads none of them and builds no AWS, GitHub or Codefresh client.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_aws::{AwsSettings, EcrRegistry, SqsQueues, load_sdk_config};
use neuro_deploy_codefresh::{BuildSettings, CodefreshBuilder};
use neuro_deploy_core::config::BuilderKind;
use neuro_deploy_core::{
    AdapterError, Adapters, Config, ConfigError, DeploymentRecorder, Executor, GitSha,
    HealthChecker, ImageBuilder, ImageRef, MetricsSink, Notifier, QueueInspector, Registry,
    ReleaseSource, Stopped,
};
use neuro_deploy_github::{GithubReleases, GithubSettings};
use neuro_deploy_http::{HttpHealthChecker, WebhookNotifier};
use neuro_deploy_kube::{ClusterChoice, Clusters, KubeCluster, KubeSettings, RolloutProgress};
use neuro_deploy_prometheus::{Monitoring, Pushgateway, Tokens};

use neuro_deploy_command::CommandBuilder;
use neuro_deploy_sim::World;

/// Where the adapters come from.
#[derive(Clone, Default)]
pub enum Backend {
    /// ECR, SQS, GitHub, Codefresh or the build command, from config and the environment.
    #[default]
    Real,
    /// The playground: the in-memory registry, queues, releases and builder of a simulated
    /// world (its Kubernetes is reached through the world's kubeconfig like any cluster).
    Simulated(Arc<World>),
}

/// The config file read by default from the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "neuro-deploy.toml";

/// Loads the configuration: `path` (from `--config` / `NEURO_DEPLOY_CONFIG`) must exist;
/// else `./neuro-deploy.toml` when present; else the built-in defaults. Returns where it came from.
pub fn load_config(path: Option<&Path>) -> Result<(Config, String), ConfigError> {
    let (text, origin) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Parse {
                origin: path.display().to_string(),
                message: format!(
                    "cannot read it ({}); check --config / NEURO_DEPLOY_CONFIG",
                    io_problem(&e)
                ),
            })?;
            (Some(text), path.display().to_string())
        }
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            match std::fs::read_to_string(&default) {
                Ok(text) => (Some(text), DEFAULT_CONFIG_FILE.to_owned()),
                // Only a file that is not there means "use the defaults": one that is there but
                // cannot be read must never fall back to them (they name production).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (None, "built-in defaults".to_owned())
                }
                Err(e) => {
                    return Err(ConfigError::Parse {
                        origin: format!("./{DEFAULT_CONFIG_FILE}"),
                        message: format!(
                            "it exists but cannot be read ({}); fix or remove it, or point --config at the file to use",
                            io_problem(&e)
                        ),
                    });
                }
            }
        }
    };
    let config = match text {
        Some(text) => Config::from_toml(&text, &origin)?,
        None => Config::default(),
    };
    Ok((config, origin))
}

/// Why a file could not be read, in words: "not UTF-8 text" says more than `stream did not
/// contain valid UTF-8`, and a directory is named as such.
pub fn io_problem(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory, not a file".to_owned(),
        _ => error.to_string(),
    }
}

/// AWS settings: the reliability defaults.
fn aws_settings() -> AwsSettings {
    AwsSettings::default()
}

/// The image registry (ECR).
pub async fn registry(backend: &Backend, config: &Config) -> Arc<dyn Registry> {
    if let Backend::Simulated(world) = backend {
        return world.registry.clone();
    }
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if config.registry.region.is_none() && !from_env {
        return Arc::new(NoRegion {
            uri: config.registry.uri.clone(),
        });
    }
    let settings = aws_settings();
    let sdk = load_sdk_config(config.registry.region.as_deref(), &settings).await;
    Arc::new(EcrRegistry::new(
        &sdk,
        &settings,
        &config.registry.repository,
        config.registry.uri.clone(),
    ))
}

/// The registry when no ECR region is known: the repository URI if configured, and for
/// anything that must reach ECR an error that says where the region comes from.
struct NoRegion {
    uri: Option<String>,
}

impl NoRegion {
    fn error() -> AdapterError {
        AdapterError::Refused {
            code: neuro_deploy_core::ReasonCode::InvalidInput,
            message: "no ECR region is known: set `registry.region` in the config or AWS_REGION in the environment (with `registry.uri` set too, `status` and `history` never ask ECR)".to_owned(),
        }
    }
}

#[async_trait]
impl Registry for NoRegion {
    async fn repository_uri(&self) -> Result<String, AdapterError> {
        self.uri.clone().ok_or_else(NoRegion::error)
    }

    async fn find(&self, _: &str) -> Result<Option<ImageRef>, AdapterError> {
        Err(NoRegion::error())
    }

    async fn retag(&self, _: &str, _: &str) -> Result<ImageRef, AdapterError> {
        Err(NoRegion::error())
    }
}

/// The queues (SQS, one client per configured region).
pub async fn queues(backend: &Backend, config: &Config) -> Arc<dyn QueueInspector> {
    if let Backend::Simulated(world) = backend {
        return world.queues.clone();
    }
    Arc::new(SqsQueues::connect(&config.queues.regions, &aws_settings()).await)
}

/// The cluster of one environment: its `kube_context`, else `--context`, else the current one.
/// For what only the Kubernetes adapter offers (the lock commands).
pub async fn kube_cluster(
    config: &Config,
    choice: &ClusterChoice,
    environment: &str,
) -> Result<KubeCluster, Stopped> {
    check_contexts(config, choice, &[environment])?;
    let context = config
        .environment(environment)
        .and_then(|e| e.kube_context.clone())
        .or_else(|| choice.context.clone());
    let choice = ClusterChoice {
        kubeconfig: choice.kubeconfig.clone(),
        context,
    };
    Ok(KubeCluster::connect(&choice, &config.app.selector, KubeSettings::default()).await?)
}

/// `--context` may not contradict the `kube_context` of an environment the run touches: a run
/// must never read or write one environment in another's cluster by accident.
fn check_contexts(
    config: &Config,
    choice: &ClusterChoice,
    environments: &[&str],
) -> Result<(), Stopped> {
    let Some(flag) = &choice.context else {
        return Ok(());
    };
    for name in environments {
        if let Some(own) = config
            .environment(name)
            .and_then(|e| e.kube_context.as_ref())
            && own != flag
        {
            return Err(Stopped::refused(
                neuro_deploy_core::ReasonCode::InvalidInput,
                format!(
                    "`--context {flag}` contradicts environment `{name}`, whose `kube_context` is `{own}`; each environment is read and written in its own cluster — drop `--context` or change the config"
                ),
            ));
        }
    }
    Ok(())
}

/// The clusters: each environment with a `kube_context` in its own, everything else in the
/// chosen (or current) context. `environments` are those the run touches (checked against
/// `--context`).
pub async fn cluster(
    config: &Config,
    choice: &ClusterChoice,
    environments: &[&str],
    progress: Option<RolloutProgress>,
) -> Result<Arc<Clusters>, Stopped> {
    check_contexts(config, choice, environments)?;
    let selector = &config.app.selector;
    let connect = async |choice: &ClusterChoice| -> Result<Arc<KubeCluster>, AdapterError> {
        let cluster = KubeCluster::connect(choice, selector, KubeSettings::default()).await?;
        Ok(Arc::new(match &progress {
            Some(progress) => cluster.with_rollout_progress(Arc::clone(progress)),
            None => cluster,
        }))
    };
    let default = connect(choice).await?;
    let mut clusters = Clusters::new(default);
    let mut by_context: BTreeMap<&str, Arc<KubeCluster>> = BTreeMap::new();
    for env in &config.environments {
        let Some(context) = env.kube_context.as_deref() else {
            continue;
        };
        let cluster = match by_context.get(context) {
            Some(cluster) => Arc::clone(cluster),
            None => {
                let own = ClusterChoice {
                    kubeconfig: choice.kubeconfig.clone(),
                    context: Some(context.to_owned()),
                };
                let cluster = connect(&own).await?;
                by_context.insert(context, Arc::clone(&cluster));
                cluster
            }
        };
        clusters.serve(&env.namespace, cluster);
    }
    Ok(Arc::new(clusters))
}

/// Releases on GitHub, when `git.repository` is configured.
pub fn releases(
    backend: &Backend,
    config: &Config,
) -> Result<Option<Arc<dyn ReleaseSource>>, AdapterError> {
    if let Backend::Simulated(world) = backend {
        return Ok(Some(world.releases.clone()));
    }
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
pub fn required_releases(
    backend: &Backend,
    config: &Config,
) -> Result<Arc<dyn ReleaseSource>, Stopped> {
    releases(backend, config)?
        .ok_or_else(|| Stopped::refused(neuro_deploy_core::ReasonCode::InvalidInput, NO_REPOSITORY))
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

/// The credentials a real run with `config` will need that this environment does not
/// provide, each a sentence naming the variable and what needs it (`config check` prints them).
pub fn credential_warnings(config: &Config, get: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let set = |name: &str| get(name).is_some_and(|v| !v.trim().is_empty());
    let mut warnings = Vec::new();
    if let Some(repository) = &config.git.repository
        && !set("GITHUB_TOKEN")
    {
        warnings.push(format!(
            "GITHUB_TOKEN is not set: release look-ups, hotfixes{} on `{repository}` need it",
            if config.git.deployments {
                " and GitHub Deployments"
            } else {
                ""
            }
        ));
    }
    if config.builder.kind == BuilderKind::Codefresh && !set(neuro_deploy_codefresh::API_KEY_ENV) {
        warnings.push(format!(
            "{} is not set: `[builder] kind = \"codefresh\"` needs it to run the build pipeline `{}`",
            neuro_deploy_codefresh::API_KEY_ENV,
            config.builder.codefresh_pipeline
        ));
    }
    let aws = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    let aws_files = get("HOME").is_some_and(|home| {
        let dir = std::path::Path::new(&home).join(".aws");
        dir.join("credentials").exists() || dir.join("config").exists()
    });
    if !aws.iter().any(|name| set(name)) && !aws_files {
        warnings.push(
            "no AWS credentials are configured here (no AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity or ~/.aws): ECR and the queues need them, unless this runs with an instance or pod role".to_owned(),
        );
    }
    warnings
}

/// The configured image builder.
pub fn builder(backend: &Backend, config: &Config) -> Arc<dyn ImageBuilder> {
    if let Backend::Simulated(world) = backend {
        return world.builder.clone();
    }
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

/// The GitHub Deployments recorder, when `[git] deployments = true` (never in the playground).
pub fn recorder(
    backend: &Backend,
    config: &Config,
) -> Result<Option<Arc<dyn DeploymentRecorder>>, AdapterError> {
    match (backend, &config.git.repository) {
        (Backend::Real, Some(repository)) if config.git.deployments => Ok(Some(Arc::new(
            GithubReleases::from_env(repository, GithubSettings::default())?,
        ))),
        _ => Ok(None),
    }
}

/// The health checker verification probes with.
pub fn health_checker() -> Result<Arc<dyn HealthChecker>, AdapterError> {
    Ok(Arc::new(HttpHealthChecker::new()?))
}

/// `executor` with what the environments' verification needs: the HTTP checker, and the
/// team's monitoring (tokens from the environment) when queries or alerts are configured.
pub fn verification(executor: Executor, config: &Config) -> Result<Executor, AdapterError> {
    let checks: Vec<_> = config
        .environments
        .iter()
        .filter_map(|e| e.verify.as_ref())
        .collect();
    let mut executor = executor;
    if checks.iter().any(|v| !v.http.is_empty()) {
        executor = executor.with_health_checker(health_checker()?);
    }
    if checks
        .iter()
        .any(|v| !v.queries.is_empty() || !v.alerts.is_empty())
    {
        executor = executor.with_signals(Arc::new(Monitoring::new(Tokens::from_env())?));
    }
    Ok(executor)
}

/// The Pushgateway the run's metrics go to, when `[telemetry]` names one (never in the
/// playground).
pub fn metrics(
    backend: &Backend,
    config: &Config,
) -> Result<Option<Arc<dyn MetricsSink>>, AdapterError> {
    match (backend, &config.telemetry.pushgateway) {
        (Backend::Real, Some(_)) => Ok(Some(Arc::new(Pushgateway::new(
            Tokens::from_env().pushgateway,
        )?))),
        _ => Ok(None),
    }
}

/// The webhook notifier, when `NEURO_DEPLOY_WEBHOOK_URL` is set (never in the playground).
pub fn notifier(backend: &Backend) -> Result<Option<Arc<dyn Notifier>>, AdapterError> {
    match backend {
        Backend::Real => Ok(WebhookNotifier::from_env()?.map(|n| Arc::new(n) as Arc<dyn Notifier>)),
        Backend::Simulated(_) => Ok(None),
    }
}

/// Every adapter a deploy needs; `environments` are those the run touches; `progress` hears
/// how rollouts move.
pub async fn adapters(
    backend: &Backend,
    config: &Config,
    choice: &ClusterChoice,
    environments: &[&str],
    progress: Option<RolloutProgress>,
) -> Result<Adapters, Stopped> {
    // The AWS clients (the provider chain, the endpoints, the certificates) are made on
    // another worker while the clusters connect: both are mostly CPU.
    let aws = tokio::spawn({
        let (backend, config) = (backend.clone(), config.clone());
        async move { aws_adapters(&backend, &config).await }
    });
    let clusters = cluster(config, choice, environments, progress).await;
    let aws = match aws.await {
        Ok(aws) => aws,
        Err(failed) => std::panic::resume_unwind(failed.into_panic()),
    };
    assemble(backend, config, clusters?, aws)
}

/// The adapters of a run over `clusters` already connected.
pub async fn adapters_over(
    backend: &Backend,
    config: &Config,
    clusters: Arc<Clusters>,
) -> Result<Adapters, Stopped> {
    let aws = aws_adapters(backend, config).await;
    assemble(backend, config, clusters, aws)
}

/// The registry and the queues: each AWS client loads the provider chain's configuration, all
/// at once.
async fn aws_adapters(
    backend: &Backend,
    config: &Config,
) -> (Arc<dyn Registry>, Arc<dyn QueueInspector>) {
    tokio::join!(registry(backend, config), queues(backend, config))
}

/// The adapters of a run from its parts.
fn assemble(
    backend: &Backend,
    config: &Config,
    clusters: Arc<Clusters>,
    (registry, queues): (Arc<dyn Registry>, Arc<dyn QueueInspector>),
) -> Result<Adapters, Stopped> {
    Ok(Adapters {
        registry,
        builder: Some(builder(backend, config)),
        queues,
        cluster: clusters.clone(),
        releases: releases(backend, config)?,
        // The freeze and the other guardrails live in each environment's cluster.
        state: Some(clusters),
    })
}
