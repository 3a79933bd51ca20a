//! What the dashboard shows, as plain data: one [`DashboardState`] per read of the world. The
//! page and `/api/state` are both made from it, so they never disagree. Built by whoever reads
//! the world (the CLI), from the same facts and the same policy the commands use.

use chrono::{DateTime, Utc};
use neuro_deploy_core::model::Changes;
use neuro_deploy_core::{HistoryEntry, QueueDepth};
use serde::Serialize;

/// The version of `/api/state`'s shape; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one read of the world found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardState {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The app's name (`[app] name`).
    pub app: String,
    /// When the world was read; `None` before the first read finished.
    pub read_at: Option<DateTime<Utc>>,
    /// How often it is read, in seconds.
    pub refresh_secs: u64,
    /// The environments, in the pipeline's order (the config's).
    pub environments: Vec<EnvironmentView>,
    /// Between each environment and the next: what moving the version on would take.
    pub pairs: Vec<PairView>,
    /// The training queues, in every region.
    pub queues: Vec<QueueView>,
    /// The history, per environment.
    pub history: Vec<HistoryView>,
    /// Where the history comes from (`github_deployments` or `annotations`).
    pub history_source: String,
    /// What could not be read this time, one sentence each (the rest is still shown).
    pub unread: Vec<String>,
}

impl DashboardState {
    /// The state before the first read: nothing known yet.
    pub fn not_read_yet(app: &str, refresh_secs: u64) -> DashboardState {
        DashboardState {
            schema_version: SCHEMA_VERSION,
            app: app.to_owned(),
            read_at: None,
            refresh_secs,
            environments: Vec::new(),
            pairs: Vec::new(),
            queues: Vec::new(),
            history: Vec::new(),
            history_source: String::new(),
            unread: Vec::new(),
        }
    }
}

/// One environment's column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentView {
    /// Its name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The version every app Deployment runs, when they agree.
    pub version: Option<String>,
    /// The image digest they are pinned to (`sha256:` and 12 digits), when they agree.
    pub digest: Option<String>,
    /// The commit or release page of the version, when a GitHub repository is configured.
    pub commit_url: Option<String>,
    /// When and by whom it was deployed, as recorded.
    pub deployed_at: Option<DateTime<Utc>>,
    /// Who deployed it.
    pub deployed_by: Option<String>,
    /// Where the rollout stands (`complete`, `progressing`, `failed` …).
    pub rollout: String,
    /// Replicas ready out of desired, over the app's Deployments.
    pub ready: String,
    /// Each app Deployment's rollout.
    pub workloads: Vec<WorkloadView>,
    /// Drift, freeze, window, quarantined versions, the lock's holder.
    pub badges: Vec<Badge>,
    /// Why the environment could not be read, when it could not (the rest of the page stands).
    pub unreachable: Option<String>,
}

/// One Deployment's rollout numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadView {
    /// Deployment name.
    pub name: String,
    /// Replicas wanted.
    pub desired: i32,
    /// Replicas on the current template.
    pub updated: i32,
    /// Replicas available.
    pub available: i32,
}

/// How a badge reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Nothing to worry about.
    Good,
    /// Worth knowing.
    Note,
    /// Holds things up.
    Warn,
    /// Wrong.
    Bad,
}

impl Tone {
    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Note => "note",
            Tone::Warn => "warn",
            Tone::Bad => "bad",
        }
    }
}

/// A short fact about an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Badge {
    /// `drift`, `freeze`, `window`, `quarantine`, `lock`.
    pub kind: String,
    /// How it reads.
    pub tone: Tone,
    /// What it says.
    pub text: String,
}

/// Between two environments next to each other in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairView {
    /// The environment before.
    pub from: String,
    /// The environment after.
    pub to: String,
    /// The version that would move on (what `from` runs), when known.
    pub version: Option<String>,
    /// One sentence: why it is, or is not, in `to` yet.
    pub sentence: String,
    /// Whether something holds it up.
    pub blocked: bool,
    /// Each gate's verdict, as `promote --dry-run` gives them (empty where `to` takes no
    /// promotions).
    pub gates: Vec<GateView>,
    /// What moving it on would change.
    pub changes: Option<Changes>,
}

/// One gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateView {
    /// The gate (`gate_approvals` …).
    pub gate: String,
    /// `passed`, `refused`, `waits` or `not judged`.
    pub verdict: String,
    /// Why.
    pub text: String,
}

impl GateView {
    /// The verdict as a CSS class word (`not-judged`).
    pub fn css_class(&self) -> String {
        self.verdict.replace(' ', "-")
    }
}

/// One queue in one region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    /// The queue.
    pub queue: String,
    /// The region.
    pub region: String,
    /// The counts now, when read.
    pub depth: Option<QueueDepth>,
    /// Why it could not be read.
    pub error: Option<String>,
    /// What the dashboard sampled since it started (messages in all three counts), oldest first.
    pub samples: Vec<QueuePoint>,
}

impl QueueView {
    /// Whether it holds nothing (read and all zero).
    pub fn is_drained(&self) -> bool {
        self.depth.is_some_and(|d| d.is_empty())
    }
}

/// One sample of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueuePoint {
    /// When.
    pub at: DateTime<Utc>,
    /// Visible, in-flight and delayed messages together.
    pub messages: u64,
}

/// One environment's history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryView {
    /// The environment.
    pub environment: String,
    /// Its deploys.
    pub entries: Vec<HistoryEntry>,
}
