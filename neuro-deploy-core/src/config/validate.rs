//! The rules a configuration must meet beyond its types; each refusal names the key.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{BuilderKind, Config, ConfigError, Trigger};
use crate::error::InputError;
use crate::names::validate_namespace;

impl Config {
    /// Checks every rule and reports every problem at once (one error naming the key when
    /// there is one); `origin` names the source in the error.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut problems = self.problems();
        match problems.len() {
            0 => Ok(()),
            1 => {
                let (key, problem) = problems.remove(0);
                Err(ConfigError::Invalid {
                    origin: origin.to_owned(),
                    key,
                    problem,
                })
            }
            _ => Err(ConfigError::Problems {
                origin: origin.to_owned(),
                problems,
            }),
        }
    }

    /// Every rule the configuration breaks, as `(key, what is wrong and what is allowed)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut invalid = |key: String, problem: &str| problems.push((key, problem.to_owned()));
        if self.app.name.trim().is_empty() {
            invalid("app.name".into(), "must not be empty");
        }
        if let Some(problem) = label_selector_problem(&self.app.selector) {
            invalid(
                "app.selector".into(),
                &format!(
                    "is not a label selector ({problem}); write one such as `app.kubernetes.io/part-of=neuro-ui`"
                ),
            );
        }
        if self.git.main_branch.trim().is_empty() {
            invalid("git.main_branch".into(), "must not be empty");
        }
        if self.git.release_branches.is_empty()
            || self.git.release_branches.iter().any(|b| b.is_empty())
        {
            invalid(
                "git.release_branches".into(),
                "must list at least one non-empty branch pattern, e.g. [\"main\", \"hotfix/*\"]",
            );
        }
        if self.git.hotfix_prefix.is_empty() {
            invalid(
                "git.hotfix_prefix".into(),
                "must not be empty (default `hotfix/`)",
            );
        }
        if !(7..=40).contains(&self.git.short_sha_length) {
            invalid("git.short_sha_length".into(), "must be between 7 and 40");
        }
        if let Some(repo) = &self.git.repository {
            let parts: Vec<&str> = repo.split('/').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                invalid("git.repository".into(), "must be `owner/name`");
            }
        }
        if self.registry.repository.trim().is_empty() {
            invalid("registry.repository".into(), "must not be empty");
        }
        if let Some(uri) = &self.registry.uri
            && !uri.ends_with(&format!("/{}", self.registry.repository))
        {
            invalid(
                "registry.uri".into(),
                "must be the full URI of `registry.repository`, e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui`",
            );
        }
        if self.queues.names.iter().any(|q| q.trim().is_empty()) {
            invalid("queues.names".into(), "must not contain an empty name");
        }
        if !self.queues.names.is_empty() && self.queues.regions.is_empty() {
            invalid(
                "queues.regions".into(),
                "must name at least one AWS region when queues are configured",
            );
        }
        for (i, region) in self.queues.regions.iter().enumerate() {
            if !is_aws_region(region) {
                invalid(
                    format!("queues.regions[{i}]"),
                    &format!(
                        "`{}` is not an AWS region name; write it like `us-west-2` or `us-east-2`",
                        InputError::shown(region)
                    ),
                );
            }
        }
        if let Some(region) = &self.registry.region
            && !is_aws_region(region)
        {
            invalid(
                "registry.region".into(),
                &format!(
                    "`{}` is not an AWS region name; write it like `us-west-2`",
                    InputError::shown(region)
                ),
            );
        }
        let spanned = self
            .queues
            .poll
            .saturating_mul(self.queues.min_samples.saturating_sub(1));
        if !self.queues.window.is_zero() && spanned > self.queues.window {
            invalid(
                "queues.window".into(),
                &format!(
                    "{} cannot be met as stated: {} samples `queues.poll` ({}) apart span {}; make the window at least {}, the poll shorter, or `queues.min_samples` smaller",
                    super::format_duration(self.queues.window),
                    self.queues.min_samples,
                    super::format_duration(self.queues.poll),
                    super::format_duration(spanned),
                    super::format_duration(spanned)
                ),
            );
        }
        if self.queues.min_samples == 0 {
            invalid("queues.min_samples".into(), "must be at least 1");
        }
        if self.queues.poll.is_zero() {
            invalid("queues.poll".into(), "must be longer than 0s, e.g. `20s`");
        }
        if self.rollout.timeout.is_zero() {
            invalid(
                "rollout.timeout".into(),
                "must be longer than 0s, e.g. `10m`",
            );
        }
        if self.lock.lease < Duration::from_secs(15) {
            invalid("lock.lease".into(), "must be at least 15s");
        }
        if self.lock.renew_every.is_zero()
            || self.lock.renew_every.saturating_mul(2) >= self.lock.lease
        {
            invalid(
                "lock.renew_every".into(),
                "must be more than 0s and less than half of `lock.lease`, so a renewal can be missed without losing the lock",
            );
        }
        if self.builder.kind == BuilderKind::Command && self.builder.command.is_empty() {
            invalid(
                "builder.command".into(),
                "must be set when `builder.kind = \"command\"`, e.g. [\"docker\", \"buildx\", \"build\", \"--push\", \"-t\", \"{image}\", \".\"]",
            );
        }
        if self.environments.is_empty() {
            invalid("environments".into(), "must list at least one environment");
        }
        let mut names = BTreeSet::new();
        let mut namespaces = BTreeSet::new();
        for (i, env) in self.environments.iter().enumerate() {
            let key = |field: &str| format!("environments[{i}].{field}");
            if let Err(problem) = validate_env_name(&env.name) {
                invalid(key("name"), &problem.to_string());
            }
            if !names.insert(env.name.as_str()) {
                invalid(
                    key("name"),
                    &format!(
                        "`{}` is defined twice; environment names must be unique",
                        env.name
                    ),
                );
            }
            if let Err(problem) = validate_namespace(&env.namespace) {
                invalid(key("namespace"), &problem.to_string());
            }
            let web_url = |url: &str| url.starts_with("http://") || url.starts_with("https://");
            if let Some(url) = &env.url
                && !web_url(url)
            {
                invalid(key("url"), "must start with `http://` or `https://`");
            }
            if let Some(verify) = &env.verify {
                for (field, problem) in verify.problems() {
                    invalid(key(&format!("verify{field}")), &problem);
                }
            }
            if let Some(approvals) = &env.approvals {
                if approvals.required == 0 {
                    invalid(
                        key("approvals.required"),
                        "must be at least 1 (leave `[environments.approvals]` out for none)",
                    );
                }
                if approvals.expire.is_zero() {
                    invalid(
                        key("approvals.expire"),
                        "must be longer than 0s, e.g. `24h`",
                    );
                }
                if approvals.approvers.iter().any(|a| a.trim().is_empty()) {
                    invalid(
                        key("approvals.approvers"),
                        "names an empty user: list Kubernetes user names, e.g. `[\"alice\", \"bob\"]`",
                    );
                }
                let named = approvals.approvers.len();
                let required = usize::try_from(approvals.required).unwrap_or(usize::MAX);
                if named > 0 && named < required {
                    invalid(
                        key("approvals.approvers"),
                        &format!(
                            "names {named} people but {required} approvals are required: no deploy could ever get them"
                        ),
                    );
                }
            }
            for (j, window) in env.windows.iter().enumerate() {
                for (field, problem) in window.problems() {
                    invalid(key(&format!("windows[{j}].{field}")), &problem);
                }
            }
            if !namespaces.insert(env.namespace.as_str()) {
                invalid(
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
                invalid(
                    format!("environments[{i}].promote_from"),
                    "must name the environment production promotes from (e.g. `staging`); production is deployed only by promotion",
                );
            }
            if let Some(source) = &env.promote_from {
                if source == &env.name {
                    invalid(
                        format!("environments[{i}].promote_from"),
                        "must name another environment",
                    );
                }
                if !names.contains(source.as_str()) {
                    invalid(
                        format!("environments[{i}].promote_from"),
                        &format!("names `{source}`, which is not a configured environment"),
                    );
                }
            }
        }
        if self.git.deployments && self.git.repository.is_none() {
            invalid(
                "git.deployments".into(),
                "needs `git.repository` (`owner/name`): the Deployments are recorded there",
            );
        }
        if let Some(url) = &self.telemetry.pushgateway
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            invalid(
                "telemetry.pushgateway".into(),
                "must start with `http://` or `https://`, e.g. `http://pushgateway.monitoring:9091`",
            );
        }
        if self.notify.on.as_ref().is_some_and(Vec::is_empty) {
            invalid(
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
                invalid(
                    "environments".into(),
                    &format!(
                        "at most one environment may have trigger `{}`",
                        trigger.name()
                    ),
                );
            }
        }
        problems
    }
}

impl Config {
    /// What a real run will miss with this configuration, though it is valid (the built-in
    /// defaults leave these out): each a sentence naming the key.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.registry.region.is_none() && self.registry.uri.is_none() {
            warnings.push(
                "`registry.region` is not set: runs that use ECR need it (or AWS_REGION in the environment); set `registry.uri` too so `status` and `history` never need to ask ECR".to_owned(),
            );
        } else if self.registry.uri.is_none() {
            warnings.push(
                "`registry.uri` is not set: it is looked up in ECR, so `status` and `history` need ECR access; set it to skip that".to_owned(),
            );
        }
        if self.git.repository.is_none() {
            warnings.push(
                "`git.repository` is not set: `released` without `--sha` and `--target`, and the hotfix commands, need it (`owner/name`)".to_owned(),
            );
        }
        warnings
    }
}

/// Whether `text` looks like an AWS region name (`us-west-2`, `us-gov-west-1`, `ap-southeast-1`).
fn is_aws_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Why `selector` is not a Kubernetes label selector the app's Deployments can be found by, or
/// `None`: comma-separated requirements `key=value`, `key==value`, `key!=value`,
/// `key in (a,b)`, `key notin (a,b)`, `key` or `!key`, at least one of them naming a value.
fn label_selector_problem(selector: &str) -> Option<String> {
    let mut requirements = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                requirements.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    requirements.push(&selector[start..]);
    let mut selects = false;
    for requirement in requirements.iter().map(|r| r.trim()) {
        if requirement.is_empty() {
            return Some("an empty requirement".to_owned());
        }
        let set_operation = [" notin ", " in "]
            .iter()
            .find_map(|op| requirement.split_once(op));
        if let Some((key, values)) = set_operation {
            let values = values.trim();
            let Some(inner) = values.strip_prefix('(').and_then(|v| v.strip_suffix(')')) else {
                return Some(format!("`{requirement}` needs its values in parentheses"));
            };
            if !label_key(key.trim()) || inner.split(',').any(|v| !label_value(v.trim(), false)) {
                return Some(format!("`{requirement}`"));
            }
            selects = true;
            continue;
        }
        let equality = ["==", "!=", "="]
            .iter()
            .find_map(|op| requirement.split_once(op).map(|(k, v)| (*op, k, v)));
        match equality {
            Some((op, key, value)) => {
                if !label_key(key.trim()) {
                    return Some(format!("`{}` is not a label key", key.trim()));
                }
                if !label_value(value.trim(), false) {
                    return Some(format!("`{requirement}` names no valid value"));
                }
                selects |= op != "!=";
            }
            None => {
                if !label_key(requirement.trim_start_matches('!')) {
                    return Some(format!("`{requirement}` is not a label key"));
                }
            }
        }
    }
    (!selects).then(|| "no requirement names a value to select by".to_owned())
}

/// A label name: at most 63 of alphanumerics, `-`, `_` and `.`, starting and ending with an
/// alphanumeric; optionally after a DNS-subdomain prefix and `/`.
fn label_key(key: &str) -> bool {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            let prefix_ok = !prefix.is_empty()
                && prefix.len() <= 253
                && prefix
                    .split('.')
                    .all(|part| label_value(part, false) && !part.contains('_'));
            if !prefix_ok {
                return false;
            }
            name
        }
        None => key,
    };
    label_value(name, false)
}

/// A label value (or name part): at most 63 of alphanumerics, `-`, `_` and `.`, starting and
/// ending with an alphanumeric; empty only when `empty_ok`.
fn label_value(value: &str, empty_ok: bool) -> bool {
    if value.is_empty() {
        return empty_ok;
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    value.len() <= 63
        && edge(value.chars().next())
        && edge(value.chars().last())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
