//! Fixtures shared by the policy and executor tests.

use neuro_deploy_core::model::{AuditRecord, ContainerImage};
use neuro_deploy_core::{
    Config, DeployTarget, Event, Fact, Facts, GitSha, ImageRef, RolloutCounts, Version, Workload,
};

pub const REPO: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui";
pub const SHA: &str = "abc1234def5678abc1234def5678abc1234def56";
pub const SHORT: &str = "abc1234";

/// An instant written in RFC 3339.
pub fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    neuro_deploy_core::model::parse_instant(text).expect("an RFC 3339 time")
}

pub fn sha() -> GitSha {
    GitSha::parse(SHA).unwrap()
}

pub fn version(text: &str) -> Version {
    Version::parse(text).unwrap()
}

pub fn image(tag: &str) -> ImageRef {
    ImageRef::new(REPO, tag)
}

pub fn config() -> Config {
    let mut config = Config::default();
    config.registry.uri = Some(REPO.to_owned());
    config
}

pub fn complete() -> RolloutCounts {
    RolloutCounts {
        generation: 2,
        observed_generation: 2,
        desired: 2,
        replicas: 2,
        updated: 2,
        available: 2,
        deadline_exceeded: false,
    }
}

pub fn progressing() -> RolloutCounts {
    RolloutCounts {
        available: 1,
        ..complete()
    }
}

/// A neuro-ui Deployment: two app containers and an envoy sidecar.
pub fn workload(name: &str, tag: &str, rollout: RolloutCounts) -> Workload {
    Workload {
        name: name.to_owned(),
        containers: vec![
            ContainerImage {
                container: "web".to_owned(),
                image: format!("{REPO}:{tag}"),
            },
            ContainerImage {
                container: "worker".to_owned(),
                image: format!("{REPO}:{tag}"),
            },
            ContainerImage {
                container: "envoy".to_owned(),
                image: "envoyproxy/envoy:v1.30".to_owned(),
            },
        ],
        rollout,
        paused: false,
        condition: None,
        audit: AuditRecord::default(),
        resource_version: None,
    }
}

pub fn with_previous(mut w: Workload, version: &str, previous: &str) -> Workload {
    w.audit.version = Some(version.to_owned());
    w.audit.previous_version = Some(previous.to_owned());
    w
}

pub fn app(tag: &str) -> Vec<Workload> {
    vec![
        workload("neuro-ui", tag, complete()),
        workload("neuro-ui-api", tag, complete()),
    ]
}

/// [`app`] with each app container's image pinned to `digest` (`REPO:TAG@DIGEST`), as a
/// promotion leaves it.
pub fn app_pinned(tag: &str, digest: &str) -> Vec<Workload> {
    let mut workloads = app(tag);
    for c in workloads.iter_mut().flat_map(|w| w.containers.iter_mut()) {
        if c.image.starts_with(REPO) {
            c.image = format!("{}@{digest}", c.image);
        }
    }
    workloads
}

/// Facts with everything known: nothing in the registry, the given workloads.
pub fn known(target: Vec<Workload>) -> Facts {
    Facts {
        repository_uri: Fact::Known(REPO.to_owned()),
        target_image: Fact::Known(None),
        commit_image: Fact::Known(None),
        revision: Fact::Known(None),
        target_on_release_branch: Fact::Unknown,
        target_workloads: Fact::Known(target),
        source_workloads: Fact::Unknown,
        other_spelling: Fact::Unknown,
        guard: Fact::Unknown,
        now: Fact::Unknown,
        overrides: Default::default(),
        actor: Fact::Unknown,
    }
}

pub fn merged(branch: &str) -> Event {
    Event::Merged {
        branch: branch.to_owned(),
        sha: sha(),
    }
}

pub fn released(tag: &str, target: &str) -> Event {
    Event::Released {
        tag: tag.to_owned(),
        sha: Some(sha()),
        target_branch: Some(target.into()),
        prerelease: false,
        draft: false,
    }
}

pub fn promote(v: &str) -> Event {
    Event::Promote {
        version: version(v),
        to: None,
        allow_downgrade: false,
    }
}

pub fn deploy(v: &str, target: DeployTarget) -> Event {
    Event::Deploy {
        version: version(v),
        target,
    }
}

/// A config file with one environment (`dev`) whose entry ends with `section` (its sub-tables).
pub fn dev_config_with(section: &str) -> String {
    format!(
        "[[environments]]\nname = \"dev\"\nnamespace = \"dev\"\ntrigger = \"merge\"\n{section}\n"
    )
}

/// Facts of an environment running v1.4.0 with v1.3.0 recorded before it (what a rollback goes
/// back to), whose image is present, at `now`.
pub fn rollback_facts(now: &str) -> Facts {
    let workloads = vec![with_previous(
        workload("neuro-ui", "v1.4.0", complete()),
        "v1.4.0",
        "v1.3.0",
    )];
    let mut facts = known(workloads);
    facts.target_image = Fact::Known(Some(image("v1.3.0")));
    facts.now = Fact::Known(instant(now));
    facts
}

/// The environment `name` of `config`, to change in a test.
pub fn environment<'a>(
    config: &'a mut Config,
    name: &str,
) -> &'a mut neuro_deploy_core::EnvironmentConfig {
    config
        .environments
        .iter_mut()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no environment `{name}`"))
}
