//! Approvals by authenticated people, through the real binary against kube-sim: each person
//! approves with their own credentials (kube-sim answers `SelfSubjectReview` from the bearer
//! token); two approvals let a promotion through, one does not, the promoter's own does not
//! count, and neither does an approval of another digest. The official kubectl reads (and
//! edits) the records they live in: each approver's own ConfigMap.

use crate::world::*;

const PRODUCTION: &str = "leaf-neuro-ui";

/// Carol's promotion of v1.4.0, refused as `approval_required` saying `why`.
async fn carol_is_refused_because(w: &World, why: &str) {
    let (code, json, _) = w.run_as("carol", &["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "approval_required"), "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "`{why}` missing: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_approve_a_promotion_and_their_own_or_another_digest_does_not_count() {
    let w = World::start(fast_sim(), &production_approvals(2)).await;
    w.staged("v1.4.0").await;
    let promote = ["promote", "v1.4.0", "--yes"];

    // No approvals: refused, nothing written.
    let before = w.writes_to(PRODUCTION);
    carol_is_refused_because(&w, "neuro-deploy approve v1.4.0 --env production").await;
    assert_eq!(w.writes_to(PRODUCTION), before);

    // Alice approves with her own credentials; the record names the authenticated user.
    let (code, json, stderr) = w
        .run_as(
            "alice",
            &[
                "approve",
                "v1.4.0",
                "--env",
                "production",
                "--reason",
                "looks good",
            ],
        )
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["approval"]["by"], "alice");
    let digest = json["approval"]["digest"].as_str().unwrap().to_owned();
    assert!(digest.starts_with("sha256:"), "{json:#}");
    assert_eq!(w.approvals_of(PRODUCTION, "alice").await[0]["by"], "alice");

    // One is not two.
    carol_is_refused_because(&w, "1 more").await;

    // The promoter's own approval does not count.
    let (code, _, _) = w
        .run_as("carol", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0);
    carol_is_refused_because(&w, "nobody approves their own deploy").await;

    // An approval of another digest (bob's, edited with the official kubectl) does not count.
    let (code, _, _) = w
        .run_as("bob", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0);
    let mut bobs = w.approvals_of(PRODUCTION, "bob").await;
    bobs[0]["digest"] = serde_json::json!(
        "sha256:0000000000000000000000000000000000000000000000000000000000000000"
    );
    w.set_approvals_of(PRODUCTION, "bob", &bobs).await;
    carol_is_refused_because(&w, "of another image digest").await;
    // (The approvals wrote to the ConfigMap; no refusal touched the Deployments.)
    assert!(
        w.all_on(PRODUCTION, "neuro-ui", "v1.3.0"),
        "no refusal deployed"
    );

    // Bob approves the image staging runs: alice and bob let carol's promotion through.
    let (code, _, _) = w
        .run_as("bob", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0);
    let (code, json, stderr) = w.run_as("carol", &promote).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned(PRODUCTION, "v1.4.0"));
    assert_eq!(
        json["approved_by"],
        serde_json::json!(["alice", "bob"]),
        "{json:#}"
    );
    assert_eq!(
        w.annotation(PRODUCTION, "neuro-deploy.io/approved-by")
            .as_deref(),
        Some("alice, bob")
    );
    let deployed_by = w
        .annotation(PRODUCTION, "neuro-deploy.io/deployed-by")
        .unwrap_or_default();
    assert!(deployed_by.ends_with(" as carol"), "{deployed_by}");
    // Spent: the approvals used count no more (the deployer records it; it cannot change
    // them), carol's own is left.
    let spent = w.records(PRODUCTION, "spent").await;
    let spent = spent[0]["data"]["spent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        spent.contains("\"alice\"") && spent.contains("\"bob\""),
        "{spent}"
    );
    let (_, pending, _) = w.run(&["approvals", "list", "--env", "production"]).await;
    let left: Vec<&str> = pending["environments"][0]["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["carol"], "{pending:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_who_is_not_an_approver_is_refused_and_their_approval_never_counts() {
    let w = World::start(
        fast_sim(),
        &environments(
            "",
            "[environments.approvals]\nrequired = 2\nexpire = \"1h\"\napprovers = [\"alice\", \"bob\"]",
        ),
    )
    .await;
    w.staged("v1.4.0").await;
    let before = w.writes_to(PRODUCTION);
    let (code, json, stderr) = w
        .run_as("mallory", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(
        (code, reason(&json)),
        (3, "approval_required"),
        "{json:#}\n{stderr}"
    );
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("mallory is not one of `production`'s approvers (alice, bob)")
            && message.contains("nothing was recorded"),
        "{message}"
    );
    assert_eq!(w.writes_to(PRODUCTION), before, "nothing was written");

    // Her approval in a record of her own, made by hand, still does not count.
    let (code, json, _) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    let mut hers = w.approvals_of(PRODUCTION, "alice").await;
    hers[0]["by"] = serde_json::json!("mallory");
    let mut record: serde_json::Value = serde_json::from_str(
        &w.kubectl(&[
            "get",
            "configmap",
            &neuro_deploy_kube::approval_record("alice"),
            "-n",
            PRODUCTION,
            "-o",
            "json",
        ])
        .await,
    )
    .unwrap();
    record["metadata"] = serde_json::json!({
        "name": neuro_deploy_kube::approval_record("mallory"),
        "namespace": PRODUCTION,
        "labels": record["metadata"]["labels"].clone(),
    });
    record["data"]["approvals"] = serde_json::json!(serde_json::to_string(&hers).unwrap());
    let path = w.dir.path().join("mallory.json");
    std::fs::write(&path, record.to_string()).unwrap();
    w.kubectl(&["create", "--validate=false", "-f", path.to_str().unwrap()])
        .await;
    carol_is_refused_because(&w, "not one of `production`'s approvers: alice, bob").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_kept_the_old_way_no_longer_count_and_status_says_so_once() {
    let w = World::start(fast_sim(), &production_approvals(2)).await;
    w.staged("v1.4.0").await;
    // Two approvals in the operators' ConfigMap, where anyone who could write it could have
    // written them in any name.
    let (code, json, _) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    let mut old = w.approvals_of(PRODUCTION, "alice").await;
    let mut bobs = old[0].clone();
    bobs["by"] = serde_json::json!("bob");
    old.push(bobs);
    w.set_approvals_of(PRODUCTION, "alice", &[]).await;
    let config_map = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "neuro-deploy", "namespace": PRODUCTION },
        "data": { "approvals": serde_json::to_string(&old).unwrap() },
    });
    let path = w.dir.path().join("old.json");
    std::fs::write(&path, config_map.to_string()).unwrap();
    w.kubectl(&["apply", "--validate=false", "-f", path.to_str().unwrap()])
        .await;
    carol_is_refused_because(&w, "nobody has approved it yet").await;
    let text = w.run_text(&["status"]).await;
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("kept the old way"))
        .collect();
    assert_eq!(said.len(), 1, "{text}");
    assert!(
        said[0].contains("`production` no longer count (2 by alice, bob)")
            && said[0].contains("neuro-deploy approve v1.4.0 --env production"),
        "{text}"
    );
}
