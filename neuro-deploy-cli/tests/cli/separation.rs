//! Separation of duties the API server enforces, end to end: kube-sim with RBAC on, the
//! manifests `neuro-deploy rbac` prints applied with the official kubectl, three people, an
//! operator and a CI service account. The CI identity's own attempts to forge an approval, lift
//! a freeze or clear a quarantine are refused by the API server (403); only approvals by the
//! configured approvers, each written by its approver, let its promotion through.

use std::process::Output;

use neuro_deploy_sim::kube::KubeSimOptions;

use crate::world::*;

const PRODUCTION: &str = "leaf-neuro-ui";
const CI: &str = "system:serviceaccount:ci:neuro-deploy";

/// kubectl as `who` (impersonated by the administrator kubectl is on kube-sim).
async fn kubectl_as(w: &World, who: &str, args: &[&str]) -> Output {
    let mut all = vec!["--as", who];
    all.extend_from_slice(args);
    kubectl_output(&w.kubeconfig, &all).await
}

/// Asserts the API server refused `out` with 403.
fn refused_by_the_api_server(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("Forbidden") && stderr.contains("forbidden"),
        "{what} must be refused by the API server: {stderr}"
    );
}

/// A merge patch of ConfigMap `name` in `namespace`.
fn patch(name: &str, namespace: &str, data: &str) -> Vec<String> {
    [
        "patch",
        "configmap",
        name,
        "-n",
        namespace,
        "--type",
        "merge",
        "-p",
        data,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_that_deploys_cannot_forge_approvals_lift_freezes_or_clear_quarantines() {
    let options = KubeSimOptions {
        rbac: true,
        ..fast_sim()
    };
    let approvals =
        "[environments.approvals]\nrequired = 2\nexpire = \"1h\"\napprovers = [\"alice\", \"bob\"]";
    let w = World::start(options, &environments("", approvals)).await;
    w.staged("v1.4.0").await;

    // The administrator applies what `neuro-deploy rbac` prints.
    let yaml = w
        .run_text(&[
            "rbac",
            "--deployer",
            "serviceaccount:ci:neuro-deploy",
            "--operators",
            "user:ops",
        ])
        .await;
    let path = w.dir.path().join("rbac.yaml");
    std::fs::write(&path, &yaml).unwrap();
    w.kubectl(&["apply", "--validate=false", "-f", path.to_str().unwrap()])
        .await;
    let alice_record = neuro_deploy_kube::approval_record("alice");
    let bob_record = neuro_deploy_kube::approval_record("bob");

    // An operator freezes production; the CI cannot lift it.
    let (code, json, stderr) = w
        .run_as(
            "ops",
            &["freeze", "--env", "production", "--reason", "incident 9"],
        )
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let lift = patch("neuro-deploy", PRODUCTION, r#"{"data":{"freeze":null}}"#);
    let lift: Vec<&str> = lift.iter().map(String::as_str).collect();
    refused_by_the_api_server(&kubectl_as(&w, CI, &lift).await, "the CI lifting a freeze");
    let (code, json, _) = w
        .run_as(
            "ops",
            &["unfreeze", "--env", "production", "--reason", "resolved"],
        )
        .await;
    assert_eq!(code, 0, "{json:#}");

    // The CI's promotion without approvals is refused; it cannot write one, nor edit alice's.
    let promote = ["promote", "v1.4.0", "--yes"];
    let (code, json, stderr) = w.run_as_user("ci", CI, &promote).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "approval_required"),
        "{json:#}\n{stderr}"
    );
    let forged = patch(&bob_record, PRODUCTION, r#"{"data":{"approvals":"[]"}}"#);
    let forged: Vec<&str> = forged.iter().map(String::as_str).collect();
    refused_by_the_api_server(
        &kubectl_as(&w, CI, &forged).await,
        "the CI writing bob's approval",
    );
    let edit = patch(&alice_record, PRODUCTION, r#"{"data":{"approvals":"[]"}}"#);
    let edit: Vec<&str> = edit.iter().map(String::as_str).collect();
    refused_by_the_api_server(
        &kubectl_as(&w, CI, &edit).await,
        "the CI editing alice's approval",
    );

    // alice approves as herself, and cannot in bob's name; carol is not an approver.
    let approve = ["approve", "v1.4.0", "--env", "production"];
    let (code, json, stderr) = w.run_as("alice", &approve).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    refused_by_the_api_server(
        &kubectl_as(&w, "alice", &forged).await,
        "alice writing bob's record",
    );
    let (code, json, _) = w.run_as("carol", &approve).await;
    assert_eq!((code, reason(&json)), (3, "approval_required"), "{json:#}");
    let (code, json, _) = w.run_as_user("ci", CI, &promote).await;
    assert_eq!(
        (code, reason(&json)),
        (3, "approval_required"),
        "one is not two: {json:#}"
    );

    // bob approves: the CI's promotion goes, recording both.
    let (code, json, stderr) = w.run_as("bob", &approve).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let (code, json, stderr) = w.run_as_user("ci", CI, &promote).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        json["approved_by"],
        serde_json::json!(["alice", "bob"]),
        "{json:#}"
    );
    assert!(w.pinned(PRODUCTION, "v1.4.0"));

    // A failed rollout by the CI quarantines its version; the CI cannot clear it, an operator can.
    w.push_image("v9.9.9").await;
    let (code, json, stderr) = w
        .run_as_user("ci", CI, &["deploy", "v9.9.9", "--env", "dev"])
        .await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    let entries = w.records("dev", "quarantine").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = entries[0]["metadata"]["name"].as_str().unwrap().to_owned();
    refused_by_the_api_server(
        &kubectl_as(&w, CI, &["delete", "configmap", &entry, "-n", "dev"]).await,
        "the CI deleting a quarantine entry",
    );
    let clear = patch("neuro-deploy", "dev", r#"{"data":{"clearances":"[]"}}"#);
    let clear: Vec<&str> = clear.iter().map(String::as_str).collect();
    refused_by_the_api_server(
        &kubectl_as(&w, CI, &clear).await,
        "the CI writing a clearance",
    );
    let (code, json, _) = w
        .run_as_user("ci", CI, &["deploy", "v9.9.9", "--env", "dev"])
        .await;
    assert_eq!(
        (code, reason(&json)),
        (3, "version_quarantined"),
        "{json:#}"
    );
    let (code, json, stderr) = w
        .run_as(
            "ops",
            &[
                "quarantine",
                "clear",
                "v9.9.9",
                "--env",
                "dev",
                "--reason",
                "fixed",
            ],
        )
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    // doctor, asked as the CI: every guarantee holds; as the administrator (who can do all of
    // it), each one that does not is named; as alice, she may write her own approvals.
    let duties = |json: &serde_json::Value| -> Vec<(String, bool)> {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"].as_str().unwrap_or_default().contains(PRODUCTION))
            .filter(|c| {
                let check = c["check"].as_str().unwrap_or_default();
                check.contains("cannot") || check.contains("their own approvals")
            })
            .map(|c| {
                let broken = c["warning"] == true || c["ok"] == false;
                (c["check"].as_str().unwrap().to_owned(), broken)
            })
            .collect()
    };
    let (_, json, _) = w.run_as_user("ci", CI, &["doctor"]).await;
    let held = duties(&json);
    assert_eq!(
        held.len(),
        4,
        "the decisions, alice's and bob's approvals, removing an entry: {held:#?}"
    );
    assert!(held.iter().all(|(_, broken)| !broken), "{held:#?}");
    let (_, json, _) = w.run(&["doctor"]).await;
    let broken = duties(&json);
    assert!(
        broken.len() == 4
            && broken.iter().all(|(_, broken)| *broken)
            && broken
                .iter()
                .any(|(check, _)| check.contains("cannot lift a freeze"))
            && broken
                .iter()
                .any(|(check, _)| check.contains("cannot write bob's approvals")),
        "{broken:#?}"
    );
    let (_, json, _) = w.run_as("alice", &["doctor"]).await;
    let own = duties(&json);
    assert_eq!(own.len(), 1, "{own:#?}");
    assert!(
        !own[0].1 && own[0].0.contains("alice may write their own approvals"),
        "{own:#?}"
    );

    // An administrator lets dave approve in production, then takes it back.
    let dave_record = neuro_deploy_kube::approval_record("dave");
    let object = format!("configmaps/{dave_record}");
    let can_dave = || async {
        let out = kubectl_as(
            &w,
            "dave",
            &["auth", "can-i", "update", &object, "-n", PRODUCTION],
        )
        .await;
        String::from_utf8_lossy(&out.stdout).trim() == "yes"
    };
    assert!(!can_dave().await);
    let (code, json, stderr) = w
        .run(&["approvers", "add", "dave", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(
        json["note"]
            .as_str()
            .unwrap_or_default()
            .contains("not in `approvers`"),
        "{json:#}"
    );
    assert!(can_dave().await, "dave may write his own record now");
    refused_by_the_api_server(
        &kubectl_as(&w, "dave", &forged).await,
        "dave writing bob's record",
    );
    let (code, json, _) = w
        .run(&["approvers", "remove", "dave", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    assert!(!can_dave().await);
    assert!(
        w.sim
            .get(
                neuro_deploy_sim::kube::Resource::ConfigMap,
                PRODUCTION,
                &dave_record
            )
            .is_none()
    );
}

#[test]
fn examples_k8s_are_what_neuro_deploy_rbac_prints_for_the_example_configuration() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for env in ["dev", "staging", "production"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
            .current_dir(&root)
            .args([
                "--config",
                "examples/neuro-deploy.toml",
                "rbac",
                "--env",
                env,
            ])
            .args(["--deployer", "serviceaccount:ci:neuro-deploy"])
            .args(["--operators", "group:neuro-ui-operators"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let path = root.join(format!("examples/k8s/rbac-{env}.yaml"));
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            kept,
            "{} is not what `neuro-deploy rbac --env {env}` prints: regenerate it (examples/k8s/README.md)",
            path.display()
        );
    }
}
