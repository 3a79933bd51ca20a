//! `neuro-deploy.toml`, shaped like the file: sections `app`, `git`, `registry`, `queues`,
//! `rollout`, `lock`, `builder` and `environments`, every key optional (its default otherwise),
//! unknown keys refused with their path, durations written as people write them (`20s`, `10m`).
//!
//! With no file at all, [`Config::default`] equals the process this project automates:
//! main branch `main`; environments `dev`, `staging` and `production` in namespaces `dev`,
//! `staging` and `leaf-neuro-ui`; ECR repository `neuro-ui`; queue
//! `sqs_studioml_gorunner_cpu_production_0` in `us-west-2` and `us-east-2`.
//!
//! What it is not: it reads no file and no environment variable (the binaries do) and holds
//! no credential.

mod duration;
mod validate;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use duration::{format_duration, format_elapsed, parse_duration};
pub use validate::validate_env_name;

/// Why a configuration was rejected. Each message names the key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML, or has an unknown key or a wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from (a path, or `built-in`).
        origin: String,
        /// The parser's explanation, with the key's path.
        message: String,
    },
    /// A key has a value that makes no sense.
    #[error("{origin}: `{key}` {problem}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The dotted key, e.g. `queues.poll` or `environments[2].namespace`.
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

/// How an environment is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Every merge to the main branch deploys here.
    Merge,
    /// Every published release deploys here.
    Release,
    /// Only on request (`deploy`, or `promote` when it has `promote_from`).
    Manual,
}

impl Trigger {
    /// The name written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Merge => "merge",
            Trigger::Release => "release",
            Trigger::Manual => "manual",
        }
    }
}

/// `[app]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// App name (used in messages and the change cause).
    pub name: String,
    /// Label selector of the app's Deployments.
    pub selector: String,
}

/// `[git]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitConfig {
    /// GitHub repository `owner/name`, for release look-ups and hotfix commands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Merges to this branch deploy to the merge environment.
    pub main_branch: String,
    /// Branch patterns releases may target (`*` matches any run of characters).
    pub release_branches: Vec<String>,
    /// Prefix of hotfix branches.
    pub hotfix_prefix: String,
    /// Digits of a short SHA image tag.
    pub short_sha_length: usize,
    /// Record every deploy that writes as a GitHub Deployment with its statuses (needs
    /// `repository` and a token with "Deployments: write").
    pub deployments: bool,
}

/// `[registry]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// ECR repository name.
    pub repository: String,
    /// ECR region (the AWS default region when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Full repository URI; resolved from ECR when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `[queues]`: production waits until these queues are drained in every region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueGateConfig {
    /// Queue names.
    pub names: Vec<String>,
    /// AWS regions, each checked.
    pub regions: Vec<String>,
    /// How long all counts must stay zero; `0s` means one all-zero sample suffices.
    #[serde(with = "duration::serde")]
    pub window: Duration,
    /// Consecutive all-zero samples needed when the window is not zero.
    pub min_samples: u32,
    /// Time between samples.
    #[serde(with = "duration::serde")]
    pub poll: Duration,
    /// How long to wait for a busy queue to drain; `0s` means do not wait: a busy first sample
    /// refuses at once, a drained one still has to stay drained for the window.
    #[serde(with = "duration::serde")]
    pub timeout: Duration,
}

impl QueueGateConfig {
    /// How many consecutive all-zero samples drain the gate.
    pub fn samples_needed(&self) -> u32 {
        if self.window.is_zero() {
            1
        } else {
            self.min_samples.max(1)
        }
    }
}

/// `[rollout]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// How long a rollout may take before it is rolled back.
    #[serde(with = "duration::serde")]
    pub timeout: Duration,
}

/// `[lock]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockConfig {
    /// Lease duration of the namespace lock.
    #[serde(with = "duration::serde")]
    pub lease: Duration,
    /// How often the lease is renewed.
    #[serde(with = "duration::serde")]
    pub renew_every: Duration,
    /// How long to wait for another deploy's lock before refusing (`0s`: refuse at once,
    /// exit 5). Flag `--wait-for-lock`.
    #[serde(with = "duration::serde")]
    pub wait: Duration,
}

/// How images are built when none exists yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuilderKind {
    /// Run the Codefresh build pipeline through the Codefresh API.
    Codefresh,
    /// Run a local command (argv template).
    Command,
}

/// `[builder]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuilderConfig {
    /// Which builder.
    pub kind: BuilderKind,
    /// Codefresh pipeline (`project/pipeline`) for `kind = "codefresh"`.
    pub codefresh_pipeline: String,
    /// argv template for `kind = "command"`; `{image}`, `{tag}` and `{revision}` are substituted per argument.
    pub command: Vec<String>,
    /// How long a build may take.
    #[serde(with = "duration::serde")]
    pub timeout: Duration,
}

/// One `[[environments]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// The name people use (`dev`, `staging`, `production`).
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// What deploys here.
    pub trigger: Trigger,
    /// Set for promotion-only environments (production): only a version verified there may come here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote_from: Option<String>,
    /// The kubeconfig context of the cluster this environment lives in (default: `--context`,
    /// else the kubeconfig's current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_context: Option<String>,
    /// Wait for drained queues before deploying here (and before rolling back); defaults to
    /// whether the environment is promotion-only.
    #[serde(
        default,
        rename = "queue_gate",
        skip_serializing_if = "Option::is_none"
    )]
    queue_gate_setting: Option<bool>,
    /// Where people reach the environment (shown on its GitHub Deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `[environments.verify]`: checks that must pass after a rollout completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
}

/// `[environments.verify]`: after the rollout, every URL must answer 2xx on every probe for
/// `for`, probed `every`; each probe is bounded by `timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// URLs probed with GET (`http://` or `https://`).
    pub http: Vec<String>,
    /// How long every probe must keep passing.
    #[serde(
        rename = "for",
        with = "duration::serde",
        default = "VerifyConfig::default_window"
    )]
    pub window: Duration,
    /// Time between probes.
    #[serde(with = "duration::serde", default = "VerifyConfig::default_every")]
    pub every: Duration,
    /// Bound of one probe (never more than `every`).
    #[serde(with = "duration::serde", default = "VerifyConfig::default_timeout")]
    pub timeout: Duration,
}

impl VerifyConfig {
    /// The bound of one probe: `timeout`, but never more than `every`, so probes never overlap.
    pub fn probe_timeout(&self) -> Duration {
        self.timeout.min(self.every)
    }
}

impl VerifyConfig {
    fn default_window() -> Duration {
        Duration::from_secs(120)
    }
    fn default_every() -> Duration {
        Duration::from_secs(10)
    }
    fn default_timeout() -> Duration {
        Duration::from_secs(5)
    }

    /// Checks of `http`, with the default window (2m), interval (10s) and probe bound (5s).
    pub fn new(http: Vec<String>) -> VerifyConfig {
        VerifyConfig {
            http,
            window: Self::default_window(),
            every: Self::default_every(),
            timeout: Self::default_timeout(),
        }
    }
}

/// Which finished runs are notified, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    /// The new version runs.
    Deployed,
    /// A gate said no (other than a held lock).
    Refused,
    /// Another deploy held the lock.
    LockHeld,
    /// The rollout or its verification failed and the previous images were restored.
    RolledBack,
    /// The restore failed too: an operator is needed.
    RollbackFailed,
    /// A signal stopped the run.
    Interrupted,
    /// Something unexpected failed.
    Failed,
}

impl NotifyOn {
    /// Every outcome.
    pub const ALL: [NotifyOn; 7] = [
        NotifyOn::Deployed,
        NotifyOn::Refused,
        NotifyOn::LockHeld,
        NotifyOn::RolledBack,
        NotifyOn::RollbackFailed,
        NotifyOn::Interrupted,
        NotifyOn::Failed,
    ];
}

/// The message a notification carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// A Slack incoming-webhook message (`text` and `blocks`).
    #[default]
    Slack,
    /// The run's JSON report.
    Json,
}

/// `[notify]`: one POST per finished run to `NEURO_DEPLOY_WEBHOOK_URL` (a secret, so it is
/// read from the environment only, never from this file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The message's shape.
    pub format: NotifyFormat,
    /// Outcomes that notify; default: all of them for promotion-only environments (production),
    /// all but `deployed` elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<Vec<NotifyOn>>,
}

impl EnvironmentConfig {
    /// An environment; `queue_gate` defaults to whether it is promotion-only.
    pub fn new(
        name: &str,
        namespace: &str,
        trigger: Trigger,
        promote_from: Option<&str>,
        queue_gate: Option<bool>,
    ) -> EnvironmentConfig {
        EnvironmentConfig {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            trigger,
            promote_from: promote_from.map(str::to_owned),
            kube_context: None,
            queue_gate_setting: Some(queue_gate.unwrap_or(promote_from.is_some())),
            url: None,
            verify: None,
        }
    }

    /// Promotion-only environments cannot take arbitrary deploys.
    pub fn is_promotion_target(&self) -> bool {
        self.promote_from.is_some()
    }

    /// Whether deploys here wait for drained queues.
    pub fn queue_gate(&self) -> bool {
        self.queue_gate_setting
            .unwrap_or(self.is_promotion_target())
    }
}

/// Per-run overrides of the queue gate (CLI flags `--queue-window`, `--queue-timeout`, `--queue-poll`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueGateOverrides {
    /// Replaces `queues.window`.
    pub window: Option<Duration>,
    /// Replaces `queues.timeout`.
    pub timeout: Option<Duration>,
    /// Replaces `queues.poll`.
    pub poll: Option<Duration>,
}

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
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            name: "neuro-ui".to_owned(),
            selector: "app.kubernetes.io/part-of=neuro-ui".to_owned(),
        }
    }
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            repository: None,
            main_branch: "main".to_owned(),
            release_branches: vec!["main".to_owned(), "hotfix/*".to_owned()],
            hotfix_prefix: "hotfix/".to_owned(),
            short_sha_length: 7,
            deployments: false,
        }
    }
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            repository: "neuro-ui".to_owned(),
            region: None,
            uri: None,
        }
    }
}

impl Default for QueueGateConfig {
    fn default() -> Self {
        QueueGateConfig {
            names: vec!["sqs_studioml_gorunner_cpu_production_0".to_owned()],
            regions: vec!["us-west-2".to_owned(), "us-east-2".to_owned()],
            window: Duration::from_secs(60),
            min_samples: 3,
            poll: Duration::from_secs(20),
            timeout: Duration::from_secs(600),
        }
    }
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            timeout: Duration::from_secs(600),
        }
    }
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            lease: Duration::from_secs(60),
            renew_every: Duration::from_secs(20),
            wait: Duration::ZERO,
        }
    }
}

impl Default for BuilderConfig {
    fn default() -> Self {
        BuilderConfig {
            kind: BuilderKind::Codefresh,
            codefresh_pipeline: "neuro-ui/build".to_owned(),
            command: Vec::new(),
            timeout: Duration::from_secs(1800),
        }
    }
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
        }
    }
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
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().message().trim_end().to_owned();
            if path == "." {
                parse_error(message)
            } else {
                parse_error(format!("`{path}` {message}"))
            }
        })?;
        // The effective value of every defaulted key is what `config show` prints.
        for env in &mut config.environments {
            env.queue_gate_setting = Some(env.queue_gate());
        }
        config.validate(origin)?;
        Ok(config)
    }

    /// Applies per-run queue-gate overrides and validates the result again.
    pub fn with_queue_overrides(
        mut self,
        overrides: QueueGateOverrides,
    ) -> Result<Config, ConfigError> {
        set(&mut self.queues.window, overrides.window);
        set(&mut self.queues.timeout, overrides.timeout);
        set(&mut self.queues.poll, overrides.poll);
        self.validate("command line")?;
        Ok(self)
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

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// `*` matches any run of characters (including `/`); everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(tail) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests;
