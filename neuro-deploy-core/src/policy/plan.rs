//! What a decision is made of: the [`Step`]s of a [`Plan`] with their reasons, or an ignore or a
//! refusal ([`Decision`]).

use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::model::{ImageChange, ImageRef};
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
    /// The version deployed.
    pub version: String,
    /// The image deployed.
    pub image: ImageRef,
    /// The version it replaces, when one version runs there now.
    pub previous_version: Option<String>,
    /// The exact image it replaces (digest included), when one image runs there now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_image: Option<String>,
    /// The steps, in order.
    pub steps: Vec<PlannedStep>,
    /// Why this deploy goes in although a guardrail is closed (a deploy window overridden, a
    /// rollback inside a deny window): written to the Deployments as `neuro-deploy.io/override`,
    /// the report, the notification and the GitHub Deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
    /// Who approved the deploy (the approvals it uses, consumed once it writes): written as
    /// `neuro-deploy.io/approved-by`, in the report, the notification and the GitHub Deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
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
