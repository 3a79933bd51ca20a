//! What happens around a run: stale facts, failing rollouts already set, signals, the lock's
//! hold, the queue timeout, builds that push elsewhere, tags that move.

use neuro_deploy_core::{ImageRef, interrupt_channel};

use super::*;

/// Production's workloads: what each successive read returns (the last repeats).
pub(super) fn workloads_in_turn(d: &mut Doubles, ns: &'static str, reads: Vec<Vec<Workload>>) {
    let count = Arc::new(AtomicUsize::new(0));
    d.cluster
        .expect_workloads()
        .with(eq(ns))
        .returning(move |_| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            Ok(reads[n.min(reads.len() - 1)].clone())
        });
}

fn pinned_image(tag: &str, digest: &str) -> ImageRef {
    ImageRef {
        digest: Some(digest.to_owned()),
        ..image(tag)
    }
}

// ---- deciding again under the lock ----

#[tokio::test(start_paused = true)]
async fn a_newer_release_promoted_meanwhile_makes_the_promotion_a_refused_downgrade() {
    let mut d = Doubles::new();
    // Before the queue wait production runs v1.3.0; by the time the lock is taken someone
    // promoted v1.5.0.
    workloads_in_turn(&mut d, "leaf-neuro-ui", vec![app("v1.3.0"), app("v1.5.0")]);
    d.workloads("staging", app("v1.4.0"))
        .images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    d.cluster.expect_await_rollout().times(0);
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Refused, "{report:#?}");
    assert_eq!(report.reason, Some(ReasonCode::Downgrade));
    assert_eq!(report.exit_code(), ExitStatus::Refused);
    assert!(
        report.message.contains("decided again under the lock")
            && report.message.contains("v1.5.0"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn staging_moving_on_meanwhile_refuses_the_promotion() {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"));
    workloads_in_turn(&mut d, "staging", vec![app("v1.4.0"), app("v1.6.0")]);
    d.images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(
        report.reason,
        Some(ReasonCode::NotVerifiedOnStaging),
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_previous_version_recorded_comes_from_the_read_under_the_lock() {
    let mut d = Doubles::new();
    workloads_in_turn(&mut d, "leaf-neuro-ui", vec![app("v1.3.0"), app("v1.3.1")]);
    d.workloads("staging", app("v1.4.0"))
        .images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster
        .expect_set_images()
        .withf(|_, changes, audit| {
            audit.previous_version.as_deref() == Some("v1.3.1")
                && changes
                    .iter()
                    .all(|c| c.previous_image.ends_with(":v1.3.1"))
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(report.previous_version.as_deref(), Some("v1.3.1"));
}

#[tokio::test(start_paused = true)]
async fn already_deployed_by_someone_else_meanwhile_writes_nothing() {
    let mut d = Doubles::new();
    workloads_in_turn(&mut d, "staging", vec![app("v1.3.0"), app("v1.4.0")]);
    d.images(&["v1.4.0"]).lock_once("staging");
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::Ignored, "{report:#?}");
    assert_eq!(report.reason, Some(ReasonCode::AlreadyDeployed));
    assert_eq!(report.exit_code(), ExitStatus::Done);
}

// ---- images set, rollout failing ----

#[tokio::test(start_paused = true)]
async fn images_set_with_a_failing_rollout_is_rollout_failing_without_lock_or_queue_wait() {
    let mut d = Doubles::new();
    let mut failing = app("v1.4.0");
    failing[1].rollout.deadline_exceeded = true;
    d.workloads("leaf-neuro-ui", failing)
        .workloads("staging", app("v1.4.0"))
        .images(&["v1.4.0"])
        .no_writes();
    d.queues.expect_depth().times(0);
    d.cluster
        .expect_await_rollout()
        .withf(|ns, names, _| ns == "leaf-neuro-ui" && names.len() == 2)
        .times(1)
        .returning(|_, _, _| {
            Ok(RolloutResult::Failed {
                workload: "neuro-ui-api".into(),
                reason: "progress deadline exceeded".into(),
            })
        });
    let report = run_with(d, config(), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Refused, "{report:#?}");
    assert_eq!(report.reason, Some(ReasonCode::RolloutFailing));
    assert_eq!(report.exit_code(), ExitStatus::Refused);
    assert!(
        report.message.contains("neuro-ui-api")
            && report.message.contains("progress deadline exceeded")
            && report.message.contains("roll back"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn images_set_with_a_rollout_still_moving_is_awaited_and_then_done() {
    let mut d = Doubles::new();
    let mut moving = app(SHORT);
    moving[0].rollout = progressing();
    d.workloads("dev", moving).images(&[SHORT]).no_writes();
    d.cluster
        .expect_await_rollout()
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        report.message.contains("nothing was written"),
        "{}",
        report.message
    );
}

// ---- only the app's Deployments ----

fn cache(name: &str) -> Workload {
    Workload {
        name: name.to_owned(),
        containers: vec![neuro_deploy_core::model::ContainerImage {
            container: "redis".to_owned(),
            image: "redis:7.2".to_owned(),
        }],
        rollout: complete(),
        paused: false,
        condition: None,
        audit: Default::default(),
        resource_version: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_cache_selected_by_the_label_neither_blocks_nor_is_patched() {
    let mut d = Doubles::new();
    let mut production = app("v1.3.0");
    production.push(cache("neuro-ui-redis"));
    let mut staging = app("v1.4.0");
    staging.push(cache("neuro-ui-redis"));
    d.workloads("leaf-neuro-ui", production)
        .workloads("staging", staging)
        .images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster
        .expect_set_images()
        .withf(|_, changes, _| changes.iter().all(|c| c.workload != "neuro-ui-redis"))
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .withf(|_, names, _| !names.contains(&"neuro-ui-redis".to_owned()))
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
}

// ---- signals ----

/// A cluster double whose rollout never ends by itself.
fn endless_rollout(d: &mut Doubles) {
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Err(AdapterError::failed("test", "wait", "unreachable")));
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_the_rollout_restores_without_waiting_and_exits_7() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    let calls = record_set_images(&mut d);
    endless_rollout(&mut d);
    let adapters = d.adapters();
    let adapters = Adapters {
        cluster: Arc::new(SlowRollout::new(adapters.cluster.clone())),
        ..adapters
    };
    let (interrupter, interrupt) = interrupt_channel();
    let executor = neuro_deploy_core::Executor::new(adapters, config()).with_interrupt(interrupt);
    let event = released("v1.4.0", "main");
    let context = ctx(false);
    let run = executor.run(&event, &context);
    let signal = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        interrupter.interrupt();
    };
    let (report, ()) = tokio::join!(run, signal);
    assert_eq!(report.outcome, Outcome::Interrupted, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Interrupted);
    assert_eq!(report.applied.len(), 4);
    assert_eq!(report.restored.len(), 4);
    assert!(report.restored.iter().all(|c| c.image.ends_with(":v1.3.0")));
    assert!(
        report.message.contains("without waiting"),
        "{}",
        report.message
    );
    assert_eq!(calls.lock().unwrap().len(), 4, "2 patches forward, 2 back");
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_the_queue_wait_changes_nothing_and_exits_7() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(QueueDepth {
        in_flight: 1,
        ..EMPTY
    });
    let (interrupter, interrupt) = interrupt_channel();
    let executor =
        neuro_deploy_core::Executor::new(d.adapters(), config()).with_interrupt(interrupt);
    let event = promote("v1.4.0");
    let context = ctx(false);
    let signal = async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        interrupter.interrupt();
    };
    let (report, ()) = tokio::join!(executor.run(&event, &context), signal);
    assert_eq!(report.outcome, Outcome::Interrupted, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Interrupted);
    assert!(report.applied.is_empty());
    assert!(
        report.message.contains("nothing was changed"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_skips_the_restore_but_still_releases_the_lock() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&["v1.4.0"])
        .lock_once("staging");
    // Forward patches land; the restore hangs until the second signal abandons it.
    let count = Arc::new(AtomicUsize::new(0));
    d.cluster.expect_set_images().returning(move |_, _, _| {
        count.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    endless_rollout(&mut d);
    let adapters = d.adapters();
    let adapters = Adapters {
        cluster: Arc::new(SlowRollout {
            inner: adapters.cluster.clone(),
            hang_restores_to: Some("v1.3.0"),
        }),
        ..adapters
    };
    let (interrupter, interrupt) = interrupt_channel();
    let executor = neuro_deploy_core::Executor::new(adapters, config()).with_interrupt(interrupt);
    let event = released("v1.4.0", "main");
    let context = ctx(false);
    let signals = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        interrupter.interrupt();
        tokio::time::sleep(Duration::from_secs(1)).await;
        interrupter.interrupt();
    };
    let started = tokio::time::Instant::now();
    let (report, ()) = tokio::join!(executor.run(&event, &context), signals);
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    assert!(
        report.message.contains("second signal"),
        "{}",
        report.message
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // `lock_once` checks the unlock happened exactly once.
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_a_build_cancels_it_and_changes_nothing() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[]);
    d.cluster.expect_lock().times(0);
    d.cluster.expect_set_images().times(0);
    d.builder
        .expect_build()
        .returning(|_, _| Err(AdapterError::failed("test", "build", "unreachable")));
    d.builder.expect_cancel().times(1).returning(|| Ok(()));
    let builder: Arc<dyn neuro_deploy_core::ImageBuilder> = Arc::new(SlowBuild(Arc::new(
        std::mem::replace(&mut d.builder, MockImageBuilder::new()),
    )));
    let adapters = Adapters {
        builder: Some(builder),
        ..d.adapters()
    };
    let (interrupter, interrupt) = interrupt_channel();
    let executor = neuro_deploy_core::Executor::new(adapters, config()).with_interrupt(interrupt);
    let event = merged("main");
    let context = ctx(false);
    let signal = async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        interrupter.interrupt();
    };
    let (report, ()) = tokio::join!(executor.run(&event, &context), signal);
    assert_eq!(report.outcome, Outcome::Interrupted, "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Interrupted);
}

/// A build that runs until it is dropped; `cancel` goes to the double.
struct SlowBuild(Arc<MockImageBuilder>);

#[async_trait::async_trait]
impl neuro_deploy_core::ImageBuilder for SlowBuild {
    async fn build(
        &self,
        _: &neuro_deploy_core::GitSha,
        _: &ImageRef,
    ) -> Result<ImageRef, AdapterError> {
        std::future::pending().await
    }
    async fn cancel(&self) -> Result<(), AdapterError> {
        self.0.cancel().await
    }
}

// ---- the lock's hold ----

#[tokio::test(start_paused = true)]
async fn failing_renewals_stop_the_run_once_the_hold_is_too_old_to_trust() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster
        .expect_lock()
        .returning(|_, _, _| Ok(LockAttempt::Acquired(handle("dev"))));
    d.cluster.expect_renew().returning(|_| {
        Err(AdapterError::Timeout {
            service: "kubernetes",
            operation: "renewing the lease".into(),
            seconds: 30.0,
        })
    });
    d.cluster.expect_unlock().times(1).returning(|_| Ok(()));
    d.cluster
        .expect_set_images()
        .times(2)
        .returning(|_, _, _| Ok(()));
    let adapters = d.adapters();
    let adapters = Adapters {
        cluster: Arc::new(SlowRollout::new(adapters.cluster.clone())),
        ..adapters
    };
    let started = tokio::time::Instant::now();
    let report = neuro_deploy_core::Executor::new(adapters, config())
        .run(&merged("main"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::RollbackFailed, "{report:#?}");
    // 60 s lease: the run stops 45 s after the lock (lease minus a quarter), not after two
    // missed renewals' worth of request timeouts.
    assert_eq!(started.elapsed(), Duration::from_secs(45));
    assert!(
        report.message.contains("no renewal succeeded"),
        "{}",
        report.message
    );
}

// ---- the queue timeout ----

#[tokio::test(start_paused = true)]
async fn timeout_zero_refuses_a_busy_queue_at_once() {
    let mut d = promotion_doubles();
    d.no_writes();
    d.queues_always(QueueDepth {
        visible: 2,
        ..EMPTY
    });
    let mut c = config();
    c.queues.timeout = Duration::ZERO;
    let started = tokio::time::Instant::now();
    let report = run_with(d, c, &promote("v1.4.0"), false).await;
    assert_eq!(
        report.reason,
        Some(ReasonCode::QueueNotDrained),
        "{report:#?}"
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn timeout_zero_still_holds_a_drained_queue_for_the_whole_window() {
    let mut d = promotion_doubles();
    d.queues_always(EMPTY).lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let mut c = config();
    c.queues.timeout = Duration::ZERO;
    let started = tokio::time::Instant::now();
    let report = run_with(d, c, &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        started.elapsed() >= Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

// ---- the image that is deployed ----

#[tokio::test(start_paused = true)]
async fn a_build_that_pushed_nothing_is_image_missing_before_any_write() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[]);
    d.builder
        .expect_build()
        .times(1)
        .returning(|_, img| Ok(img.clone()));
    d.cluster.expect_lock().times(0);
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, config(), &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::ImageMissing), "{report:#?}");
    assert!(
        report.message.contains("build of commit"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_build_of_the_same_commit_for_another_tag_is_retagged() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0"))
        .images(&[])
        .lock_once("staging");
    // The builder joined a build of the same commit started for the merge: it pushed `abc1234`.
    let tags = Arc::clone(&d.tags);
    d.builder.expect_build().times(1).returning(move |_, img| {
        tags.lock().unwrap().push(SHORT.to_owned());
        Ok(img.clone())
    });
    d.registry
        .expect_retag()
        .with(eq(SHORT), eq("v1.4.0"))
        .times(1)
        .returning(|_, to| Ok(image(to)));
    d.writes_land(2);
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert!(
        step(&report, "ensure_image")
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("build once"),
        "{report:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_release_tag_on_another_image_than_its_commit_is_never_deployed() {
    let mut d = Doubles::new();
    d.workloads("staging", app("v1.3.0")).no_writes();
    d.registry.expect_find().returning(|tag| {
        Ok(Some(match tag {
            "v1.4.0" => pinned_image("v1.4.0", "sha256:aaaa"),
            _ => pinned_image(tag, "sha256:bbbb"),
        }))
    });
    let report = run_with(d, config(), &released("v1.4.0", "main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::ImmutableTag), "{report:#?}");
    assert!(report.message.contains("never moved"), "{}", report.message);
}

// ---- the digest staging verified ----

#[tokio::test(start_paused = true)]
async fn a_promotion_sets_the_digest_and_refuses_a_moved_tag() {
    // Staging runs v1.4.0 pinned to aaaa; the registry's v1.4.0 still names aaaa: pinned.
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app_pinned("v1.4.0", "sha256:aaaa"))
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.registry
        .expect_find()
        .returning(|tag| Ok(Some(pinned_image(tag, "sha256:aaaa"))));
    d.cluster
        .expect_set_images()
        .withf(|_, changes, _| {
            changes
                .iter()
                .all(|c| c.image == format!("{REPO}:v1.4.0@sha256:aaaa"))
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(
        report.image.as_deref(),
        Some(format!("{REPO}:v1.4.0@sha256:aaaa").as_str())
    );

    // The tag was moved to another image since staging verified it: refused.
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads("staging", app_pinned("v1.4.0", "sha256:aaaa"))
        .no_writes();
    d.registry
        .expect_find()
        .returning(|tag| Ok(Some(pinned_image(tag, "sha256:cccc"))));
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::ImmutableTag), "{report:#?}");
    assert!(report.message.contains("moved"), "{}", report.message);
}

// ---- the emergency rollback ----

#[tokio::test(start_paused = true)]
async fn an_emergency_rollback_skips_the_gate_on_the_record() {
    let mut d = Doubles::new();
    let recorded = app("v1.4.0")
        .into_iter()
        .map(|w| with_previous(w, "v1.4.0", "v1.3.0"))
        .collect();
    d.workloads("leaf-neuro-ui", recorded)
        .images(&["v1.3.0"])
        .lock_once("leaf-neuro-ui");
    d.queues_always(QueueDepth {
        in_flight: 3,
        ..EMPTY
    });
    d.cluster
        .expect_set_images()
        .withf(|_, _, audit| {
            audit
                .queue_gate_skipped
                .as_deref()
                .is_some_and(|s| s.contains("v1.4.0 corrupts uploads") && s.contains("3 in flight"))
        })
        .times(2)
        .returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let event = Event::Rollback {
        env: "production".into(),
        skip_queue_gate: Some("v1.4.0 corrupts uploads".into()),
    };
    let started = tokio::time::Instant::now();
    let report = run_with(d, config(), &event, false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(started.elapsed(), Duration::ZERO, "no queue wait");
    let skipped = step(&report, "queue_gate_skipped");
    assert!(
        skipped
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("3 in flight"),
        "{skipped:?}"
    );
    assert_eq!(
        report.queues.len(),
        2,
        "the depths skipped are in the report"
    );
}

#[tokio::test(start_paused = true)]
async fn staging_re_pinned_meanwhile_refuses_the_promotion_as_a_moved_image() {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"));
    // While the promotion waited, staging was re-pinned to another image of v1.4.0.
    workloads_in_turn(
        &mut d,
        "staging",
        vec![
            app_pinned("v1.4.0", "sha256:aaaa"),
            app_pinned("v1.4.0", "sha256:bbbb"),
        ],
    );
    d.registry
        .expect_find()
        .returning(|tag| Ok(Some(image(tag))));
    d.queues_always(EMPTY).lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, fast_gate(config()), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::ImmutableTag), "{report:#?}");
    assert!(
        report.message.contains("sha256:bbbb") && report.message.contains("nothing was written"),
        "{}",
        report.message
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_for_the_lock_takes_it_once_the_other_deploy_is_done() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    let tries = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tries);
    d.cluster.expect_lock().times(3).returning(move |_, _, _| {
        Ok(if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            LockAttempt::Held {
                holder: "other@ci/1".into(),
                expires: None,
            }
        } else {
            LockAttempt::Acquired(handle("dev"))
        })
    });
    d.cluster.expect_renew().returning(|h| Ok(h.clone()));
    d.cluster.expect_unlock().times(1).returning(|_| Ok(()));
    d.writes_land(2);
    let mut c = config();
    c.lock.wait = Duration::from_secs(30);
    let started = tokio::time::Instant::now();
    let report = run_with(d, c, &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(4),
        "two retries, 2 s apart"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_for_the_lock_is_bounded() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000")).images(&[SHORT]);
    d.cluster.expect_lock().returning(|_, _, _| {
        Ok(LockAttempt::Held {
            holder: "other@ci/1".into(),
            expires: None,
        })
    });
    d.cluster.expect_set_images().times(0);
    let mut c = config();
    c.lock.wait = Duration::from_secs(5);
    let started = tokio::time::Instant::now();
    let report = run_with(d, c, &merged("main"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::LockHeld), "{report:#?}");
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// Collects the notes a run shows.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl neuro_deploy_core::Observer for Notes {
    fn progress(&self, progress: &neuro_deploy_core::Progress) {
        if let neuro_deploy_core::Progress::Note(note) = progress {
            self.0.lock().unwrap().push(note.clone());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_queue_wait_says_how_long_it_waited_and_how_long_is_left() {
    let mut d = promotion_doubles();
    d.lock_once("leaf-neuro-ui");
    let samples = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&samples);
    d.queues.expect_depth().returning(move |_, _| {
        let busy = counter.fetch_add(1, Ordering::SeqCst) < 2;
        Ok(QueueDepth {
            in_flight: u64::from(busy),
            ..EMPTY
        })
    });
    d.cluster.expect_set_images().returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let notes = Arc::new(Notes::default());
    let report = neuro_deploy_core::Executor::new(d.adapters(), config())
        .with_observer(notes.clone())
        .run(&promote("v1.4.0"), &ctx(false))
        .await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let notes = notes.0.lock().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n == "queues busy; waited 0.0s, 10m left for them to drain"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("queues clear for 20.0s of 1m (2 of 3 samples)")),
        "{notes:?}"
    );
    // Enough samples, not yet the whole window: only the window is left to wait for.
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("queues clear for 40.0s of 1m (3 samples)")),
        "{notes:?}"
    );
}

// ---- the soak time, judged at the start and again under the lock ----

#[tokio::test(start_paused = true)]
async fn a_promotion_before_its_soak_time_is_refused_before_anything_is_written() {
    let mut d = Doubles::new();
    // The run starts at 12:00; staging got v1.4.0 at 11:45, and production soaks 30 minutes.
    d.workloads("leaf-neuro-ui", app("v1.3.0"))
        .workloads(
            "staging",
            crate::soak::deployed_at("v1.4.0", "2026-11-26T11:45:00Z"),
        )
        .images(&["v1.4.0"])
        .no_writes();
    d.queues.expect_depth().times(0);
    let report = run_with(d, crate::soak::soaking(), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::SoakNotMet), "{report:#?}");
    assert_eq!(report.exit_code(), ExitStatus::Refused);
    assert!(
        report.message.contains("at 2026-11-26T12:15:00Z (UTC)"),
        "{}",
        report.message
    );
    assert_eq!(step(&report, "gate_soak").status, StepStatus::Refused);
}

#[tokio::test(start_paused = true)]
async fn a_version_redeployed_to_staging_meanwhile_restarts_its_soak_under_the_lock() {
    let mut d = Doubles::new();
    d.workloads("leaf-neuro-ui", app("v1.3.0"));
    // Soaked for an hour when the run starts; redeployed to staging while production's
    // queues were waited for.
    workloads_in_turn(
        &mut d,
        "staging",
        vec![
            crate::soak::deployed_at("v1.4.0", "2026-11-26T11:00:00Z"),
            crate::soak::deployed_at("v1.4.0", "2026-11-26T12:00:30Z"),
        ],
    );
    d.images(&["v1.4.0"])
        .queues_always(EMPTY)
        .lock_once("leaf-neuro-ui");
    d.cluster.expect_set_images().times(0);
    let report = run_with(d, crate::soak::soaking(), &promote("v1.4.0"), false).await;
    assert_eq!(report.reason, Some(ReasonCode::SoakNotMet), "{report:#?}");
    assert!(
        report.message.contains("decided again under the lock")
            && report.message.contains("since 2026-11-26T12:00:30Z"),
        "{}",
        report.message
    );
}

// ---- the plan's rollout wait is the one waited ----

#[tokio::test(start_paused = true)]
async fn the_rollout_wait_is_the_plans_whole_seconds_rounded_up() {
    let mut d = Doubles::new();
    d.workloads("dev", app("0000000"))
        .images(&[SHORT])
        .lock_once("dev");
    d.cluster.expect_set_images().returning(|_, _, _| Ok(()));
    d.cluster
        .expect_await_rollout()
        .withf(|_, _, timeout| *timeout == Duration::from_secs(2))
        .times(1)
        .returning(|_, _, _| Ok(RolloutResult::Complete));
    let mut config = config();
    config.rollout.timeout = Duration::from_millis(1500);
    let report = run_with(d, config, &merged("main"), false).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:#?}");
    let wait = step(&report, "await_rollout");
    assert_eq!(wait.status, StepStatus::Ok, "{report:#?}");
}
