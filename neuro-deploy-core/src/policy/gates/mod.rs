//! The gates, one module each, and the one ordered list of them ([`GATES`]).
//!
//! A gate says what it needs to know ([`Gate::needs`]: the executor gathers exactly that, and
//! nothing else), and judges a run ([`Gate::judge`]): it passes (with a note for the record when
//! something was overridden), refuses with a [`Reason`], or cannot be judged yet — offline, or
//! because what it needs is not known (a live run refuses then: a guardrail never passes for
//! want of a fact). `decide`, the verdicts of a refused run and the gathering of facts all
//! walk [`GATES`], so the order of the gates lives only there.

mod already_deployed;
mod approvals;
mod downgrade;
mod ensure_image;
mod freeze;
mod previous_version;
mod promoted_image;
mod quarantine;
mod queues;
mod release_branch;
mod rollback_image;
mod soak;
mod source_verified;
mod window;
mod workloads;

use serde::{Deserialize, Serialize};

use crate::config::{Config, EnvironmentConfig};
use crate::error::Reason;
use crate::model::{DeployNotes, Event, ImageRef};
use crate::version::Version;

use super::facts::{Facts, only_app_workloads};
use super::plan::{PlannedStep, Step};
use super::target::Target;
use super::workloads::{previous_version, recorded_previous_digest};

pub use super::facts::Overrides;
pub(crate) use promoted_image::verified_digest;

/// Every gate, in the order a run meets them: the only place the order lives.
pub(crate) const GATES: &[&dyn Gate] = &[
    &freeze::Freeze,
    &window::DeployWindow,
    &previous_version::PreviousVersion,
    &quarantine::Quarantine,
    &release_branch::ReleaseBranch,
    &already_deployed::AlreadyDeployed,
    &ensure_image::EnsureImage,
    &promoted_image::PromotedImage,
    &source_verified::SourceVerified,
    &downgrade::Downgrade,
    &soak::Soak,
    &rollback_image::RollbackImage,
    &approvals::Approvals,
    &workloads::Workloads,
    &queues::Queues,
];

/// Something a gate reads from the world, saying exactly what: the executor reads it and puts
/// the answer in [`Facts`]. Ordered as they are read: the cluster first (its guardrails are
/// judged without the registry), then the registry, then the releases.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "need", rename_all = "snake_case")]
pub enum Need {
    /// The Deployments in the target namespace ([`Facts::target_workloads`]).
    TargetWorkloads {
        /// The namespace.
        namespace: String,
    },
    /// The Deployments in the promotion source's namespace ([`Facts::source_workloads`]).
    SourceWorkloads {
        /// The namespace.
        namespace: String,
    },
    /// The target's shared guardrail state ([`Facts::guard`]).
    SharedState {
        /// The namespace.
        namespace: String,
    },
    /// Who this run's credentials authenticate as on the target's cluster ([`Facts::actor`]).
    Actor {
        /// The namespace (its cluster is asked).
        namespace: String,
    },
    /// The registry's repository URI ([`Facts::repository_uri`]).
    RepositoryUri,
    /// The image tagged `tag` ([`Facts::target_image`]).
    TargetImage {
        /// The version's tag.
        tag: String,
    },
    /// The image tagged with a release's commit ([`Facts::commit_image`]).
    CommitImage {
        /// The commit's short SHA.
        tag: String,
    },
    /// Whether a release written the other way has an image ([`Facts::other_spelling`]).
    OtherSpelling {
        /// `v1.4.0` for `1.4.0`, and back.
        tag: String,
    },
    /// The commit a release tag points at ([`Facts::revision`]).
    Revision {
        /// The release tag.
        release: String,
    },
    /// Whether a release branch contains a commit ([`Facts::target_on_release_branch`]).
    OnReleaseBranch {
        /// The branch.
        branch: String,
        /// The commit.
        sha: crate::version::GitSha,
    },
}

/// Where a [`Need`] is read from, in reading order: a run asks a source only when every
/// source before it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The target's (and the promotion source's) cluster.
    Cluster,
    /// The image registry.
    Registry,
    /// The releases (GitHub).
    Releases,
}

impl Need {
    /// Where it is read from.
    pub fn source(&self) -> Source {
        match self {
            Need::TargetWorkloads { .. }
            | Need::SourceWorkloads { .. }
            | Need::SharedState { .. }
            | Need::Actor { .. } => Source::Cluster,
            Need::RepositoryUri
            | Need::TargetImage { .. }
            | Need::CommitImage { .. }
            | Need::OtherSpelling { .. } => Source::Registry,
            Need::Revision { .. } | Need::OnReleaseBranch { .. } => Source::Releases,
        }
    }

    /// Whether it is read from the cluster (and so read again under the lock, where it may
    /// have changed meanwhile).
    pub fn from_the_cluster(&self) -> bool {
        matches!(
            self,
            Need::TargetWorkloads { .. } | Need::SourceWorkloads { .. } | Need::SharedState { .. }
        )
    }
}

/// A gate's verdict on one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Judgment {
    /// It lets the run through: why, the plan's step for it (some gates have none), and what
    /// the record must say.
    Passed {
        why: String,
        step: Option<PlannedStep>,
        notes: DeployNotes,
    },
    /// It refuses the run (or, for a precondition such as "already deployed", ignores it).
    Refused(Reason),
    /// What it needs is not known: offline, or no adapter supplied it (a live run refuses).
    NotYetKnown {
        why: String,
        step: Option<PlannedStep>,
    },
    /// Judged by the executor as the run goes (the queues are waited for, not looked up).
    WhileRunning { why: String, step: PlannedStep },
}

impl Judgment {
    /// A pass whose plan step says why.
    pub(crate) fn pass(step: Step, why: impl Into<String>) -> Judgment {
        let why = why.into();
        Judgment::Passed {
            step: Some(PlannedStep {
                step,
                reason: why.clone(),
            }),
            why,
            notes: DeployNotes::default(),
        }
    }

    /// A pass with no step in the plan.
    pub(crate) fn pass_silently(why: impl Into<String>) -> Judgment {
        Judgment::Passed {
            why: why.into(),
            step: None,
            notes: DeployNotes::default(),
        }
    }

    /// A pass through a closed gate: the note is the step's reason, and goes on the record.
    pub(crate) fn overridden(step: Step, note: String) -> Judgment {
        Judgment::Passed {
            step: Some(PlannedStep {
                step,
                reason: note.clone(),
            }),
            why: note.clone(),
            notes: DeployNotes {
                overrides: vec![note],
                approved_by: Vec::new(),
            },
        }
    }

    /// Not judged yet; the plan's step says what is checked at run time.
    pub(crate) fn at_run_time(step: Step, why: impl Into<String>) -> Judgment {
        let why = why.into();
        Judgment::NotYetKnown {
            step: Some(PlannedStep {
                step,
                reason: why.clone(),
            }),
            why,
        }
    }

    /// Not judged: the image (repository and version) is not known. [`judge`] does not call a
    /// gate that judges the image without it, so this is only a fallback.
    pub(crate) fn image_unknown() -> Judgment {
        Judgment::NotYetKnown {
            why: "the image is not known".to_owned(),
            step: None,
        }
    }

    /// A refusal (or an ignore, by its code).
    pub(crate) fn refused(reason: Reason) -> Judgment {
        Judgment::Refused(reason)
    }
}

/// A flag with which an operator lets a run through a closed gate, with `--reason TEXT`
/// recorded on the deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverrideFlag {
    /// The long flag without its dashes (`override-window`).
    pub flag: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Whether only `promote` takes it.
    pub promotion_only: bool,
}

/// One gate: what it needs to know, and its verdict.
pub(crate) trait Gate: Sync {
    /// Its name in reports: the step kind (`gate_approvals` …).
    fn name(&self) -> &'static str;

    /// Whether it judges this run at all (an environment without approvals has no approval
    /// gate).
    fn applies(&self, subject: &Subject) -> bool;

    /// What it reads, given what is known so far.
    fn needs(&self, subject: &Subject) -> Vec<Need>;

    /// Whether it judges the image (repository and version): without them it is not judged.
    fn judges_the_image(&self) -> bool {
        false
    }

    /// Its verdict.
    fn judge(&self, subject: &Subject) -> Judgment;

    /// Whether its verdict is listed when it passes (a precondition such as "already
    /// deployed" is listed only when it stops the run).
    fn listed(&self) -> bool {
        true
    }

    /// The flag that lets a run through it on the record, if any.
    fn override_flag(&self) -> Option<OverrideFlag> {
        None
    }
}

/// What the gates judge: the event, where it goes, the facts, and the image it deploys when
/// that is known.
pub(crate) struct Subject<'a> {
    pub event: &'a Event,
    pub config: &'a Config,
    pub target: &'a Target,
    /// The target's environment, when the namespace belongs to one.
    pub env: Option<&'a EnvironmentConfig>,
    /// The facts, with only the app's Deployments in the workload lists once the repository
    /// is known.
    pub facts: Facts,
    /// The registry's repository, when known (read, or set in the config).
    pub repository: Option<String>,
    /// The version deployed: the event's, or for a rollback the recorded previous one.
    pub version: Option<Version>,
    /// The exact image deployed (the digest verified upstream, the recorded one for a
    /// rollback), when the repository and the version are known.
    pub image: Option<ImageRef>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(
        event: &'a Event,
        config: &'a Config,
        target: &'a Target,
        facts: &Facts,
    ) -> Subject<'a> {
        let repository = facts
            .repository_uri
            .known()
            .cloned()
            .or_else(|| config.registry.uri.clone());
        let facts = match &repository {
            Some(repository) => only_app_workloads(facts, repository),
            None => facts.clone(),
        };
        let version = target.version.clone().or_else(|| {
            let workloads = facts.target_workloads.known()?;
            previous_version(workloads, repository.as_deref()?).ok()
        });
        let env = target
            .environment
            .as_deref()
            .and_then(|name| config.environment(name));
        let mut subject = Subject {
            event,
            config,
            target,
            env,
            facts,
            repository,
            version,
            image: None,
        };
        subject.image = subject.deployed_image();
        subject
    }

    fn deployed_image(&self) -> Option<ImageRef> {
        // Offline, without `registry.uri`, the gates judge the image by the repository's name;
        // the plan records no image (`planned_image`).
        let repository = self
            .repository
            .clone()
            .unwrap_or_else(|| self.config.registry.repository.clone());
        let mut image = ImageRef::new(repository, self.tag()?);
        image.digest = match self.event {
            Event::Promote { .. } => verified_digest(self, &image).ok().flatten(),
            Event::Rollback { .. } => self.facts.target_workloads.known().and_then(|workloads| {
                recorded_previous_digest(workloads, &image.repository, &image)
            }),
            _ => None,
        };
        Some(image)
    }

    /// The image deployed and its version, when both are known.
    pub(crate) fn deployed(&self) -> Option<(&ImageRef, &Version)> {
        Some((self.image.as_ref()?, self.version.as_ref()?))
    }

    /// The image the plan records: `None` offline without the registry's repository URI (the
    /// gates then judge it by the repository's name, and the run reads the URI).
    pub(crate) fn planned_image(&self) -> Option<ImageRef> {
        self.image.clone().filter(|_| self.repository.is_some())
    }

    /// The version's image tag, when the version is known.
    pub(crate) fn tag(&self) -> Option<String> {
        self.version
            .as_ref()
            .map(|version| version.image_tag(self.config.git.short_sha_length))
    }

    /// Where it goes, as people name it: the environment, else the namespace.
    pub(crate) fn place(&self) -> &str {
        self.target
            .environment
            .as_deref()
            .unwrap_or(&self.target.namespace)
    }

    /// Whether the event is a rollback (never blocked by a guardrail).
    pub(crate) fn is_rollback(&self) -> bool {
        matches!(self.event, Event::Rollback { .. })
    }

    /// The operator's reason to let the run through `gate`, when its flag was given.
    pub(crate) fn override_reason(&self, gate: &dyn Gate) -> Option<&str> {
        let flag = gate.override_flag()?;
        self.facts.overrides.get(flag.flag).map(String::as_str)
    }

    fn need_shared_state(&self) -> Need {
        Need::SharedState {
            namespace: self.target.namespace.clone(),
        }
    }

    fn need_target_workloads(&self) -> Need {
        Need::TargetWorkloads {
            namespace: self.target.namespace.clone(),
        }
    }

    fn need_source_workloads(&self) -> Option<Need> {
        self.target
            .source
            .as_ref()
            .map(|(_, namespace)| Need::SourceWorkloads {
                namespace: namespace.clone(),
            })
    }

    fn need_target_image(&self) -> Vec<Need> {
        let mut needs = vec![Need::RepositoryUri];
        needs.extend(self.tag().map(|tag| Need::TargetImage { tag }));
        needs
    }
}

/// Why a rollback's gates are not judged offline.
pub(super) const ROLLBACK_VERSION_UNREAD: &str =
    "the version a rollback returns to is recorded on the Deployments, which were not read";

/// `gate`'s verdict on `subject`, or `None` when it does not judge this run. Without the
/// registry's repository a gate that judges the image is not judged, except offline (where
/// every such gate is checked at run time anyway).
pub(crate) fn judge(gate: &dyn Gate, subject: &Subject) -> Option<Judgment> {
    if !gate.applies(subject) {
        return None;
    }
    // Offline nothing was read: every gate says what it checks at run time.
    let offline = subject.facts.target_workloads.is_unknown();
    if gate.judges_the_image() && subject.repository.is_none() && !offline {
        return Some(Judgment::NotYetKnown {
            why: "the registry's repository URI is not known (the registry could not be read)"
                .to_owned(),
            step: None,
        });
    }
    if gate.judges_the_image() && subject.version.is_none() {
        return Some(Judgment::NotYetKnown {
            why: ROLLBACK_VERSION_UNREAD.to_owned(),
            step: None,
        });
    }
    Some(gate.judge(subject))
}

/// Everything the gates of this run need to read, given what is known so far, in reading
/// order. Pure; the executor asks again after each read, since what is needed next may depend
/// on what was found (a missing image needs its commit).
pub fn needs(event: &Event, config: &Config, facts: &Facts) -> Vec<Need> {
    let Ok(target) = super::target::target(event, config) else {
        return Vec::new();
    };
    let subject = Subject::new(event, config, &target, facts);
    let mut needs: Vec<Need> = GATES
        .iter()
        .filter(|gate| gate.applies(&subject))
        .flat_map(|gate| gate.needs(&subject))
        .collect();
    needs.sort();
    needs.dedup();
    needs
}

/// The flags that let a run through a closed gate on the record (`--override-window`,
/// `--skip-soak` …), for the command line.
pub fn override_flags() -> Vec<OverrideFlag> {
    GATES
        .iter()
        .filter_map(|gate| gate.override_flag())
        .collect()
}
