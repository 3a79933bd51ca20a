//! The file's simple sections — `[app]`, `[git]`, `[registry]`, `[queues]`, `[rollout]`,
//! `[lock]`, `[builder]` — and their defaults, which equal the process this project automates.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

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
