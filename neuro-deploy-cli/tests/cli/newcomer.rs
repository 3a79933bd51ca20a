//! What a second newcomer tripped over, each pinned through the real binary against kube-sim,
//! moto and the official kubectl: dry runs that wrote, a rollback that left drift and a false
//! record, drift named on the wrong Deployment, a refusal that showed one gate, an AWS failure
//! hiding a refusal, a self-contradicting preview, a man-page loop that never stopped, an empty
//! quarantine reason, a config check that stopped at the first problem, a freeze of nothing, a
//! history that misattributed, records naming `$USER`, and a silent own approval.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::world::*;

const PRODUCTION: &str = "leaf-neuro-ui";

/// An annotation of a Deployment in `namespace`, as kubectl reads it.
async fn annotation_of(w: &World, namespace: &str, deployment: &str, key: &str) -> String {
    let key = key.replace('.', "\\.");
    w.kubectl(&[
        "get",
        "deployment",
        deployment,
        "-n",
        namespace,
        "-o",
        &format!("jsonpath={{.metadata.annotations.{key}}}"),
    ])
    .await
}

fn message(json: &Value) -> &str {
    json["message"].as_str().unwrap_or_default()
}

/// Production runs v1.4.0 (promoted from staging) on two app Deployments, `neuro-ui` and
/// `neuro-ui-worker`, with v1.3.0 recorded as the previous version.
async fn production_on_v140_with_a_worker(w: &World) {
    w.sim
        .seed(&deployment(PRODUCTION, "neuro-ui-worker", &w.uri, "v1.3.0"))
        .unwrap();
    w.push_image("v1.3.0").await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let pinned = format!("{}:v1.4.0@sha256:", w.uri);
    let worker = w.app_images(PRODUCTION, "neuro-ui-worker");
    assert!(worker.iter().all(|i| i.starts_with(&pinned)), "{worker:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_honours_dry_run_or_refuses_it() {
    let w = World::start(fast_sim(), &production_approvals(1)).await;
    w.staged("v1.4.0").await;
    let staging_writes = w.writes_to("staging");

    // freeze: says what it would write, writes nothing.
    let (code, json, stderr) = w
        .run(&["freeze", "--env", "staging", "--reason", "dry", "--dry-run"])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_freeze")),
        "{json:#}\n{stderr}"
    );
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["environments"][0]["freeze"]["reason"], "dry");
    assert_eq!(w.configmap_key("staging", "freeze").await, "");
    assert_eq!(
        w.writes_to("staging"),
        staging_writes,
        "a dry run writes nothing"
    );
    let (_, status, _) = w.run(&["status", "--env", "staging"]).await;
    assert!(status["environments"][0]["frozen"].is_null(), "{status:#}");

    // unfreeze of a real freeze: the freeze stays, no unfreeze is recorded.
    let (code, _, _) = w
        .run(&["freeze", "--env", "staging", "--reason", "incident 7"])
        .await;
    assert_eq!(code, 0);
    let frozen = w.configmap_key("staging", "freeze").await;
    let (code, json, _) = w
        .run(&[
            "unfreeze",
            "--env",
            "staging",
            "--reason",
            "dry",
            "--dry-run",
        ])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_unfreeze")),
        "{json:#}"
    );
    assert_eq!(w.configmap_key("staging", "freeze").await, frozen);
    assert_eq!(w.configmap_key("staging", "unfrozen").await, "");

    // approve: nothing recorded.
    let (code, json, stderr) = w
        .run(&["approve", "v1.4.0", "--env", "production", "--dry-run"])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_approve")),
        "{json:#}\n{stderr}"
    );
    assert!(w.records(PRODUCTION, "approval").await.is_empty());

    // quarantine clear: the quarantine stays in force.
    w.push_image("v9.9.9").await;
    let (code, _, _) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4);
    let (code, json, _) = w
        .run(&[
            "quarantine",
            "clear",
            "v9.9.9",
            "--env",
            "dev",
            "--reason",
            "dry",
            "--dry-run",
        ])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_clear")),
        "{json:#}"
    );
    let (_, list, _) = w.run(&["quarantine", "list", "--env", "dev"]).await;
    assert!(
        list["environments"][0]["quarantined"][0]["cleared"].is_null(),
        "{list:#}"
    );

    // The commands that cannot say what they would write refuse the flag (exit 2), naming it.
    for args in [
        &[
            "lock",
            "break",
            "--env",
            "dev",
            "--reason",
            "x",
            "--dry-run",
        ][..],
        &["hotfix", "start", "--dry-run"],
        &["hotfix", "release", "v1.4.1", "--dry-run"],
        &["record", "--env", "dev", "--dry-run"],
        &["verify", "--env", "staging", "--dry-run"],
    ] {
        let (code, json, _) = w.run(args).await;
        assert_eq!(
            (code, reason(&json)),
            (2, "invalid_input"),
            "{args:?}: {json:#}"
        );
        assert!(message(&json).contains("has no dry run"), "{json:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_after_drift_records_the_truth_and_drift_names_only_what_changed() {
    let w = World::start(fast_sim(), "").await;
    production_on_v140_with_a_worker(&w).await;
    // Someone moves one Deployment back by hand.
    w.set_app_image(PRODUCTION, &format!("{}:v1.3.0", w.uri))
        .await;

    // `status` names the one Deployment that differs from its record, and the mix once.
    let (code, json, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(code, 1, "{json:#}");
    let row = &json["environments"][0];
    assert_eq!(
        row["drift"],
        json!([{ "workload": "neuro-ui", "recorded": "v1.4.0", "running": "v1.3.0" }]),
        "{row:#}"
    );
    assert_eq!(
        row["mixed_versions"],
        json!({ "v1.3.0": ["neuro-ui"], "v1.4.0": ["neuro-ui-worker"] })
    );
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["status", "--env", "production"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("`neuro-ui-worker` runs"), "{text}");
    assert_eq!(
        text.matches("mixed versions in `production`").count(),
        1,
        "{text}"
    );

    // An emergency rollback's dry run with a busy queue does not promise to wait for it.
    let job = w.job_in_flight("us-east-2").await;
    let (code, json, _) = w
        .run(&[
            "rollback",
            "--env",
            "production",
            "--skip-queue-gate",
            "--reason",
            "v1.4.0 corrupts uploads",
            "--dry-run",
        ])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("would_deploy")),
        "{json:#}"
    );
    let said = message(&json);
    assert!(said.contains("queue gate skipped"), "{said}");
    assert!(
        !said.contains("once the queues drain") && !said.contains("wait up to"),
        "{said}"
    );
    job.finish().await;

    // The rollback records the truth on every app Deployment it judged.
    let (code, json, stderr) = w.run(&["rollback", "--env", "production", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    for name in ["neuro-ui", "neuro-ui-worker"] {
        assert!(w.all_on(PRODUCTION, name, "v1.3.0"), "{name}");
        let version = annotation_of(&w, PRODUCTION, name, "neuro-deploy.io/version").await;
        let previous =
            annotation_of(&w, PRODUCTION, name, "neuro-deploy.io/previous-version").await;
        assert_eq!(
            (name, version.as_str(), previous.as_str()),
            (name, "v1.3.0", "v1.4.0")
        );
    }
    // What it moved away from is quarantined, and the run says so.
    let quarantined = json["quarantined"].as_str().unwrap_or_default();
    assert!(
        quarantined.contains("v1.4.0 is quarantined in `production`")
            && quarantined.contains("quarantine clear v1.4.0 --env production"),
        "{json:#}"
    );
    let (_, list, _) = w.run(&["quarantine", "list", "--env", "production"]).await;
    let entry = &list["environments"][0]["quarantined"][0];
    assert_eq!(
        (entry["version"].as_str(), entry["reason"].as_str()),
        (Some("v1.4.0"), Some("rolled_back_from")),
        "{list:#}"
    );
    // And nothing drifts any more.
    let (code, json, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["environments"][0]["drift"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_shows_every_gates_verdict_and_one_that_needs_no_aws_is_the_outcome() {
    use chrono::{Timelike, Utc};
    let start = Utc::now() - chrono::Duration::minutes(5);
    let schedule = format!("{} {} * * *", start.minute(), start.hour());
    let w = World::start(
        fast_sim(),
        &environments(
            "",
            &format!(
                "[environments.approvals]\nrequired = 2\nexpire = \"1h\"\n[[environments.windows]]\nkind = \"deny\"\nschedule = \"{schedule}\"\nduration = \"1h\"\nreason = \"incident review\"\n"
            ),
        ),
    )
    .await;
    w.staged("v1.4.0").await;

    // A dry run refused: every gate's verdict, not `"steps": []`.
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--dry-run"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}"
    );
    let verdicts: BTreeMap<&str, &str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    for (gate, status) in [
        ("gate_not_frozen", "ok"),
        ("gate_deploy_window", "refused"),
        ("gate_source_verified", "ok"),
        ("gate_approvals", "refused"),
        ("gate_queues_drained", "not_run"),
    ] {
        assert_eq!(verdicts.get(gate), Some(&status), "{gate}: {json:#}");
    }
    let approvals = step(&json, "gate_approvals");
    assert!(
        approvals["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("approve v1.4.0"),
        "{approvals:#}"
    );
    // The offline plan lists them too.
    let (code, json, _) = w.run(&["plan", "promote", "v1.4.0"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}"
    );
    let gates: Vec<&str> = json["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["verdict"].as_str().unwrap())
        .collect();
    assert!(
        gates.contains(&"refused") && gates.contains(&"not_judged"),
        "{json:#}"
    );

    // Without AWS credentials, the window still refuses: exit 3, the AWS failure noted.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["promote", "v1.4.0", "--yes", "--output", "json"]);
    let (code, json, stderr) = run_json(command).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}\n{stderr}"
    );
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("no AWS credentials"), "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deploy_is_quarantined_with_its_reason_and_history_says_what_happened() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let (_, before, _) = w.run(&["history", "--env", "staging"]).await;
    let deployed_at = before["entries"][0]["at"].clone();
    assert!(deployed_at.is_string(), "{before:#}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    w.push_image("v9.9.9").await;
    let (code, json, _) = w.run(&["deploy", "v9.9.9", "--env", "staging"]).await;
    assert_eq!(code, 4, "{json:#}");
    let quarantined = json["quarantined"].as_str().unwrap_or_default();
    assert!(
        quarantined.contains("v9.9.9 is quarantined in `staging`"),
        "the run that quarantined says so: {json:#}"
    );
    let (_, list, _) = w.run(&["quarantine", "list", "--env", "staging"]).await;
    assert_eq!(
        list["environments"][0]["quarantined"][0]["reason"], "rollout_failed",
        "{list:#}"
    );

    // The failed deploy is the last change; v1.4.0 keeps its own deploy's time.
    let (code, json, _) = w.run(&["history", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}");
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(
        (
            entries[0]["version"].as_str(),
            entries[0]["outcome"].as_str()
        ),
        (Some("v9.9.9"), Some("rolled_back")),
        "{json:#}"
    );
    assert_eq!(entries[1]["version"], "v1.4.0", "{json:#}");
    assert_eq!(
        entries[1]["at"], deployed_at,
        "not the rollback's time: {json:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_name_the_authenticated_user_and_an_own_approval_is_said_not_to_count() {
    let w = World::start(fast_sim(), &production_approvals(2)).await;
    w.staged("v1.4.0").await;

    // Each person's own credentials name them on the record.
    let (code, _, stderr) = w
        .run_as("bob", &["freeze", "--env", "dev", "--reason", "incident 9"])
        .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        w.configmap_key("dev", "freeze")
            .await
            .contains(r#""by":"bob""#)
    );
    let (code, json, _) = w
        .run_as("carol", &["unfreeze", "--env", "dev", "--reason", "over"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["environments"][0]["unfrozen"]["by"], "carol");
    // A CI run is named by the cluster (its `$USER` is `ops`), with who started it beside it.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("CF_BUILD_INITIATOR", "dave")
        .env("CF_BUILD_URL", "https://g.codefresh.io/build/1")
        .args([
            "freeze", "--env", "dev", "--reason", "train", "--output", "json",
        ]);
    let (code, json, _) = run_json(command).await;
    assert_eq!(code, 0, "{json:#}");
    let by = json["environments"][0]["freeze"]["by"]
        .as_str()
        .unwrap_or_default();
    assert!(
        by.starts_with("kube-sim-admin (started by dave@codefresh"),
        "{by}"
    );
    assert!(!by.contains("ops"), "never `$USER`: {by}");

    // A routine success is no warning, and durations read as people write them.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args([
        "freeze", "--env", "staging", "--reason", "train", "--for", "24h",
    ]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(stdout.contains("for 24h (until "), "{stdout}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("Some(") && !stderr.contains("1day"),
        "{stderr}"
    );
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["-v", "unfreeze", "--env", "staging", "--reason", "done"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("INFO")
            && stderr.contains("environment unfrozen")
            && !stderr.contains("WARN"),
        "{stderr}"
    );

    // Alice approves: told at once that her own deploy will not count it.
    let (code, json, _) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    let note = json["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("does not count for a deploy you run yourself (as alice)"),
        "{note}"
    );
    // Pending approvals are listed, and `status` shows them.
    let (code, json, _) = w.run(&["approvals", "list", "--env", "production"]).await;
    assert_eq!(code, 0, "{json:#}");
    let pending = &json["environments"][0]["approvals"][0];
    assert_eq!(
        (pending["by"].as_str(), pending["version"].as_str()),
        (Some("alice"), Some("v1.4.0")),
        "{json:#}"
    );
    assert!(
        pending["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    assert!(
        pending["expires"]
            .as_str()
            .is_some_and(|e| e > pending["at"].as_str().unwrap())
    );
    let (_, status, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(
        status["environments"][0]["approvals"][0]["by"], "alice",
        "{status:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_names_every_problem_and_a_freeze_of_nothing_is_refused() {
    let w = World::start(fast_sim(), "").await;
    let bad = w.path("bad.toml");
    std::fs::write(
        &bad,
        environments(
            "",
            "[environments.approvals]\nrequired = 0\n[[environments.windows]]\nkind = \"deny\"\nschedule = \"61 0 * * WED\"\nduration = \"forever\"\ntimezone = \"America/Los_Angles\"\n",
        ),
    )
    .unwrap();
    let (code, json, _) = w
        .run(&["config", "check", "--config", bad.to_str().unwrap()])
        .await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
    for key in [
        "environments[2].windows[0].duration",
        "environments[2].windows[0].schedule",
        "environments[2].windows[0].timezone",
        "environments[2].approvals.required",
    ] {
        assert!(message(&json).contains(key), "`{key}` missing: {json:#}");
    }

    let before = w.writes_to("dev");
    let (code, json, _) = w
        .run(&["freeze", "--env", "dev", "--reason", "x", "--for", "0s"])
        .await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
    assert!(message(&json).contains("--for 2h"), "{json:#}");
    assert_eq!(w.writes_to("dev"), before);
}

#[test]
fn the_man_pages_queue_loop_waits_only_while_the_queues_are_busy() {
    let page = std::process::Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .arg("man")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout).replace("\\-", "-");
    let example = page
        .lines()
        .map(|line| line.trim_start_matches("\\fB").trim_end_matches("\\fR"))
        .find(|line| line.contains("neuro-deploy queues") && line.contains("sleep"))
        .expect("the man page has a queue loop")
        .replace("sleep 60", "sleep 0");
    // A stand-in `neuro-deploy queues` answering busy, busy, then each way the loop must end.
    for (last, calls) in [(0, 3), (1, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let stub = dir.path().join("neuro-deploy");
        let counter = dir.path().join("calls");
        std::fs::write(
            &stub,
            format!(
                "#!/bin/sh\nn=$(($(cat {c} 2>/dev/null || echo 0) + 1)); echo $n > {c}\n[ $n -lt 3 ] && exit 3\nexit {last}\n",
                c = counter.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let status = std::process::Command::new("timeout")
            .args(["10", "bash", "-c", &example])
            .env("PATH", path)
            .status()
            .unwrap();
        assert!(status.success(), "`{example}` did not stop on exit {last}");
        let made = std::fs::read_to_string(&counter).unwrap();
        assert_eq!(made.trim(), calls.to_string(), "`{example}` on exit {last}");
    }
}

#[test]
fn the_release_workflow_builds_from_the_released_commit() {
    let workflow = include_str!("../../../examples/github-actions/release.yml");
    let workflow: Value = serde_saphyr::from_str(workflow).unwrap();
    let steps = workflow["jobs"]["deploy-staging"]["steps"]
        .as_array()
        .unwrap();
    let checkouts: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .collect();
    // The workspace root, where a build runs, is the released tag's commit.
    let root = checkouts
        .iter()
        .find(|c| c["with"]["path"].is_null())
        .expect("a checkout at the workspace root");
    assert_eq!(root["with"]["ref"], "${{ github.event.release.tag_name }}");
    // The gates' config still comes from the default branch, beside it.
    let config = checkouts
        .iter()
        .find(|c| c["with"]["ref"] == "${{ github.event.repository.default_branch }}")
        .expect("the default branch's config");
    let path = config["with"]["path"].as_str().unwrap();
    let deploy = steps
        .iter()
        .find(|s| s["name"] == "Deploy to staging")
        .unwrap();
    let config_file = deploy["env"]["NEURO_DEPLOY_CONFIG"].as_str().unwrap();
    assert!(
        config_file.starts_with(&format!("{path}/")),
        "{config_file}"
    );
}
