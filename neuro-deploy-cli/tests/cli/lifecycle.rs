//! The release lifecycle of the seed, step by step, through the real binary.

use std::time::Duration;

use neuro_deploy_sim::kube::{Fault, FaultAction, KubeSimOptions};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_release_promote_with_the_queue_gate_and_status() {
    let w = World::start(fast_sim(), "").await;

    // 1. Merge to main: built, tagged with the short SHA, dev runs it.
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    // The rollout wait shows each Deployment's progress on stderr, as kubectl does.
    assert!(
        stderr.contains("rollout neuro-ui: rollout complete"),
        "{stderr}"
    );
    assert_eq!(w.builds(), [format!("{SHA} {SHORT}")]);
    assert!(
        w.images("dev")
            .iter()
            .filter(|i| !i.contains("envoy"))
            .all(|i| i == &format!("{}:{SHORT}", w.uri))
    );
    assert!(
        w.images("dev")
            .contains(&"envoyproxy/envoy:v1.30".to_owned()),
        "the sidecar is untouched"
    );

    // A merge to another branch is ignored and writes nothing.
    w.sim.reset_requests();
    let (code, json, _) = w
        .run(&["merged", "--sha", SHA, "--branch", "feature/login"])
        .await;
    assert_eq!((code, reason(&json)), (0, "not_release_branch"));
    assert_eq!(w.sim.requests().writes, 0);

    // Re-running the merge is a no-op success.
    let (code, json, _) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!((code, reason(&json)), (0, "already_deployed"));

    // 2. Release v1.4.0 of that commit: no build, the image is retagged; staging runs it.
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        w.builds().len(),
        1,
        "build once: the release did not rebuild"
    );
    let ensure = step(&json, "ensure_image");
    assert!(
        ensure["detail"].as_str().unwrap().contains("retagged"),
        "{ensure}"
    );
    assert!(w.images("staging").contains(&format!("{}:v1.4.0", w.uri)));

    // 3. Promote while a job is in flight in us-east-2: refused, production untouched.
    let job = w.job_in_flight("us-east-2").await;
    w.sim.reset_requests();
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "queue_not_drained"), "{json:#}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("us-east-2: 0 visible, 1 in flight, 0 delayed"),
        "{json:#}"
    );
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0, "production untouched");
    assert!(
        w.images("leaf-neuro-ui")
            .contains(&format!("{}:v1.3.0", w.uri))
    );

    // `queues` says the same: exit 3.
    let (code, json, _) = w.run(&["queues"]).await;
    assert_eq!(code, 3, "{json:#}");
    assert_eq!(json["drained"], false);

    // The job finishes; the promotion goes through with its audit trail.
    job.finish().await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    assert_eq!(json["environment"], "production");
    assert_eq!(json["namespace"], "leaf-neuro-ui");
    assert!(
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"].is_string() && s["status"].is_string() && s["duration_ms"].is_u64())
    );
    assert!(
        w.pinned("leaf-neuro-ui", "v1.4.0"),
        "{:?}",
        w.images("leaf-neuro-ui")
    );
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/version")
            .as_deref(),
        Some("v1.4.0")
    );
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/previous-version")
            .as_deref(),
        Some("v1.3.0")
    );
    assert!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/deployed-by")
            .unwrap()
            .starts_with("ops@test-host/")
    );
    assert!(
        w.annotation("leaf-neuro-ui", "kubernetes.io/change-cause")
            .is_some()
    );

    let (code, json, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(code, 0);
    let row = &json["environments"][0];
    assert_eq!(
        (
            row["version"].as_str(),
            row["rollout"].as_str(),
            row["ready"].as_str()
        ),
        (Some("v1.4.0"), Some("complete"), Some("2/2"))
    );
    assert!(
        row["deployed_by"]
            .as_str()
            .unwrap()
            .starts_with("ops@test-host/")
    );

    // Promoting again is a no-op.
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (0, "already_deployed"));

    // Rollback goes back to the recorded previous version (its image must exist).
    w.push_image("v1.3.0").await;
    w.sim.reset_requests();
    let (code, json, _) = w
        .run(&["rollback", "--env", "production", "--dry-run"])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_deploy")),
        "{json:#}"
    );
    assert_eq!(w.sim.requests().writes, 0, "a dry run writes nothing");
    let (code, json, stderr) = w.run(&["rollback", "--env", "production", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["version"], "v1.3.0");
    assert!(
        w.images("leaf-neuro-ui")
            .contains(&format!("{}:v1.3.0", w.uri))
    );
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/previous-version")
            .as_deref(),
        Some("v1.4.0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_refusals_and_failures() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v1.4.0").await;
    w.push_image("v1.5.0").await;
    w.push_image("v9.9.9").await;
    // Staging runs v1.4.0.
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    // A version staging does not run.
    let (code, json, _) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "not_verified_on_staging"),
        "{json:#}"
    );
    // A SHA is not a release.
    let (code, json, _) = w.run(&["promote", SHORT, "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "not_a_release"));
    // Without --yes and without a terminal: confirmation required, nothing contacted.
    let (code, json, _) = w.run(&["promote", "v1.4.0"]).await;
    assert_eq!((code, reason(&json)), (3, "confirmation_required"));
    // Production only by promotion.
    let (code, json, _) = w
        .run(&["deploy", "v1.4.0", "--namespace", "leaf-neuro-ui"])
        .await;
    assert_eq!((code, reason(&json)), (3, "production_requires_promotion"));

    // Another holder has the lease.
    w.sim
        .create(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "neuro-deploy", "namespace": "leaf-neuro-ui" },
            "spec": { "holderIdentity": "someone@else/run-9", "leaseDurationSeconds": 3600,
                      "acquireTime": "2030-01-01T00:00:00.000000Z", "renewTime": "2030-01-01T00:00:00.000000Z" }
        }))
        .unwrap();
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (5, "lock_held"), "{json:#}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("someone@else/run-9")
    );
    assert!(
        w.images("leaf-neuro-ui")
            .contains(&format!("{}:v1.3.0", w.uri))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_rollout_is_rolled_back_with_exit_4() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v9.9.9").await;
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v9.9.9", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "rolled_back");
    let images = w.images("staging");
    assert!(
        images.contains(&format!("{}:v1.3.0", w.uri)),
        "back on the previous version: {images:?}"
    );
    assert!(!images.iter().any(|i| i.ends_with(":v9.9.9")));
    // The failure says why: the Deployment's own condition.
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("ProgressDeadlineExceeded") && message.contains("timed out progressing"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotfix_flow_builds_and_deploys_to_staging() {
    let w = World::start(fast_sim(), "").await;
    let repo = "/repos/octo-org/neuro-ui";
    let release = |tag: &str, target: &str| json!({ "tag_name": tag, "target_commitish": target, "draft": false, "prerelease": false, "name": tag, "id": 1 });
    let tag_ref = json!({ "ref": "refs/tags/v1.4.0", "object": { "type": "commit", "sha": SHA } });
    let branch_ref = json!({ "ref": "refs/heads/hotfix/v1.4.1", "object": { "type": "commit", "sha": HOTFIX_SHA } });
    let not_found = || ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" }));
    Mock::given(method("GET"))
        .and(path(format!("{repo}/releases")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([release("v1.4.0", "main")])))
        .mount(&w.github)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/git/ref/tags/v1.4.0")))
        .respond_with(ResponseTemplate::new(200).set_body_json(tag_ref))
        .mount(&w.github)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/git/ref/heads/hotfix/v1.4.1")))
        .respond_with(not_found())
        .up_to_n_times(1)
        .mount(&w.github)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/git/ref/heads/hotfix/v1.4.1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(branch_ref))
        .mount(&w.github)
        .await;
    Mock::given(method("POST")).and(path(format!("{repo}/git/refs")))
        .and(body_partial_json(json!({ "ref": "refs/heads/hotfix/v1.4.1", "sha": SHA })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "ref": "refs/heads/hotfix/v1.4.1", "object": { "type": "commit", "sha": SHA } })))
        .expect(1).mount(&w.github).await;
    for missing in [
        "git/ref/tags/v1.4.1",
        "git/ref/heads/v1.4.1",
        "git/ref/tags/hotfix/v1.4.1",
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{repo}/{missing}")))
            .respond_with(not_found())
            .mount(&w.github)
            .await;
    }
    Mock::given(method("POST")).and(path(format!("{repo}/releases")))
        .and(body_partial_json(json!({ "tag_name": "v1.4.1", "target_commitish": "hotfix/v1.4.1", "generate_release_notes": true })))
        .respond_with(ResponseTemplate::new(201).set_body_json(release("v1.4.1", "hotfix/v1.4.1")))
        .expect(1).mount(&w.github).await;
    Mock::given(method("GET"))
        .and(path(format!("{repo}/releases/tags/v1.4.1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(release("v1.4.1", "hotfix/v1.4.1")))
        .mount(&w.github)
        .await;

    // By default a hotfix branches off what production runs: v1.3.0 here, which GitHub does
    // not list as a release — refused, pointing at `--from`.
    let (code, json, stderr) = w.run(&["hotfix", "start"]).await;
    assert_eq!(code, 2, "{json:#}\n{stderr}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`v1.3.0` is not a published release") && message.contains("--from"),
        "{message}"
    );
    let (code, json, stderr) = w.run(&["hotfix", "start", "--from", "v1.4.0"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["hotfix"]["branch"], "hotfix/v1.4.1");
    let (code, json, stderr) = w.run(&["hotfix", "release", "v1.4.1"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["release"]["target"], "hotfix/v1.4.1");
    // The release event: target looked up on GitHub; no image for the hotfix commit → built.
    let (code, json, stderr) = w
        .run(&["released", "--tag", "v1.4.1", "--sha", HOTFIX_SHA])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(w.builds(), [format!("{HOTFIX_SHA} v1.4.1")]);
    assert!(w.images("staging").contains(&format!("{}:v1.4.1", w.uri)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_exit_2_and_writes_nothing() {
    let w = World::start(fast_sim(), "").await;
    w.sim.reset_requests();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["promote", "1.4"], "not a version"),
        (vec!["promote", "V1.4.0"], "not a version"),
        (vec!["deploy", "ABCDEF1", "--env", "dev"], "lowercase"),
        (vec!["merged", "--sha", "xyz"], "not a version"),
        (
            vec!["deploy", "v1.4.0", "--namespace", "Not_A_Namespace"],
            "not a valid namespace",
        ),
        (
            vec!["deploy", "v1.4.0", "--env", "qa"],
            "no environment `qa`",
        ),
        (vec!["rollback", "--env", "prod"], "no environment `prod`"),
        (
            vec!["promote", "v1.4.0", "--queue-window", "soon"],
            "not a duration",
        ),
        (vec!["deploy", "v1.4.0"], "required"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command.args(&args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}: {all}");
        assert!(
            all.contains(expected),
            "{args:?} should mention `{expected}`: {all}"
        );
    }
    // A release tag that is not SemVer is refused by the rule (exit 3), not as bad input.
    let (code, json, _) = w
        .run(&[
            "released",
            "--tag",
            "release-one",
            "--sha",
            SHA,
            "--target",
            "main",
        ])
        .await;
    assert_eq!((code, reason(&json)), (3, "not_a_release"), "{json:#}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SemVer")
    );
    // Malformed config files.
    for (text, expected) in [
        ("[queues]\nwindw = \"1m\"\n", "windw"),
        (
            "[[environments]]\nname = \"production\"\nnamespace = \"p\"\ntrigger = \"manual\"\n",
            "promote_from",
        ),
        ("[lock]\nlease = \"forever\"\n", "lock.lease"),
        ("this is not toml", "TOML"),
    ] {
        let path = w.path("bad.toml");
        std::fs::write(&path, text).unwrap();
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .env("NEURO_DEPLOY_CONFIG", &path)
            .args(["promote", "v1.4.0", "--yes"]);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(2), "{text}: {all}");
        assert!(
            all.to_lowercase().contains(&expected.to_lowercase()),
            "`{expected}` in: {all}"
        );
    }
    let (code, _, _) = w.run(&["config", "check"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        w.sim.requests().total,
        0,
        "no server was contacted for bad input"
    );
    assert!(w.builds().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_the_first_patch_converges_when_run_again() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    // A second Deployment in dev, whose patch hangs: the run is killed mid-deploy.
    w.sim
        .seed(&deployment("dev", "neuro-ui-api", &w.uri, "v1.3.0"))
        .unwrap();
    w.sim.inject(Fault {
        method: Some("PATCH".to_owned()),
        path: "/deployments/neuro-ui-api".to_owned(),
        query: None,
        skip: 0,
        times: 1,
        action: FaultAction::Hang,
    });
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .args(["merged", "--sha", SHA, "--output", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while w.sim.requests().count("PATCH", "/deployments/neuro-ui") == 0
        || w.sim.requests().count("PATCH", "/deployments/neuro-ui-api") == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never patched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        w.images("dev").contains(&format!("{}:{SHORT}", w.uri)),
        "the first patch landed"
    );

    // Right away: the dead run's lease still stands.
    let (code, json, _) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!((code, reason(&json)), (5, "lock_held"), "{json:#}");
    // Once its timestamps look old (15 s lease), a re-run watches the dead run's Lease unchanged
    // for its whole duration on its own clock, takes it over and converges.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    for name in ["neuro-ui", "neuro-ui-api"] {
        let d = w
            .sim
            .get(neuro_deploy_sim::kube::Resource::Deployment, "dev", name)
            .unwrap();
        let images: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert!(
            images
                .iter()
                .filter(|i| !i.contains("envoy"))
                .all(|i| i.ends_with(&format!(":{SHORT}"))),
            "{name}: {images:?}"
        );
    }
    let _ = KubeSimOptions::default();
}

/// Runs `neuro-deploy ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`.
async fn on_a_terminal(w: &World, args: &str, answer: &str) -> (i32, String) {
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_neuro-deploy"));
    let mut command = w.command("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let answer = answer.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Answer once the plan has been shown and the question asked.
        std::thread::sleep(Duration::from_secs(3));
        let _ = stdin.write_all(answer.as_bytes());
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_promotion_shows_the_plan_and_asks() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v1.4.0").await;
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    let (code, text) = on_a_terminal(&w, "promote v1.4.0", "n\n").await;
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("would deploy") && text.contains("Proceed with this change to production?"),
        "{text}"
    );
    assert!(text.contains("confirmation_required"), "{text}");
    assert!(
        w.images("leaf-neuro-ui")
            .contains(&format!("{}:v1.3.0", w.uri)),
        "declined: nothing changed"
    );

    let (code, text) = on_a_terminal(&w, "promote v1.4.0", "y\n").await;
    assert_eq!(code, 0, "{text}");
    assert!(w.pinned("leaf-neuro-ui", "v1.4.0"));
}
