//! Approvals by authenticated people, through the real binary against kube-sim: each person
//! approves with their own credentials (kube-sim answers `SelfSubjectReview` from the bearer
//! token); two approvals let a promotion through, one does not, the promoter's own does not
//! count, and neither does an approval of another digest. The official kubectl reads (and
//! edits) the ConfigMap they live in.

use crate::world::*;

const PRODUCTION: &str = "leaf-neuro-ui";

fn requiring_two_approvals() -> String {
    environments(
        "",
        "[environments.approvals]\nrequired = 2\nexpire = \"1h\"",
    )
}

/// Carol's promotion of v1.4.0, refused as `approval_required` saying `why`.
async fn carol_is_refused_because(w: &World, why: &str) {
    let (code, json, _) = w.run_as("carol", &["promote", "v1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "approval_required"), "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "`{why}` missing: {message}");
}

async fn approvals_stored(w: &World) -> String {
    w.configmap_key(PRODUCTION, "approvals").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_approve_a_promotion_and_their_own_or_another_digest_does_not_count() {
    let w = World::start(fast_sim(), &requiring_two_approvals()).await;
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
    assert!(approvals_stored(&w).await.contains("alice"));

    // One is not two.
    carol_is_refused_because(&w, "1 more").await;

    // The promoter's own approval does not count.
    let (code, _, _) = w
        .run_as("carol", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0);
    carol_is_refused_because(&w, "nobody approves their own deploy").await;

    // An approval of another digest (edited in with the official kubectl) does not count.
    let stored = approvals_stored(&w).await;
    let mut approvals: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap();
    approvals.push(serde_json::json!({
        "version": "v1.4.0",
        "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "by": "bob",
        "at": approvals[0]["at"],
    }));
    let patch =
        serde_json::json!({ "data": { "approvals": serde_json::to_string(&approvals).unwrap() } });
    w.kubectl(&[
        "patch",
        "configmap",
        "neuro-deploy",
        "-n",
        PRODUCTION,
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ])
    .await;
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
    // Spent: the approvals used are gone, carol's own is left.
    let left = approvals_stored(&w).await;
    assert!(
        !left.contains("\"alice\"") && left.contains("\"carol\""),
        "{left}"
    );
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

    // Her approval slipped into the record by hand still does not count.
    let (code, json, _) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    let mut approvals: Vec<serde_json::Value> =
        serde_json::from_str(&approvals_stored(&w).await).unwrap();
    let mut forged = approvals[0].clone();
    forged["by"] = serde_json::json!("mallory");
    approvals.push(forged);
    let patch =
        serde_json::json!({ "data": { "approvals": serde_json::to_string(&approvals).unwrap() } });
    w.kubectl(&[
        "patch",
        "configmap",
        "neuro-deploy",
        "-n",
        PRODUCTION,
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ])
    .await;
    carol_is_refused_because(&w, "not one of `production`'s approvers: alice, bob").await;
}
