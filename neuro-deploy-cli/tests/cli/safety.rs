//! What happens around a run, through the real binary against kube-sim and moto: another
//! operator, a slow queue window, a crash, a cancelled pipeline, a half-applied patch, a
//! skewed clock. Races are driven by state the test controls (a busy queue, a Lease it
//! writes, a rollout it keeps slow), not by sleeps.

use neuro_deploy_sim::kube::{Fault, FaultAction, Resource};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::world::*;

fn patches(w: &World, name: &str) -> u64 {
    w.sim
        .requests()
        .count("PATCH", &format!("/deployments/{name}"))
}

// ---- 1. decide again under the lock ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_that_waited_refuses_what_became_a_downgrade_meanwhile() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    w.push_image("v1.5.0").await;
    // A job keeps the first promotion waiting at the queue gate.
    let job = w.job_in_flight("us-east-2").await;
    w.sim.reset_requests();
    let first = w.spawn(&[
        "promote",
        "v1.4.0",
        "--yes",
        "--queue-window",
        "2s",
        "--queue-poll",
        "1s",
        "--queue-timeout",
        "5m",
    ]);
    // It has read production (v1.3.0) and waits …
    w.until("the first run read production", |w| {
        w.sim
            .requests()
            .count("GET", "/namespaces/leaf-neuro-ui/deployments")
            >= 1
    })
    .await;
    // … while someone else puts v1.5.0 on production.
    let newer = format!("{}:v1.5.0", w.uri);
    w.set_app_image("leaf-neuro-ui", &newer).await;
    job.finish().await;
    let (code, json, stderr) = finish(first).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "downgrade"),
        "{json:#}\n{stderr}"
    );
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("decided again under the lock"),
        "{json:#}"
    );
    assert_eq!(
        patches(&w, "neuro-ui"),
        1,
        "only the other operator's patch"
    );
    assert!(w.all_on("leaf-neuro-ui", "neuro-ui", "v1.5.0"));
    assert!(
        w.lock_released("leaf-neuro-ui"),
        "{:?}",
        w.lease("leaf-neuro-ui")
    );
}

// ---- 2. "already deployed" means a complete rollout ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_set_by_hand_with_a_failing_rollout_are_rollout_failing_not_already_deployed() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v9.9.9").await;
    // Someone ran `kubectl set image` with a broken image.
    let broken = format!("{}:v9.9.9", w.uri);
    w.set_app_image("staging", &broken).await;
    w.sim.reset_requests();
    let (code, json, stderr) = w.run(&["deploy", "v9.9.9", "--env", "staging"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "rollout_failing"),
        "{json:#}\n{stderr}"
    );
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("neuro-ui")
            && message.contains("ProgressDeadlineExceeded")
            && message.contains("changed nothing")
            && message.contains("roll back"),
        "{message}"
    );
    assert_eq!(w.writes_to("staging"), 0, "no lock, no patch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_writes_nothing_waits_for_the_rollout_but_not_for_the_queues() {
    // Rollouts long enough that the run sees this one incomplete.
    let w = World::start(
        neuro_deploy_sim::kube::KubeSimOptions {
            rollout: std::time::Duration::from_secs(8),
            ..fast_sim()
        },
        "",
    )
    .await;
    w.staged("v1.4.0").await;
    // Production already has the verified image set (an earlier run was killed mid-rollout) …
    let image = format!("{}:v1.4.0@{}", w.uri, w.digest("v1.4.0").await);
    w.set_app_image("leaf-neuro-ui", &image).await;
    // … and a job is in flight: a run that will write nothing does not wait for the queues.
    let _job = w.job_in_flight("us-east-2").await;
    w.sim.reset_requests();
    let started = std::time::Instant::now();
    let (code, json, stderr) = w
        .run(&["promote", "v1.4.0", "--yes", "--queue-timeout", "10m"])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("nothing was written"),
        "{json:#}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0, "no lock, no patch");
}

// ---- 3. only app containers count ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_labelled_with_the_app_neither_blocks_promotion_nor_is_patched() {
    let w = World::start(fast_sim(), "").await;
    for ns in ["staging", "leaf-neuro-ui"] {
        w.sim
            .seed(&neuro_deploy_sim::fixtures::deployment(
                ns,
                "neuro-ui-redis",
                "neuro-ui",
                1,
                &[("redis", "redis:7.2")],
            ))
            .unwrap();
    }
    w.staged("v1.4.0").await;
    w.sim.reset_requests();
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned("leaf-neuro-ui", "v1.4.0"));
    assert_eq!(
        patches(&w, "neuro-ui-redis"),
        0,
        "the cache is never patched"
    );
    let redis = w
        .sim
        .get(Resource::Deployment, "leaf-neuro-ui", "neuro-ui-redis")
        .unwrap();
    assert_eq!(
        redis["spec"]["template"]["spec"]["containers"][0]["image"],
        "redis:7.2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sha_set_by_hand_on_production_blocks_the_downgrade_gate_unless_allowed() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let by_hand = format!("{}:{SHORT}", w.uri);
    w.kubectl(&[
        "-n",
        "leaf-neuro-ui",
        "set",
        "image",
        "deployment/neuro-ui",
        &format!("web={by_hand}"),
    ])
    .await;
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "downgrade"), "{json:#}");
    assert!(json["message"].as_str().unwrap().contains("not a release"));
    let (code, json, stderr) = w
        .run(&["promote", "v1.4.0", "--yes", "--allow-downgrade"])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
}

// ---- 4. a patch that fails part-way ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_patch_rolls_back_the_others_with_exit_4() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    w.sim
        .seed(&deployment("dev", "neuro-ui-worker", &w.uri, "v1.3.0"))
        .unwrap();
    w.sim.inject(Fault::on(
        "PATCH",
        "/deployments/neuro-ui-worker",
        1,
        FaultAction::Status { code: 422 },
    ));
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "rolled_back");
    let applied: Vec<&str> = json["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["workload"].as_str().unwrap())
        .collect();
    assert!(applied.iter().all(|w| *w == "neuro-ui"), "{applied:?}");
    assert_eq!(json["restored"].as_array().unwrap().len(), applied.len());
    for name in ["neuro-ui", "neuro-ui-worker"] {
        assert!(
            w.all_on("dev", name, "v1.3.0"),
            "{name} back on / still on v1.3.0"
        );
    }
    assert_eq!(
        patches(&w, "neuro-ui-worker"),
        1,
        "the rejected one is not restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_whose_answer_was_lost_counts_as_applied_and_is_restored() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    w.sim
        .seed(&deployment("dev", "neuro-ui-worker", &w.uri, "v1.3.0"))
        .unwrap();
    // Every attempt (one and three retries) lands, and every answer is lost.
    w.sim.inject(Fault::on(
        "PATCH",
        "/deployments/neuro-ui-worker",
        4,
        FaultAction::ApplyThenDrop,
    ));
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    let applied: Vec<&str> = json["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["workload"].as_str().unwrap())
        .collect();
    assert!(applied.contains(&"neuro-ui-worker"), "{applied:?}");
    assert!(
        w.all_on("dev", "neuro-ui-worker", "v1.3.0"),
        "the write that landed unseen was restored"
    );
}

// ---- 5. cancellation ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_the_rollout_restores_releases_the_lock_and_exits_7() {
    let w = World::start(slow_sim(), "").await;
    w.push_image(SHORT).await;
    let run = w.spawn(&["merged", "--sha", SHA]);
    w.until("the run patched dev", |w| patches(w, "neuro-ui") >= 1)
        .await;
    w.until("the run holds the lock", |w| {
        w.lease("dev")
            .is_some_and(|l| l["spec"]["holderIdentity"].is_string())
    })
    .await;
    signal(&run, "TERM");
    let (code, json, stderr) = finish(run).await;
    assert_eq!(code, 7, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "interrupted");
    assert_eq!(json["applied"].as_array().unwrap().len(), 2);
    assert_eq!(json["restored"].as_array().unwrap().len(), 2);
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(w.all_on("dev", "neuro-ui", "v1.3.0"));
    assert!(w.lock_released("dev"), "{:?}", w.lease("dev"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_before_the_first_write_changes_nothing_and_exits_7() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let _job = w.job_in_flight("us-east-2").await;
    w.sim.reset_requests();
    let run = w.spawn(&[
        "promote",
        "v1.4.0",
        "--yes",
        "--queue-timeout",
        "5m",
        "--queue-poll",
        "1s",
    ]);
    w.until("the run waits at the queue gate", |w| {
        w.sim
            .requests()
            .count("GET", "/namespaces/staging/deployments")
            >= 1
    })
    .await;
    signal(&run, "INT");
    let (code, json, stderr) = finish(run).await;
    assert_eq!(code, 7, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "interrupted");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0);
}

// ---- 6. the lock under clock skew and slow renewals ----

fn lease_of(holder: &str, seconds: u32, renewed: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": { "name": "neuro-deploy", "namespace": "dev" },
        "spec": { "holderIdentity": holder, "leaseDurationSeconds": seconds,
                  "acquireTime": renewed, "renewTime": renewed }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_whose_clock_runs_behind_keeps_the_lock_and_a_dead_one_is_taken_over() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    // Its renewTime reads years old on our clock, but it renews (the object changes).
    w.sim
        .create(lease_of("skewed@host/1", 3, "2020-01-01T00:00:00.000000Z"))
        .unwrap();
    let mut run = w.spawn(&["merged", "--sha", SHA]);
    // Renew while the run watches it (every change restarts its observation), until it gives up.
    for renewal in 0..100 {
        if run.try_wait().unwrap().is_some() {
            break;
        }
        let mut lease = w.lease("dev").unwrap();
        lease["spec"]["renewTime"] = json!(format!("2020-01-01T00:00:{:02}.000000Z", renewal % 60));
        w.sim.replace(lease).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let (code, json, stderr) = finish(run).await;
    assert_eq!(
        (code, reason(&json)),
        (5, "lock_held"),
        "{json:#}\n{stderr}"
    );
    assert_eq!(
        w.lease("dev").unwrap()["spec"]["holderIdentity"],
        "skewed@host/1"
    );

    // The holder stops renewing: watched unchanged for its 3 s, it is taken over.
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(stderr.contains("watching it"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_taken_away_mid_rollout_ends_with_exit_6_and_the_record() {
    let w = World::start(slow_sim(), "").await;
    w.push_image(SHORT).await;
    let run = w.spawn(&["merged", "--sha", SHA]);
    w.until("the run patched dev", |w| patches(w, "neuro-ui") >= 1)
        .await;
    // Someone breaks the lock and takes it.
    let mut lease = w.lease("dev").unwrap();
    lease["spec"]["holderIdentity"] = json!("thief@elsewhere/9");
    w.sim.replace(lease).unwrap();
    let (code, json, stderr) = finish(run).await;
    assert_eq!(code, 6, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "rollback_failed");
    assert!(json["message"].as_str().unwrap().contains("was lost"));
    assert_eq!(json["applied"].as_array().unwrap().len(), 2);
    assert!(json["restored"].as_array().unwrap().is_empty());
    assert_eq!(
        w.lease("dev").unwrap()["spec"]["holderIdentity"],
        "thief@elsewhere/9",
        "another holder's lock is left alone"
    );
}

// ---- 7. lock writes are idempotent ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_create_whose_answer_was_lost_is_ours_not_lock_held() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    w.sim
        .inject(Fault::on("POST", "/leases", 1, FaultAction::ApplyThenDrop));
    w.sim.inject(Fault::on(
        "PUT",
        "/leases/neuro-deploy",
        1,
        FaultAction::ApplyThenDrop,
    ));
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    assert!(w.lease("dev").unwrap()["spec"]["holderIdentity"].is_null());
}

// ---- 8. the queue timeout bounds the wait for a drain ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_timeout_zero_refuses_a_busy_queue_at_once_and_holds_a_drained_one_for_the_window() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let gate = ["--queue-window", "1m", "--queue-timeout", "0s"];
    // `queues` takes the same flags (it was exit 2 before).
    let (code, json, _) = w.run(&[&["queues"][..], &gate[..]].concat()).await;
    assert_eq!(code, 0, "{json:#}");
    let job = w.job_in_flight("us-west-2").await;
    let started = std::time::Instant::now();
    let (code, json, _) = w
        .run(&[&["promote", "v1.4.0", "--yes"][..], &gate[..]].concat())
        .await;
    assert_eq!((code, reason(&json)), (3, "queue_not_drained"), "{json:#}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    job.finish().await;
    // Drained: the window still holds (2 s, three samples 1 s apart).
    let started = std::time::Instant::now();
    let (code, json, stderr) = w
        .run(&[
            "promote",
            "v1.4.0",
            "--yes",
            "--queue-window",
            "2s",
            "--queue-poll",
            "1s",
            "--queue-timeout",
            "0s",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
}

// ---- 9. an image that is deployed exists, and is the release's commit ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_that_pushed_its_commit_under_another_tag_is_retagged_and_one_that_pushed_nothing_is_refused()
 {
    let builder = "[builder]\nkind = \"codefresh\"\ncodefresh_pipeline = \"neuro-ui/build\"\ntimeout = \"60s\"\n";
    let w = World::start_with_builder(fast_sim(), Some(builder), "").await;
    let codefresh = MockServer::start().await;
    // A build of the same commit, started for the merge, is already running: it is joined.
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "workflows": { "docs": [
            { "id": "merge-build", "status": "running", "revision": SHA, "pipelineName": "neuro-ui/build" }
        ] } })))
        .mount(&codefresh)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/builds/merge-build"))
        .respond_with(w.finished_build("merge-build", SHORT, SHA))
        .mount(&codefresh)
        .await;
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("CF_URL", codefresh.uri())
        .env("CF_API_KEY", "cf-test-key")
        .args([
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .args(["--output", "json"]);
    let (code, json, stderr) = run_json(command).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let ensure = step(&json, "ensure_image");
    assert!(
        ensure["detail"].as_str().unwrap().contains("build once"),
        "{ensure}"
    );
    assert_eq!(w.digest("v1.4.0").await, w.digest(SHORT).await);

    // A build that pushes nothing: refused before any write, naming the build.
    let empty = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "workflows": { "docs": [] } })),
        )
        .mount(&empty)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/pipelines/run/neuro-ui%2Fbuild"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!("empty-build")))
        .mount(&empty)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/builds/empty-build"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "empty-build", "status": "success" })),
        )
        .mount(&empty)
        .await;
    w.sim.reset_requests();
    let other = "fedcba9876543210fedcba9876543210fedcba98";
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("CF_URL", empty.uri())
        .env("CF_API_KEY", "cf-test-key")
        .args(["deploy", other, "--env", "dev", "--output", "json"]);
    let (code, json, _) = run_json(command).await;
    assert_eq!((code, reason(&json)), (3, "image_missing"), "{json:#}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("build of commit")
    );
    assert_eq!(w.writes_to("dev"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_tag_on_another_image_than_its_commit_is_refused_and_never_moved() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    w.push_image("v1.4.0").await;
    let before = w.digest("v1.4.0").await;
    let (code, json, _) = w
        .run(&[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!((code, reason(&json)), (3, "immutable_tag"), "{json:#}");
    assert_eq!(w.digest("v1.4.0").await, before, "never moved");
    assert!(w.all_on("staging", "neuro-ui", "v1.3.0"));
}

// ---- 10. production gets the digest staging verified ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_runs_the_digest_staging_verified_and_a_moved_tag_is_refused() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let digest = w.digest("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let pinned = format!("{}:v1.4.0@{digest}", w.uri);
    assert!(
        w.app_images("leaf-neuro-ui", "neuro-ui")
            .iter()
            .all(|i| *i == pinned),
        "{:?}",
        w.images("leaf-neuro-ui")
    );
    let (code, json, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(code, 0);
    assert_eq!(json["environments"][0]["version"], "v1.4.0");
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/version")
            .as_deref(),
        Some("v1.4.0")
    );
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (0, "already_deployed"));

    // Staging pinned to v1.5.0's digest; then the tag is moved to another image.
    w.push_image("v1.5.0").await;
    let verified = w.digest("v1.5.0").await;
    let staged = format!("{}:v1.5.0@{verified}", w.uri);
    w.set_app_image("staging", &staged).await;
    w.kubectl(&[
        "-n",
        "staging",
        "rollout",
        "status",
        "deployment/neuro-ui",
        "--timeout=30s",
    ])
    .await;
    w.push_image_of("v1.5.0", "something else").await;
    w.sim.reset_requests();
    let (code, json, _) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "immutable_tag"), "{json:#}");
    assert!(json["message"].as_str().unwrap().contains("moved"));
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0);
}

// ---- 11. getting out of a stuck state, on the record ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_status_and_break_with_and_without_force() {
    let w = World::start(fast_sim(), "").await;
    let mut dead = lease_of("crashed@ci/7", 2, "2020-01-01T00:00:00.000000Z");
    dead["metadata"]["namespace"] = json!("leaf-neuro-ui");
    w.sim.create(dead).unwrap();
    let (code, json, _) = w.run(&["lock", "status", "--env", "production"]).await;
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["held"], true);
    assert_eq!(json["lease"]["holder"], "crashed@ci/7");
    assert!(
        json["lease"]["renewed_at"]
            .as_str()
            .unwrap()
            .starts_with("2020-01-01")
    );

    // Not renewed for its 2 s while watched: broken, and recorded on the Lease.
    let (code, json, stderr) = w
        .run(&[
            "lock",
            "break",
            "--env",
            "production",
            "--reason",
            "runner died",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "broken");
    let lease = w.lease("leaf-neuro-ui").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null());
    let record = lease["metadata"]["annotations"]["neuro-deploy.io/lock-broken-by"]
        .as_str()
        .unwrap();
    assert!(
        record.starts_with("kube-sim-admin at ") && record.contains("runner died"),
        "{record}"
    );

    // A fresh lock: `--force` needs confirmation off a terminal, then breaks it.
    let mut live = lease_of("busy@ci/8", 3600, "2099-01-01T00:00:00.000000Z");
    live["metadata"]["namespace"] = json!("leaf-neuro-ui");
    let current = w.lease("leaf-neuro-ui").unwrap();
    live["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    w.sim.replace(live).unwrap();
    let (code, json, _) = w
        .run(&[
            "lock",
            "break",
            "--env",
            "production",
            "--reason",
            "stuck",
            "--force",
        ])
        .await;
    assert_eq!(
        (code, reason(&json)),
        (3, "confirmation_required"),
        "{json:#}"
    );
    assert_eq!(
        w.lease("leaf-neuro-ui").unwrap()["spec"]["holderIdentity"],
        "busy@ci/8"
    );
    let (code, json, _) = w
        .run(&[
            "lock",
            "break",
            "--env",
            "production",
            "--reason",
            "stuck",
            "--force",
            "--yes",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}");
    assert!(w.lease("leaf-neuro-ui").unwrap()["spec"]["holderIdentity"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_rollback_skips_the_queue_gate_on_the_record_and_nothing_else_does() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    w.push_image("v1.3.0").await;
    let _job = w.job_in_flight("us-east-2").await;
    let (code, json, _) = w.run(&["rollback", "--env", "production", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "queue_not_drained"), "{json:#}");
    // Only with a reason, and only for rollback.
    for args in [
        &[
            "rollback",
            "--env",
            "production",
            "--yes",
            "--skip-queue-gate",
        ][..],
        &[
            "promote",
            "v1.4.0",
            "--yes",
            "--skip-queue-gate",
            "--reason",
            "x",
        ][..],
    ] {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let (code, json, stderr) = w
        .run(&[
            "rollback",
            "--env",
            "production",
            "--yes",
            "--skip-queue-gate",
            "--reason",
            "v1.4.0 corrupts uploads",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.all_on("leaf-neuro-ui", "neuro-ui", "v1.3.0"));
    let skipped = w
        .annotation("leaf-neuro-ui", "neuro-deploy.io/queue-gate-skipped")
        .unwrap();
    assert!(
        skipped.contains("v1.4.0 corrupts uploads") && skipped.contains("1 in flight"),
        "{skipped}"
    );
    assert_eq!(json["queues"].as_array().unwrap().len(), 2);
}
