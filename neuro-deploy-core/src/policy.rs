//! The release policy: `decide(event, config, facts) -> Decision`, a pure function.
//!
//! | event | decision |
//! |---|---|
//! | merge to the main branch | version = short SHA; build unless the image exists; deploy to the merge environment |
//! | merge to another branch | ignore (`not_release_branch`) |
//! | release of a SemVer tag targeting a release branch | version = tag; retag the commit's image (no rebuild) or build; deploy to the release environment |
//! | draft release / other target / bad tag | ignore (`draft_release`, `not_release_branch`) / refuse (`not_a_release`) |
//! | promote V | V a release (`not_a_release`), image exists (`image_missing`), source runs V complete (`not_verified_on_staging`), not older than now (`downgrade`), queues drained (`queue_not_drained`); lock, deploy, await, roll back on failure |
//! | deploy V to env/namespace | non-production only (`production_requires_promotion`); build if needed |
//! | rollback env | set the recorded previous version; production waits for drained queues |
//!
//! Facts the policy needs are gathered by the executor and passed in. A fact may be
//! [`Fact::Unknown`] (offline `plan`): the plan then shows both branches and the gates as
//! checked at run time.

use serde::{Deserialize, Serialize};

use crate::config::{Config, EnvironmentConfig, Trigger};
use crate::error::{Reason, ReasonCode};
use crate::model::{DeployTarget, Event, ImageChange, ImageRef, Workload, validate_namespace};
use crate::version::{GitSha, ReleaseTag, Version};

/// A fact the executor gathered, or `Unknown` when planning offline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact<T> {
    /// Not looked up (offline plan).
    #[default]
    Unknown,
    /// Looked up.
    Known(T),
}

impl<T> Fact<T> {
    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(value) => Some(value),
            Fact::Unknown => None,
        }
    }
}

/// What the executor found out before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The registry's repository URI.
    pub repository_uri: Fact<String>,
    /// The image tagged with the version to deploy.
    pub target_image: Fact<Option<ImageRef>>,
    /// The image tagged with the commit's short SHA (a release's retag source).
    pub commit_image: Fact<Option<ImageRef>>,
    /// The commit a release tag points at (to build it, or find its image).
    pub revision: Fact<Option<GitSha>>,
    /// For a release that targets a commit SHA: whether a release branch contains it.
    pub target_on_release_branch: Fact<bool>,
    /// The app's Deployments in the target namespace.
    pub target_workloads: Fact<Vec<Workload>>,
    /// The app's Deployments in the promotion source's namespace.
    pub source_workloads: Fact<Vec<Workload>>,
}

impl Facts {
    /// Nothing known: what `plan` decides on.
    pub fn unknown() -> Facts {
        Facts::default()
    }
}

/// How the image to deploy comes to exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ImageAction {
    /// It already exists.
    Present,
    /// Add the version's tag to the commit's existing image (build once, promote by retagging).
    Retag {
        /// The existing tag (the short SHA).
        from: String,
    },
    /// Build the commit.
    Build {
        /// The commit.
        revision: GitSha,
    },
    /// Offline: use it if present, else retag `from` if that exists, else build.
    Resolve {
        /// Retag source, for releases whose commit is known.
        from: Option<String>,
        /// What to build, when known.
        revision: Option<GitSha>,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Make sure the image exists (retag or build when needed).
    EnsureImage {
        /// The image to deploy.
        image: ImageRef,
        /// How.
        action: ImageAction,
    },
    /// The image must already exist (never built for a promotion).
    GateImageExists {
        /// The image.
        image: ImageRef,
    },
    /// The promotion source runs the version with a complete rollout.
    GateSourceVerified {
        /// Source environment.
        environment: String,
        /// Its namespace.
        namespace: String,
        /// The version.
        version: String,
    },
    /// The version is not older than what runs now.
    GateNotDowngrade {
        /// What runs now, when one release runs everywhere.
        current: Option<String>,
        /// What is deployed.
        target: String,
    },
    /// Every configured queue is drained in every region, over the stability window.
    GateQueuesDrained {
        /// Queue names.
        queues: Vec<String>,
        /// Regions.
        regions: Vec<String>,
    },
    /// An operator skipped the queue gate (emergency rollback): the queues are read once and
    /// recorded, never waited for.
    QueueGateSkipped {
        /// Queue names.
        queues: Vec<String>,
        /// Regions.
        regions: Vec<String>,
        /// The operator's reason.
        reason: String,
    },
    /// Take the namespace's lock.
    AcquireLock {
        /// Namespace.
        namespace: String,
    },
    /// One more look at the queues, after the lock and just before the first write.
    RecheckQueues {
        /// Queue names.
        queues: Vec<String>,
        /// Regions.
        regions: Vec<String>,
    },
    /// Set the image on the app's containers.
    SetImage {
        /// Namespace.
        namespace: String,
        /// Image to set.
        image: ImageRef,
        /// The exact changes, when the workloads are known.
        changes: Option<Vec<ImageChange>>,
    },
    /// Wait for the rollout; roll back to the previous images when it fails.
    AwaitRollout {
        /// Namespace.
        namespace: String,
        /// Deployments to watch, when known.
        workloads: Option<Vec<String>>,
        /// Bound, seconds.
        timeout_secs: u64,
    },
    /// Release the lock (on every path).
    ReleaseLock {
        /// Namespace.
        namespace: String,
    },
}

impl Step {
    /// The step's kind as it appears in reports (`ensure_image`, `gate_queues_drained` …).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::EnsureImage { .. } => "ensure_image",
            Step::GateImageExists { .. } => "gate_image_exists",
            Step::GateSourceVerified { .. } => "gate_source_verified",
            Step::GateNotDowngrade { .. } => "gate_not_downgrade",
            Step::GateQueuesDrained { .. } => "gate_queues_drained",
            Step::QueueGateSkipped { .. } => "queue_gate_skipped",
            Step::AcquireLock { .. } => "acquire_lock",
            Step::RecheckQueues { .. } => "recheck_queues",
            Step::SetImage { .. } => "set_image",
            Step::AwaitRollout { .. } => "await_rollout",
            Step::ReleaseLock { .. } => "release_lock",
        }
    }

    /// Whether the step writes anything (skipped by a dry run).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Step::EnsureImage {
                action: ImageAction::Retag { .. }
                    | ImageAction::Build { .. }
                    | ImageAction::Resolve { .. },
                ..
            } | Step::AcquireLock { .. }
                | Step::SetImage { .. }
                | Step::AwaitRollout { .. }
                | Step::ReleaseLock { .. }
        )
    }
}

/// A step and why it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// The step.
    #[serde(flatten)]
    pub step: Step,
    /// A sentence for people.
    pub reason: String,
}

/// What a run will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Environment name, when the namespace belongs to one.
    pub environment: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// The version deployed.
    pub version: String,
    /// The image deployed.
    pub image: ImageRef,
    /// The version it replaces, when one version runs there now.
    pub previous_version: Option<String>,
    /// The steps, in order.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// Whether the plan writes to the cluster (a plan that only awaits a rollout already set
    /// takes no lock and waits for no queue).
    pub fn writes_to_cluster(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.step, Step::SetImage { .. }))
    }

    /// The image changes the plan's `set_image` step makes, when known.
    pub fn changes(&self) -> Option<&[ImageChange]> {
        self.steps.iter().find_map(|s| match &s.step {
            Step::SetImage { changes, .. } => changes.as_deref(),
            _ => None,
        })
    }

    /// The Deployments the plan's rollout wait watches, when known.
    pub fn awaited(&self) -> Option<&[String]> {
        self.steps.iter().find_map(|s| match &s.step {
            Step::AwaitRollout { workloads, .. } => workloads.as_deref(),
            _ => None,
        })
    }
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Act.
    Proceed(Plan),
    /// Nothing to do, and that is fine.
    Ignore(Reason),
    /// Refused; nothing may change.
    Refuse(Reason),
}

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
}

impl Target {
    fn in_env(env: &EnvironmentConfig, version: Option<Version>, commit: Option<GitSha>) -> Self {
        Target {
            environment: Some(env.name.clone()),
            namespace: env.namespace.clone(),
            version,
            commit,
            source: None,
            queue_gate: env.queue_gate,
            skip_queue_gate: None,
        }
    }
}

impl From<Reason> for Decision {
    /// An ignore when the code says there is simply nothing to do, else a refusal.
    fn from(reason: Reason) -> Decision {
        if reason.code.is_ignore() {
            Decision::Ignore(reason)
        } else {
            Decision::Refuse(reason)
        }
    }
}

fn refuse(code: ReasonCode, message: impl Into<String>) -> Reason {
    Reason::new(code, message)
}

fn ignore(code: ReasonCode, message: impl Into<String>) -> Reason {
    Reason::new(code, message)
}

fn env_by_trigger(
    config: &Config,
    trigger: Trigger,
    what: &str,
) -> Result<EnvironmentConfig, Reason> {
    config.environment_for_trigger(trigger).cloned().ok_or_else(|| {
        refuse(
            ReasonCode::InvalidInput,
            format!("no environment has `trigger = \"{what}\"` in the config; add one to deploy {what}s"),
        )
    })
}

fn looks_like_full_sha(text: &str) -> bool {
    text.len() == GitSha::MAX_LEN && GitSha::parse(text).is_ok()
}

/// Resolves where an event deploys (environment, namespace, version) from config alone.
/// `Err` carries the ignore or refusal (see [`ReasonCode::is_ignore`]) when the event cannot deploy at all.
pub fn target(event: &Event, config: &Config) -> Result<Target, Reason> {
    match event {
        Event::Merged { branch, sha } => {
            if branch != &config.main_branch {
                return Err(ignore(
                    ReasonCode::NotReleaseBranch,
                    format!(
                        "merges to `{branch}` are not deployed; only merges to `{}` deploy automatically (use `deploy` for anything else)",
                        config.main_branch
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
            if let Some(branch) = target_branch
                && !config.is_release_branch(branch)
                && !looks_like_full_sha(branch)
            {
                return Err(ignore(
                    ReasonCode::NotReleaseBranch,
                    format!(
                        "release `{tag}` targets `{branch}`, which is not a release branch ({}); it is not deployed",
                        config.release_branches.join(", ")
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
            let source = config
                .environment(source_name)
                .map(|s| (s.name.clone(), s.namespace.clone()));
            let mut target = Target::in_env(env, Some(version.clone()), None);
            target.source = source;
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
                    validate_namespace(ns).map_err(|m| refuse(ReasonCode::InvalidInput, m))?;
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
                queue_gate: env.is_some_and(|e| e.queue_gate),
                skip_queue_gate: None,
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
            Ok(target)
        }
    }
}

fn unknown_env(config: &Config, name: &str) -> Reason {
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

/// Facts with only the app's Deployments left in the workload lists.
fn only_app_workloads(facts: &Facts, repository: &str) -> Facts {
    let keep = |fact: &Fact<Vec<Workload>>| match fact {
        Fact::Known(workloads) => Fact::Known(
            app_workloads(workloads, repository)
                .cloned()
                .collect::<Vec<_>>(),
        ),
        Fact::Unknown => Fact::Unknown,
    };
    Facts {
        target_workloads: keep(&facts.target_workloads),
        source_workloads: keep(&facts.source_workloads),
        ..facts.clone()
    }
}

/// Decides what to do. Pure: no I/O, no clock.
pub fn decide(event: &Event, config: &Config, facts: &Facts) -> Decision {
    match decide_inner(event, config, facts) {
        Ok(plan) => Decision::Proceed(plan),
        Err(reason) => Decision::from(reason),
    }
}

fn decide_inner(event: &Event, config: &Config, facts: &Facts) -> Result<Plan, Reason> {
    let target = target(event, config)?;
    let repository = facts
        .repository_uri
        .known()
        .cloned()
        .or_else(|| config.registry_uri.clone())
        .unwrap_or_else(|| format!("<{} repository URI>", config.registry_repository));
    // Only Deployments that run the app count: a cache selected by the same label is never
    // patched, awaited or judged.
    let facts = &only_app_workloads(facts, &repository);

    let version = match (&target.version, event) {
        (Some(v), _) => v.clone(),
        (None, Event::Rollback { env, .. }) => match facts.target_workloads.known() {
            Some(workloads) => previous_version(workloads, &repository)?,
            None => {
                return Ok(offline_rollback_plan(config, &target, &repository, env));
            }
        },
        (None, _) => {
            return Err(refuse(
                ReasonCode::InvalidInput,
                "the event names no version",
            ));
        }
    };
    let tag = version.image_tag(config.short_sha_length);
    let mut image = ImageRef::new(repository.clone(), tag.clone());
    let mut steps = Vec::new();

    // A release targeting a commit SHA must be on a release branch.
    if let Event::Released {
        target_branch: Some(branch),
        tag: release_tag,
        ..
    } = event
        && looks_like_full_sha(branch)
        && !config.is_release_branch(branch)
        && let Fact::Known(false) = facts.target_on_release_branch
    {
        return Err(ignore(
            ReasonCode::NotReleaseBranch,
            format!(
                "release `{release_tag}` targets commit {branch}, which is on no release branch; it is not deployed"
            ),
        ));
    }

    // Idempotence: already there with a complete rollout → nothing to do.
    if let Some(workloads) = facts.target_workloads.known()
        && runs_completely(workloads, &repository, &tag)
    {
        return Err(ignore(
            ReasonCode::AlreadyDeployed,
            format!(
                "namespace `{}` already runs {tag} with a complete rollout",
                target.namespace
            ),
        ));
    }

    let mut ensure = None;
    match event {
        Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. } => {
            ensure = Some(ensure_image_step(event, config, facts, &target, &version, &image)?);
        }
        Event::Promote { allow_downgrade, .. } => {
            image.digest = verified_digest(facts, &target, &image)?;
            steps.extend(promotion_gates(facts, &target, &version, &image, *allow_downgrade)?);
        }
        Event::Rollback { .. } => match facts.target_image.known() {
            Some(None) => {
                return Err(refuse(
                    ReasonCode::ImageMissing,
                    format!("the previous version's image {image} is not in the registry; deploy another version explicitly"),
                ));
            }
            known => steps.push(PlannedStep {
                reason: if known.is_some() {
                    format!("roll back to the recorded previous version {tag}; its image exists")
                } else {
                    format!("roll back to the recorded previous version {tag}; its image must exist — checked at run time")
                },
                step: Step::GateImageExists { image: image.clone() },
            }),
        },
    }

    let changes = match facts.target_workloads.known() {
        Some(workloads) => Some(image_changes(
            workloads,
            &repository,
            &image,
            &target.namespace,
        )?),
        None => None,
    };
    let awaited: Option<Vec<String>> = facts
        .target_workloads
        .known()
        .map(|ws| ws.iter().map(|w| w.name.clone()).collect());
    let previous = facts
        .target_workloads
        .known()
        .and_then(|ws| version_being_replaced(ws, &repository, &tag));
    match (changes, awaited) {
        // Every app container already has the image, but the rollout is not complete: that is
        // not "already deployed". Nothing is written, so no lock and no queue gate: await it.
        (Some(changes), Some(awaited)) if changes.is_empty() => {
            steps.extend(ensure);
            steps.push(PlannedStep {
                reason: format!(
                    "every app container already has {tag} but the rollout is not complete: wait up to {} for it (nothing is written; a failing rollout is refused as `rollout_failing`)",
                    crate::config::format_duration(config.rollout_timeout)
                ),
                step: Step::AwaitRollout {
                    namespace: target.namespace.clone(),
                    workloads: Some(awaited),
                    timeout_secs: config.rollout_timeout.as_secs(),
                },
            });
        }
        (changes, awaited) => {
            steps.extend(deploy_steps(
                config, &target, &image, ensure, changes, awaited,
            ));
        }
    }
    Ok(Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: tag,
        image,
        previous_version: previous,
        steps,
    })
}

/// The digest a promotion deploys: the one the source environment's app containers are pinned
/// to, else the registry's for the tag. A tag that no longer names the digest the source runs
/// has moved, and is refused.
fn verified_digest(
    facts: &Facts,
    target: &Target,
    image: &ImageRef,
) -> Result<Option<String>, Reason> {
    let source = facts.source_workloads.known().and_then(|workloads| {
        let mut digests = workloads.iter().map(|w| w.app_digest(&image.repository));
        let first = digests.next()??;
        digests
            .all(|d| d.as_deref() == Some(first.as_str()))
            .then_some(first)
    });
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

/// The version a deploy of `tag` replaces, for the audit trail. A workload already moved to
/// `tag` by an interrupted run still knows its predecessor from that run's annotations.
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
    candidates
        .all(|c| c.as_deref() == Some(first.as_str()))
        .then_some(first)
}

fn ensure_image_step(
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
            .map(|r| r.short(config.short_sha_length).to_owned()),
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

fn promotion_gates(
    facts: &Facts,
    target: &Target,
    version: &Version,
    image: &ImageRef,
    allow_downgrade: bool,
) -> Result<Vec<PlannedStep>, Reason> {
    let env_name = target.environment.clone().unwrap_or_default();
    let mut steps = Vec::new();
    match facts.target_image.known() {
        Some(None) => {
            return Err(refuse(
                ReasonCode::ImageMissing,
                format!("no image {image} exists; production never builds — release {version} first so it is built and deployed to staging"),
            ));
        }
        known => steps.push(PlannedStep {
            reason: match (known, &image.digest) {
                (Some(_), Some(digest)) => format!("image {image} exists; the digest verified upstream, {digest}, is what gets deployed (production never builds)"),
                (Some(_), None) => format!("image {image} exists (production never builds)"),
                (None, _) => format!("image {image} must already exist in the registry — checked at run time (production never builds); the digest the source runs is deployed"),
            },
            step: Step::GateImageExists { image: image.clone() },
        }),
    }
    if let Some((source_env, source_ns)) = &target.source {
        let repository = &image.repository;
        match facts.source_workloads.known() {
            Some(workloads) if !runs_completely(workloads, repository, &image.tag) => {
                let runs = common_tag(workloads, repository).unwrap_or_else(|| "no single version".to_owned());
                let rollout = if workloads.iter().all(|w| w.rollout.state().is_complete()) {
                    "complete"
                } else {
                    "incomplete"
                };
                return Err(refuse(
                    ReasonCode::NotVerifiedOnStaging,
                    format!(
                        "`{source_env}` (namespace `{source_ns}`) runs {runs} (rollout {rollout}), not {version} with a complete rollout; deploy and verify {version} on `{source_env}` first"
                    ),
                ));
            }
            known => steps.push(PlannedStep {
                reason: if known.is_some() {
                    format!("`{source_env}` runs {version} with a complete rollout")
                } else {
                    format!("`{source_env}` must run {version} with a complete rollout — checked at run time")
                },
                step: Step::GateSourceVerified {
                    environment: source_env.clone(),
                    namespace: source_ns.clone(),
                    version: version.to_string(),
                },
            }),
        }
    }
    steps.push(downgrade_gate(
        facts,
        &env_name,
        version,
        &image.repository,
        allow_downgrade,
    )?);
    Ok(steps)
}

/// The downgrade gate: the version must not be older than the highest release any app
/// workload runs; a workload running something that is not a release cannot be compared.
fn downgrade_gate(
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

/// The image changes that move every app container to `image`; sidecars are left alone.
fn image_changes(
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
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

fn deploy_steps(
    config: &Config,
    target: &Target,
    image: &ImageRef,
    ensure: Option<PlannedStep>,
    changes: Option<Vec<ImageChange>>,
    awaited: Option<Vec<String>>,
) -> Vec<PlannedStep> {
    let ns = &target.namespace;
    let queues = &config.queues;
    let gate = target.queue_gate && !queues.names.is_empty();
    let skipped = target.skip_queue_gate.as_ref().filter(|_| gate);
    let mut steps = Vec::new();
    if let Some(reason) = skipped {
        steps.push(PlannedStep {
            reason: format!(
                "EMERGENCY: the queue gate is skipped ({reason}); {} in {} {} read once and recorded, not waited for — a job in flight may be lost",
                queues.names.join(", "),
                queues.regions.join(" and "),
                if queues.names.len() == 1 { "is" } else { "are" },
            ),
            step: Step::QueueGateSkipped {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
                reason: reason.clone(),
            },
        });
    } else if gate {
        steps.push(PlannedStep {
            reason: format!(
                "a job in flight during a deploy is lost: wait until {} {} drained (visible + in flight + delayed = 0) in {} for {} over ≥ {} samples, up to {} for a busy queue — checked at run time",
                queues.names.join(", "),
                if queues.names.len() == 1 { "is" } else { "are" },
                queues.regions.join(" and "),
                crate::config::format_duration(queues.window),
                queues.samples_needed(),
                crate::config::format_duration(queues.timeout),
            ),
            step: Step::GateQueuesDrained {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
            },
        });
    }
    // Images are made only once the gates passed, so a refused run changes nothing.
    steps.extend(ensure);
    steps.push(PlannedStep {
        reason: format!("one deploy at a time: take the Lease `neuro-deploy` in `{ns}`"),
        step: Step::AcquireLock {
            namespace: ns.clone(),
        },
    });
    if gate && skipped.is_none() {
        steps.push(PlannedStep {
            reason: "look at the queues once more, just before the first write".to_owned(),
            step: Step::RecheckQueues {
                queues: queues.names.clone(),
                regions: queues.regions.clone(),
            },
        });
    }
    let set_reason = match &changes {
        Some(changes) => {
            let mut names: Vec<&str> = changes.iter().map(|c| c.workload.as_str()).collect();
            names.dedup();
            format!(
                "set {} on {} container(s) of {} Deployment(s); sidecars untouched",
                image.pinned(),
                changes.len(),
                names.len()
            )
        }
        None => format!(
            "set {} on the containers of {} in every Deployment matching `{}`; sidecars untouched",
            image.pinned(),
            image.repository,
            config.selector
        ),
    };
    steps.push(PlannedStep {
        reason: set_reason,
        step: Step::SetImage {
            namespace: ns.clone(),
            image: image.clone(),
            changes,
        },
    });
    steps.push(PlannedStep {
        reason: format!(
            "wait up to {} for the rollout of every app Deployment to complete; on failure restore the previous images",
            crate::config::format_duration(config.rollout_timeout)
        ),
        step: Step::AwaitRollout {
            namespace: ns.clone(),
            workloads: awaited,
            timeout_secs: config.rollout_timeout.as_secs(),
        },
    });
    steps.push(PlannedStep {
        reason: "release the lock, whatever happened".to_owned(),
        step: Step::ReleaseLock {
            namespace: ns.clone(),
        },
    });
    steps
}

fn offline_rollback_plan(config: &Config, target: &Target, repository: &str, env: &str) -> Plan {
    let image = ImageRef::new(repository.to_owned(), "<previous version>");
    let mut steps = vec![PlannedStep {
        reason: format!(
            "roll `{env}` back to the version recorded in `neuro-deploy.io/previous-version` on its Deployments — read at run time; its image must exist"
        ),
        step: Step::GateImageExists {
            image: image.clone(),
        },
    }];
    steps.extend(deploy_steps(config, target, &image, None, None, None));
    Plan {
        environment: target.environment.clone(),
        namespace: target.namespace.clone(),
        version: "<previous version>".to_owned(),
        image,
        previous_version: None,
        steps,
    }
}

/// Whether an event changes a promotion-only environment (production), which needs an
/// operator's explicit confirmation (`--yes`, or a yes on a terminal).
pub fn needs_confirmation(event: &Event, config: &Config) -> bool {
    target(event, config).is_ok_and(|t| {
        t.environment
            .and_then(|name| config.environment(&name).cloned())
            .is_some_and(|env| env.is_promotion_target())
    })
}

/// The refusal for a production change that nobody confirmed.
pub fn confirmation_refusal(event: &Event) -> Reason {
    Reason::new(
        ReasonCode::ConfirmationRequired,
        format!(
            "`{}` changes production and needs confirmation: pass `--yes`, or run it on a terminal to review the plan and confirm",
            event.kind()
        ),
    )
}
