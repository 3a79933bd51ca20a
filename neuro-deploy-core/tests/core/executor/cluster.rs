//! [`Remembering`]: a cluster double whose reads show what was written through it, as a real
//! API server's do — each written container runs its new image and the Deployment's
//! `resourceVersion` moves on — so a restore, which reads the Deployments again before writing
//! back, finds this run's writes there (unless the double's own read shows a later change).
//! It also measures how many writes are in flight at once ([`WriteLoad`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neuro_deploy_core::{
    AdapterError, ClusterDeployer, DeployAudit, ImageChange, LockAttempt, LockHandle,
    RolloutResult, Workload,
};

/// Delegates to `inner`, remembering every write that landed (or whose answer was lost: it
/// may have landed, and these tests mean that it did).
pub struct Remembering {
    inner: Arc<dyn ClusterDeployer>,
    written: Mutex<Vec<ImageChange>>,
    load: Arc<WriteLoad>,
}

/// How long each write takes (on tokio's clock; zero: no wait at all), and how many were in
/// flight at once, at most.
#[derive(Default)]
pub struct WriteLoad {
    pub time: Duration,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl WriteLoad {
    /// Writes that take `time` each.
    pub fn taking(time: Duration) -> WriteLoad {
        WriteLoad {
            time,
            ..WriteLoad::default()
        }
    }

    /// The most writes in flight at once so far.
    pub fn most_in_flight(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

impl Remembering {
    pub fn new(inner: Arc<dyn ClusterDeployer>, load: Arc<WriteLoad>) -> Remembering {
        Remembering {
            inner,
            written: Mutex::new(Vec::new()),
            load,
        }
    }
}

#[async_trait::async_trait]
impl ClusterDeployer for Remembering {
    async fn workloads(&self, ns: &str) -> Result<Vec<Workload>, AdapterError> {
        let mut workloads = self.inner.workloads(ns).await?;
        let written = self.written.lock().unwrap().clone();
        for (n, change) in written.iter().enumerate() {
            let Some(workload) = workloads.iter_mut().find(|w| w.name == change.workload) else {
                continue;
            };
            // What the double read still shows the image this write replaced; a read that
            // shows something else is someone's later change, and stands.
            if let Some(container) = workload
                .containers
                .iter_mut()
                .find(|c| c.container == change.container && c.image == change.previous_image)
            {
                container.image = change.image.clone();
                workload.resource_version = Some(format!("written-{n}"));
            }
        }
        Ok(workloads)
    }
    async fn set_images(
        &self,
        ns: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError> {
        let now = self.load.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.load.most.fetch_max(now, Ordering::SeqCst);
        if !self.load.time.is_zero() {
            tokio::time::sleep(self.load.time).await;
        }
        let result = self.inner.set_images(ns, changes, audit).await;
        self.load.in_flight.fetch_sub(1, Ordering::SeqCst);
        if result.as_ref().is_ok() || result.as_ref().is_err_and(AdapterError::outcome_unknown) {
            self.written.lock().unwrap().extend_from_slice(changes);
        }
        result
    }
    async fn await_rollout(
        &self,
        ns: &str,
        w: &[String],
        t: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        self.inner.await_rollout(ns, w, t).await
    }
    async fn lock(&self, ns: &str, h: &str, l: Duration) -> Result<LockAttempt, AdapterError> {
        self.inner.lock(ns, h, l).await
    }
    async fn renew(&self, h: &LockHandle) -> Result<LockHandle, AdapterError> {
        self.inner.renew(h).await
    }
    async fn unlock(&self, h: &LockHandle) -> Result<(), AdapterError> {
        self.inner.unlock(h).await
    }
    async fn annotate(
        &self,
        ns: &str,
        w: &[String],
        a: &[(String, String)],
    ) -> Result<(), AdapterError> {
        self.inner.annotate(ns, w, a).await
    }
}
