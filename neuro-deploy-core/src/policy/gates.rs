//! The gates before anything is written: the image (present, retagged, built; never a moved
//! tag), a promotion's source verification, digest and downgrade rule; and the guardrails (a
//! freeze, the deploy windows, a quarantined version).

use crate::config::{Config, WindowConfig};
use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ImageRef, rfc3339};
use crate::version::Version;

use super::facts::Facts;
use super::plan::{ImageAction, PlannedStep, Step};
use super::target::{Target, refuse};
use super::window::{WindowState, window_state};
use super::workloads::{RunningReleases, common_tag, pinned_digest, runs_completely};

/// The digest a promotion deploys: the one the source environment's app containers are pinned
/// to, else the registry's for the tag. A tag that no longer names the digest the source runs
/// has moved, and is refused.
pub(crate) fn verified_digest(
    facts: &Facts,
    target: &Target,
    image: &ImageRef,
) -> Result<Option<String>, Reason> {
    let source = facts
        .source_workloads
        .known()
        .and_then(|workloads| pinned_digest(workloads, &image.repository));
    let registry = facts
        .target_image
        .known()
        .and_then(|found| found.as_ref())
        .and_then(|found| found.digest.clone());
    match (source, registry) {
        (Some(runs), Some(tagged)) if runs != tagged => Err(refuse(
            ReasonCode::ImmutableTag,
            format!(
                "tag {} moved: `{}` runs {runs}, but the registry's {} now names {tagged}; a promotion deploys only the image verified there — release a new version and verify it",
                image.tag,
                target
                    .source
                    .as_ref()
                    .map_or("the source", |(env, _)| env.as_str()),
                image.tag
            ),
        )),
        (Some(digest), _) | (None, Some(digest)) => Ok(Some(digest)),
        (None, None) => Ok(None),
    }
}

pub(crate) fn ensure_image_step(
    event: &Event,
    config: &Config,
    facts: &Facts,
    target: &Target,
    version: &Version,
    image: &ImageRef,
) -> Result<PlannedStep, Reason> {
    let revision = target
        .commit
        .clone()
        .or_else(|| facts.revision.known().cloned().flatten());
    let commit_tag = match version {
        Version::Release(_) => revision
            .as_ref()
            .map(|r| r.short(config.git.short_sha_length).to_owned()),
        Version::GitSha(_) => None,
    };
    let (action, reason) = match (facts.target_image.known(), facts.commit_image.known()) {
        // A release tag is never moved: one that names another image than its commit's is refused.
        (Some(Some(tagged)), Some(Some(commit)))
            if tagged.digest.is_some()
                && commit.digest.is_some()
                && tagged.digest != commit.digest =>
        {
            return Err(refuse(
                ReasonCode::ImmutableTag,
                format!(
                    "tag {} already names image {}, but the release's commit image {} is {}; a release tag is never moved or deployed as is — release a new version",
                    image.tag,
                    tagged.digest.as_deref().unwrap_or_default(),
                    commit.tag,
                    commit.digest.as_deref().unwrap_or_default()
                ),
            ));
        }
        (Some(Some(_)), _) => (
            ImageAction::Present,
            format!("image {image} already exists; nothing to build"),
        ),
        (Some(None), Some(Some(existing))) => {
            let from = existing.tag.clone();
            let reason = format!(
                "build once: the commit's image {existing} exists, so it is retagged {} instead of rebuilt",
                image.tag
            );
            (ImageAction::Retag { from }, reason)
        }
        (Some(None), _) => match revision {
            Some(revision) => {
                let reason = format!(
                    "no image for {} yet: build commit {revision} and push it as {image}",
                    image.tag
                );
                (ImageAction::Build { revision }, reason)
            }
            None => {
                let what = match event {
                    Event::Released { .. } => {
                        "pass `--sha` with the release's commit or configure `git.repository`"
                    }
                    _ => {
                        "deploy the commit SHA instead, or configure `git.repository` so the tag can be resolved"
                    }
                };
                return Err(refuse(
                    ReasonCode::ImageMissing,
                    format!(
                        "no image {image} exists and the commit of {version} is unknown, so it cannot be built; {what}"
                    ),
                ));
            }
        },
        (None, _) => {
            let reason = match (&commit_tag, &revision) {
                (Some(from), _) => format!(
                    "use {image} if it exists in the registry, else retag the commit's image {from} → {} if that exists (no rebuild), else build the commit",
                    image.tag
                ),
                (None, Some(rev)) => {
                    format!("use {image} if it exists in the registry, else build commit {rev}")
                }
                (None, None) => format!(
                    "use {image} if it exists in the registry, else retag the tag's commit image, else build the tag's commit"
                ),
            };
            (
                ImageAction::Resolve {
                    from: commit_tag,
                    revision,
                },
                reason,
            )
        }
    };
    Ok(PlannedStep {
        step: Step::EnsureImage {
            image: image.clone(),
            action,
        },
        reason,
    })
}

pub(crate) fn promotion_gates(
    facts: &Facts,
    target: &Target,
    version: &Version,
    image: &ImageRef,
    allow_downgrade: bool,
) -> Result<Vec<PlannedStep>, Reason> {
    let env_name = target.environment.clone().unwrap_or_default();
    let mut steps = vec![promotion_image_gate(facts, version, image)?];
    steps.extend(source_verified_gate(facts, target, version, image)?);
    steps.push(downgrade_gate(
        facts,
        &env_name,
        version,
        &image.repository,
        allow_downgrade,
    )?);
    Ok(steps)
}

/// A promotion never builds: the image must already exist.
pub(crate) fn promotion_image_gate(
    facts: &Facts,
    version: &Version,
    image: &ImageRef,
) -> Result<PlannedStep, Reason> {
    match facts.target_image.known() {
        Some(None) => Err(refuse(
            ReasonCode::ImageMissing,
            match facts.other_spelling.known() {
                Some(Some(tag)) => format!(
                    "no image {image} exists; did you mean `{tag}`? That release's image exists — run the same command with `{tag}`"
                ),
                _ => format!(
                    "no image {image} exists; production never builds — release {version} first so it is built and deployed to staging"
                ),
            },
        )),
        known => Ok(PlannedStep {
            reason: image_gate_reason(image, known.is_some()),
            step: Step::GateImageExists {
                image: image.clone(),
            },
        }),
    }
}

/// The promotion source runs the version with a complete rollout (and passed checks, where it
/// has them). `None` when the target has no source.
pub(crate) fn source_verified_gate(
    facts: &Facts,
    target: &Target,
    version: &Version,
    image: &ImageRef,
) -> Result<Option<PlannedStep>, Reason> {
    let Some((source_env, source_ns)) = &target.source else {
        return Ok(None);
    };
    let repository = &image.repository;
    match facts.source_workloads.known() {
        Some(workloads) if !runs_completely(workloads, repository, &image.tag) => {
            let runs =
                common_tag(workloads, repository).unwrap_or_else(|| "no single version".to_owned());
            let rollout = if workloads.iter().all(|w| w.rollout.state().is_complete()) {
                "complete"
            } else {
                "incomplete"
            };
            Err(refuse(
                ReasonCode::NotVerifiedOnStaging,
                format!(
                    "`{source_env}` (namespace `{source_ns}`) runs {runs} (rollout {rollout}), not {version} with a complete rollout; deploy and verify {version} on `{source_env}` first"
                ),
            ))
        }
        Some(workloads)
            if target.source_verifies
                && !workloads
                    .iter()
                    .filter(|w| w.runs_app(repository))
                    .all(|w| w.audit.verified(&image.tag)) =>
        {
            Err(refuse(
                ReasonCode::NotVerifiedOnStaging,
                format!(
                    "`{source_env}` runs {version} with a complete rollout, but its verification has not passed there (no `neuro-deploy.io/verified: {}@…` on every Deployment); run `neuro-deploy verify --env {source_env}`, or deploy a version that passes",
                    image.tag
                ),
            ))
        }
        known => Ok(Some(PlannedStep {
            reason: match (known.is_some(), target.source_verifies) {
                (true, false) => format!("`{source_env}` runs {version} with a complete rollout"),
                (true, true) => format!(
                    "`{source_env}` runs {version} with a complete rollout and its verification passed there"
                ),
                (false, false) => format!(
                    "`{source_env}` must run {version} with a complete rollout — checked at run time"
                ),
                (false, true) => format!(
                    "`{source_env}` must run {version} with a complete rollout and a passed verification — checked at run time"
                ),
            },
            step: Step::GateSourceVerified {
                environment: source_env.clone(),
                namespace: source_ns.clone(),
                version: version.to_string(),
            },
        })),
    }
}

/// Why the image gate of a promotion passes (or what it checks at run time).
fn image_gate_reason(image: &ImageRef, known: bool) -> String {
    match (known, &image.digest) {
        (true, Some(digest)) => format!(
            "image {image} exists; the digest verified upstream, {digest}, is what gets deployed (production never builds)"
        ),
        (true, None) => format!("image {image} exists (production never builds)"),
        (false, _) => format!(
            "image {image} must already exist in the registry — checked at run time (production never builds); the digest the source runs is deployed"
        ),
    }
}

/// The downgrade gate: the version must not be older than the highest release any app
/// workload runs; a workload running something that is not a release cannot be compared.
pub(crate) fn downgrade_gate(
    facts: &Facts,
    env_name: &str,
    version: &Version,
    repository: &str,
    allow_downgrade: bool,
) -> Result<PlannedStep, Reason> {
    let running = facts
        .target_workloads
        .known()
        .map(|workloads| RunningReleases::of(workloads, repository));
    let current = running
        .as_ref()
        .and_then(|r| r.highest.as_ref())
        .map(ToString::to_string);
    let step = |reason: String| PlannedStep {
        reason,
        step: Step::GateNotDowngrade {
            current: current.clone(),
            target: version.to_string(),
        },
    };
    if allow_downgrade {
        return Ok(step(match &current {
            Some(old) => {
                format!("downgrades allowed for this run (the highest release there now is {old})")
            }
            None => "downgrades allowed for this run".to_owned(),
        }));
    }
    let Some(running) = running else {
        return Ok(step(format!(
            "{version} must not be older than the highest release running there — checked at run time"
        )));
    };
    if !running.not_releases.is_empty() {
        return Err(refuse(
            ReasonCode::Downgrade,
            format!(
                "`{env_name}` runs something that is not a release ({}), so whether {version} is older cannot be judged; pass `--allow-downgrade` if replacing it is intended",
                running.not_releases.join(", ")
            ),
        ));
    }
    match (version.as_release(), &running.highest) {
        (Some(new), Some(old)) if new.semver() < old.semver() => Err(refuse(
            ReasonCode::Downgrade,
            format!(
                "`{env_name}` runs {old}, which is newer than {new}; pass `--allow-downgrade` if going back is intended (or use `rollback`)"
            ),
        )),
        (_, Some(old)) => Ok(step(format!(
            "{version} is not older than {old}, the highest release running there"
        ))),
        (_, None) => Ok(step(
            "no release runs there now, so there is nothing to compare with".to_owned(),
        )),
    }
}

/// A frozen environment takes nothing but a rollback (getting back is never blocked). Judged
/// at the run's start, with the facts and again under the lock.
pub(super) fn freeze_gate(event: &Event, target: &Target, facts: &Facts) -> Result<(), Reason> {
    if matches!(event, Event::Rollback { .. }) {
        return Ok(());
    }
    let (Some(guard), Some(now)) = (facts.guard.known(), facts.now.known()) else {
        return Ok(());
    };
    let Some(freeze) = guard.freeze_at(*now) else {
        return Ok(());
    };
    let place = target.environment.as_deref().unwrap_or(&target.namespace);
    let until = match &freeze.until {
        Some(until) => format!("until {}", rfc3339(*until)),
        None => "until someone unfreezes it".to_owned(),
    };
    Err(refuse(
        ReasonCode::Frozen,
        format!(
            "`{place}` is frozen by {} since {} ({}), {until}; nothing was changed — `rollback` still works, and `neuro-deploy unfreeze --env {place} --reason TEXT` lifts it on the record",
            freeze.by,
            rfc3339(freeze.at),
            freeze.reason
        ),
    ))
}

/// A version that failed in an environment (or was rolled back from there) is not deployed
/// there again until someone clears it on the record; a rollback is never blocked.
pub(super) fn quarantine_gate(
    event: &Event,
    target: &Target,
    facts: &Facts,
    tag: &str,
) -> Result<(), Reason> {
    if matches!(event, Event::Rollback { .. }) {
        return Ok(());
    }
    let Some(quarantined) = facts.guard.known().and_then(|g| g.quarantined(tag)) else {
        return Ok(());
    };
    let place = target.environment.as_deref().unwrap_or(&target.namespace);
    let why = quarantined.why();
    Err(refuse(
        ReasonCode::VersionQuarantined,
        format!(
            "{tag} is quarantined in `{place}` since {} ({why}; deployed by {}); nothing was changed — deploy another version, or clear it on the record with `neuro-deploy quarantine clear {tag} --env {place} --reason TEXT`",
            quarantined.at, quarantined.by
        ),
    ))
}

/// The deploy-window gate: the plan's step saying the windows' state, and the note recorded on
/// a deploy that went in while they were closed (an override, or a rollback, which is never
/// blocked). `None` when the environment has no windows.
pub(super) fn window_gate(
    event: &Event,
    config: &Config,
    target: &Target,
    facts: &Facts,
) -> Result<Option<(PlannedStep, Option<String>)>, Reason> {
    let Some(env) = target
        .environment
        .as_deref()
        .and_then(|name| config.environment(name))
        .filter(|env| !env.windows.is_empty())
    else {
        return Ok(None);
    };
    let step = |state: Option<WindowState>, reason: String| PlannedStep {
        reason,
        step: Step::GateDeployWindow {
            environment: env.name.clone(),
            state,
        },
    };
    let Some(now) = facts.now.known().copied() else {
        let windows: Vec<String> = env.windows.iter().map(WindowConfig::describe).collect();
        let reason = format!(
            "`{}` must be inside its deploy windows — checked at run time: {}",
            env.name,
            windows.join("; ")
        );
        return Ok(Some((step(None, reason), None)));
    };
    let state = window_state(&env.windows, now).map_err(|why| {
        refuse(
            ReasonCode::InvalidInput,
            format!(
                "a deploy window of `{}` cannot be read ({why}); fix `[[environments.windows]]` (`neuro-deploy config check`)",
                env.name
            ),
        )
    })?;
    let summary = state.summary();
    if state.is_open() {
        let reason = format!("deploy window: {summary}");
        return Ok(Some((step(Some(state), reason), None)));
    }
    if matches!(event, Event::Rollback { .. }) {
        let note = format!(
            "rollback while the deploy windows are {summary} (a rollback is never blocked)"
        );
        return Ok(Some((step(Some(state), note.clone()), Some(note))));
    }
    if let Some(why) = &facts.window_override {
        let note = format!(
            "deployed outside the deploy windows ({summary}) with --override-window: {why}"
        );
        return Ok(Some((step(Some(state), note.clone()), Some(note))));
    }
    Err(refuse(
        ReasonCode::OutsideDeployWindow,
        format!(
            "`{}` takes no deploys now — {summary}; nothing was changed — deploy when it opens, or let an urgent fix through with `--override-window --reason TEXT` (recorded on the deploy); `rollback` is never blocked",
            env.name
        ),
    ))
}
