//! The rules a configuration must meet beyond its types; each refusal names the key.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{BuilderKind, Config, ConfigError, Trigger};
use crate::error::InputError;
use crate::model::validate_namespace;

impl Config {
    /// Checks every rule; `origin` names the source in the error.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, problem: &str| {
            Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                key,
                problem: problem.to_owned(),
            })
        };
        if self.app.name.trim().is_empty() {
            return invalid("app.name".into(), "must not be empty");
        }
        if !self.app.selector.contains('=') {
            return invalid(
                "app.selector".into(),
                "must be a label selector such as `app.kubernetes.io/part-of=neuro-ui`",
            );
        }
        if self.git.main_branch.trim().is_empty() {
            return invalid("git.main_branch".into(), "must not be empty");
        }
        if self.git.release_branches.is_empty()
            || self.git.release_branches.iter().any(|b| b.is_empty())
        {
            return invalid(
                "git.release_branches".into(),
                "must list at least one non-empty branch pattern, e.g. [\"main\", \"hotfix/*\"]",
            );
        }
        if self.git.hotfix_prefix.is_empty() {
            return invalid(
                "git.hotfix_prefix".into(),
                "must not be empty (default `hotfix/`)",
            );
        }
        if !(7..=40).contains(&self.git.short_sha_length) {
            return invalid("git.short_sha_length".into(), "must be between 7 and 40");
        }
        if let Some(repo) = &self.git.repository {
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                return invalid("git.repository".into(), "must be `owner/name`");
            }
        }
        if self.registry.repository.trim().is_empty() {
            return invalid("registry.repository".into(), "must not be empty");
        }
        if let Some(uri) = &self.registry.uri
            && !uri.ends_with(&format!("/{}", self.registry.repository))
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
        if self.rollout.timeout.is_zero() {
            return invalid(
                "rollout.timeout".into(),
                "must be longer than 0s, e.g. `10m`",
            );
        }
        if self.lock.lease < Duration::from_secs(15) {
            return invalid("lock.lease".into(), "must be at least 15s");
        }
        if self.lock.renew_every.is_zero()
            || self.lock.renew_every.saturating_mul(2) >= self.lock.lease
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
            let web_url = |url: &str| url.starts_with("http://") || url.starts_with("https://");
            if let Some(url) = &env.url
                && !web_url(url)
            {
                return invalid(key("url"), "must start with `http://` or `https://`");
            }
            if let Some(verify) = &env.verify {
                if verify.http.is_empty() || verify.http.iter().any(|u| !web_url(u)) {
                    return invalid(
                        key("verify.http"),
                        "must list at least one URL, each starting with `http://` or `https://`",
                    );
                }
                if verify.every.is_zero() || verify.every > verify.window {
                    return invalid(
                        key("verify.every"),
                        "must be more than 0s and at most `verify.for`, e.g. `10s` for `2m`",
                    );
                }
                if verify.timeout.is_zero() {
                    return invalid(key("verify.timeout"), "must be more than 0s, e.g. `5s`");
                }
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
        if self.git.deployments && self.git.repository.is_none() {
            return invalid(
                "git.deployments".into(),
                "needs `git.repository` (`owner/name`): the Deployments are recorded there",
            );
        }
        if self.notify.on.as_ref().is_some_and(Vec::is_empty) {
            return invalid(
                "notify.on".into(),
                "must list at least one outcome, or be left out for the defaults",
            );
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
                        trigger.name()
                    ),
                );
            }
        }
        Ok(())
    }
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
