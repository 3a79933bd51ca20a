//! Where an event deploys, from config alone: environment, namespace, version, promotion source,
//! queue gate ([`Target`]); events that cannot deploy at all are ignored or refused here.

use serde::{Deserialize, Serialize};

use crate::config::{Config, EnvironmentConfig, Trigger};
use crate::error::{Reason, ReasonCode};
use crate::model::{DeployTarget, Event, ReleaseTarget, validate_namespace};
use crate::version::{GitSha, ReleaseTag, Version};

/// Where an event deploys, resolved from config before any fact is gathered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Environment name, when the namespace belongs to one.
    pub environment: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// The version, when the event names it (rollback learns it from the workloads).
    pub version: Option<Version>,
    /// The commit to build or whose image to retag, when the event names it.
    pub commit: Option<GitSha>,
    /// The promotion source (environment, namespace).
    pub source: Option<(String, String)>,
    /// Whether the queue gate applies.
    pub queue_gate: bool,
    /// An operator's reason for skipping the queue gate (emergency rollback only).
    pub skip_queue_gate: Option<String>,
    /// Whether the environment's verification runs after the rollout (not after a rollback:
    /// a failing check cannot undo going back).
    pub verify: bool,
    /// Whether the promotion source has verification configured: then only a version whose
    /// verification passed there counts as verified.
    pub source_verifies: bool,
}

impl Target {
    fn in_env(env: &EnvironmentConfig, version: Option<Version>, commit: Option<GitSha>) -> Self {
        Target {
            environment: Some(env.name.clone()),
            namespace: env.namespace.clone(),
            version,
            commit,
            source: None,
            queue_gate: env.queue_gate(),
            skip_queue_gate: None,
            verify: env.verify.is_some(),
            source_verifies: false,
        }
    }
}

pub(crate) fn refuse(code: ReasonCode, message: impl Into<String>) -> Reason {
    Reason::new(code, message)
}

pub(crate) fn ignore(code: ReasonCode, message: impl Into<String>) -> Reason {
    Reason::new(code, message)
}

pub(crate) fn env_by_trigger(
    config: &Config,
    trigger: Trigger,
    what: &str,
) -> Result<EnvironmentConfig, Reason> {
    config.environment_for_trigger(trigger).cloned().ok_or_else(|| {
        refuse(
            ReasonCode::InvalidInput,
            format!(
                "no environment has `trigger = \"{what}\"` in the config; add one to deploy {what}s"
            ),
        )
    })
}

/// Resolves where an event deploys (environment, namespace, version) from config alone.
/// `Err` carries the ignore or refusal (see [`ReasonCode::is_ignore`]) when the event cannot deploy at all.
pub fn target(event: &Event, config: &Config) -> Result<Target, Reason> {
    match event {
        Event::Merged { branch, sha } => {
            if branch != &config.git.main_branch {
                return Err(ignore(
                    ReasonCode::NotReleaseBranch,
                    format!(
                        "merges to `{branch}` are not deployed; only merges to `{}` deploy automatically (use `deploy` for anything else)",
                        config.git.main_branch
                    ),
                ));
            }
            let env = env_by_trigger(config, Trigger::Merge, "merge")?;
            Ok(Target::in_env(
                &env,
                Some(Version::GitSha(sha.clone())),
                Some(sha.clone()),
            ))
        }
        Event::Released {
            tag,
            sha,
            target_branch,
            draft,
            ..
        } => {
            if *draft {
                return Err(ignore(
                    ReasonCode::DraftRelease,
                    format!("release `{tag}` is a draft; publish it to deploy it"),
                ));
            }
            let release = ReleaseTag::parse(tag).map_err(|e| {
                refuse(
                    ReasonCode::NotARelease,
                    format!(
                        "release tag {e}; create the release with a SemVer tag such as `v1.4.0`"
                    ),
                )
            })?;
            if let Some(ReleaseTarget::Branch(branch)) = target_branch
                && !config.is_release_branch(branch)
            {
                return Err(ignore(
                    ReasonCode::NotReleaseBranch,
                    format!(
                        "release `{tag}` targets `{branch}`, which is not a release branch ({}); it is not deployed",
                        config.git.release_branches.join(", ")
                    ),
                ));
            }
            let env = env_by_trigger(config, Trigger::Release, "release")?;
            Ok(Target::in_env(
                &env,
                Some(Version::Release(release)),
                sha.clone(),
            ))
        }
        Event::Promote { version, to, .. } => {
            let env = match to {
                Some(name) => config.environment(name).ok_or_else(|| unknown_env(config, name))?,
                None => config.production().ok_or_else(|| {
                    refuse(
                        ReasonCode::InvalidInput,
                        "no environment has `promote_from` in the config, so there is nothing to promote to",
                    )
                })?,
            };
            let Some(source_name) = &env.promote_from else {
                return Err(refuse(
                    ReasonCode::InvalidInput,
                    format!(
                        "environment `{}` is not promotion-only (it has no `promote_from`); use `deploy {version} --env {}` instead",
                        env.name, env.name
                    ),
                ));
            };
            if version.as_release().is_none() {
                return Err(refuse(
                    ReasonCode::NotARelease,
                    format!(
                        "`{version}` is a git SHA; only a release (SemVer tag) verified on `{source_name}` can be promoted to `{}`",
                        env.name
                    ),
                ));
            }
            let source = config.environment(source_name);
            let mut target = Target::in_env(env, Some(version.clone()), None);
            target.source = source.map(|s| (s.name.clone(), s.namespace.clone()));
            target.source_verifies = source.is_some_and(|s| s.verify.is_some());
            Ok(target)
        }
        Event::Deploy { version, target } => {
            let (env, namespace) = match target {
                DeployTarget::Environment(name) => {
                    let env = config
                        .environment(name)
                        .ok_or_else(|| unknown_env(config, name))?;
                    (Some(env), env.namespace.clone())
                }
                DeployTarget::Namespace(ns) => {
                    validate_namespace(ns)
                        .map_err(|e| refuse(ReasonCode::InvalidInput, e.to_string()))?;
                    (config.environment_for_namespace(ns), ns.clone())
                }
            };
            if let Some(env) = env.filter(|e| e.is_promotion_target()) {
                return Err(refuse(
                    ReasonCode::ProductionRequiresPromotion,
                    format!(
                        "`{}` (namespace `{}`) takes versions only by promotion; run `promote {version} --to {}` once it is verified on `{}`",
                        env.name,
                        env.namespace,
                        env.name,
                        env.promote_from.as_deref().unwrap_or("its source")
                    ),
                ));
            }
            let commit = match version {
                Version::GitSha(sha) => Some(sha.clone()),
                Version::Release(_) => None,
            };
            Ok(Target {
                environment: env.map(|e| e.name.clone()),
                namespace,
                version: Some(version.clone()),
                commit,
                source: None,
                queue_gate: env.is_some_and(EnvironmentConfig::queue_gate),
                skip_queue_gate: None,
                verify: env.is_some_and(|e| e.verify.is_some()),
                source_verifies: false,
            })
        }
        Event::Rollback {
            env,
            skip_queue_gate,
        } => {
            let env = config
                .environment(env)
                .ok_or_else(|| unknown_env(config, env))?;
            if let Some(reason) = skip_queue_gate
                && reason.trim().is_empty()
            {
                return Err(refuse(
                    ReasonCode::InvalidInput,
                    "skipping the queue gate needs a reason: pass `--reason TEXT` (it is recorded on the Deployments and in the report)",
                ));
            }
            let mut target = Target::in_env(env, None, None);
            target.skip_queue_gate = skip_queue_gate.clone();
            target.verify = false;
            Ok(target)
        }
    }
}

pub(crate) fn unknown_env(config: &Config, name: &str) -> Reason {
    let known: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    refuse(
        ReasonCode::InvalidInput,
        format!(
            "there is no environment `{name}`; configured environments: {}",
            known.join(", ")
        ),
    )
}
