//! `neuro-deploy.toml`: a file layer of optional keys, resolved once into validated settings.
//!
//! With no file at all, [`Config::default`] equals the process this project automates:
//! main branch `main`; environments `dev`, `staging` and `production` in namespaces `dev`,
//! `staging` and `leaf-neuro-ui`; ECR repository `neuro-ui`; queue
//! `sqs_studioml_gorunner_cpu_production_0` in `us-west-2` and `us-east-2`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::model::validate_namespace;

/// Why a configuration was rejected. Each message names the key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML or has an unknown key or a wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from (a path, or `built-in`).
        origin: String,
        /// The parser's explanation, with line and column.
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

/// One deploy target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    /// The name people use (`dev`, `staging`, `production`).
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// What deploys here.
    pub trigger: Trigger,
    /// Set for promotion-only environments (production): only a version verified there may come here.
    pub promote_from: Option<String>,
    /// Wait for drained queues before deploying here (and before rolling back).
    pub queue_gate: bool,
}

impl EnvironmentConfig {
    /// Promotion-only environments cannot take arbitrary deploys.
    pub fn is_promotion_target(&self) -> bool {
        self.promote_from.is_some()
    }
}

/// The queue gate: production waits until these queues are drained in every region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueGateConfig {
    /// Queue names.
    pub names: Vec<String>,
    /// AWS regions, each checked.
    pub regions: Vec<String>,
    /// How long all counts must stay zero; `0s` means one all-zero sample suffices.
    #[serde(with = "humantime_serde_compat")]
    pub window: Duration,
    /// Consecutive all-zero samples needed when the window is not zero.
    pub min_samples: u32,
    /// Time between samples.
    #[serde(with = "humantime_serde_compat")]
    pub poll: Duration,
    /// How long to wait for a busy queue to drain; `0s` means do not wait: a busy first sample
    /// refuses at once, a drained one still has to stay drained for the window.
    #[serde(with = "humantime_serde_compat")]
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

/// How images are built when none exists yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuilderKind {
    /// Run the Codefresh build pipeline through the Codefresh API.
    Codefresh,
    /// Run a local command (argv template).
    Command,
}

/// Image builder settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderConfig {
    /// Which builder.
    pub kind: BuilderKind,
    /// Codefresh pipeline (`project/pipeline`) for `kind = "codefresh"`.
    pub codefresh_pipeline: String,
    /// argv template for `kind = "command"`; `{image}`, `{tag}` and `{revision}` are substituted per argument.
    pub command: Vec<String>,
    /// How long a build may take.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
}

/// Validated settings. Build with [`Config::from_toml`] or [`Config::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// App name (used in messages and the change cause).
    pub app: String,
    /// Label selector of the app's Deployments.
    pub selector: String,
    /// Merges to this branch deploy to the merge environment.
    pub main_branch: String,
    /// Branch patterns releases may target (`*` matches any run of characters).
    pub release_branches: Vec<String>,
    /// Prefix of hotfix branches.
    pub hotfix_prefix: String,
    /// Digits of a short SHA image tag.
    pub short_sha_length: usize,
    /// GitHub repository `owner/name`, for release look-ups and hotfix commands.
    pub github_repository: Option<String>,
    /// ECR repository name.
    pub registry_repository: String,
    /// ECR region (the AWS default region when `None`).
    pub registry_region: Option<String>,
    /// Full repository URI; resolved from ECR when `None`.
    pub registry_uri: Option<String>,
    /// Environments in the order written.
    pub environments: Vec<EnvironmentConfig>,
    /// The queue gate.
    pub queues: QueueGateConfig,
    /// How long a rollout may take before it is rolled back.
    #[serde(with = "humantime_serde_compat")]
    pub rollout_timeout: Duration,
    /// Lease duration of the namespace lock.
    #[serde(with = "humantime_serde_compat")]
    pub lease_duration: Duration,
    /// How often the lease is renewed.
    #[serde(with = "humantime_serde_compat")]
    pub lease_renew_every: Duration,
    /// Image builder.
    pub builder: BuilderConfig,
}

/// The defaults, one place.
mod defaults {
    pub const APP: &str = "neuro-ui";
    pub const SELECTOR: &str = "app.kubernetes.io/part-of=neuro-ui";
    pub const MAIN_BRANCH: &str = "main";
    pub const RELEASE_BRANCHES: [&str; 2] = ["main", "hotfix/*"];
    pub const HOTFIX_PREFIX: &str = "hotfix/";
    pub const SHORT_SHA_LENGTH: usize = 7;
    pub const REPOSITORY: &str = "neuro-ui";
    pub const QUEUE: &str = "sqs_studioml_gorunner_cpu_production_0";
    pub const REGIONS: [&str; 2] = ["us-west-2", "us-east-2"];
    pub const QUEUE_WINDOW_S: u64 = 60;
    pub const QUEUE_MIN_SAMPLES: u32 = 3;
    pub const QUEUE_POLL_S: u64 = 20;
    pub const QUEUE_TIMEOUT_S: u64 = 600;
    pub const ROLLOUT_TIMEOUT_S: u64 = 600;
    pub const LEASE_S: u64 = 60;
    pub const LEASE_RENEW_S: u64 = 20;
    pub const CODEFRESH_PIPELINE: &str = "neuro-ui/build";
    pub const BUILD_TIMEOUT_S: u64 = 1800;
}

impl Default for Config {
    fn default() -> Self {
        let env =
            |name: &str, namespace: &str, trigger, promote_from: Option<&str>| EnvironmentConfig {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                trigger,
                promote_from: promote_from.map(str::to_owned),
                queue_gate: promote_from.is_some(),
            };
        Config {
            app: defaults::APP.to_owned(),
            selector: defaults::SELECTOR.to_owned(),
            main_branch: defaults::MAIN_BRANCH.to_owned(),
            release_branches: defaults::RELEASE_BRANCHES.map(str::to_owned).to_vec(),
            hotfix_prefix: defaults::HOTFIX_PREFIX.to_owned(),
            short_sha_length: defaults::SHORT_SHA_LENGTH,
            github_repository: None,
            registry_repository: defaults::REPOSITORY.to_owned(),
            registry_region: None,
            registry_uri: None,
            environments: vec![
                env("dev", "dev", Trigger::Merge, None),
                env("staging", "staging", Trigger::Release, None),
                env(
                    "production",
                    "leaf-neuro-ui",
                    Trigger::Manual,
                    Some("staging"),
                ),
            ],
            queues: QueueGateConfig {
                names: vec![defaults::QUEUE.to_owned()],
                regions: defaults::REGIONS.map(str::to_owned).to_vec(),
                window: Duration::from_secs(defaults::QUEUE_WINDOW_S),
                min_samples: defaults::QUEUE_MIN_SAMPLES,
                poll: Duration::from_secs(defaults::QUEUE_POLL_S),
                timeout: Duration::from_secs(defaults::QUEUE_TIMEOUT_S),
            },
            rollout_timeout: Duration::from_secs(defaults::ROLLOUT_TIMEOUT_S),
            lease_duration: Duration::from_secs(defaults::LEASE_S),
            lease_renew_every: Duration::from_secs(defaults::LEASE_RENEW_S),
            builder: BuilderConfig {
                kind: BuilderKind::Codefresh,
                codefresh_pipeline: defaults::CODEFRESH_PIPELINE.to_owned(),
                command: Vec::new(),
                timeout: Duration::from_secs(defaults::BUILD_TIMEOUT_S),
            },
        }
    }
}

// ---- the file layer: every key optional, unknown keys refused ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    app: Option<FileApp>,
    git: Option<FileGit>,
    registry: Option<FileRegistry>,
    queues: Option<FileQueues>,
    rollout: Option<FileRollout>,
    lock: Option<FileLock>,
    builder: Option<FileBuilder>,
    environments: Option<Vec<FileEnvironment>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApp {
    name: Option<String>,
    selector: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGit {
    repository: Option<String>,
    main_branch: Option<String>,
    release_branches: Option<Vec<String>>,
    hotfix_prefix: Option<String>,
    short_sha_length: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRegistry {
    repository: Option<String>,
    region: Option<String>,
    uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQueues {
    names: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    window: Option<String>,
    min_samples: Option<u32>,
    poll: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRollout {
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLock {
    lease: Option<String>,
    renew_every: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBuilder {
    kind: Option<BuilderKind>,
    codefresh_pipeline: Option<String>,
    command: Option<Vec<String>>,
    timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEnvironment {
    name: String,
    namespace: String,
    trigger: Trigger,
    promote_from: Option<String>,
    queue_gate: Option<bool>,
}

impl Config {
    /// Parses and validates a `neuro-deploy.toml`. `origin` names the file in messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut config = Config::default();
        let invalid = |key: &str, problem: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key: key.to_owned(),
            problem,
        };
        let duration = |key: &str, text: &str| -> Result<Duration, ConfigError> {
            parse_duration(text).map_err(|problem| invalid(key, problem.to_string()))
        };

        if let Some(app) = file.app {
            set(&mut config.app, app.name);
            set(&mut config.selector, app.selector);
        }
        if let Some(git) = file.git {
            config.github_repository = git.repository.or(config.github_repository);
            set(&mut config.main_branch, git.main_branch);
            set(&mut config.release_branches, git.release_branches);
            set(&mut config.hotfix_prefix, git.hotfix_prefix);
            set(&mut config.short_sha_length, git.short_sha_length);
        }
        if let Some(registry) = file.registry {
            set(&mut config.registry_repository, registry.repository);
            config.registry_region = registry.region;
            config.registry_uri = registry.uri;
        }
        if let Some(queues) = file.queues {
            set(&mut config.queues.names, queues.names);
            set(&mut config.queues.regions, queues.regions);
            set(&mut config.queues.min_samples, queues.min_samples);
            if let Some(text) = queues.window {
                config.queues.window = duration("queues.window", &text)?;
            }
            if let Some(text) = queues.poll {
                config.queues.poll = duration("queues.poll", &text)?;
            }
            if let Some(text) = queues.timeout {
                config.queues.timeout = duration("queues.timeout", &text)?;
            }
        }
        if let Some(rollout) = file.rollout
            && let Some(text) = rollout.timeout
        {
            config.rollout_timeout = duration("rollout.timeout", &text)?;
        }
        if let Some(lock) = file.lock {
            if let Some(text) = lock.lease {
                config.lease_duration = duration("lock.lease", &text)?;
            }
            if let Some(text) = lock.renew_every {
                config.lease_renew_every = duration("lock.renew_every", &text)?;
            }
        }
        if let Some(builder) = file.builder {
            set(&mut config.builder.kind, builder.kind);
            set(
                &mut config.builder.codefresh_pipeline,
                builder.codefresh_pipeline,
            );
            set(&mut config.builder.command, builder.command);
            if let Some(text) = builder.timeout {
                config.builder.timeout = duration("builder.timeout", &text)?;
            }
        }
        if let Some(environments) = file.environments {
            config.environments = environments
                .into_iter()
                .map(|e| EnvironmentConfig {
                    queue_gate: e.queue_gate.unwrap_or(e.promote_from.is_some()),
                    name: e.name,
                    namespace: e.namespace,
                    trigger: e.trigger,
                    promote_from: e.promote_from,
                })
                .collect();
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

    /// Checks every rule; `origin` names the source in the error.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, problem: &str| {
            Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                key,
                problem: problem.to_owned(),
            })
        };
        if self.app.trim().is_empty() {
            return invalid("app.name".into(), "must not be empty");
        }
        if !self.selector.contains('=') {
            return invalid(
                "app.selector".into(),
                "must be a label selector such as `app.kubernetes.io/part-of=neuro-ui`",
            );
        }
        if self.main_branch.trim().is_empty() {
            return invalid("git.main_branch".into(), "must not be empty");
        }
        if self.release_branches.is_empty() || self.release_branches.iter().any(|b| b.is_empty()) {
            return invalid(
                "git.release_branches".into(),
                "must list at least one non-empty branch pattern, e.g. [\"main\", \"hotfix/*\"]",
            );
        }
        if self.hotfix_prefix.is_empty() {
            return invalid(
                "git.hotfix_prefix".into(),
                "must not be empty (default `hotfix/`)",
            );
        }
        if !(7..=40).contains(&self.short_sha_length) {
            return invalid("git.short_sha_length".into(), "must be between 7 and 40");
        }
        if let Some(repo) = &self.github_repository {
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return invalid("git.repository".into(), "must be `owner/name`");
            }
        }
        if self.registry_repository.trim().is_empty() {
            return invalid("registry.repository".into(), "must not be empty");
        }
        if let Some(uri) = &self.registry_uri
            && !uri.ends_with(&format!("/{}", self.registry_repository))
        {
            return invalid(
                "registry.uri".into(),
                "must be the full URI of `registry.repository`, e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui`",
            );
        }
        if self.queues.names.iter().any(|q| q.trim().is_empty()) {
            return invalid("queues.names".into(), "must not contain an empty name");
        }
        if !self.queues.names.is_empty() && self.queues.regions.is_empty() {
            return invalid(
                "queues.regions".into(),
                "must name at least one AWS region when queues are configured",
            );
        }
        if self.queues.min_samples == 0 {
            return invalid("queues.min_samples".into(), "must be at least 1");
        }
        if self.queues.poll.is_zero() {
            return invalid("queues.poll".into(), "must be longer than 0s, e.g. `20s`");
        }
        if self.rollout_timeout.is_zero() {
            return invalid(
                "rollout.timeout".into(),
                "must be longer than 0s, e.g. `10m`",
            );
        }
        if self.lease_duration < Duration::from_secs(15) {
            return invalid("lock.lease".into(), "must be at least 15s");
        }
        if self.lease_renew_every.is_zero()
            || self.lease_renew_every.saturating_mul(2) >= self.lease_duration
        {
            return invalid(
                "lock.renew_every".into(),
                "must be more than 0s and less than half of `lock.lease`, so a renewal can be missed without losing the lock",
            );
        }
        if self.builder.kind == BuilderKind::Command && self.builder.command.is_empty() {
            return invalid(
                "builder.command".into(),
                "must be set when `builder.kind = \"command\"`, e.g. [\"docker\", \"buildx\", \"build\", \"--push\", \"-t\", \"{image}\", \".\"]",
            );
        }
        if self.environments.is_empty() {
            return invalid("environments".into(), "must list at least one environment");
        }
        let mut names = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        for (i, env) in self.environments.iter().enumerate() {
            let key = |field: &str| format!("environments[{i}].{field}");
            if let Err(problem) = validate_env_name(&env.name) {
                return invalid(key("name"), &problem.to_string());
            }
            if !names.insert(env.name.as_str()) {
                return invalid(
                    key("name"),
                    &format!(
                        "`{}` is defined twice; environment names must be unique",
                        env.name
                    ),
                );
            }
            if let Err(problem) = validate_namespace(&env.namespace) {
                return invalid(key("namespace"), &problem.to_string());
            }
            if !namespaces.insert(env.namespace.as_str()) {
                return invalid(
                    key("namespace"),
                    &format!(
                        "`{}` is used by two environments; each environment needs its own namespace",
                        env.namespace
                    ),
                );
            }
        }
        for (i, env) in self.environments.iter().enumerate() {
            if env.name == "production" && env.promote_from.is_none() {
                return invalid(
                    format!("environments[{i}].promote_from"),
                    "must name the environment production promotes from (e.g. `staging`); production is deployed only by promotion",
                );
            }
            if let Some(source) = &env.promote_from {
                if source == &env.name {
                    return invalid(
                        format!("environments[{i}].promote_from"),
                        "must name another environment",
                    );
                }
                if !names.contains(source.as_str()) {
                    return invalid(
                        format!("environments[{i}].promote_from"),
                        &format!("names `{source}`, which is not a configured environment"),
                    );
                }
            }
        }
        for trigger in [Trigger::Merge, Trigger::Release] {
            let count = self
                .environments
                .iter()
                .filter(|e| e.trigger == trigger)
                .count();
            if count > 1 {
                return invalid(
                    "environments".into(),
                    &format!(
                        "at most one environment may have trigger `{}`",
                        trigger_name(trigger)
                    ),
                );
            }
        }
        Ok(())
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
        self.release_branches.iter().any(|p| glob_match(p, branch))
    }

    /// Renders the effective configuration as TOML in the file's layout.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let q = |s: &str| toml_string(s);
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter()
                    .map(|s| toml_string(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let d = |d: Duration| toml_string(&format_duration(d));
        out.push_str(&format!(
            "[app]\nname = {}\nselector = {}\n\n",
            q(&self.app),
            q(&self.selector)
        ));
        out.push_str("[git]\n");
        if let Some(repo) = &self.github_repository {
            out.push_str(&format!("repository = {}\n", q(repo)));
        }
        out.push_str(&format!(
            "main_branch = {}\nrelease_branches = {}\nhotfix_prefix = {}\nshort_sha_length = {}\n\n",
            q(&self.main_branch),
            list(&self.release_branches),
            q(&self.hotfix_prefix),
            self.short_sha_length
        ));
        out.push_str(&format!(
            "[registry]\nrepository = {}\n",
            q(&self.registry_repository)
        ));
        if let Some(region) = &self.registry_region {
            out.push_str(&format!("region = {}\n", q(region)));
        }
        if let Some(uri) = &self.registry_uri {
            out.push_str(&format!("uri = {}\n", q(uri)));
        }
        out.push_str(&format!(
            "\n[queues]\nnames = {}\nregions = {}\nwindow = {}\nmin_samples = {}\npoll = {}\ntimeout = {}\n\n",
            list(&self.queues.names),
            list(&self.queues.regions),
            d(self.queues.window),
            self.queues.min_samples,
            d(self.queues.poll),
            d(self.queues.timeout)
        ));
        out.push_str(&format!(
            "[rollout]\ntimeout = {}\n\n",
            d(self.rollout_timeout)
        ));
        out.push_str(&format!(
            "[lock]\nlease = {}\nrenew_every = {}\n\n",
            d(self.lease_duration),
            d(self.lease_renew_every)
        ));
        let kind = match self.builder.kind {
            BuilderKind::Codefresh => "codefresh",
            BuilderKind::Command => "command",
        };
        out.push_str(&format!(
            "[builder]\nkind = {}\ncodefresh_pipeline = {}\ncommand = {}\ntimeout = {}\n",
            q(kind),
            q(&self.builder.codefresh_pipeline),
            list(&self.builder.command),
            d(self.builder.timeout)
        ));
        for env in &self.environments {
            out.push_str(&format!(
                "\n[[environments]]\nname = {}\nnamespace = {}\ntrigger = {}\n",
                q(&env.name),
                q(&env.namespace),
                q(trigger_name(env.trigger))
            ));
            if let Some(source) = &env.promote_from {
                out.push_str(&format!("promote_from = {}\n", q(source)));
            }
            out.push_str(&format!("queue_gate = {}\n", env.queue_gate));
        }
        out
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn trigger_name(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Merge => "merge",
        Trigger::Release => "release",
        Trigger::Manual => "manual",
    }
}

fn toml_string(s: &str) -> String {
    // TOML basic strings escape like JSON strings.
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Checks an environment name: lowercase letters, digits, `-` and `_`, starting with a letter, at most 63 characters.
pub fn validate_env_name(name: &str) -> Result<(), InputError> {
    let ok = name.len() <= 63
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InputError::EnvironmentName(InputError::shown(name)))
    }
}

/// Parses a duration such as `60s`, `10m`, `1h 30m` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, InputError> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| InputError::Duration {
        text: InputError::shown(text),
        why: e.to_string(),
    })
}

/// Prints a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".to_owned()
    } else {
        humantime::format_duration(d).to_string()
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

/// Serde for `Duration` as humantime strings, for reports and `config show --output json`.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(text: &str) -> String {
        Config::from_toml(text, "test.toml")
            .expect_err("must be rejected")
            .to_string()
    }

    #[test]
    fn defaults_equal_the_seed() {
        let c = Config::default();
        assert_eq!(c.main_branch, "main");
        let ns: Vec<&str> = c
            .environments
            .iter()
            .map(|e| e.namespace.as_str())
            .collect();
        assert_eq!(ns, ["dev", "staging", "leaf-neuro-ui"]);
        assert_eq!(c.queues.names, ["sqs_studioml_gorunner_cpu_production_0"]);
        assert_eq!(c.queues.regions, ["us-west-2", "us-east-2"]);
        assert_eq!(
            c.production().map(|e| e.promote_from.as_deref()),
            Some(Some("staging"))
        );
        assert!(c.validate("built-in").is_ok());
        assert_eq!(
            Config::from_toml("", "empty").expect("empty file is defaults"),
            c
        );
    }

    #[test]
    fn example_file_equals_defaults() {
        let text = include_str!("../../examples/neuro-deploy.toml");
        let parsed = Config::from_toml(text, "examples/neuro-deploy.toml").expect("example parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn to_toml_round_trips() {
        let c = Config::default();
        assert_eq!(
            Config::from_toml(&c.to_toml(), "rendered").expect("parses"),
            c
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let msg = reject("[queues]\nwindw = \"60s\"\n");
        assert!(msg.contains("windw"), "{msg}");
        let top = reject("colour = 1\n");
        assert!(top.contains("colour"), "{top}");
    }

    #[test]
    fn empty_namespace_is_rejected() {
        let msg =
            reject("[[environments]]\nname = \"dev\"\nnamespace = \"\"\ntrigger = \"merge\"\n");
        assert!(msg.contains("environments[0].namespace"), "{msg}");
    }

    #[test]
    fn duplicate_environments_are_rejected() {
        let msg = reject(
            "[[environments]]\nname = \"dev\"\nnamespace = \"a\"\ntrigger = \"merge\"\n\
             [[environments]]\nname = \"dev\"\nnamespace = \"b\"\ntrigger = \"manual\"\n",
        );
        assert!(msg.contains("defined twice"), "{msg}");
    }

    #[test]
    fn production_needs_a_source() {
        let msg = reject(
            "[[environments]]\nname = \"production\"\nnamespace = \"p\"\ntrigger = \"manual\"\n",
        );
        assert!(msg.contains("promote_from"), "{msg}");
        let unknown = reject(
            "[[environments]]\nname = \"production\"\nnamespace = \"p\"\ntrigger = \"manual\"\npromote_from = \"qa\"\n",
        );
        assert!(unknown.contains("`qa`"), "{unknown}");
    }

    #[test]
    fn nonsense_durations_are_rejected() {
        assert!(reject("[queues]\npoll = \"0s\"\n").contains("queues.poll"));
        assert!(reject("[queues]\npoll = \"soon\"\n").contains("not a duration"));
        assert!(reject("[rollout]\ntimeout = \"0s\"\n").contains("rollout.timeout"));
        assert!(
            reject("[lock]\nlease = \"60s\"\nrenew_every = \"40s\"\n").contains("lock.renew_every")
        );
    }

    #[test]
    fn overrides_are_validated() {
        let c = Config::default()
            .with_queue_overrides(QueueGateOverrides {
                window: Some(Duration::ZERO),
                timeout: Some(Duration::ZERO),
                poll: None,
            })
            .expect("look-once is valid");
        assert_eq!(c.queues.samples_needed(), 1);
        // A timeout shorter than the window bounds only the wait for a drain; it is valid.
        let short = Config::default().with_queue_overrides(QueueGateOverrides {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        });
        assert!(short.is_ok(), "{short:?}");
        let bad = Config::default().with_queue_overrides(QueueGateOverrides {
            poll: Some(Duration::ZERO),
            ..Default::default()
        });
        assert!(bad.is_err());
    }

    #[test]
    fn branch_globs() {
        let c = Config::default();
        assert!(c.is_release_branch("main"));
        assert!(c.is_release_branch("hotfix/v1.4.1"));
        assert!(!c.is_release_branch("feature/x"));
        assert!(!c.is_release_branch("mainline"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b", "ab/c"));
    }
}
