//! Against kube-sim: the shared scenarios, plus faults only a simulator can inject.

use std::time::{Duration, Instant};

use neuro_deploy_core::{AdapterError, ClusterDeployer, RolloutResult};
use neuro_deploy_kube::KubeCluster;
use neuro_deploy_sim::fixtures;
use neuro_deploy_sim::kube::{Fault, FaultAction, KubeSim, KubeSimOptions, Resource};

use crate::scenarios::{self, Harness};

const REPO: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui";

fn seed() -> String {
    [
        fixtures::namespace("dev"),
        fixtures::app_deployment("dev", "neuro-ui", REPO, "v1"),
        fixtures::deployment(
            "dev",
            "unrelated",
            "something-else",
            1,
            &[("main", &format!("{REPO}:v1"))],
        ),
    ]
    .concat()
}

struct SimHarness {
    harness: Harness,
    sim: KubeSim,
    _dir: tempfile::TempDir,
}

async fn start(options: KubeSimOptions) -> SimHarness {
    let sim = KubeSim::start(options).await.unwrap();
    sim.seed(&seed()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&path).unwrap();
    let cluster = KubeCluster::from_kubeconfig(
        &path,
        "app.kubernetes.io/part-of=neuro-ui",
        scenarios::settings(),
    )
    .await
    .unwrap();
    SimHarness {
        harness: Harness {
            cluster,
            namespace: "dev".to_owned(),
            repo: REPO.to_owned(),
            failing_tag: "broken".to_owned(),
            good_tag: "v2".to_owned(),
        },
        sim,
        _dir: dir,
    }
}

fn fast() -> KubeSimOptions {
    KubeSimOptions {
        rollout: Duration::from_millis(300),
        observe_delay: Duration::from_millis(50),
        deadline: Duration::from_millis(600),
        fail_image: Some(":broken$".to_owned()),
        ..KubeSimOptions::default()
    }
}

#[tokio::test]
async fn lists_only_the_apps_deployments_with_their_state() {
    let s = start(fast()).await;
    let workloads = s.harness.cluster.workloads("dev").await.unwrap();
    assert_eq!(workloads.len(), 1, "the selector leaves `unrelated` out");
    let app = &workloads[0];
    assert_eq!(app.name, "neuro-ui");
    assert_eq!(
        app.containers.len(),
        3,
        "every container is reported; the core picks the app's"
    );
    assert_eq!(app.app_containers(REPO).count(), 2);
    assert!(app.rollout.state().is_complete());
    assert_eq!(app.rollout.desired, 2);
    assert!(!app.paused);
}

#[tokio::test]
async fn set_image_rolls_out_with_audit_annotations_and_few_requests() {
    let s = start(fast()).await;
    s.sim.reset_requests();
    scenarios::set_image_and_roll_out(&s.harness).await;
    let deployment = s.sim.get(Resource::Deployment, "dev", "neuro-ui").unwrap();
    let annotations = &deployment["metadata"]["annotations"];
    assert_eq!(annotations["neuro-deploy.io/version"], "v2");
    assert_eq!(
        annotations["neuro-deploy.io/deployed-at"],
        "2026-11-26T12:00:00Z"
    );
    assert!(
        annotations["kubernetes.io/change-cause"]
            .as_str()
            .unwrap()
            .contains("v2")
    );
    let counts = s.sim.requests();
    assert_eq!(
        counts.count("PATCH", "/deployments/neuro-ui"),
        1,
        "one patch per Deployment: {counts:?}"
    );
}

#[tokio::test]
async fn a_failed_rollout_is_reported_and_rolled_back_exactly() {
    let s = start(fast()).await;
    scenarios::failed_rollout_then_exact_rollback(&s.harness).await;
}

#[tokio::test]
async fn a_stale_success_does_not_end_the_wait() {
    // The controller takes 3 s to observe the new generation; until then the status still
    // shows the previous rollout as complete (Progressing=NewReplicaSetAvailable).
    let s = start(KubeSimOptions {
        rollout: Duration::from_secs(5),
        observe_delay: Duration::from_secs(3),
        deadline: Duration::from_secs(4),
        fail_image: Some(":broken$".to_owned()),
        ..KubeSimOptions::default()
    })
    .await;
    let h = &s.harness;
    let before = scenarios::app_workload(&h.cluster.workloads("dev").await.unwrap());
    let changes = scenarios::changes_to(h, &before, "broken");
    h.cluster
        .set_images("dev", &changes, &scenarios::audit("broken", Some("v1")))
        .await
        .unwrap();
    let stale = scenarios::app_workload(&h.cluster.workloads("dev").await.unwrap());
    assert!(
        stale.rollout.observed_generation < stale.rollout.generation,
        "the window this test is about"
    );
    let result = h
        .cluster
        .await_rollout("dev", &["neuro-ui".to_owned()], Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        matches!(result, RolloutResult::Failed { .. }),
        "the old success must not count: {result:?}"
    );
}

#[tokio::test]
async fn a_rollout_that_outlasts_the_timeout_times_out() {
    let s = start(KubeSimOptions {
        rollout: Duration::from_secs(30),
        ..fast()
    })
    .await;
    let h = &s.harness;
    let before = scenarios::app_workload(&h.cluster.workloads("dev").await.unwrap());
    h.cluster
        .set_images(
            "dev",
            &scenarios::changes_to(h, &before, "v2"),
            &scenarios::audit("v2", Some("v1")),
        )
        .await
        .unwrap();
    let result = h
        .cluster
        .await_rollout("dev", &["neuro-ui".to_owned()], Duration::from_millis(700))
        .await
        .unwrap();
    match result {
        RolloutResult::TimedOut { pending } => {
            assert!(pending[0].starts_with("neuro-ui:"), "{pending:?}")
        }
        other => panic!("{other:?}"),
    }
}

/// Reads the app's Deployment, lets `action` hit the next PATCH of it, and moves it to the good
/// tag fenced on that read: the write's result, how many PATCHes it took, and what runs after.
async fn fenced_write_after(
    s: &SimHarness,
    action: FaultAction,
) -> (Result<(), AdapterError>, u64, neuro_deploy_core::Workload) {
    let h = &s.harness;
    let read = scenarios::app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    s.sim
        .inject(Fault::on("PATCH", "/deployments/neuro-ui", 1, action));
    s.sim.reset_requests();
    let changes = scenarios::changes_to(h, &read, &h.good_tag);
    let audit = scenarios::audit(&h.good_tag, Some("v1"));
    let result = h.cluster.set_images(&h.namespace, &changes, &audit).await;
    let patches = s.sim.requests().count("PATCH", "/deployments/neuro-ui");
    let now = scenarios::app_workload(&h.cluster.workloads(&h.namespace).await.unwrap());
    (result, patches, now)
}

#[tokio::test]
async fn a_deployment_changed_since_it_was_read_is_not_written_and_the_error_names_it() {
    let s = start(fast()).await;
    // Someone scales the Deployment between the read and the write.
    let scaled = FaultAction::WriteFirst {
        patch: serde_json::json!({ "spec": { "replicas": 5 } }),
    };
    let (result, patches, now) = fenced_write_after(&s, scaled).await;
    let error = result.expect_err("a stale precondition is refused");
    assert!(matches!(error, AdapterError::Conflict { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("Deployment `neuro-ui`") && text.contains("nothing was written to it"),
        "{text}"
    );
    assert!(!error.outcome_unknown(), "a refused write did not land");
    assert_eq!(patches, 1);
    assert_eq!(
        now.app_tag(&s.harness.repo).as_deref(),
        Some("v1"),
        "nothing was overwritten"
    );
    assert_eq!(now.rollout.desired, 5, "their change stands");
}

#[tokio::test]
async fn a_write_refused_only_because_the_version_moved_on_without_a_spec_change_goes_on() {
    let s = start(fast()).await;
    // Between the read and the write the version moves on but the spec does not (the
    // controller's status updates do this during any rollout; here, someone's annotation).
    let annotated = FaultAction::WriteFirst {
        patch: serde_json::json!({ "metadata": { "annotations": { "example.com/seen": "yes" } } }),
    };
    let (result, patches, now) = fenced_write_after(&s, annotated).await;
    result.expect("nobody changed what the write was judged on");
    assert_eq!(patches, 2);
    assert_eq!(
        now.app_tag(&s.harness.repo).as_deref(),
        Some(s.harness.good_tag.as_str())
    );
}

#[tokio::test]
async fn a_retry_that_conflicts_with_its_own_unanswered_write_counts_as_written() {
    let s = start(fast()).await;
    // The first attempt lands but its answer is lost; the retry's precondition is then stale.
    let (result, patches, now) = fenced_write_after(&s, FaultAction::ApplyThenDrop).await;
    result.expect("the conflict is this run's own write, recognised on a fresh read");
    assert_eq!(patches, 2);
    assert_eq!(
        now.app_tag(&s.harness.repo).as_deref(),
        Some(s.harness.good_tag.as_str())
    );
}

fn list_fault(action: FaultAction, times: u32) -> Fault {
    Fault {
        method: Some("GET".to_owned()),
        path: "/namespaces/dev/deployments".to_owned(),
        query: Some("labelSelector".to_owned()),
        skip: 0,
        times,
        action,
    }
}

#[tokio::test]
async fn a_short_503_burst_is_retried() {
    let s = start(fast()).await;
    s.sim
        .inject(list_fault(FaultAction::Status { code: 503 }, 2));
    s.sim.reset_requests();
    assert_eq!(s.harness.cluster.workloads("dev").await.unwrap().len(), 1);
    assert_eq!(
        s.sim.requests().count("GET", "/namespaces/dev/deployments"),
        3
    );
}

#[tokio::test]
async fn a_long_503_burst_is_bounded() {
    let s = start(fast()).await;
    s.sim
        .inject(list_fault(FaultAction::Status { code: 503 }, 100));
    s.sim.reset_requests();
    let error = s.harness.cluster.workloads("dev").await.unwrap_err();
    assert_eq!(
        s.sim.requests().count("GET", "/namespaces/dev/deployments"),
        4,
        "1 attempt + 3 retries, not 15"
    );
    assert!(error.to_string().contains("503"), "{error}");
}

#[tokio::test]
async fn a_hung_request_is_bounded_by_the_timeout() {
    let s = start(fast()).await;
    s.sim.inject(list_fault(FaultAction::Hang, 1));
    let started = Instant::now();
    let error = s.harness.cluster.workloads("dev").await.unwrap_err();
    assert!(matches!(error, AdapterError::Timeout { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_watch_is_resumed() {
    let s = start(KubeSimOptions {
        rollout: Duration::from_secs(2),
        ..fast()
    })
    .await;
    // The first watch ends after one event, mid-rollout.
    s.sim.inject(Fault {
        method: Some("GET".to_owned()),
        path: "/namespaces/dev/deployments".to_owned(),
        query: Some("watch=true".to_owned()),
        skip: 0,
        times: 1,
        action: FaultAction::DropWatch { after_events: 1 },
    });
    s.sim.reset_requests();
    scenarios::set_image_and_roll_out(&s.harness).await;
    let watches = s
        .sim
        .requests()
        .by_route
        .get("GET /apis/apps/v1/namespaces/dev/deployments")
        .copied()
        .unwrap_or(0);
    // list + dropped watch + list + watch (at least), all on one path.
    assert!(watches >= 4, "the watch was re-established: {watches}");
}

#[tokio::test]
async fn a_live_lease_is_refused_and_a_released_one_is_free() {
    let s = start(fast()).await;
    scenarios::locks(&s.harness).await;
    let lease = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert!(lease["spec"]["leaseTransitions"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let s = start(fast()).await;
    scenarios::expired_lease_is_taken_over(&s.harness).await;
}

#[tokio::test]
async fn concurrent_lock_attempts_have_exactly_one_winner() {
    let s = start(fast()).await;
    scenarios::concurrent_lock_attempts_have_one_winner(&s.harness).await;
}

#[tokio::test]
async fn a_paused_deployment_is_reported_as_paused() {
    let s = start(fast()).await;
    let mut deployment = s.sim.get(Resource::Deployment, "dev", "neuro-ui").unwrap();
    deployment["metadata"]["name"] = serde_json::json!("paused-ui");
    deployment["metadata"]["resourceVersion"] = serde_json::Value::Null;
    deployment["spec"]["paused"] = serde_json::json!(true);
    s.sim.create(deployment).unwrap();
    let workloads = s.harness.cluster.workloads("dev").await.unwrap();
    let paused = workloads.iter().find(|w| w.name == "paused-ui").unwrap();
    assert!(paused.paused);
}

fn drop_answer(method: &str, path: &str, times: u32) -> Fault {
    Fault::on(method, path, times, FaultAction::ApplyThenDrop)
}

#[tokio::test]
async fn a_lock_write_whose_answer_was_lost_is_ours_on_retry() {
    let s = start(fast()).await;
    let cluster = &s.harness.cluster;
    let lease = Duration::from_secs(15);
    // Create applied, answer lost; the retry gets 409 AlreadyExists naming us: acquired.
    s.sim.inject(drop_answer("POST", "/leases", 1));
    let mine = match cluster.lock("dev", "me@host/1", lease).await.unwrap() {
        neuro_deploy_core::LockAttempt::Acquired(handle) => handle,
        held => panic!("our own lease, not held by someone else: {held:?}"),
    };
    // Renewal applied, answer lost; the retry gets 409 (stale resourceVersion): still ours.
    s.sim.inject(drop_answer("PUT", "/leases/neuro-deploy", 1));
    let renewed = cluster.renew(&mine).await.unwrap();
    let stored = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert_eq!(
        stored["metadata"]["resourceVersion"].as_str(),
        Some(renewed.resource_version.as_str())
    );
    // Release applied, answer lost: released all the same.
    s.sim.inject(drop_answer("PUT", "/leases/neuro-deploy", 1));
    cluster.unlock(&renewed).await.unwrap();
    let stored = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert!(stored["spec"]["holderIdentity"].is_null(), "{stored}");
}

#[tokio::test]
async fn a_patch_whose_answer_is_lost_reports_an_unknown_outcome() {
    let s = start(fast()).await;
    let h = &s.harness;
    let change = neuro_deploy_core::ImageChange {
        workload: "neuro-ui".into(),
        container: "web".into(),
        image: format!("{REPO}:v2"),
        previous_image: format!("{REPO}:v1"),
        resource_version: None,
        generation: None,
    };
    // Every attempt (1 + 3 retries) is applied and its answer dropped.
    s.sim
        .inject(drop_answer("PATCH", "/deployments/neuro-ui", 4));
    let error = h
        .cluster
        .set_images("dev", &[change], &scenarios::audit("v2", Some("v1")))
        .await
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    let stored = s.sim.get(Resource::Deployment, "dev", "neuro-ui").unwrap();
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{REPO}:v2"),
        "the write landed although no answer came"
    );
}

#[tokio::test]
async fn a_live_holder_whose_clock_runs_behind_keeps_its_lease() {
    let s = start(fast()).await;
    // Its renewTime is long past by our clock, but it keeps renewing (resourceVersion moves).
    s.sim
        .create(serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "neuro-deploy", "namespace": "dev" },
            "spec": { "holderIdentity": "skewed@host/1", "leaseDurationSeconds": 2,
                      "acquireTime": "2020-01-01T00:00:00.000000Z", "renewTime": "2020-01-01T00:00:00.000000Z" }
        }))
        .unwrap();
    let sim = &s.sim;
    let renewer = async {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut lease = sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
            lease["spec"]["renewTime"] =
                serde_json::json!(format!("2020-01-01T00:00:{i:02}.000000Z"));
            let _ = sim.replace(lease);
        }
    };
    let attempt = s
        .harness
        .cluster
        .lock("dev", "me@host/2", Duration::from_secs(15));
    let (attempt, ()) = tokio::join!(attempt, renewer);
    match attempt.unwrap() {
        neuro_deploy_core::LockAttempt::Held { holder, .. } => assert_eq!(holder, "skewed@host/1"),
        acquired => panic!("a renewed lease is never taken over: {acquired:?}"),
    }
}

#[tokio::test]
async fn a_dead_holder_whose_lease_looks_fresh_to_our_clock_is_taken_over_by_waiting() {
    let s = start(fast()).await;
    // Written by a clock far ahead of ours (or ours runs far behind): by its timestamps it looks
    // fresh for centuries, but nobody renews it. Found by the simulation (seed 26 at the time).
    s.sim
        .create(serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "neuro-deploy", "namespace": "dev" },
            "spec": { "holderIdentity": "dead@host/1", "leaseDurationSeconds": 2,
                      "acquireTime": "2999-01-01T00:00:00.000000Z", "renewTime": "2999-01-01T00:00:00.000000Z" }
        }))
        .unwrap();
    let cluster = &s.harness.cluster;
    let lease = Duration::from_secs(15);
    // One attempt gives up at once: it looks fresh.
    let first = cluster.lock("dev", "me@host/2", lease).await.unwrap();
    assert!(
        matches!(first, neuro_deploy_core::LockAttempt::Held { .. }),
        "{first:?}"
    );
    // Tried again (as `--wait-for-lock` does), what this process saw adds up: unchanged for its
    // whole duration, it is taken over whatever its timestamps say.
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        match cluster.lock("dev", "me@host/2", lease).await.unwrap() {
            neuro_deploy_core::LockAttempt::Acquired(handle) => {
                assert_eq!(handle.holder, "me@host/2");
                break;
            }
            held => assert!(
                started.elapsed() < Duration::from_secs(10),
                "a Lease seen unchanged for its 2 s is taken over: {held:?}"
            ),
        }
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "not before its duration: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_kube_error_stays_reachable_as_the_cause() {
    use std::error::Error as _;
    // Nothing listens on this loopback port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    let mut settings = scenarios::settings();
    settings.max_retries = 0;
    let cluster = KubeCluster::from_config(config, "app=x", settings).unwrap();
    let error = cluster.workloads("dev").await.unwrap_err();
    let cause = error.source().expect("the cause is kept");
    assert!(cause.downcast_ref::<kube::Error>().is_some(), "{cause:?}");
    assert!(
        error.is_retryable(),
        "no connection: worth trying again ({error})"
    );
    // Nothing was sent, so not even a write could have landed.
    assert!(!error.outcome_unknown(), "{error}");
    assert!(error.to_string().contains("could not connect"), "{error}");
}

#[tokio::test]
async fn the_operators_decisions_are_a_configmap_written_with_the_version_read() {
    use neuro_deploy_core::model::Decisions;
    use neuro_deploy_core::{Freeze, GuardState, SharedState};
    let s = start(fast()).await;
    let cluster = &s.harness.cluster;
    // Nothing written yet: the empty state, no version.
    let empty = cluster.read_state("dev").await.unwrap();
    assert_eq!(empty.state, GuardState::default());
    assert!(empty.version.is_none());
    let frozen = Decisions {
        freeze: Some(Freeze {
            by: "alice".into(),
            at: "2026-11-29T10:00:00Z".parse().unwrap(),
            reason: "incident".into(),
            until: None,
        }),
        ..Decisions::default()
    };
    cluster.write_decisions("dev", &frozen, None).await.unwrap();
    let read = cluster.read_state("dev").await.unwrap();
    assert_eq!(read.state.decisions(), frozen);
    let version = read.version.clone().expect("it exists now");
    // A second creator and a writer with a stale version both lose the race.
    let lost = cluster
        .write_decisions("dev", &Decisions::default(), None)
        .await;
    assert!(
        matches!(lost, Err(AdapterError::Conflict { .. })),
        "{lost:?}"
    );
    cluster
        .write_decisions("dev", &Decisions::default(), Some(version.clone()))
        .await
        .unwrap();
    let stale = cluster.write_decisions("dev", &frozen, Some(version)).await;
    assert!(
        matches!(stale, Err(AdapterError::Conflict { .. })),
        "{stale:?}"
    );
    let object = s
        .sim
        .get(Resource::ConfigMap, "dev", "neuro-deploy")
        .unwrap();
    assert_eq!(object["data"], serde_json::json!({}), "{object:#}");
    // Updating through the core's retrying helper.
    let written = neuro_deploy_core::guard::update(cluster, "dev", |decisions| {
        decisions.freeze = frozen.freeze.clone();
    })
    .await
    .unwrap();
    assert_eq!(written.decisions(), frozen);
    let object = s
        .sim
        .get(Resource::ConfigMap, "dev", "neuro-deploy")
        .unwrap();
    let stored: Freeze = serde_json::from_str(object["data"]["freeze"].as_str().unwrap()).unwrap();
    assert_eq!(stored.by, "alice");
}

#[tokio::test]
async fn approvals_count_only_from_their_approvers_own_record_and_spent_ones_not_at_all() {
    use neuro_deploy_core::SharedState;
    use neuro_deploy_core::model::{Approval, Spent};
    let s = start(fast()).await;
    let cluster = &s.harness.cluster;
    let approval = |by: &str| Approval {
        version: "v1.4.0".into(),
        digest: Some("sha256:1111".into()),
        by: by.into(),
        at: "2026-11-29T10:00:00Z".parse().unwrap(),
        reason: String::new(),
    };
    cluster
        .record_approval("dev", &approval("alice"))
        .await
        .unwrap();
    // Approving again renews: one approval a person and version.
    cluster
        .record_approval("dev", &approval("alice"))
        .await
        .unwrap();
    let read = cluster.read_state("dev").await.unwrap().state;
    assert_eq!(read.approvals, [approval("alice")]);
    // alice writes an approval in bob's name into her own record (she may write it): it
    // does not count, nor does one kept the old way in the operators' ConfigMap.
    let name = s
        .sim
        .get(Resource::ConfigMap, "dev", &alice_record(&s))
        .expect("alice's record");
    let mut forged: Vec<Approval> =
        serde_json::from_str(name["data"]["approvals"].as_str().unwrap()).unwrap();
    forged.push(approval("bob"));
    let mut object = name.clone();
    object["data"]["approvals"] = serde_json::json!(serde_json::to_string(&forged).unwrap());
    s.sim.replace(object).unwrap();
    let legacy = serde_json::to_string(&[approval("carol")]).unwrap();
    s.sim
        .create(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "neuro-deploy", "namespace": "dev" },
            "data": { "approvals": legacy }
        }))
        .unwrap();
    let read = cluster.read_state("dev").await.unwrap().state;
    assert_eq!(
        read.approvals,
        [approval("alice")],
        "bob's is forged in alice's record"
    );
    assert_eq!(read.legacy_approvals, [approval("carol")]);
    // A deploy spends alice's: it counts no more.
    cluster
        .spend_approvals("dev", &[Spent::of(&approval("alice"))])
        .await
        .unwrap();
    assert!(
        cluster
            .read_state("dev")
            .await
            .unwrap()
            .state
            .approvals
            .is_empty()
    );
}

/// The name of alice's approval record, as kube-sim holds it.
fn alice_record(s: &SimHarness) -> String {
    // Records are named after a hash of the user; find it by its annotation.
    s.sim
        .list(Resource::ConfigMap, "dev")
        .into_iter()
        .find(|m| m["metadata"]["annotations"]["neuro-deploy.io/approver"] == "alice")
        .and_then(|m| m["metadata"]["name"].as_str().map(str::to_owned))
        .expect("alice has a record")
}

#[tokio::test]
async fn a_quarantine_entry_is_its_own_record_and_a_clearance_ends_it() {
    use neuro_deploy_core::SharedState;
    use neuro_deploy_core::model::{Clearance, QuarantineReason, Quarantined, Unfrozen};
    let s = start(fast()).await;
    let cluster = &s.harness.cluster;
    let entry = Quarantined {
        version: "v1.4.0".into(),
        by: "ci".into(),
        at: "2026-11-29T10:00:00Z".parse().unwrap(),
        reason: Some(QuarantineReason::RolloutFailed),
        detail: "Deployment `neuro-ui` failed".into(),
        cleared: None,
    };
    cluster.add_quarantine("dev", &entry).await.unwrap();
    // Adding the same entry again (a retry) is the same record.
    cluster.add_quarantine("dev", &entry).await.unwrap();
    let read = cluster.read_state("dev").await.unwrap();
    assert_eq!(read.state.quarantine, std::slice::from_ref(&entry));
    assert!(read.state.quarantined("v1.4.0").is_some());
    // An operator's clearance ends it.
    neuro_deploy_core::guard::update(cluster, "dev", |decisions| {
        decisions.clearances.push(Clearance {
            version: "v1.4.0".into(),
            record: Unfrozen {
                by: "ops".into(),
                at: "2026-11-29T11:00:00Z".parse().unwrap(),
                reason: "fixed".into(),
            },
        });
    })
    .await
    .unwrap();
    let read = cluster.read_state("dev").await.unwrap().state;
    assert!(read.quarantined("v1.4.0").is_none(), "{read:?}");
    assert_eq!(
        read.quarantine[0].cleared.as_ref().map(|c| c.by.as_str()),
        Some("ops")
    );
}

#[tokio::test]
async fn who_runs_is_asked_of_the_api_server_from_the_credentials_bearer_token() {
    use neuro_deploy_core::SharedState;
    let s = start(fast()).await;
    // The kubeconfig's own token.
    let user = s.harness.cluster.authenticated_user("dev").await.unwrap();
    assert_eq!(user, neuro_deploy_sim::kube::DEFAULT_USER);
    // Another person's credentials on the same cluster.
    s.sim.add_user("bob-token", "bob@example.com");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, s.sim.kubeconfig_as("bob-token")).unwrap();
    let bob = KubeCluster::from_kubeconfig(&path, "app=x", scenarios::settings())
        .await
        .unwrap();
    assert_eq!(
        bob.authenticated_user("dev").await.unwrap(),
        "bob@example.com"
    );
    // Credentials nobody has: the API server's 401, named.
    std::fs::write(&path, s.sim.kubeconfig_as("nobody")).unwrap();
    let stranger = KubeCluster::from_kubeconfig(&path, "app=x", scenarios::settings())
        .await
        .unwrap();
    let error = stranger.authenticated_user("dev").await.unwrap_err();
    assert!(error.to_string().contains("who this run is"), "{error}");
}

#[tokio::test]
async fn who_runs_is_asked_once_per_cluster_however_often_a_run_wants_it() {
    use neuro_deploy_core::SharedState;
    let s = start(fast()).await;
    s.sim.reset_requests();
    for namespace in ["dev", "dev", "staging"] {
        let user = s
            .harness
            .cluster
            .authenticated_user(namespace)
            .await
            .unwrap();
        assert_eq!(user, neuro_deploy_sim::kube::DEFAULT_USER);
    }
    let reviews = s
        .sim
        .requests()
        .by_route
        .get("POST /apis/authentication.k8s.io/v1/selfsubjectreviews")
        .copied();
    assert_eq!(reviews, Some(1));
}

/// Takes the dev Lease as `holder`.
async fn take(h: &Harness, holder: &str) -> neuro_deploy_core::LockHandle {
    match h
        .cluster
        .lock(&h.namespace, holder, Duration::from_secs(15))
        .await
        .unwrap()
    {
        neuro_deploy_core::LockAttempt::Acquired(handle) => handle,
        held => panic!("{holder} must get the lock: {held:?}"),
    }
}

#[tokio::test]
async fn a_lease_nobody_wrote_since_our_last_write_is_released_in_one_write() {
    let s = start(fast()).await;
    let mine = take(&s.harness, "a@host/1").await;
    s.sim.reset_requests();
    s.harness.cluster.unlock(&mine).await.unwrap();
    let requests = s.sim.requests();
    assert_eq!(
        (requests.total, requests.writes),
        (1, 1),
        "{:?}",
        requests.by_route
    );
    let lease = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
    take(&s.harness, "b@host/2").await;
}

#[tokio::test]
async fn a_release_with_a_stale_version_reads_the_lease_and_releases_it_only_if_still_ours() {
    let s = start(fast()).await;
    // Renewed since the handle was taken (the version moved on): still ours, released.
    let mine = take(&s.harness, "a@host/1").await;
    s.harness.cluster.renew(&mine).await.unwrap();
    s.harness.cluster.unlock(&mine).await.unwrap();
    let lease = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "{lease}");
    // Taken over by someone else meanwhile: left theirs.
    let old = take(&s.harness, "a@host/1").await;
    let mut theirs = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    theirs["spec"]["holderIdentity"] = serde_json::json!("b@host/2");
    s.sim.replace(theirs).unwrap();
    s.harness.cluster.unlock(&old).await.unwrap();
    let lease = s.sim.get(Resource::Lease, "dev", "neuro-deploy").unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b@host/2", "{lease}");
}
