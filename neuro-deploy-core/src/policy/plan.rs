//! What a decision is made of: a [`Plan`] — its gates, the image action and the deploy phase
//! ([`DeployPhase`]), each a [`Step`] with its reason — or an ignore or a refusal ([`Decision`]).

use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::model::{DeployNotes, ImageChange, ImageRef};
use crate::version::GitSha;

use super::window::WindowState;

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
        /// The image to deploy; `None` in a plan made offline without the repository URI
        /// (read from the registry at run time).
        image: Option<ImageRef>,
        /// How.
        action: ImageAction,
    },
    /// The image must already exist (never built for a promotion).
    GateImageExists {
        /// The image; `None` in a plan made offline that does not know it (the repository URI
        /// or a rollback's version, read at run time).
        image: Option<ImageRef>,
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
    /// The environment's deploy windows let the deploy in (or were overridden, or it is a
    /// rollback, which is never blocked).
    GateDeployWindow {
        /// The environment.
        environment: String,
        /// Their state at the run's instant; `None` when checked at run time.
        state: Option<WindowState>,
    },
    /// Enough people approved this version and digest (not counting whoever runs it).
    GateApprovals {
        /// The environment.
        environment: String,
        /// How many distinct people must approve.
        required: u32,
        /// Who did, when known.
        approved_by: Vec<String>,
    },
    /// A gate that has no step kind of its own (the gates added since need no variant here):
    /// judged from the facts, like the gates above.
    Gate {
        /// The gate, as its step is named in reports (`gate_…`).
        gate: String,
        /// What it judged, for machines (instants in RFC 3339, durations as written).
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        detail: std::collections::BTreeMap<String, String>,
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
        /// Image to set; `None` in a plan made offline that does not know it.
        image: Option<ImageRef>,
        /// The exact changes, when the workloads are known.
        changes: Option<Vec<ImageChange>>,
    },
    /// Wait for the rollout; roll back to the previous images when it fails.
    AwaitRollout {
        /// Namespace.
        namespace: String,
        /// Deployments to watch, when known.
        workloads: Option<Vec<String>>,
        /// How long the rollout may take, in whole seconds (rounded up): what the executor
        /// waits.
        timeout_secs: u64,
    },
    /// Probe the environment's checks after the rollout; a failure restores the previous
    /// images like a failed rollout. A pass is recorded on the Deployments.
    Verify {
        /// Namespace.
        namespace: String,
        /// The environment's checks (`[environments.verify]`).
        checks: crate::config::VerifyConfig,
    },
    /// Release the lock (on every path).
    ReleaseLock {
        /// Namespace.
        namespace: String,
    },
}

impl Step {
    /// The step's kind as it appears in reports (`ensure_image`, `gate_queues_drained` …).
    pub fn kind(&self) -> &str {
        match self {
            Step::Gate { gate, .. } => gate,
            Step::EnsureImage { .. } => "ensure_image",
            Step::GateImageExists { .. } => "gate_image_exists",
            Step::GateSourceVerified { .. } => "gate_source_verified",
            Step::GateNotDowngrade { .. } => "gate_not_downgrade",
            Step::GateQueuesDrained { .. } => "gate_queues_drained",
            Step::QueueGateSkipped { .. } => "queue_gate_skipped",
            Step::GateDeployWindow { .. } => "gate_deploy_window",
            Step::GateApprovals { .. } => "gate_approvals",
            Step::AcquireLock { .. } => "acquire_lock",
            Step::RecheckQueues { .. } => "recheck_queues",
            Step::SetImage { .. } => "set_image",
            Step::AwaitRollout { .. } => "await_rollout",
            Step::Verify { .. } => "verify",
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
                | Step::Verify { .. }
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
    /// The version deployed; `None` only for a rollback planned offline (the version it
    /// returns to is recorded on the Deployments, read at run time).
    pub version: Option<String>,
    /// The image deployed; `None` in a plan made offline that does not know it (the repository
    /// URI, when `registry.uri` is not configured, or a rollback's version). A live run's plan
    /// always names both.
    pub image: Option<ImageRef>,
    /// The version it replaces, when one version runs there now.
    pub previous_version: Option<String>,
    /// The exact image it replaces (digest included), when one image runs there now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// The gates the run passes (or judges at run time, offline), in the order it meets them,
    /// each with why.
    pub gates: Vec<PlannedStep>,
    /// How the image comes to exist (present, retagged, built), for the events that may build;
    /// taken once every gate passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_action: Option<PlannedStep>,
    /// What is written and awaited.
    pub deploy: DeployPhase,
    /// What the deploy's record says beyond what it sets (overrides, who approved), from the
    /// gates: rendered by the annotations, the report, the GitHub Deployment and the
    /// notification.
    #[serde(flatten)]
    pub notes: DeployNotes,
}

/// The deploy phase of a plan: under the namespace's lock, or — when every app container
/// already has the image — only the wait for the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
// One phase a plan, built once: boxing the larger variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum DeployPhase {
    /// Take the lock, look at the queues once more (when the queue gate waits), set the image
    /// (after deciding again on fresh facts), await the rollout (restoring the previous images
    /// when it fails), verify, release the lock on every path.
    Write {
        /// [`Step::AcquireLock`].
        lock: PlannedStep,
        /// [`Step::RecheckQueues`], when the queue gate waits for the queues.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recheck: Option<PlannedStep>,
        /// [`Step::SetImage`].
        set: PlannedStep,
        /// [`Step::AwaitRollout`].
        rollout: PlannedStep,
        /// [`Step::Verify`], when the environment has checks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verify: Option<PlannedStep>,
        /// [`Step::ReleaseLock`].
        release: PlannedStep,
    },
    /// Nothing is written (no lock, no queue gate): the rollout of the images already set is
    /// awaited, and a failing one refused.
    AwaitAsSet {
        /// [`Step::AwaitRollout`].
        rollout: PlannedStep,
    },
}

impl DeployPhase {
    /// Its steps, in order.
    pub fn steps(&self) -> Vec<&PlannedStep> {
        match self {
            DeployPhase::Write {
                lock,
                recheck,
                set,
                rollout,
                verify,
                release,
            } => std::iter::once(lock)
                .chain(recheck)
                .chain([set, rollout])
                .chain(verify)
                .chain(std::iter::once(release))
                .collect(),
            DeployPhase::AwaitAsSet { rollout } => vec![rollout],
        }
    }

    /// Takes what to write and what to await from `fresh`, this phase decided again on fresh
    /// facts (the images may have been set meanwhile: then nothing is left to write).
    pub fn take_writes_from(&mut self, fresh: DeployPhase) {
        let DeployPhase::Write { set, rollout, .. } = self else {
            return;
        };
        match fresh {
            DeployPhase::Write {
                set: fresh_set,
                rollout: fresh_rollout,
                ..
            } => {
                *set = fresh_set;
                *rollout = fresh_rollout;
            }
            DeployPhase::AwaitAsSet {
                rollout: fresh_rollout,
            } => {
                if let Step::SetImage { changes, .. } = &mut set.step {
                    *changes = Some(Vec::new());
                }
                *rollout = fresh_rollout;
            }
        }
    }

    /// The rollout wait.
    pub fn rollout(&self) -> &PlannedStep {
        match self {
            DeployPhase::Write { rollout, .. } | DeployPhase::AwaitAsSet { rollout } => rollout,
        }
    }
}

impl Plan {
    /// The version as people read it: the version, or for a rollback planned offline what
    /// it is.
    pub fn version_text(&self) -> String {
        self.version
            .clone()
            .unwrap_or_else(|| "the previous version".to_owned())
    }

    /// The image as people read it: `repository:tag`, or in a plan made offline that does
    /// not know it, what it is and when it is read.
    pub fn image_text(&self) -> String {
        match (&self.image, &self.version) {
            (Some(image), _) => image.to_string(),
            (None, Some(version)) => {
                format!("{version} (its repository URI is read from the registry at run time)")
            }
            (None, None) => {
                "the previous version's image (recorded on the Deployments, read at run time)"
                    .to_owned()
            }
        }
    }

    /// Every step people see, in order: the gates, the image, the deploy phase.
    pub fn steps(&self) -> Vec<&PlannedStep> {
        self.gates
            .iter()
            .chain(&self.image_action)
            .chain(self.deploy.steps())
            .collect()
    }

    /// Whether the plan writes to the cluster (a plan that only awaits a rollout already set
    /// takes no lock and waits for no queue).
    pub fn writes_to_cluster(&self) -> bool {
        matches!(self.deploy, DeployPhase::Write { .. })
    }

    /// The image changes the plan's `set_image` step makes, when known.
    pub fn changes(&self) -> Option<&[ImageChange]> {
        match &self.deploy {
            DeployPhase::Write { set, .. } => match &set.step {
                Step::SetImage { changes, .. } => changes.as_deref(),
                _ => None,
            },
            DeployPhase::AwaitAsSet { .. } => None,
        }
    }

    /// How long the plan's rollout wait waits.
    pub fn rollout_timeout(&self) -> Option<std::time::Duration> {
        match &self.deploy.rollout().step {
            Step::AwaitRollout { timeout_secs, .. } => {
                Some(std::time::Duration::from_secs(*timeout_secs))
            }
            _ => None,
        }
    }

    /// The Deployments the plan's rollout wait watches, when known.
    pub fn awaited(&self) -> Option<&[String]> {
        match &self.deploy.rollout().step {
            Step::AwaitRollout { workloads, .. } => workloads.as_deref(),
            _ => None,
        }
    }
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
// One decision a run (two under the lock): boxing the plan would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Decision {
    /// Act.
    Proceed(Plan),
    /// Nothing to do, and that is fine.
    Ignore(Reason),
    /// Refused; nothing may change.
    Refuse(Reason),
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
