//! # neuro-deploy-core
//!
//! The pure core of neuro-deploy: what a release does, decided by a pure policy and run
//! through traits any tool can implement.
//!
//! ```
//! use neuro_deploy_core::{decide, Config, Decision, Event, Facts, GitSha};
//!
//! let config = Config::default();
//! let event = Event::Released {
//!     tag: "v1.4.0".to_owned(),
//!     sha: Some(GitSha::parse("abc1234def5678abc1234def5678abc1234def56").unwrap()),
//!     target_branch: Some("main".into()),
//!     prerelease: false,
//!     draft: false,
//! };
//! // Offline: nothing is known, so the plan shows both branches (retag or build).
//! match decide(&event, &config, &Facts::unknown()) {
//!     Decision::Proceed(plan) => {
//!         assert_eq!(plan.namespace, "staging");
//!         assert_eq!(plan.version.as_deref(), Some("v1.4.0"));
//!         for step in &plan.steps() {
//!             println!("{:<20} {}", step.step.kind(), step.reason);
//!         }
//!         assert!(plan.steps().iter().any(|s| s.step.kind() == "ensure_image"));
//!     }
//!     other => panic!("a release of main deploys to staging, got {other:?}"),
//! }
//! ```
//!
//! ## What it is
//!
//! Domain types ([`Version`], [`ImageRef`], [`Event`] …),
//! configuration ([`Config`]), the boundaries adapters implement — the five a deploy needs
//! ([`ImageBuilder`], [`Registry`], [`QueueInspector`], [`ClusterDeployer`],
//! [`ReleaseSource`]), the shared guardrail state ([`SharedState`]), and the optional
//! [`HealthChecker`], [`SignalSource`], [`MetricsSink`], [`DeploymentRecorder`] and
//! [`Notifier`] — the release policy ([`decide`]: event + config + facts → [`Decision`]) and
//! the [`Executor`] that runs a decision through the traits.
//!
//! **What it is not**: it does no I/O of its own and depends on no SDK — no AWS, Kubernetes,
//! GitHub or HTTP client. Adapter crates (`neuro-deploy-aws`, `-kube`, `-github`, `-codefresh`)
//! implement the traits; the binaries wire them up. Time comes from tokio (`tokio::time`), so
//! tests run with paused time. With the `mocks` feature, `mockall` doubles of every trait
//! (`MockRegistry`, `MockClusterDeployer` …) are exported for embedders' tests.
//!
//! A full run — every gate, the lock, the rollout wait, verification — goes through
//! [`Executor::builder`] (which refuses adapters that cannot serve the configuration) and one
//! [`RunOptions`]: see `examples/embedding`, which runs a promotion over in-memory adapters.
//!
//! ## Exit codes
//! [`ExitStatus`]: 0 done (also no-op / ignored), 1 unexpected failure, 2 invalid input or
//! config, 3 refused by a gate, 4 rolled back, 5 lock held, 6 rollback failed (or the lock
//! lost after a write), 7 interrupted by a signal (what the run changed was restored).

pub mod backoff;
pub mod bounded;
pub mod config;
pub mod error;
pub mod executor;
pub mod guard;
pub mod hotfix;
pub mod model;
pub mod names;
pub mod notify;
pub mod policy;
pub use executor::metrics as telemetry;
pub mod traits;
pub mod version;
pub mod words;

pub use backoff::Backoff;
pub use config::{Config, ConfigError, EnvironmentConfig, RunOverrides, Trigger};
pub use error::{AdapterError, Cause, ExitStatus, InputError, Reason, ReasonCode, Stopped, causes};
pub use executor::{
    Adapters, CLEANUP_BOUND, Executor, ExecutorBuilder, Interrupt, Interrupter, MissingAdapter,
    Observer, Outcome, Preview, PreviewVerdict, Progress, QueueSample, Report, RunOptions, Silent,
    StepReport, StepStatus, Verification, interrupt_channel, sample_queues,
};
pub use model::{
    Approval, DeployAudit, DeployTarget, DeploymentPayload, DeploymentRecord, DeploymentState,
    Event, Freeze, GuardState, HistoryEntry, ImageChange, ImageRef, LockAttempt, LockHandle,
    Quarantined, QueueDepth, ReleaseInfo, RolloutCounts, RolloutResult, RolloutState, Unfrozen,
    VersionedState, Workload,
};
pub use policy::{Decision, Fact, Facts, Intent, Plan, PlannedStep, Step, decide};
pub use traits::{
    ClusterDeployer, DeploymentRecorder, HealthChecker, ImageBuilder, MetricsSink, Notifier,
    QueueInspector, Registry, ReleaseSource, SharedState, SignalSource,
};
pub use version::{GitSha, ReleaseTag, Version, VersionError};

#[cfg(any(test, feature = "mocks"))]
pub use traits::nothing_shared;
#[cfg(any(test, feature = "mocks"))]
pub use traits::{
    MockClusterDeployer, MockDeploymentRecorder, MockHealthChecker, MockImageBuilder,
    MockMetricsSink, MockNotifier, MockQueueInspector, MockRegistry, MockReleaseSource,
    MockSharedState, MockSignalSource,
};
