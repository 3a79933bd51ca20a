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
    /// The environments' shared guardrail state (a freeze …); `None` when there is none to
    /// read, and then no guardrail applies.
    pub state: Option<Arc<dyn SharedState>>,
}
