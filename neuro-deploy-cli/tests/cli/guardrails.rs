//! Guardrails through the real binary against kube-sim: a freeze, quarantined versions (both
//! kept in the environment's ConfigMap, read by the official kubectl), and drift in `status`.

use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_marks_drift_after_a_kubectl_set_image() {
    let w = World::start(fast_sim(), "").await;
    // Nothing recorded yet anywhere: no drift.
    let (code, json, stderr) = w.run(&["status"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    for row in json["environments"].as_array().unwrap() {
        assert_eq!(row["drift"], serde_json::json!([]), "{row:#}");
    }

    // A deploy records what it set; then someone changes it by hand.
    w.push_image(SHORT).await;
    let (code, json, stderr) = w.run(&["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    w.set_app_image("dev", &format!("{}:v1.3.0", w.uri)).await;

    let (code, json, _) = w.run(&["status"]).await;
    assert_eq!(code, 1, "drift is worth a non-zero exit: {json:#}");
    let dev = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["environment"] == "dev")
        .unwrap();
    assert_eq!(
        dev["drift"],
        serde_json::json!([{ "workload": "neuro-ui", "recorded": SHORT, "running": "v1.3.0" }])
    );
    let others_clean = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["environment"] != "dev")
        .all(|row| row["drift"] == serde_json::json!([]));
    assert!(others_clean, "{json:#}");

    // Text says where and what to do.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["status", "--env", "dev"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text.contains(&format!(
            "drift in `dev`: Deployment `neuro-ui` runs v1.3.0, recorded {SHORT}"
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_refuses_a_release_rollback_still_works_and_unfreeze_lifts_it() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;

    let (code, json, stderr) = w
        .run(&["freeze", "--env", "staging", "--reason", "incident 42"])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["environments"][0]["freeze"]["reason"], "incident 42");
    // Every operator and CI run sees it: the official kubectl reads it from the cluster.
    // Who froze it is who the cluster says this run's credentials are, never `$USER@host`.
    let stored = w.configmap_key("staging", "freeze").await;
    assert!(
        stored.contains("incident 42")
            && stored.contains(r#""by":"kube-sim-admin""#)
            && !stored.contains("ops@"),
        "{stored}"
    );

    // A release to staging is refused, naming who froze it and why; nothing is written.
    w.push_image_of("v1.5.0", "another build").await;
    let before = w.writes_to("staging");
    let (code, json, _) = w
        .run(&[
            "released", "--tag", "v1.5.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!((code, reason(&json)), (3, "frozen"), "{json:#}");
    let (code, json, _) = w.run(&["deploy", "v1.5.0", "--env", "staging"]).await;
    assert_eq!((code, reason(&json)), (3, "frozen"), "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("incident 42") && message.contains("unfreeze"),
        "{message}"
    );
    assert_eq!(
        w.writes_to("staging"),
        before,
        "a frozen environment is not written"
    );

    // `status` shows it.
    let (code, json, _) = w.run(&["status", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["environments"][0]["frozen"]["reason"], "incident 42");

    // Getting back is never blocked.
    w.push_image("v1.3.0").await;
    let (code, json, stderr) = w.run(&["rollback", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.all_on("staging", "neuro-ui", "v1.3.0"));
    // The version rolled back from is quarantined there.
    let (_, json, _) = w.run(&["quarantine", "list", "--env", "staging"]).await;
    assert_eq!(
        json["environments"][0]["quarantined"][0]["version"], "v1.4.0",
        "{json:#}"
    );

    // Lifted on the record, the same deploy goes through.
    let (code, json, stderr) = w
        .run(&[
            "unfreeze",
            "--env",
            "staging",
            "--reason",
            "incident closed",
        ])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("unfrozen")),
        "{json:#}\n{stderr}"
    );
    let stored = w.configmap_key("staging", "unfrozen").await;
    assert!(stored.contains("incident closed"), "{stored}");
    let (code, json, stderr) = w.run(&["deploy", "v1.5.0", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_for_a_while_ends_by_itself_and_a_freeze_needs_a_reason() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    let (code, json, _) = w.run(&["freeze", "--env", "dev", "--reason", " "]).await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
    let (code, json, stderr) = w
        .run(&[
            "freeze",
            "--all",
            "--reason",
            "release train",
            "--for",
            "2s",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["environments"].as_array().unwrap().len(), 3);
    let (code, json, _) = w.run(&["deploy", SHORT, "--env", "dev"]).await;
    assert_eq!((code, reason(&json)), (3, "frozen"), "{json:#}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (code, json, stderr) = w.run(&["deploy", SHORT, "--env", "dev"]).await;
    assert_eq!(code, 0, "the freeze ended by itself: {json:#}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_rolled_back_by_a_failed_rollout_stays_out_until_cleared() {
    let w = World::start(fast_sim(), "").await;
    w.push_image("v9.9.9").await;
    let (code, json, stderr) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    // Recorded where every run sees it: an entry of its own, which the deployer cannot change.
    let entries = w.records("dev", "quarantine").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let stored = entries[0]["data"]["entry"].as_str().unwrap_or_default();
    assert!(stored.contains("v9.9.9"), "{stored}");

    // The same deploy again (a re-run pipeline) is refused and writes nothing.
    let before = w.writes_to("dev");
    let (code, json, _) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "version_quarantined"),
        "{json:#}"
    );
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("quarantine clear v9.9.9 --env dev"),
        "{message}"
    );
    assert_eq!(w.writes_to("dev"), before);

    let (code, json, _) = w.run(&["quarantine", "list", "--env", "dev"]).await;
    assert_eq!(code, 0);
    let listed = &json["environments"][0]["quarantined"][0];
    assert_eq!(listed["version"], "v9.9.9");
    assert!(listed["cleared"].is_null(), "{json:#}");

    // Cleared on the record, it may be deployed again (and fails again here).
    let (code, json, stderr) = w
        .run(&[
            "quarantine",
            "clear",
            "v9.9.9",
            "--env",
            "dev",
            "--reason",
            "fixed the node pool",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        json["environments"][0]["quarantined"][0]["cleared"]["reason"],
        "fixed the node pool"
    );
    let (code, json, _) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4, "not refused any more: {json:#}");
    // Clearing what is not quarantined says so.
    let (code, json, _) = w
        .run(&[
            "quarantine",
            "clear",
            "v1.0.0",
            "--env",
            "dev",
            "--reason",
            "x",
        ])
        .await;
    assert_eq!((code, reason(&json)), (2, "invalid_input"), "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_window_active_now_refuses_production_and_an_override_deploys_and_records_why() {
    use chrono::{Timelike, Utc};
    // A daily deny window that started five minutes ago and lasts an hour.
    let start = Utc::now() - chrono::Duration::minutes(5);
    let start = start
        .with_second(0)
        .and_then(|s| s.with_nanosecond(0))
        .unwrap();
    let opens = (start + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let schedule = format!("{} {} * * *", start.minute(), start.hour());
    let w = World::start(
        fast_sim(),
        &environments(
            "",
            &format!(
                "[[environments.windows]]\nkind = \"deny\"\nschedule = \"{schedule}\"\nduration = \"1h\"\nreason = \"incident review\"\n"
            ),
        ),
    )
    .await;
    w.staged("v1.4.0").await;

    // Refused, naming the window and when it opens; nothing is written.
    let before = w.writes_to("leaf-neuro-ui");
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}"
    );
    let message = json["message"].as_str().unwrap_or_default();
    for needed in [
        "incident review",
        schedule.as_str(),
        "UTC",
        opens.as_str(),
        "--override-window",
    ] {
        assert!(message.contains(needed), "`{needed}` missing: {message}");
    }
    assert_eq!(w.writes_to("leaf-neuro-ui"), before, "nothing written");
    // The plan, the dry run and `status` say so too.
    let (code, json, _) = w.run(&["plan", "promote", "v1.4.0"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}"
    );
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--dry-run"]).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "outside_deploy_window"),
        "{json:#}"
    );
    let (code, json, _) = w.run(&["status", "--env", "production"]).await;
    assert_eq!(code, 0, "{json:#}");
    let window = &json["environments"][0]["window"];
    assert_eq!(
        (window["state"].as_str(), window["opens_at"].as_str()),
        (Some("closed"), Some(opens.as_str())),
        "{json:#}"
    );
    // An override needs a reason, lets the fix through and is recorded where people look.
    let annotation =
        promote_overriding(&w, "v1.4.0", "--override-window", "hotfix for incident 42").await;
    assert!(
        annotation.contains("hotfix for incident 42") && annotation.contains("incident review"),
        "{annotation}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_edited_by_hand_with_an_offset_ends_at_the_instant_it_names() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    // A freeze, then an operator sets its end by hand, as the README says they may: two
    // minutes ago, written in +05:00 (the text sorts after any `…Z` time of today).
    let (code, _, stderr) = w
        .run(&["freeze", "--env", "dev", "--reason", "incident 7"])
        .await;
    assert_eq!(code, 0, "{stderr}");
    let offset = chrono::FixedOffset::east_opt(5 * 3600).unwrap();
    let ended = (chrono::Utc::now() - chrono::Duration::minutes(2))
        .with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    assert!(ended.ends_with("+05:00"), "{ended}");
    let freeze = serde_json::json!({
        "by": "kube-sim-admin", "at": "2026-01-01T00:00:00Z", "reason": "incident 7", "until": ended,
    });
    let patch = serde_json::json!({ "data": { "freeze": freeze.to_string() } });
    w.kubectl(&[
        "patch",
        "configmap",
        "neuro-deploy",
        "-n",
        "dev",
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ])
    .await;
    // Ended two minutes ago: not frozen, and the deploy goes.
    let (code, json, _) = w.run(&["status", "--env", "dev"]).await;
    assert!(
        json["environments"][0]["frozen"].is_null(),
        "{code} {json:#}"
    );
    let (code, json, stderr) = w.run(&["deploy", SHORT, "--env", "dev"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_waits_out_the_soak_time_and_skip_soak_lets_a_fix_through_on_the_record() {
    let w = World::start(fast_sim(), &environments("", "min_soak = \"6s\"\n")).await;
    w.staged("v1.4.0").await;
    let deployed = w
        .annotation("staging", "neuro-deploy.io/deployed-at")
        .expect("the release's deploy to staging is recorded");
    let allowed = (neuro_deploy_core::model::parse_instant(&deployed).unwrap()
        + chrono::Duration::seconds(6))
    .format("%Y-%m-%dT%H:%M:%SZ")
    .to_string();

    // Right after the release reached staging: refused, naming since when and when it may go.
    let before = w.writes_to("leaf-neuro-ui");
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "soak_not_met"), "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    for needed in [
        format!("since {deployed}"),
        format!("at {allowed} (UTC)"),
        "--skip-soak --reason".to_owned(),
    ] {
        assert!(message.contains(&needed), "`{needed}` missing: {message}");
    }
    assert_eq!(w.writes_to("leaf-neuro-ui"), before, "nothing written");
    // The plan, the dry run and `status` show the gate.
    let (code, json, _) = w.run(&["plan", "promote", "v1.4.0"]).await;
    assert_eq!(code, 0, "{json:#}");
    let planned = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["kind"] == "gate_soak")
        .cloned()
        .unwrap_or_else(|| panic!("no soak step: {json:#}"));
    assert!(
        planned["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("at least 6s — checked at run time"),
        "{planned:#}"
    );
    let (code, json, _) = w.run(&["promote", "v1.4.0", "--dry-run"]).await;
    assert_eq!((code, reason(&json)), (3, "soak_not_met"), "{json:#}");
    let (_, json, _) = w.run(&["status"]).await;
    let production = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["environment"] == "production")
        .cloned()
        .unwrap();
    let soak = production["next_promotion"]["gates"]
        .as_array()
        .unwrap_or_else(|| panic!("no next promotion: {production:#}"))
        .iter()
        .find(|gate| gate["gate"] == "gate_soak")
        .cloned()
        .unwrap_or_else(|| panic!("no soak verdict: {production:#}"));
    assert_eq!(
        (soak["verdict"].as_str(), soak["reason"]["code"].as_str()),
        (Some("refused"), Some("soak_not_met")),
        "{soak:#}"
    );

    // Once it has run there for the soak time, the same command promotes it.
    let wait = neuro_deploy_core::model::parse_instant(&allowed).unwrap() - chrono::Utc::now();
    tokio::time::sleep(wait.to_std().unwrap_or_default() + std::time::Duration::from_secs(1)).await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned("leaf-neuro-ui", "v1.4.0"));
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/override"),
        None
    );

    // A fix that cannot wait: `--skip-soak` needs a reason, and the reason is recorded.
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.5.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let (code, json, _) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "soak_not_met"), "{json:#}");
    let annotation = promote_overriding(&w, "v1.5.0", "--skip-soak", "fix for incident 7").await;
    assert!(
        annotation.contains("--skip-soak: fix for incident 7")
            && annotation.contains("of the 6s soak"),
        "{annotation}"
    );
}

/// `promote VERSION --yes FLAG`: without `--reason` it is exit 2; with `reason` it promotes,
/// the report's `overridden` says why, and production's Deployment carries it — what
/// `neuro-deploy.io/override` holds comes back, read with kubectl.
async fn promote_overriding(w: &World, version: &str, flag: &str, reason: &str) -> String {
    let (code, _, _) = w.run(&["promote", version, "--yes", flag]).await;
    assert_eq!(code, 2, "{flag} without a reason");
    let (code, json, stderr) = w
        .run(&["promote", version, "--yes", flag, "--reason", reason])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned("leaf-neuro-ui", version));
    let overridden = json["overridden"].as_str().unwrap_or_default();
    assert!(overridden.contains(reason), "{json:#}");
    w.kubectl(&[
        "get",
        "deployment",
        "neuro-ui",
        "-n",
        "leaf-neuro-ui",
        "-o",
        r"jsonpath={.metadata.annotations.neuro-deploy\.io/override}",
    ])
    .await
}
