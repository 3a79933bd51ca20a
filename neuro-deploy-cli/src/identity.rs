//! Who runs (for the lock holder and the audit trail) and the context of one run.

use std::time::{SystemTime, UNIX_EPOCH};

use neuro_deploy_core::RunOptions;

/// Who is running, for the lock holder and the audit trail: the CI's own record when a CI runs
/// it (Codefresh: the build's initiator and URL; GitHub Actions: the actor and the run URL),
/// else `user@host`.
pub fn identity() -> String {
    identity_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(local_identity)
}

/// The CI's identity of the run, read through `get`.
pub fn identity_from(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let url = run_url_from(&get);
    let with_url = |who: String| match &url {
        Some(url) => format!("{who} ({url})"),
        None => who,
    };
    if let Some(initiator) = get("CF_BUILD_INITIATOR") {
        return Some(with_url(format!("{initiator}@codefresh")));
    }
    let actor = get("GITHUB_ACTOR")?;
    Some(with_url(format!("{actor}@github-actions")))
}

/// The CI run's page (Codefresh's build URL, or the GitHub Actions run), read through `get`.
pub fn run_url_from(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    if get("CF_BUILD_INITIATOR").is_some() || get("CF_BUILD_URL").is_some() {
        return get("CF_BUILD_URL");
    }
    match (
        get("GITHUB_SERVER_URL"),
        get("GITHUB_REPOSITORY"),
        get("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repository), Some(id)) if get("GITHUB_ACTOR").is_some() => {
            Some(format!("{server}/{repository}/actions/runs/{id}"))
        }
        _ => None,
    }
}

/// Who a record of a guardrail change names: the user this process's credentials authenticate
/// as on the environment's cluster (`SelfSubjectReview`) — never `$USER` or a hostname — with
/// the CI run that started it beside it, when one did.
pub async fn recorded_by(
    state: &dyn neuro_deploy_core::SharedState,
    namespace: &str,
) -> Result<String, neuro_deploy_core::AdapterError> {
    let user = state.authenticated_user(namespace).await?;
    Ok(with_initiator(
        user,
        identity_from(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty())),
    ))
}

/// `USER`, or `USER (started by CI)` when a CI run started it.
fn with_initiator(user: String, ci: Option<String>) -> String {
    match ci {
        Some(ci) => format!("{user} (started by {ci})"),
        None => user,
    }
}

/// `user@host` from the environment.
fn local_identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host}")
}

/// The instant now, to whole seconds (as every time neuro-deploy records is written).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::seconds(1)).unwrap_or(now)
}

/// A run context with a fresh run id and the current time.
pub fn run_options(dry_run: bool) -> RunOptions {
    let now = SystemTime::now();
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    RunOptions {
        identity: identity(),
        run_id: format!("{:x}-{:x}", nanos % 0xffff_ffff_ffff, std::process::id()),
        started_at: self::now(),
        dry_run,
        run_url: run_url_from(|name| std::env::var(name).ok()),
        overrides: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Option<String> {
        identity_from(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn ci_runs_are_named_by_the_ci() {
        assert_eq!(
            from(&[
                ("CF_BUILD_INITIATOR", "alice"),
                ("CF_BUILD_URL", "https://g.codefresh.io/build/65f0")
            ])
            .as_deref(),
            Some("alice@codefresh (https://g.codefresh.io/build/65f0)")
        );
        assert_eq!(
            from(&[
                ("GITHUB_ACTOR", "bob"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_REPOSITORY", "octo-org/neuro-ui"),
                ("GITHUB_RUN_ID", "42")
            ])
            .as_deref(),
            Some("bob@github-actions (https://github.com/octo-org/neuro-ui/actions/runs/42)")
        );
        assert_eq!(from(&[]), None, "elsewhere: user@host");
    }
}
