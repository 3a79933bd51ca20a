//! # neuro-deploy-sim
//!
//! A simulated world neuro-deploy can run against with no cloud at all — what `neuro-deploy demo`
//! and the playground shell run on, and what the tests' Kubernetes runs on:
//!
//! - [`kube`]: **kube-sim**, a small Kubernetes API server (Namespaces, Deployments, Leases,
//!   watch, patch) with a simulated deployment controller that moves rollouts along, speaking
//!   the real wire protocol on 127.0.0.1 so the real Kubernetes adapter and the official
//!   `kubectl` drive it (also the `kube-sim` binary).
//! - In-memory implementations of the other boundaries, with state: [`MemoryRegistry`]
//!   (tags → digests, retag), [`MemoryQueues`] (visible / in-flight / delayed counts per
//!   region that a script changes over time), [`MemoryReleases`] (commits, branches, tags,
//!   releases) and [`MemoryBuilder`] (a build that takes a while and pushes a new digest).
//! - [`World`]: all of them started and seeded like the team's setup (namespaces `dev`,
//!   `staging`, `leaf-neuro-ui`; the app's web and worker Deployments with a sidecar; the
//!   training queue in `us-west-2` and `us-east-2`; release `v1.3.0` running everywhere).
//!
//! What it is not: not a conformance-grade API server (it serves what neuro-deploy and `kubectl
//! get / set image / rollout status` use), and not a mock — the in-memory adapters keep state and
//! follow the real services' rules (immutable tags, missing queues are errors, branches that
//! exist elsewhere are refused). The in-memory registry, queues and releases live in the process
//! that created them; only Kubernetes is reachable from outside (through kube-sim's port).

pub mod fixtures;
pub mod kube;

mod builder;
mod digest;
mod queues;
mod registry;
mod releases;
mod world;

pub use builder::MemoryBuilder;

/// The guarded value, also after a panic elsewhere poisoned the lock: the simulated world's
/// state stays readable (a test that panicked already failed on its own).
pub(crate) fn locked<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
pub use digest::digest_of;
pub use queues::MemoryQueues;
pub use registry::MemoryRegistry;
pub use releases::MemoryReleases;
pub use world::{World, WorldOptions};
