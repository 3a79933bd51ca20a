//! Rules over the app's Deployments: which count (those running the app's repository), what
//! they run, whether a rollout is complete, what a rollback returns to, what changes.

use crate::error::{Reason, ReasonCode};
use crate::model::{AuditRecord, ImageChange, ImageRef, Workload};
use crate::version::{ReleaseTag, Version};

use super::target::refuse;

/// The version every app workload's audit trail records as the previous one, for a rollback.
/// Deployments that run no container of `repository` (a cache) are not asked.
pub fn previous_version(workloads: &[Workload], repository: &str) -> Result<Version, Reason> {
    let recorded: Vec<Option<&str>> = app_workloads(workloads, repository)
        .map(|w| w.audit.previous_version.as_deref())
        .collect();
    let Some(Some(first)) = recorded.first().copied() else {
        return Err(Reason::new(
            ReasonCode::NoPreviousVersion,
            "no previous version is recorded on the workloads (annotation `neuro-deploy.io/previous-version`); deploy the version you want with `deploy` or `promote`",
        ));
    };
    if recorded.iter().any(|r| *r != Some(first)) {
        return Err(Reason::new(
            ReasonCode::NoPreviousVersion,
            "the workloads record different previous versions; deploy the version you want explicitly",
        ));
    }
    Version::parse(first).map_err(|e| {
        Reason::new(
            ReasonCode::NoPreviousVersion,
            format!("the recorded previous version is unusable: {e}"),
        )
    })
}

/// The Deployments that run a container of the app's repository; the others (a cache selected
/// by the same label) are never patched and never judged.
pub fn app_workloads<'a>(
    workloads: &'a [Workload],
    repository: &'a str,
) -> impl Iterator<Item = &'a Workload> + 'a {
    workloads.iter().filter(move |w| w.runs_app(repository))
}

/// The tag every app container of every app workload runs, when they all agree.
pub fn common_tag(workloads: &[Workload], repository: &str) -> Option<String> {
    let mut tags = app_workloads(workloads, repository).map(|w| w.app_tag(repository));
    let first = tags.next()??;
    tags.all(|t| t.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The digest every app container of every app workload is pinned to, when they all agree:
/// what a promotion from these workloads deploys, and what an approval of it approves.
pub fn pinned_digest(workloads: &[Workload], repository: &str) -> Option<String> {
    let mut digests = app_workloads(workloads, repository).map(|w| w.app_digest(repository));
    let first = digests.next()??;
    digests
        .all(|d| d.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// Whether every app workload runs `tag` in every app container with a complete rollout (and
/// there is at least one).
pub fn runs_completely(workloads: &[Workload], repository: &str, tag: &str) -> bool {
    let mut apps = app_workloads(workloads, repository).peekable();
    apps.peek().is_some()
        && apps.all(|w| {
            w.app_tag(repository).as_deref() == Some(tag) && w.rollout.state().is_complete()
        })
}

/// What the app workloads of a namespace run, for the downgrade gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunningReleases {
    /// The highest release any app container runs.
    pub highest: Option<ReleaseTag>,
    /// App workloads that run something that is not a release (`workload: tag`).
    pub not_releases: Vec<String>,
}

impl RunningReleases {
    /// Reads every app container's tag.
    pub fn of(workloads: &[Workload], repository: &str) -> RunningReleases {
        let mut running = RunningReleases::default();
        for workload in app_workloads(workloads, repository) {
            for container in workload.app_containers(repository) {
                let tag = ImageRef::parse_container_image(&container.image).tag;
                match ReleaseTag::parse(&tag) {
                    Ok(release) => {
                        if running
                            .highest
                            .as_ref()
                            .is_none_or(|h| release.semver() > h.semver())
                        {
                            running.highest = Some(release);
                        }
                    }
                    Err(_) => {
                        let entry = format!("{}: {tag}", workload.name);
                        if !running.not_releases.contains(&entry) {
                            running.not_releases.push(entry);
                        }
                    }
                }
            }
        }
        running
    }
}

/// The version a deploy of `tag` replaces, for the audit trail: what ran before this run. A
/// workload already moved to `tag` by an interrupted run still knows its predecessor from that
/// run's annotations. Where the Deployments run different versions because someone changed
/// one by hand (drift), what ran is the version neuro-deploy recorded on all of them.
pub fn version_being_replaced(
    workloads: &[Workload],
    repository: &str,
    tag: &str,
) -> Option<String> {
    let mut candidates = app_workloads(workloads, repository).map(|w| {
        let running = w.app_tag(repository);
        if running.as_deref() == Some(tag) && w.audit.version.as_deref() == Some(tag) {
            w.audit.previous_version.clone()
        } else {
            running
        }
    });
    let first = candidates.next()??;
    if candidates.all(|c| c.as_deref() == Some(first.as_str())) {
        return Some(first);
    }
    recorded_alike(workloads, repository, |audit| audit.version.clone())
}

/// What every app Deployment among `workloads` recorded alike in `field` (its audit trail), if
/// they all recorded it and agree.
pub fn recorded_alike<T: PartialEq>(
    workloads: &[Workload],
    repository: &str,
    field: impl Fn(&AuditRecord) -> Option<T>,
) -> Option<T> {
    let mut recorded = app_workloads(workloads, repository).map(|w| field(&w.audit));
    let first = recorded.next()??;
    recorded
        .all(|r| r.as_ref() == Some(&first))
        .then_some(first)
}

/// The exact image (digest included) a deploy of `tag` replaces, by the same rule as
/// [`version_being_replaced`]: what runs, or — when `tag` already runs because an earlier run
/// set it — what that run recorded as the previous image.
pub fn image_being_replaced(workloads: &[Workload], repository: &str, tag: &str) -> Option<String> {
    let mut candidates = app_workloads(workloads, repository).map(|w| {
        let running = w.app_tag(repository);
        if running.as_deref() == Some(tag) && w.audit.version.as_deref() == Some(tag) {
            w.audit.previous_image.clone()
        } else {
            w.app_image(repository)
        }
    });
    let first = candidates.next()??;
    candidates
        .all(|c| c.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The digest a rollback to `image` restores: the one recorded with the previous image
/// (`neuro-deploy.io/previous-image`), when every app Deployment recorded the same image of
/// that tag.
pub fn recorded_previous_digest(
    workloads: &[Workload],
    repository: &str,
    image: &ImageRef,
) -> Option<String> {
    let recorded = recorded_alike(workloads, repository, |audit| audit.previous_image.clone())?;
    let previous = ImageRef::parse_container_image(&recorded);
    (previous.repository == image.repository && previous.tag == image.tag)
        .then_some(previous.digest)
        .flatten()
}

/// The image changes that move every app container to `image`; sidecars are left alone.
pub(crate) fn image_changes(
    workloads: &[Workload],
    repository: &str,
    image: &ImageRef,
    namespace: &str,
) -> Result<Vec<ImageChange>, Reason> {
    if workloads.is_empty() {
        return Err(refuse(
            ReasonCode::NoWorkloads,
            format!(
                "no Deployment in namespace `{namespace}` matching the selector runs an image from {repository}; check `app.selector` and `registry.repository`"
            ),
        ));
    }
    if let Some(paused) = workloads.iter().find(|w| w.paused) {
        return Err(refuse(
            ReasonCode::WorkloadPaused,
            format!(
                "Deployment `{}` in namespace `{namespace}` is paused, so it would never roll out; resume it (`kubectl rollout resume deployment/{} -n {namespace}`) and run again",
                paused.name, paused.name
            ),
        ));
    }
    let wanted = image.pinned();
    Ok(workloads
        .iter()
        .flat_map(|w| {
            w.app_containers(repository)
                .filter(|c| c.image != wanted)
                .map(|c| ImageChange {
                    workload: w.name.clone(),
                    container: c.container.clone(),
                    image: wanted.clone(),
                    previous_image: c.image.clone(),
                    resource_version: w.resource_version.clone(),
                    generation: Some(w.rollout.generation),
                })
                .collect::<Vec<_>>()
        })
        .collect())
}
