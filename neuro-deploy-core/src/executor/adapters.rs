//! [`Adapters`]: the trait objects a run acts through.

use std::sync::Arc;

use crate::traits::{
    ClusterDeployer, ImageBuilder, QueueInspector, Registry, ReleaseSource, SharedState,
};

/// The adapters a run acts through.
#[derive(Clone)]
pub struct Adapters {
    /// Image registry.
    pub registry: Arc<dyn Registry>,
    /// Image builder; `None` when builds are not possible here (a build is then a failure).
    pub builder: Option<Arc<dyn ImageBuilder>>,
    /// Queue depths.
    pub queues: Arc<dyn QueueInspector>,
    /// The cluster.
    pub cluster: Arc<dyn ClusterDeployer>,
    /// Releases; `None` when no GitHub repository is configured.
    pub releases: Option<Arc<dyn ReleaseSource>>,
    /// The environments' shared guardrail state (a freeze, quarantined versions, approvals).
    /// Without it those gates cannot be judged, so every run refuses (fails closed) — give an
    /// in-memory one where nothing is shared.
    pub state: Option<Arc<dyn SharedState>>,
}
