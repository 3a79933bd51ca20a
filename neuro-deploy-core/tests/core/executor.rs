//! The executor against `mockall` doubles. Waits run on tokio's paused clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockall::predicate::eq;
use neuro_deploy_core::{
    AdapterError, Adapters, Config, DeployTarget, Event, ExitStatus, ImageChange, LockAttempt,
    LockHandle, MockClusterDeployer, MockImageBuilder, MockQueueInspector, MockRegistry,
    MockReleaseSource, MockSharedState, Outcome, PreviewVerdict, QueueDepth, ReasonCode, Report,
    RolloutResult, RunOptions, StepStatus, Workload,
};

use crate::support::*;

const EMPTY: QueueDepth = QueueDepth {
    visible: 0,
    in_flight: 0,
    delayed: 0,
};

fn ctx(dry_run: bool) -> RunOptions {
    RunOptions {
        identity: "ops@laptop".into(),
        run_id: "run-1".into(),
        started_at: "2026-11-26T12:00:00Z".parse().unwrap(),
        dry_run,
        run_url: None,
        overrides: Default::default(),
    }
}

fn handle(ns: &str) -> LockHandle {
    LockHandle {
        namespace: ns.into(),
        holder: "ops@laptop/run-1".into(),
        resource_version: "1".into(),
    }
}

/// The doubles, configured per test, then turned into adapters.
struct Doubles {
    /// Tags the registry double has; a build double can push into it.
    tags: Arc<Mutex<Vec<String>>>,
    registry: MockRegistry,
    builder: MockImageBuilder,
    queues: MockQueueInspector,
    cluster: MockClusterDeployer,
    releases: MockReleaseSource,
    /// The shared guardrail state: [`nothing_shared`] unless a test gives another (or `None`,
    /// to see a run fail closed without one).
    state: Option<MockSharedState>,
    /// How long each write takes, and how many were in flight at once.
    writes: Arc<cluster::WriteLoad>,
}

impl Doubles {
    fn new() -> Doubles {
        let mut registry = MockRegistry::new();
        registry
            .expect_repository_uri()
            .returning(|| Ok(REPO.to_owned()));
        // What changed is informative: a repository that cannot tell is the default here.
        let mut releases = MockReleaseSource::new();
        releases.expect_compare().returning(|_, _| Ok(None));
        Doubles {
            tags: Arc::new(Mutex::new(Vec::new())),
            registry,
            builder: MockImageBuilder::new(),
            queues: MockQueueInspector::new(),
            cluster: MockClusterDeployer::new(),
            releases,
            state: Some(neuro_deploy_core::nothing_shared(None)),
            writes: Arc::default(),
        }
    }

    fn workloads(&mut self, ns: &'static str, workloads: Vec<Workload>) -> &mut Self {
        self.cluster
            .expect_workloads()
            .with(eq(ns))
            .returning(move |_| Ok(workloads.clone()));
        self
    }

    fn images(&mut self, present: &'static [&'static str]) -> &mut Self {
        let tags = Arc::clone(&self.tags);
        tags.lock()
            .unwrap()
            .extend(present.iter().map(|t| (*t).to_owned()));
        self.registry.expect_find().returning(move |tag| {
            Ok(tags
                .lock()
                .unwrap()
                .iter()
                .any(|t| t == tag)
                .then(|| image(tag)))
        });
        self
    }

    /// Lock taken and released exactly once; renewals always succeed.
    fn lock_once(&mut self, ns: &'static str) -> &mut Self {
        self.cluster
            .expect_lock()
            .withf(move |n, holder, _| n == ns && holder == "ops@laptop/run-1")
            .times(1)
            .returning(move |_, _, _| Ok(LockAttempt::Acquired(handle(ns))));
        self.cluster.expect_renew().returning(|h| Ok(h.clone()));
        self.cluster.expect_unlock().times(1).returning(|_| Ok(()));
        self
    }

    /// Each of `writes` patches lands, and the rollout completes.
    fn writes_land(&mut self, writes: usize) -> &mut Self {
        self.cluster
            .expect_set_images()
            .times(writes)
            .returning(|_, _, _| Ok(()));
        self.cluster
            .expect_await_rollout()
            .returning(|_, _, _| Ok(RolloutResult::Complete));
        self
    }

    fn no_writes(&mut self) -> &mut Self {
        self.cluster.expect_set_images().times(0);
        self.cluster.expect_lock().times(0);
        self.cluster.expect_unlock().times(0);
        self.registry.expect_retag().times(0);
        self.builder.expect_build().times(0);
        self
    }

    fn queues_always(&mut self, depth: QueueDepth) -> &mut Self {
        self.queues.expect_depth().returning(move |_, _| Ok(depth));
        self
    }

    fn adapters(self) -> Adapters {
        Adapters {
            registry: Arc::new(self.registry),
            builder: Some(Arc::new(self.builder)),
            queues: Arc::new(self.queues),
            cluster: Arc::new(cluster::Remembering::new(
                Arc::new(self.cluster),
                self.writes,
            )),
            releases: Some(Arc::new(self.releases)),
            state: self
                .state
                .map(|state| Arc::new(state) as Arc<dyn neuro_deploy_core::SharedState>),
        }
    }
}

async fn run_with(doubles: Doubles, config: Config, event: &Event, dry_run: bool) -> Report {
    let executor = neuro_deploy_core::Executor::new(doubles.adapters(), config);
    executor.run(event, &ctx(dry_run)).await
}

fn fast_gate(mut config: Config) -> Config {
    config.queues.window = Duration::ZERO;
    config.queues.timeout = Duration::ZERO;
    config
}

fn step<'a>(report: &'a Report, kind: &str) -> &'a neuro_deploy_core::StepReport {
    report
        .steps
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("no step {kind} in {report:#?}"))
}

fn promotion_doubles() -> Doubles {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app("v1.4.0"))
        .images(&["v1.4.0", "v1.3.0"]);
    d
}

// ---- happy paths ----

#[tokio::test(start_paused = true)]
async fn merge_builds_sets_images_and_awaits_rollout() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&[])
        .lock_once("dev");
    let tags = Arc::clone(&d.tags);
    d.builder
        .expect_build()
        .withf(|rev, img| rev.as_str() == SHA && img.tag == SHORT)
        .times(1)
        .returning(move |_, img| {
            tags.lock().unwrap().push(img.tag.clone());
            Ok(img.clone())
        });
    // One patch per Deployment (two containers each), so a partial failure is recorded exactly.
    d.cluster
        .expect_set_images()
        .withf(|ns, changes, audit| {
            ns == "dev"
                && changes.len() == 2
                && changes
                    .iter()
                    .all(|c| c.image == format!("{REPO}:{SHORT}") && c.container != "envoy")
                && audit.version.as_deref() == Some(SHORT)
                && audit.previous_version.as_deref() == Some("0000000")
                && audit.deployed_by == "ops@laptop/run-1"
                && audit.deployed_at == instant("2026-11-26T12:00:00Z")
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Done);
    assert!(
        report.steps.iter().all(|s| s.status == StepStatus::Ok),
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn release_retags_without_building() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("staging");
    d.registry
        .expect_retag()
        .with(eq(SHORT), eq("v1.4.0"))
        .times(1)
        .returning(|_, to| Ok(image(to)));
    d.builder.expect_build().times(0);
    d.writes_land(2);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        step(&report, "ensure_image")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("no rebuild")
    );
}

#[tokio::test(start_paused = true)]
async fn release_resolves_its_commit_through_the_release_source() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("staging");
    d.releases
        .expect_resolve()
        .with(eq("v1.4.0"))
        .times(1)
        .returning(|_| Ok(Some(sha())));
    d.registry
        .expect_retag()
        .times(1)
        .returning(|_, to| Ok(image(to)));
    d.writes_land(2);
    let event = Event::Released {
        tag: "v1.4.0".into(),
        sha: None,
        target_branch: Some("main".into()),
        prerelease: false,
        draft: false,
    };
    let report = run_with(d, config(), &event, false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
}

#[tokio::test(start_paused = true)]
async fn release_targeting_a_sha_asks_whether_main_contains_it() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&[])
        .no_writes();
    d.releases
        .expect_branch_contains()
        .with(eq("main"), eq(sha()))
        .times(1)
        .returning(|_, _| Ok(false));
    let report = run_with(d, config(), &released("v1.4.0", SHA), false).await;
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(report.reason, Some(ReasonCode::NotReleaseBranch));
}

#[tokio::test(start_paused = true)]
async fn promotion_checks_queues_before_and_after_the_lock_then_deploys() {
    let mut d = promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reads);
    d.queues.expect_depth().returning(move |queue, _| {
        assert_eq!(queue, "sqs_studioml_gorunner_cpu_production_0");
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(EMPTY)
    });
    d.cluster
        .expect_set_images()
        .withf(|ns, changes, audit| {
            ns == "leaf-neuro-ui"
                && changes.len() == 2
                && audit.version.as_deref() == Some("v1.4.0")
                && audit.previous_version.as_deref() == Some("v1.3.0")
                && audit.change_cause.contains("production")
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let started = tokio::time::Instant::now();
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    // Default gate: samples every 20 s until 3+ zero samples span 60 s (4 samples × 2 regions),
    // then one more look in both regions after the lock.
    assert_eq!(reads.load(Ordering::SeqCst), 4 * 2 + 2);
    assert!(started.elapsed() >= Duration::from_secs(60));
    assert_eq!(report.previous_version.as_deref(), Some("v1.3.0"));
}

// ---- the queue gate ----

async fn refused_by_queues(depth_east: QueueDepth) -> Report {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues.expect_depth().returning(move |_, region| {
        Ok(if region == "us-east-2" {
            depth_east
        } else {
            EMPTY
        })
    });
    run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await
}

#[tokio::test(start_paused = true)]
async fn in_flight_message_in_one_region_refuses() {
    let report = refused_by_queues(QueueDepth {
        in_flight: 1,
        ..EMPTY
    })
    .await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert_eq!(report.exit_code(), ExitStatus::Refused);
    assert!(
        report
            .message
            .contains("us-east-2: 0 visible, 1 in flight, 0 delayed"),
        "{}",
        report.message
    );
    assert!(
        !report.message.contains("us-west-2"),
        "only the busy region is named: {}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn delayed_only_refuses() {
    let report = refused_by_queues(QueueDepth {
        delayed: 2,
        ..EMPTY
    })
    .await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert!(report.message.contains("2 delayed"), "{}", report.message);
}

#[tokio::test(start_paused = true)]
async fn visible_only_refuses() {
    let report = refused_by_queues(QueueDepth {
        visible: 5,
        ..EMPTY
    })
    .await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert_eq!(
        step(&report, "gate_queues_drained").status,
        StepStatus::Refused
    );
    assert_eq!(step(&report, "set_image").status, StepStatus::NotRun);
}

#[tokio::test(start_paused = true)]
async fn a_queue_read_error_counts_as_not_drained() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues.expect_depth().returning(|queue, region| {
        if region == "us-west-2" {
            Err(AdapterError::NotFound {
                source: None,
                service: "sqs",
                what: format!("queue `{queue}` in {region}"),
            })
        } else {
            Ok(EMPTY)
        }
    });
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert!(
        report.message.contains("could not be read"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn flapping_counts_restart_the_window() {
    let mut d = promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    // Samples (both regions per sample): 0 busy-free, 1 busy in west, then zero for good.
    let samples = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&samples);
    d.queues.expect_depth().returning(move |_, region| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let busy = region == "us-west-2" && (n / 2 == 1 || n / 2 == 3);
        Ok(if busy {
            QueueDepth {
                visible: 1,
                ..EMPTY
            }
        } else {
            EMPTY
        })
    });
    d.writes_land(2);
    let started = tokio::time::Instant::now();
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    // Busy at t=20 s and t=60 s; the window restarts at t=80 s and holds through t=140 s.
    assert_eq!(started.elapsed(), Duration::from_secs(140));
    assert_eq!(samples.load(Ordering::SeqCst), 8 * 2 + 2);
}

#[tokio::test(start_paused = true)]
async fn the_gate_gives_up_after_its_timeout() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(QueueDepth {
        in_flight: 1,
        ..EMPTY
    });
    let started = tokio::time::Instant::now();
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert_eq!(started.elapsed(), Duration::from_secs(600));
    assert!(
        report.message.contains("after waiting 10m"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_message_seen_after_the_lock_stops_before_any_write() {
    let mut d = promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    d.cluster.expect_await_rollout().times(0);
    let reads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reads);
    d.queues.expect_depth().returning(move |_, region| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        // The gate's single sample (2 reads) is clean; the re-check finds a job in us-east-2.
        Ok(if n >= 2 && region == "us-east-2" {
            QueueDepth {
                in_flight: 1,
                ..EMPTY
            }
        } else {
            EMPTY
        })
    });
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert_eq!(step(&report, "recheck_queues").status, StepStatus::Refused);
    assert_eq!(step(&report, "release_lock").status, StepStatus::Ok);
    assert!(
        report.message.contains("after taking the lock"),
        "{}",
        report.message
    );
}

// ---- the lock ----

#[tokio::test(start_paused = true)]
async fn a_held_lock_refuses_and_writes_nothing() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster.expect_lock().times(1).returning(|_, _, _| {
        Ok(LockAttempt::Held {
            holder: "ci@runner/run-9".into(),
            expires: Some("2026-11-26T12:01:00Z".into()),
        })
    });
    d.cluster.expect_set_images().times(0);
    d.cluster.expect_unlock().times(0);
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::LockHeld));
    assert_eq!(report.exit_code(), ExitStatus::LockHeld);
    assert!(
        report.message.contains("ci@runner/run-9"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_lost_lock_stops_the_run_before_further_writes() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster
        .expect_lock()
        .times(1)
        .returning(|_, _, _| Ok(LockAttempt::Acquired(handle("dev"))));
    d.cluster.expect_renew().times(1).returning(|_| {
        Err(AdapterError::Conflict {
            service: "kubernetes",
            operation: "renewing the lease".into(),
        })
    });
    d.cluster.expect_unlock().times(1).returning(|_| Ok(()));
    // The forward patches only: without the lock nothing more is written.
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster.expect_await_rollout().times(0);
    let mut c = config();
    c.rollout.timeout = Duration::from_secs(3600);
    let adapters = d.adapters();
    let slow = SlowRollout::new(adapters.cluster.clone());
    let adapters = Adapters {
        cluster: Arc::new(slow),
        ..adapters
    };
    let report = neuro_deploy_core::Executor::new(adapters, c)
        .run(&merged("main"), &ctx(false))
        .await;
    // Lost mid-rollout after writing: an operator is needed, and the report says what was applied.
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RollbackFailed);
    assert!(report.message.contains("was lost"), "{}", report.message);
    assert_eq!(report.applied.len(), 4);
    assert!(report.restored.is_empty());
}

/// Delegates to a double, except that the rollout never ends: only the lost lock (or a signal)
/// can end the wait. With `hang_restores_to`, a patch back to that tag never answers either.
struct SlowRollout {
    inner: Arc<dyn neuro_deploy_core::ClusterDeployer>,
    hang_restores_to: Option<&'static str>,
}

impl SlowRollout {
    fn new(inner: Arc<dyn neuro_deploy_core::ClusterDeployer>) -> SlowRollout {
        SlowRollout {
            inner,
            hang_restores_to: None,
        }
    }
}

#[async_trait::async_trait]
impl neuro_deploy_core::ClusterDeployer for SlowRollout {
    async fn workloads(&self, ns: &str) -> Result<Vec<Workload>, AdapterError> {
        self.inner.workloads(ns).await
    }
    async fn set_images(
        &self,
        ns: &str,
        c: &[ImageChange],
        a: &neuro_deploy_core::DeployAudit,
    ) -> Result<(), AdapterError> {
        if let Some(tag) = self.hang_restores_to
            && c.iter().any(|c| c.image.ends_with(&format!(":{tag}")))
        {
            std::future::pending::<()>().await;
        }
        self.inner.set_images(ns, c, a).await
    }
    async fn await_rollout(
        &self,
        _: &str,
        _: &[String],
        _: Duration,
    ) -> Result<RolloutResult, AdapterError> {
        std::future::pending().await
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

// ---- rollout failure and rollback ----

/// The first rollout fails (the deploy), the second completes (the restore).
fn rollout_fails_then_restores(d: &mut Doubles) {
    let rollouts = Arc::new(AtomicUsize::new(0));
    d.cluster
        .expect_await_rollout()
        .times(2)
        .returning(move |_, _, _| {
            Ok(if rollouts.fetch_add(1, Ordering::SeqCst) == 0 {
                RolloutResult::Failed {
                    workload: "neuro-ui".into(),
                    reason: "progress deadline exceeded".into(),
                }
            } else {
                RolloutResult::Complete
            })
        });
}

/// Records every `set_images` call; each succeeds.
fn record_set_images(d: &mut Doubles) -> Arc<Mutex<Vec<Vec<ImageChange>>>> {
    record_set_images_answering(d, |_| Ok(()))
}

/// Records every `set_images` call, answered by `answer`.
fn record_set_images_answering(
    d: &mut Doubles,
    answer: impl Fn(&[ImageChange]) -> Result<(), AdapterError> + Send + 'static,
) -> Arc<Mutex<Vec<Vec<ImageChange>>>> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&calls);
    d.cluster
        .expect_set_images()
        .returning(move |_, changes, _| {
            sink.lock().unwrap().push(changes.to_vec());
            answer(changes)
        });
    calls
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollout_is_rolled_back_to_the_recorded_images() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    let calls = record_set_images(&mut d);
    rollout_fails_then_restores(&mut d);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RolledBack);
    let calls = calls.lock().unwrap();
    // One patch per Deployment forward, then one per Deployment back.
    assert_eq!(calls.len(), 4);
    assert!(
        calls[..2]
            .iter()
            .flatten()
            .all(|c| c.image.ends_with(":v1.4.0"))
    );
    assert!(
        calls[2..]
            .iter()
            .flatten()
            .all(|c| c.image == format!("{REPO}:v1.3.0")),
        "{:?}",
        &calls[2..]
    );
    assert_eq!(report.applied.len(), 4);
    assert_eq!(report.restored.len(), 4);
    assert!(
        report.message.contains("neuro-ui") && report.message.contains("v1.3.0"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollout_timeout_is_rolled_back_too() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    let calls = record_set_images(&mut d);
    let first = Arc::new(AtomicUsize::new(0));
    d.cluster.expect_await_rollout().returning(move |_, _, _| {
        Ok(if first.fetch_add(1, Ordering::SeqCst) == 0 {
            RolloutResult::TimedOut {
                pending: vec!["neuro-ui: 1 of 2 updated replicas available".into()],
            }
        } else {
            RolloutResult::Complete
        })
    });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(calls.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollback_is_a_distinct_outcome() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    let writes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&writes);
    d.cluster
        .expect_set_images()
        .times(4)
        .returning(move |_, _, _| {
            if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                Ok(())
            } else {
                Err(AdapterError::failed(
                    "kubernetes",
                    "patch",
                    "connection refused",
                ))
            }
        });
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| {
            Ok(RolloutResult::Failed {
                workload: "neuro-ui".into(),
                reason: "crash loop".into(),
            })
        });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RollbackFailed);
    assert!(report.message.contains("operator"), "{}", report.message);
}

#[tokio::test(start_paused = true)]
async fn a_failed_patch_restores_what_may_have_been_written() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&[SHORT])
        .lock_once("dev");
    // `neuro-ui-api`'s patch gets no answer (it may have landed); `neuro-ui`'s lands.
    let writes = record_set_images_answering(&mut d, |changes| {
        if changes[0].workload == "neuro-ui-api" && changes[0].image.ends_with(SHORT) {
            Err(AdapterError::Unanswered {
                source: None,
                service: "kubernetes",
                operation: "patch".into(),
                message: "connection reset".into(),
            })
        } else {
            Ok(())
        }
    });
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RolledBack);
    let writes = writes.lock().unwrap();
    assert_eq!(writes.len(), 4, "two patches, two restores: {writes:?}");
    let restored: Vec<&ImageChange> = writes[2..].iter().flatten().collect();
    assert!(restored.iter().all(|c| c.image.ends_with(":0000000")));
    assert_eq!(
        restored.len(),
        4,
        "both Deployments are restored: {restored:?}"
    );
    assert_eq!(report.applied.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_restore_whose_answer_was_lost_is_not_reported_as_restored() {
    // Found by the simulation (seed 45 at the time): the report listed a restore that never
    // landed, so a reader believed the Deployment was back on its old image.
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&[SHORT])
        .lock_once("dev");
    // Both patches land; the rollout fails; `neuro-ui-api`'s restore gets no answer.
    let writes = record_set_images_answering(&mut d, |changes| {
        if changes[0].workload == "neuro-ui-api" && changes[0].image.ends_with(":0000000") {
            Err(AdapterError::Timeout {
                service: "kubernetes",
                operation: "patch".into(),
                seconds: 10.0,
            })
        } else {
            Ok(())
        }
    });
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| {
            Ok(RolloutResult::Failed {
                workload: "neuro-ui".into(),
                reason: "crash loop".into(),
            })
        });
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert_eq!(writes.lock().unwrap().len(), 4, "two patches, two restores");
    assert_eq!(report.applied.len(), 4, "both patches are on the record");
    assert!(
        report.restored.iter().all(|c| c.workload == "neuro-ui"),
        "only the restore that was answered: {:?}",
        report.restored
    );
    assert_eq!(report.restored.len(), 2, "{:?}", report.restored);
    assert!(
        report.message.contains("neuro-ui-api"),
        "{}",
        report.message
    );
}

/// The cluster with late answers (a slow network, or this process stopped right after asking
/// and resumed): to taking the lock by `lock_late`, and to every read of the Deployments from
/// the `reads_late.0`th on (1 = the first) by `reads_late.1`.
struct LateAnswers {
    inner: Arc<dyn neuro_deploy_core::ClusterDeployer>,
    lock_late: Duration,
    reads_late: (usize, Duration),
    reads: AtomicUsize,
}

impl LateAnswers {
    fn new(inner: Arc<dyn neuro_deploy_core::ClusterDeployer>) -> LateAnswers {
        LateAnswers {
            inner,
            lock_late: Duration::ZERO,
            reads_late: (usize::MAX, Duration::ZERO),
            reads: AtomicUsize::new(0),
        }
    }
}

#[async_trait::async_trait]
impl neuro_deploy_core::ClusterDeployer for LateAnswers {
    async fn workloads(&self, ns: &str) -> Result<Vec<Workload>, AdapterError> {
        let answer = self.inner.workloads(ns).await;
        if self.reads.fetch_add(1, Ordering::SeqCst) + 1 >= self.reads_late.0 {
            tokio::time::sleep(self.reads_late.1).await;
        }
        answer
    }
    async fn set_images(
        &self,
        ns: &str,
        changes: &[ImageChange],
        audit: &neuro_deploy_core::DeployAudit,
    ) -> Result<(), AdapterError> {
        self.inner.set_images(ns, changes, audit).await
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
        let attempt = self.inner.lock(ns, h, l).await;
        tokio::time::sleep(self.lock_late).await;
        attempt
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

#[tokio::test(start_paused = true)]
async fn a_lock_whose_answer_came_after_its_lease_is_renewed_before_any_write() {
    // Found by the simulation (seed 1872 at the time): a run stopped right after taking the
    // lock and resumed past its lease counted its hold from the late answer, and wrote while
    // another run held the lock.
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster
        .expect_lock()
        .times(1)
        .returning(|_, _, _| Ok(LockAttempt::Acquired(handle("dev"))));
    // Meanwhile the Lease expired and someone else took it.
    d.cluster.expect_renew().times(1).returning(|_| {
        Err(AdapterError::Conflict {
            service: "kubernetes",
            operation: "renewing the Lease: now held by someone else".into(),
        })
    });
    d.cluster.expect_unlock().returning(|_| Ok(()));
    d.cluster.expect_set_images().times(0);
    let mut adapters = d.adapters();
    adapters.cluster = Arc::new(LateAnswers {
        lock_late: Duration::from_secs(180),
        ..LateAnswers::new(adapters.cluster)
    });
    let report = neuro_deploy_core::Executor::new(adapters, config())
        .run(&merged("main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:#?}");
    assert!(report.applied.is_empty());
    assert!(
        report.message.contains("held by someone else"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_restore_whose_read_outlasted_the_lock_writes_nothing_back() {
    // Found by the simulation (seed 100846 at the time): the lock was checked before the
    // restore's fresh read of the Deployments, not after it, so a run whose read answered past
    // its lease (stopped, then resumed) wrote back without the lock.
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster
        .expect_lock()
        .times(1)
        .returning(|_, _, _| Ok(LockAttempt::Acquired(handle("dev"))));
    // Renewals fail from the start: the hold runs out while the restore's read is answered.
    d.cluster
        .expect_renew()
        .returning(|_| Err(AdapterError::failed("kubernetes", "renewing", "503")));
    d.cluster.expect_unlock().returning(|_| Ok(()));
    // The two patches of the deploy; no restore.
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| {
            Ok(RolloutResult::Failed {
                workload: "neuro-ui".into(),
                reason: "crash loop".into(),
            })
        });
    let mut adapters = d.adapters();
    // Reads 1 and 2 (the facts, then again under the lock) answer at once; the restore's
    // read (3) after two minutes.
    adapters.cluster = Arc::new(LateAnswers {
        reads_late: (3, Duration::from_secs(120)),
        ..LateAnswers::new(adapters.cluster)
    });
    let report = neuro_deploy_core::Executor::new(adapters, config())
        .run(&merged("main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert!(report.restored.is_empty(), "{:?}", report.restored);
    assert!(
        report.message.contains("not restored"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_patch_is_not_restored_and_the_rest_is_rolled_back_with_exit_4() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&[SHORT])
        .lock_once("dev");
    // The API server refuses `neuro-ui-api`'s patch (e.g. 422): it was not applied.
    let writes = record_set_images_answering(&mut d, |changes| {
        if changes[0].workload == "neuro-ui-api" {
            Err(AdapterError::failed(
                "kubernetes",
                "patch",
                "Deployment.apps is invalid (422)",
            ))
        } else {
            Ok(())
        }
    });
    d.cluster
        .expect_await_rollout()
        .withf(|_, names, _| names == ["neuro-ui".to_owned()])
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::RolledBack);
    assert_eq!(
        writes.lock().unwrap().len(),
        3,
        "two patches, one restore (of `neuro-ui` only)"
    );
    assert!(report.applied.iter().all(|c| c.workload == "neuro-ui"));
    assert_eq!(report.restored.len(), 2);
    assert!(report.restored.iter().all(|c| c.workload == "neuro-ui"));
    assert!(
        report.message.contains("neuro-ui-api"),
        "{}",
        report.message
    );
}

// ---- idempotence, dry run, failures ----

#[tokio::test(start_paused = true)]
async fn re_running_a_finished_deploy_is_a_no_op() {
    let mut d = Doubles::new();
    d.workloads("dev", app(SHORT)).images(&[SHORT]).no_writes();
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(report.reason, Some(ReasonCode::AlreadyDeployed));
    assert_eq!(report.exit_code(), ExitStatus::Done);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_writes_nothing() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(EMPTY);
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), true).await;
    assert_eq!(report.outcome, Outcome::WouldDeploy, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Done);
    assert!(report.dry_run);
    assert_eq!(step(&report, "set_image").status, StepStatus::Skipped);
    assert_eq!(step(&report, "gate_queues_drained").status, StepStatus::Ok);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_of_a_release_does_not_retag() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&[SHORT])
        .no_writes();
    let report = run_with(d, config(), &released("v1.4.0", "main"), true).await;
    assert_eq!(report.outcome, Outcome::WouldDeploy, "{report:#?}");
    assert!(
        step(&report, "ensure_image")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("would retag")
    );
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_still_reports_closed_gates() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(QueueDepth {
        visible: 3,
        ..EMPTY
    });
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), true).await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
}

#[tokio::test(start_paused = true)]
async fn an_immutable_tag_is_a_refusal() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0")).images(&[SHORT]);
    d.cluster.expect_lock().times(0);
    d.cluster.expect_set_images().times(0);
    d.registry.expect_retag().times(1).returning(|_, to| {
        Err(AdapterError::Refused {
            code: ReasonCode::ImmutableTag,
            message: format!(
                "tag `{to}` already exists on another image and the repository is immutable"
            ),
        })
    });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::ImmutableTag));
    assert_eq!(report.exit_code(), ExitStatus::Refused);
}

#[tokio::test(start_paused = true)]
async fn a_failed_fact_lookup_fails_without_writing() {
    let mut d = Doubles::new();
    d.cluster.expect_workloads().returning(|_| {
        Err(AdapterError::Timeout {
            service: "kubernetes",
            operation: "list deployments".into(),
            seconds: 30.0,
        })
    });
    d.no_writes();
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.exit_code(), ExitStatus::Failed);
    assert!(report.message.contains("timed out"), "{}", report.message);
}

#[tokio::test(start_paused = true)]
async fn a_build_failure_fails_before_the_lock() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[]);
    d.builder
        .expect_build()
        .times(1)
        .returning(|_, _| Err(AdapterError::failed("codefresh", "build", "exit 1")));
    d.cluster.expect_lock().times(0);
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(step(&report, "ensure_image").status, StepStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn ignored_events_gather_nothing() {
    let mut d = Doubles::new();
    d.cluster.expect_workloads().times(0);
    d.registry.expect_find().times(0);
    d.no_writes();
    let report = run_with(d, config(), &merged("feature/x"), false).await;
    assert_eq!(report.outcome, Outcome::Ignored);
    assert_eq!(report.namespace, None);
}

#[tokio::test(start_paused = true)]
async fn re_running_after_a_crash_changes_only_what_is_left() {
    let moved = with_previous(
        workload("neuro-ui", "v1.4.0", progressing()),
        "v1.4.0",
        "v1.3.0",
    );
    let waiting = workload("neuro-ui-api", "v1.3.0", complete());
    let mut d = Doubles::new();
    d.workloads("staging", vec![moved, waiting])
        .images(&["v1.4.0"])
        .lock_once("staging");
    d.cluster
        .expect_set_images()
        .withf(|_, changes, audit| {
            changes.len() == 2
                && changes.iter().all(|c| c.workload == "neuro-ui-api")
                && audit.previous_version.as_deref() == Some("v1.3.0")
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    // The one already moved records this deploy too: every app Deployment tells the truth.
    d.cluster
        .expect_annotate()
        .withf(|ns, names, annotations| {
            let has =
                |key: &str, value: &str| annotations.iter().any(|(k, v)| k == key && v == value);
            ns == "staging"
                && names == ["neuro-ui".to_owned()]
                && has("neuro-deploy.io/version", "v1.4.0")
                && has("neuro-deploy.io/previous-version", "v1.3.0")
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    // Every app Deployment is awaited, not only the one changed by this run.
    d.cluster
        .expect_await_rollout()
        .withf(|_, names, _| names == ["neuro-ui".to_owned(), "neuro-ui-api".to_owned()])
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
}

#[tokio::test(start_paused = true)]
async fn the_report_is_one_json_document_with_stable_fields() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(QueueDepth {
        in_flight: 1,
        ..EMPTY
    });
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["outcome"], "refused");
    assert_eq!(json["reason"], "queue_not_drained");
    assert_eq!(json["environment"], "production");
    assert_eq!(json["namespace"], "leaf-neuro-ui");
    assert_eq!(json["version"], "v1.4.0");
    assert_eq!(json["image"], format!("{REPO}:v1.4.0"));
    let steps = json["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s["kind"].is_string() && s["status"].is_string() && s["duration_ms"].is_u64())
    );
    assert_eq!(json["queues"].as_array().unwrap().len(), 2);
}

/// A deploy of the merge build into the namespace `feature-x`, running `app`, whose every
/// Deployment is written (once each) and rolls out.
async fn deploy_to_feature_x(mut d: Doubles, app: Vec<Workload>) -> Report {
    let writes = app.len();
    d.workloads("feature-x", app)
        .images(&[SHORT])
        .lock_once("feature-x");
    d.cluster
        .expect_set_images()
        .withf(|ns, _, _| ns == "feature-x")
        .times(writes)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    run_with(
        d,
        config(),
        &deploy(SHA, DeployTarget::Namespace("feature-x".into())),
        false,
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn deploy_to_an_arbitrary_namespace_uses_the_lock_of_that_namespace() {
    let report = deploy_to_feature_x(Doubles::new(), app("0000000")).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(report.environment, None);
}

#[tokio::test(start_paused = true)]
async fn many_deployments_are_written_a_bounded_number_at_a_time_and_every_one_is() {
    let app: Vec<Workload> = (0..40)
        .map(|n| workload(&format!("neuro-ui-{n:02}"), "0000000", complete()))
        .collect();
    let mut d = Doubles::new();
    let writes = Arc::new(cluster::WriteLoad::taking(Duration::from_millis(5)));
    d.writes = Arc::clone(&writes);
    let report = deploy_to_feature_x(d, app).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    // 32 at once, never more: a request (an HTTP/1.1 connection with its buffers) each.
    assert_eq!(writes.most_in_flight(), 32);
}

#[tokio::test(start_paused = true)]
async fn prepare_image_retags_and_stops_before_the_cluster() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0")).images(&[SHORT]);
    d.registry
        .expect_retag()
        .times(1)
        .returning(|_, to| Ok(image(to)));
    d.cluster.expect_lock().times(0);
    d.cluster.expect_set_images().times(0);
    let executor = neuro_deploy_core::Executor::new(d.adapters(), config());
    let report = executor
        .prepare_image(&released("v1.4.0", "main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::ImageReady, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Done);
    assert_eq!(step(&report, "set_image").status, StepStatus::NotRun);
}

#[tokio::test(start_paused = true)]
async fn a_rollback_restores_the_recorded_trail() {
    // Staging records that v1.3.0 replaced v1.2.0; a failed v1.4.0 must leave that record intact.
    let recorded = vec![with_previous(
        workload("neuro-ui", "v1.3.0", complete()),
        "v1.3.0",
        "v1.2.0",
    )];
    let mut d = Doubles::new();
    d.workloads("staging", recorded)
        .images(&["v1.4.0"])
        .lock_once("staging");
    let audits = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&audits);
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(move |_, _, audit| {
            sink.lock().unwrap().push(audit.clone());
            Ok(())
        });
    let first = Arc::new(AtomicUsize::new(0));
    d.cluster.expect_await_rollout().returning(move |_, _, _| {
        Ok(if first.fetch_add(1, Ordering::SeqCst) == 0 {
            RolloutResult::Failed {
                workload: "neuro-ui".into(),
                reason: "crash loop".into(),
            }
        } else {
            RolloutResult::Complete
        })
    });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    let audits = audits.lock().unwrap();
    assert_eq!(audits[0].version.as_deref(), Some("v1.4.0"));
    assert_eq!(audits[0].previous_version.as_deref(), Some("v1.3.0"));
    assert_eq!(audits[1].version.as_deref(), Some("v1.3.0"));
    assert_eq!(audits[1].previous_version.as_deref(), Some("v1.2.0"));
}

#[tokio::test(start_paused = true)]
async fn a_restore_whose_previous_version_is_unknown_records_no_version() {
    // Two Deployments on different versions, nothing recorded: what ran has no one version.
    let mut d = Doubles::new();
    d.workloads(
        "staging",
        vec![
            workload("neuro-ui", "v1.2.0", complete()),
            workload("neuro-ui-api", "v1.3.0", complete()),
        ],
    )
    .images(&["v1.4.0"])
    .lock_once("staging");
    let audits = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&audits);
    d.cluster.expect_set_images().returning(move |_, _, audit| {
        sink.lock().unwrap().push(audit.clone());
        Ok(())
    });
    rollout_fails_then_restores(&mut d);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    let audits = audits.lock().unwrap();
    let restore = audits.last().expect("the restore wrote");
    assert_eq!(restore.version, None, "never a non-version: {restore:?}");
    let annotations = restore.to_annotations();
    assert!(
        !annotations.contains_key("neuro-deploy.io/version"),
        "{annotations:?}"
    );
    assert!(
        restore
            .cleared_annotations()
            .contains(&"neuro-deploy.io/version"),
        "the old record is removed, not left to be read as this one"
    );
}

mod changes;
mod cluster;
mod fencing;
mod reading;
mod record_verify;
mod safety;
mod signals;

// ---- preview (before an operator confirms) ----

#[tokio::test(start_paused = true)]
async fn a_preview_looks_at_the_queues_once_and_says_a_real_run_would_wait() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues
        .expect_depth()
        .times(2) // once per region: no window, no wait
        .returning(|_, region| {
            Ok(if region == "us-east-2" {
                QueueDepth {
                    in_flight: 1,
                    ..EMPTY
                }
            } else {
                EMPTY
            })
        });
    // The configured gate waits (1m window, 10m timeout); the preview does not.
    let executor = neuro_deploy_core::Executor::new(d.adapters(), config());
    let started = tokio::time::Instant::now();
    let preview = executor.preview(&promote("v1.4.0"), &ctx(false)).await;
    assert_eq!(started.elapsed(), Duration::ZERO, "a preview never waits");
    assert!(preview.report.dry_run, "a preview writes nothing");
    // Busy queues are not a refusal for a run that may wait for them.
    assert_eq!(preview.report.outcome, Outcome::WouldDeploy);
    assert!(
        preview.report.message.contains("would wait up to 10m"),
        "{}",
        preview.report.message
    );
    let gate = step(&preview.report, "gate_queues_drained");
    assert_eq!(gate.status, StepStatus::Skipped);
    let detail = gate.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("busy now")
            && detail.contains("1 in flight")
            && detail.contains("hold them drained for 1m"),
        "{detail}"
    );
    assert_eq!(
        preview.verdict,
        PreviewVerdict::WaitsForQueues {
            timeout: Duration::from_secs(600),
            window: Duration::from_secs(60),
        }
    );
    assert!(preview.verdict.worth_confirming());
}

#[tokio::test(start_paused = true)]
async fn a_preview_of_a_run_that_would_not_deploy_is_not_worth_confirming() {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0", "v1.3.0"])
        .queues_always(EMPTY)
        .no_writes();
    let executor = neuro_deploy_core::Executor::new(d.adapters(), config());
    let preview = executor.preview(&promote("v1.4.0"), &ctx(false)).await;
    assert_eq!(
        preview.report.reason,
        Some(ReasonCode::NotVerifiedOnStaging)
    );
    assert_eq!(preview.verdict, PreviewVerdict::WouldNotDeploy);
    assert!(!preview.verdict.worth_confirming());

    let mut d = promotion_doubles();
    d.queues_always(EMPTY).no_writes();
    let executor = neuro_deploy_core::Executor::new(d.adapters(), config());
    let preview = executor.preview(&promote("v1.4.0"), &ctx(false)).await;
    assert_eq!(preview.report.outcome, Outcome::WouldDeploy);
    assert_eq!(preview.verdict, PreviewVerdict::WouldDeploy);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_never_waits_for_the_queues_and_refuses_only_when_a_real_run_would() {
    let busy = |_: &str, region: &str| {
        Ok(if region == "us-east-2" {
            QueueDepth {
                visible: 2,
                ..EMPTY
            }
        } else {
            EMPTY
        })
    };
    // Waiting allowed (10m): the dry run says a real run would wait; exit 0.
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues.expect_depth().times(2).returning(busy);
    let started = tokio::time::Instant::now();
    let report = run_with(d, config(), &promote("v1.4.0"), true).await;
    assert_eq!(started.elapsed(), Duration::ZERO, "a dry run never waits");
    assert_eq!(report.outcome, Outcome::WouldDeploy, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Done);
    assert_eq!(
        step(&report, "recheck_queues").status,
        StepStatus::Skipped,
        "the look after the lock is the real run's"
    );
    // No waiting allowed (`--queue-timeout 0s`): a real run would refuse, and so does the dry run.
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues.expect_depth().times(2).returning(busy);
    let mut no_wait = config();
    no_wait.queues.timeout = Duration::ZERO;
    let report = run_with(d, no_wait, &promote("v1.4.0"), true).await;
    assert_eq!(report.reason, Some(ReasonCode::QueueNotDrained));
    assert_eq!(report.exit_code(), ExitStatus::Refused);
}

/// Asserts the run was refused with `code` when the policy was asked again under the lock.
fn refused_under_the_lock(report: &Report, code: ReasonCode) {
    assert_eq!(report.reason, Some(code), "{report:#?}");
    assert!(
        report.message.contains("under the lock"),
        "{}",
        report.message
    );
}

/// Shared state whose runs authenticate as `user`; its `n`-th read (0: with the facts, 1: under
/// the lock, …) is `read(n)`, at version `n`.
fn state_reading(
    user: &'static str,
    read: impl Fn(usize) -> neuro_deploy_core::model::GuardState + Send + Sync + 'static,
) -> MockSharedState {
    let mut state = MockSharedState::new();
    state
        .expect_authenticated_user()
        .returning(move |_| Ok(user.to_owned()));
    let reads = AtomicUsize::new(0);
    state.expect_read_state().returning(move |_| {
        let n = reads.fetch_add(1, Ordering::SeqCst);
        Ok(neuro_deploy_core::model::VersionedState {
            state: read(n),
            version: Some(n.to_string()),
        })
    });
    state
}

// ---- freeze, checked again under the lock ----

#[tokio::test(start_paused = true)]
async fn a_freeze_set_while_a_run_waits_refuses_it_under_the_lock_and_nothing_is_written() {
    use neuro_deploy_core::model::{Freeze, GuardState};
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("dev");
    d.cluster.expect_set_images().times(0);
    // Not frozen when the facts are read; frozen by the time the lock is held.
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&reads);
    let state = state_reading("system:serviceaccount:ci:neuro-deploy", move |n| {
        counted.fetch_add(1, Ordering::SeqCst);
        GuardState {
            freeze: (n > 0).then(|| Freeze {
                by: "alice".into(),
                at: "2026-11-26T12:00:00Z".parse().unwrap(),
                reason: "incident".into(),
                until: None,
            }),
            ..GuardState::default()
        }
    });
    d.state = Some(state);
    let report = run_with(d, config(), &merged("main"), false).await;
    refused_under_the_lock(&report, ReasonCode::Frozen);
    assert_eq!(
        reads.load(Ordering::SeqCst),
        2,
        "read with the facts and again under the lock"
    );
    assert!(report.applied.is_empty());
}

// ---- deploy windows, judged again under the lock at that instant ----

fn with_window(mut config: Config, env: &str, schedule: &str) -> Config {
    use neuro_deploy_core::config::{WindowConfig, WindowKind};
    let env = environment(&mut config, env);
    env.windows = vec![WindowConfig {
        reason: "nightly batch".into(),
        ..WindowConfig::new(WindowKind::Deny, schedule, Duration::from_secs(3600), "UTC")
    }];
    config
}

#[tokio::test(start_paused = true)]
async fn a_window_that_starts_while_a_promotion_waits_for_the_queues_refuses_it_under_the_lock() {
    let mut d = promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    // Busy for the first four minutes of the run, then drained for good.
    let started = tokio::time::Instant::now();
    d.queues.expect_depth().returning(move |_, _| {
        Ok(if started.elapsed() < Duration::from_secs(240) {
            QueueDepth {
                visible: 2,
                ..EMPTY
            }
        } else {
            EMPTY
        })
    });
    // The run starts at 12:00; the deny window opens at 12:05, while it waits.
    let config = with_window(config(), "production", "5 12 * * *");
    let report = run_with(d, config, &promote("v1.4.0"), false).await;
    refused_under_the_lock(&report, ReasonCode::OutsideDeployWindow);
    assert!(
        report.message.contains("nightly batch"),
        "{}",
        report.message
    );
    assert!(started.elapsed() >= Duration::from_secs(300), "it waited");
    assert!(report.applied.is_empty());
}

/// The shared state, each read taking `delay` (a slow API server).
struct SlowState {
    inner: MockSharedState,
    delay: Duration,
}

#[async_trait::async_trait]
impl neuro_deploy_core::SharedState for SlowState {
    async fn read_state(
        &self,
        ns: &str,
    ) -> Result<neuro_deploy_core::VersionedState, AdapterError> {
        tokio::time::sleep(self.delay).await;
        self.inner.read_state(ns).await
    }
    async fn write_decisions(
        &self,
        ns: &str,
        d: &neuro_deploy_core::model::Decisions,
        v: Option<String>,
    ) -> Result<(), AdapterError> {
        self.inner.write_decisions(ns, d, v).await
    }
    async fn record_approval(
        &self,
        ns: &str,
        a: &neuro_deploy_core::Approval,
    ) -> Result<(), AdapterError> {
        self.inner.record_approval(ns, a).await
    }
    async fn spend_approvals(
        &self,
        ns: &str,
        s: &[neuro_deploy_core::model::Spent],
    ) -> Result<(), AdapterError> {
        self.inner.spend_approvals(ns, s).await
    }
    async fn add_quarantine(
        &self,
        ns: &str,
        q: &neuro_deploy_core::Quarantined,
    ) -> Result<(), AdapterError> {
        self.inner.add_quarantine(ns, q).await
    }
    async fn authenticated_user(&self, ns: &str) -> Result<String, AdapterError> {
        self.inner.authenticated_user(ns).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_window_that_starts_while_the_facts_are_read_under_the_lock_refuses() {
    // Found by the simulation (seed 3038 at the time): the instant was taken before the
    // reads under the lock, so a window that started during them did not count.
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("dev");
    d.cluster.expect_set_images().times(0);
    let mut adapters = d.adapters();
    // Each read of the guardrails takes 61 s: the first ends at 12:01:01, the one under the
    // lock at 12:02:02 — after the deny window opened at 12:02.
    adapters.state = Some(Arc::new(SlowState {
        inner: neuro_deploy_core::nothing_shared(None),
        delay: Duration::from_secs(61),
    }));
    let config = with_window(config(), "dev", "2 12 * * *");
    let report = neuro_deploy_core::Executor::new(adapters, config)
        .run(&merged("main"), &ctx(false))
        .await;
    refused_under_the_lock(&report, ReasonCode::OutsideDeployWindow);
    assert!(report.applied.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_override_deploys_inside_a_deny_window_and_records_why_on_the_deployments() {
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("dev");
    d.cluster
        .expect_set_images()
        .withf(|_, _, audit| {
            audit.overridden.as_deref().is_some_and(|o| {
                o.contains("hotfix for incident 42") && o.contains("nightly batch")
            })
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let config = with_window(config(), "dev", "0 12 * * *");
    let mut context = ctx(false);
    context
        .overrides
        .insert("override-window".into(), "hotfix for incident 42".into());
    let report = neuro_deploy_core::Executor::new(d.adapters(), config.clone())
        .run(&merged("main"), &context)
        .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let note = report.notes.overridden().expect("the report says why");
    assert!(note.contains("hotfix for incident 42"), "{note}");
    // Without the override the same run is refused and writes nothing.
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"))
        .images(&[SHORT])
        .no_writes();
    let report = run_with(d, config, &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::OutsideDeployWindow));
}

// ---- approvals: judged again under the lock, recorded, then spent ----

/// Shared state whose reads answer `approvals` in turn (the last one for good), run by carol;
/// every record of spent approvals goes to `spent`.
fn approvals_state(
    reads: Vec<Vec<neuro_deploy_core::model::Approval>>,
    spent: Arc<Mutex<Vec<Vec<neuro_deploy_core::model::Spent>>>>,
) -> MockSharedState {
    use neuro_deploy_core::model::GuardState;
    let mut state = state_reading("carol", move |n| GuardState {
        approvals: reads[n.min(reads.len() - 1)].clone(),
        ..GuardState::default()
    });
    state.expect_spend_approvals().returning(move |_, used| {
        spent.lock().unwrap().push(used.to_vec());
        Ok(())
    });
    state
}

fn approved_promotion_doubles() -> Doubles {
    use crate::approvals::DIGEST;
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app_pinned("v1.4.0", DIGEST))
        .images(&["v1.4.0", "v1.3.0"])
        .queues_always(EMPTY);
    d
}

#[tokio::test(start_paused = true)]
async fn approvals_are_recorded_on_the_deploy_with_who_ran_it_and_then_spent() {
    use crate::approvals::{DIGEST, approval, needing_approvals};
    let mut d = approved_promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    d.cluster
        .expect_set_images()
        .withf(|_, _, audit| {
            audit.approved_by.as_deref() == Some("alice, bob")
                && audit.deployed_by == "ops@laptop/run-1 as carol"
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let approvals = vec![
        approval("alice", DIGEST, "2026-11-26T09:00:00Z"),
        approval("bob", DIGEST, "2026-11-26T10:00:00Z"),
    ];
    let written = Arc::new(Mutex::new(Vec::new()));
    d.state = Some(approvals_state(vec![approvals], Arc::clone(&written)));
    let report = run_with(
        d,
        fast_gate(needing_approvals(2)),
        &promote("v1.4.0"),
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(report.notes.approved_by, ["alice", "bob"]);
    let spent = written.lock().unwrap().clone();
    assert_eq!(spent.len(), 1, "spent once: {spent:?}");
    let by: Vec<&str> = spent[0].iter().map(|s| s.by.as_str()).collect();
    assert_eq!(by, ["alice", "bob"], "{spent:?}");
    assert!(spent[0].iter().all(|s| s.version == "v1.4.0"));
}

#[tokio::test(start_paused = true)]
async fn approvals_are_spent_while_the_lock_is_held_and_the_rollout_awaited() {
    use crate::approvals::{DIGEST, approval, needing_approvals};
    let mut d = approved_promotion_doubles();
    let events = Arc::new(Mutex::new(Vec::<&str>::new()));
    d.cluster
        .expect_lock()
        .times(1)
        .returning(|ns, _, _| Ok(LockAttempt::Acquired(handle(ns))));
    d.cluster.expect_renew().returning(|h| Ok(h.clone()));
    let unlocked = Arc::clone(&events);
    d.cluster.expect_unlock().times(1).returning(move |_| {
        unlocked.lock().unwrap().push("unlock");
        Ok(())
    });
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(|_, _, _| Ok(()));
    let awaited = Arc::clone(&events);
    d.cluster.expect_await_rollout().returning(move |_, _, _| {
        awaited.lock().unwrap().push("rollout awaited");
        Ok(RolloutResult::Complete)
    });
    let spent = Arc::clone(&events);
    let mut state = state_reading("carol", |_| neuro_deploy_core::model::GuardState {
        approvals: vec![
            approval("alice", DIGEST, "2026-11-26T09:00:00Z"),
            approval("bob", DIGEST, "2026-11-26T10:00:00Z"),
        ],
        ..neuro_deploy_core::model::GuardState::default()
    });
    state
        .expect_spend_approvals()
        .times(1)
        .returning(move |_, _| {
            spent.lock().unwrap().push("spent");
            Ok(())
        });
    d.state = Some(state);
    let report = run_with(
        d,
        fast_gate(needing_approvals(2)),
        &promote("v1.4.0"),
        false,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let events = events.lock().unwrap().clone();
    assert_eq!(events.last(), Some(&"unlock"), "{events:?}");
    assert!(events.contains(&"spent"), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn an_approval_withdrawn_while_a_promotion_waits_refuses_it_under_the_lock() {
    use crate::approvals::{DIGEST, approval, needing_approvals};
    let mut d = approved_promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    let both = vec![
        approval("alice", DIGEST, "2026-11-26T09:00:00Z"),
        approval("bob", DIGEST, "2026-11-26T10:00:00Z"),
    ];
    let one = vec![both[0].clone()];
    let written = Arc::new(Mutex::new(Vec::new()));
    d.state = Some(approvals_state(vec![both, one], Arc::clone(&written)));
    let report = run_with(
        d,
        fast_gate(needing_approvals(2)),
        &promote("v1.4.0"),
        false,
    )
    .await;
    refused_under_the_lock(&report, ReasonCode::ApprovalRequired);
    assert!(written.lock().unwrap().is_empty(), "nothing spent");
}

#[tokio::test(start_paused = true)]
async fn a_rollback_goes_inside_a_deny_window_into_a_frozen_environment_and_says_so() {
    use neuro_deploy_core::model::{Freeze, GuardState};
    let mut d = Doubles::new();
    let workloads = vec![with_previous(
        workload("neuro-ui", "v1.4.0", complete()),
        "v1.4.0",
        "v1.3.0",
    )];
    d.workloads("staging", workloads)
        .images(&["v1.3.0", "v1.4.0"])
        .lock_once("staging");
    d.cluster
        .expect_set_images()
        .withf(|_, _, audit| {
            audit
                .overridden
                .as_deref()
                .is_some_and(|o| o.contains("never blocked") && o.contains("nightly batch"))
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let mut state = state_reading("ops", |_| GuardState {
        freeze: Some(Freeze {
            by: "alice".into(),
            at: "2026-11-26T11:00:00Z".parse().unwrap(),
            reason: "incident".into(),
            until: None,
        }),
        ..GuardState::default()
    });
    // The version rolled back from is quarantined.
    state
        .expect_add_quarantine()
        .times(1)
        .returning(|_, _| Ok(()));
    d.state = Some(state);
    let config = with_window(config(), "staging", "0 12 * * *");
    let rollback = Event::Rollback {
        env: "staging".into(),
        skip_queue_gate: None,
    };
    let report = run_with(d, config, &rollback, false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(report.notes.overridden().is_some(), "{report:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_version_quarantined_while_a_run_waits_is_refused_under_the_lock() {
    use neuro_deploy_core::model::{GuardState, Quarantined};
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"))
        .images(&[SHORT])
        .lock_once("dev");
    d.cluster.expect_set_images().times(0);
    // Not quarantined when the facts are read; quarantined by the time the lock is held.
    let state = state_reading("ci", |n| GuardState {
        quarantine: (n > 0)
            .then(|| Quarantined {
                version: SHORT.into(),
                by: "ci".into(),
                at: "2026-11-26T12:00:00Z".parse().unwrap(),
                reason: Some(neuro_deploy_core::model::QuarantineReason::VerificationFailed),
                detail: "5xx".into(),
                cleared: None,
            })
            .into_iter()
            .collect(),
        ..GuardState::default()
    });
    d.state = Some(state);
    let report = run_with(d, config(), &merged("main"), false).await;
    refused_under_the_lock(&report, ReasonCode::VersionQuarantined);
}

// ---- quarantine ----

#[tokio::test(start_paused = true)]
async fn a_failed_rollout_quarantines_its_version_and_a_state_that_cannot_be_written_is_a_warning()
{
    use neuro_deploy_core::model::GuardState;
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    record_set_images(&mut d);
    rollout_fails_then_restores(&mut d);
    let written = Arc::new(Mutex::new(
        Vec::<neuro_deploy_core::model::Quarantined>::new(),
    ));
    let log = Arc::clone(&written);
    let mut state = state_reading("system:serviceaccount:ci:neuro-deploy", |_| {
        GuardState::default()
    });
    state
        .expect_add_quarantine()
        .withf(|ns, _| ns == "staging")
        .times(1)
        .returning(move |_, entry| {
            log.lock().unwrap().push(entry.clone());
            Ok(())
        });
    d.state = Some(state);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:#?}");
    let written = written.lock().unwrap().clone();
    let quarantined = &written[0];
    assert_eq!(quarantined.version, "v1.4.0");
    assert_eq!(quarantined.by, "ops@laptop");
    assert!(quarantined.detail.contains("neuro-ui"), "{quarantined:?}");
    assert_eq!(
        quarantined.reason,
        Some(neuro_deploy_core::model::QuarantineReason::RolloutFailed),
        "{quarantined:?}"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // The run says what it quarantined and how to clear it.
    let said = report.quarantined.as_deref().unwrap_or_default();
    assert!(
        said.contains("v1.4.0 is quarantined in `staging`")
            && said.contains("quarantine clear v1.4.0 --env staging"),
        "{report:#?}"
    );

    // The state cannot be written: the outcome stands, the report says what is missing.
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    record_set_images(&mut d);
    rollout_fails_then_restores(&mut d);
    let mut state = state_reading("system:serviceaccount:ci:neuro-deploy", |_| {
        GuardState::default()
    });
    state
        .expect_add_quarantine()
        .returning(|_, _| Err(AdapterError::failed("kubernetes", "writing", "forbidden")));
    d.state = Some(state);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("could not be quarantined")),
        "{:?}",
        report.warnings
    );
}

// ---- every gate's verdict; a refusal needing no failing adapter ----

fn frozen_state() -> MockSharedState {
    use neuro_deploy_core::model::{Freeze, GuardState};
    state_reading("system:serviceaccount:ci:neuro-deploy", |_| GuardState {
        freeze: Some(Freeze {
            by: "alice".into(),
            at: "2026-11-26T11:00:00Z".parse().unwrap(),
            reason: "incident 42".into(),
            until: None,
        }),
        ..GuardState::default()
    })
}

/// A registry that answers nothing: every read (the repository and the image are asked
/// together) fails for want of credentials.
fn registry_without_credentials() -> MockRegistry {
    let no_credentials = |operation: &str| AdapterError::Unauthorized {
        source: None,
        service: "ecr",
        operation: operation.into(),
        message: "no AWS credentials were found".into(),
    };
    let mut registry = MockRegistry::new();
    registry
        .expect_repository_uri()
        .returning(move || Err(no_credentials("describing the repository")));
    registry
        .expect_find()
        .returning(move |_| Err(no_credentials("describing the image")));
    registry.expect_retag().times(0);
    registry
}

#[tokio::test(start_paused = true)]
async fn a_refusal_reports_every_gates_verdict() {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0", "v1.3.0"]);
    d.no_writes();
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), true).await;
    assert_eq!(
        report.reason,
        Some(ReasonCode::NotVerifiedOnStaging),
        "{report:#?}"
    );
    let verdicts: Vec<(&str, StepStatus)> = report
        .steps
        .iter()
        .map(|s| (s.kind.as_str(), s.status))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("gate_not_frozen", StepStatus::Ok),
            ("gate_not_quarantined", StepStatus::Ok),
            ("gate_image_exists", StepStatus::Ok),
            ("gate_source_verified", StepStatus::Refused),
            ("gate_not_downgrade", StepStatus::Ok),
            ("gate_workloads", StepStatus::Ok),
            ("gate_queues_drained", StepStatus::NotRun),
        ],
        "{report:#?}"
    );
    // Not judged says why: the queues are looked at only once every other gate passed.
    let queues = step(&report, "gate_queues_drained");
    assert!(
        queues
            .detail
            .as_deref()
            .unwrap_or_default()
            .starts_with("not judged: "),
        "{queues:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_embedder_without_the_shared_state_fails_closed() {
    use neuro_deploy_core::config::ApprovalsConfig;
    // No shared-state adapter: a freeze or a quarantine could hold, so nothing deploys.
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0")).images(&[SHORT]);
    d.state = None;
    d.no_writes();
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::InvalidInput), "{report:#?}");
    assert!(
        report
            .message
            .contains("`gate_not_frozen` cannot be judged")
            && report.message.contains("Adapters::state"),
        "{}",
        report.message
    );
    assert_eq!(step(&report, "gate_not_frozen").status, StepStatus::NotRun);

    // Approvals required: refused the same way, never "checked at run time" and passed.
    let mut c = fast_gate(config());
    environment(&mut c, "production").approvals = Some(ApprovalsConfig {
        required: 2,
        expire: Duration::from_secs(3600),
        approvers: Vec::new(),
    });
    let mut d = promotion_doubles();
    d.state = None;
    d.no_writes();
    d.queues_always(EMPTY);
    let report = run_with(d, c, &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::InvalidInput), "{report:#?}");
    assert_eq!(
        step(&report, "gate_approvals").status,
        StepStatus::NotRun,
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_freeze_refuses_although_the_registry_cannot_be_read_and_says_both() {
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"));
    d.registry = registry_without_credentials();
    d.state = Some(frozen_state());
    d.no_writes();
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::Frozen), "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Refused);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no AWS credentials") && w.contains("needs none of it")),
        "{:?}",
        report.warnings
    );
    assert_eq!(step(&report, "gate_not_frozen").status, StepStatus::Refused);
    let image = step(&report, "ensure_image");
    assert_eq!(image.status, StepStatus::NotRun, "{image:?}");
    assert!(
        image
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("registry"),
        "{image:?}"
    );

    // Nothing refuses on what was read: the failure is the outcome, never a pass.
    let mut d = Doubles::new();
    d.workloads("dev", app("v1.3.0"));
    d.registry = registry_without_credentials();
    d.no_writes();
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:#?}");
    assert!(
        report.message.contains("no AWS credentials"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn the_builder_refuses_adapters_that_cannot_serve_the_configuration() {
    use neuro_deploy_core::config::VerifyConfig;
    let a = Doubles::new().adapters();
    let core = |config: Config| {
        neuro_deploy_core::Executor::builder(config)
            .registry(a.registry.clone())
            .queues(a.queues.clone())
            .cluster(a.cluster.clone())
    };
    // No shared state: the freeze, quarantine and approval gates could not be judged.
    let missing = core(config()).build().err().expect("refused at build");
    assert_eq!(missing.method, "shared_state");
    assert!(
        missing
            .to_string()
            .contains("the freeze, quarantine and approval gates needs the shared state"),
        "{missing}"
    );
    // A verification by HTTP without a health checker, named by its environment.
    let mut verified = config();
    environment(&mut verified, "staging").verify = Some(VerifyConfig::new(vec![
        "https://staging.example/healthz".into(),
    ]));
    let state: Arc<dyn neuro_deploy_core::SharedState> =
        Arc::new(neuro_deploy_core::nothing_shared(None));
    let missing = core(verified.clone())
        .shared_state(Arc::clone(&state))
        .build()
        .err()
        .expect("refused at build");
    assert_eq!(missing.method, "health_checker");
    assert!(missing.needed_by.contains("`staging`"), "{missing}");
    // `git.repository` needs releases.
    let mut hosted = config();
    hosted.git.repository = Some("octo-org/neuro-ui".into());
    let missing = core(hosted)
        .shared_state(Arc::clone(&state))
        .build()
        .err()
        .expect("refused at build");
    assert_eq!(missing.method, "releases");
    // Everything the configuration asks for is there: it builds.
    assert!(core(config()).shared_state(state).build().is_ok());
}
