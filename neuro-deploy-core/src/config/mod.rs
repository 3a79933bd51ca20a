//! `neuro-deploy.toml`, shaped like the file: sections `app`, `git`, `registry`, `queues`,
//! `rollout`, `lock`, `builder`, `environments`, `notify` and `telemetry`, every key optional (its default
//! otherwise), unknown keys refused with their path, durations written as people write them
//! (`20s`, `10m`).
//!
//! With no file at all, [`Config::default`] equals the process this project automates:
//! main branch `main`; environments `dev`, `staging` and `production` in namespaces `dev`,
//! `staging` and `leaf-neuro-ui`; ECR repository `neuro-ui`; queue
//! `sqs_studioml_gorunner_cpu_production_0` in `us-west-2` and `us-east-2`.
//!
//! One concept a file: this file holds [`Config`] (loading, lookups); [`sections`] the simple
//! sections and their defaults; [`environment`] the environments and their checks; [`notify`];
//! [`overrides`] (per-run flags, applied once); [`window`] (deploy windows); [`signals`] (queries, alerts, `[telemetry]`); `validate`, `lenient` (every problem of a file that does not parse), `duration`, [`glob`] and [`error`].
//!
//! What it is not: it reads no file and no environment variable (the binaries do) and holds
//! no credential.

mod duration;
pub mod environment;
pub mod error;
pub mod glob;
mod lenient;
pub mod notify;
pub mod overrides;
pub mod sections;
pub mod signals;
mod validate;
pub mod window;

use serde::{Deserialize, Serialize};

pub use duration::{format_duration, format_elapsed, parse_duration};
pub use environment::{ApprovalsConfig, EnvironmentConfig, Trigger, VerifyConfig};
pub use error::ConfigError;
pub use glob::glob_match;
pub use notify::{NotifyConfig, NotifyFormat, NotifyOn};
pub use overrides::RunOverrides;
pub use sections::{
    AppConfig, BuilderConfig, BuilderKind, GitConfig, LockConfig, QueueGateConfig, RegistryConfig,
    RolloutConfig,
};
pub use signals::{Bound, NoData, QueryCheck, TelemetryConfig};
pub use validate::validate_env_name;
pub use window::{WindowConfig, WindowKind};

/// Validated settings, shaped like the file. Build with [`Config::from_toml`] or
/// [`Config::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[app]`.
    pub app: AppConfig,
    /// `[git]`.
    pub git: GitConfig,
    /// `[registry]`.
    pub registry: RegistryConfig,
    /// `[queues]`.
    pub queues: QueueGateConfig,
    /// `[rollout]`.
    pub rollout: RolloutConfig,
    /// `[lock]`.
    pub lock: LockConfig,
    /// `[builder]`.
    pub builder: BuilderConfig,
    /// `[[environments]]`, in the order written.
    pub environments: Vec<EnvironmentConfig>,
    /// `[notify]`.
    pub notify: NotifyConfig,
    /// `[telemetry]`.
    pub telemetry: TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            app: AppConfig::default(),
            git: GitConfig::default(),
            registry: RegistryConfig::default(),
            queues: QueueGateConfig::default(),
            rollout: RolloutConfig::default(),
            lock: LockConfig::default(),
            builder: BuilderConfig::default(),
            environments: vec![
                EnvironmentConfig::new("dev", "dev", Trigger::Merge, None, None),
                EnvironmentConfig::new("staging", "staging", Trigger::Release, None, None),
                EnvironmentConfig::new(
                    "production",
                    "leaf-neuro-ui",
                    Trigger::Manual,
                    Some("staging"),
                    None,
                ),
            ],
            notify: NotifyConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

/// Every problem of a file whose values do not all parse: the unreadable ones set aside, the
/// rest read and validated. `None` when that finds no more than the first problem.
fn every_problem(text: &str, origin: &str) -> Option<ConfigError> {
    let table: toml::Table = text.parse().ok()?;
    let (config, mut problems) = lenient::read_all(table);
    if let Some(mut config) = config {
        for env in &mut config.environments {
            env.settle_defaults();
        }
        // A stand-in may break a rule of its own (a second `merge` trigger): what is said
        // about a set-aside key or a key holding it waits until the value is fixed.
        let set_aside: Vec<String> = problems.iter().map(|(key, _)| key.clone()).collect();
        let holds = |key: &str, aside: &str| {
            aside == key
                || aside.starts_with(&format!("{key}."))
                || aside.starts_with(&format!("{key}["))
        };
        problems.extend(
            config
                .problems()
                .into_iter()
                .filter(|(key, _)| !set_aside.iter().any(|aside| holds(key, aside))),
        );
    }
    (problems.len() > 1).then(|| ConfigError::Problems {
        origin: origin.to_owned(),
        problems,
    })
}

impl Config {
    /// Parses and validates a `neuro-deploy.toml`. `origin` names the file in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            origin: origin.to_owned(),
            message,
        };
        let deserializer = toml::de::Deserializer::parse(text)
            .map_err(|e| parse_error(e.to_string().trim_end().to_owned()))?;
        let mut config: Config = match serde_path_to_error::deserialize(deserializer) {
            Ok(config) => config,
            Err(e) => {
                let path = e.path().to_string();
                let message = e.inner().message().trim_end().to_owned();
                let first = if path == "." {
                    parse_error(message)
                } else {
                    parse_error(format!("`{path}` {message}"))
                };
                return Err(every_problem(text, origin).unwrap_or(first));
            }
        };
        // The effective value of every defaulted key is what `config show` prints.
        for env in &mut config.environments {
            env.settle_defaults();
        }
        config.validate(origin)?;
        Ok(config)
    }

    /// The environment with that name.
    pub fn environment(&self, name: &str) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The environment deployed in that namespace.
    pub fn environment_for_namespace(&self, namespace: &str) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.namespace == namespace)
    }

    /// The environment with that trigger.
    pub fn environment_for_trigger(&self, trigger: Trigger) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.trigger == trigger)
    }

    /// The first promotion-only environment (production).
    pub fn production(&self) -> Option<&EnvironmentConfig> {
        self.environments.iter().find(|e| e.is_promotion_target())
    }

    /// Whether `branch` matches a release-branch pattern.
    pub fn is_release_branch(&self, branch: &str) -> bool {
        self.git
            .release_branches
            .iter()
            .any(|p| glob_match(p, branch))
    }

    /// The effective configuration as TOML, in the file's layout (what `config show` prints).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
