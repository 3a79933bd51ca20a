//! The example runs a full promotion over its in-memory adapters and says so: exit 0, every
//! step passed, production pinned to the digest verified on staging.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

#[test]
fn the_example_promotes_through_every_gate_the_lock_the_rollout_and_verification() {
    let out = Command::new(env!("CARGO_BIN_EXE_neuro-deploy-embedding-example"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "deployed", "{report:#}");
    let kinds: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            assert_eq!(step["status"], "ok", "{step:#}");
            step["kind"].as_str().unwrap()
        })
        .collect();
    for needed in [
        "gate_deploy_window",
        "gate_image_exists",
        "gate_source_verified",
        "gate_not_downgrade",
        "gate_soak",
        "gate_approvals",
        "gate_queues_drained",
        "acquire_lock",
        "set_image",
        "await_rollout",
        "verify",
        "release_lock",
    ] {
        assert!(kinds.contains(&needed), "{needed} missing from {kinds:?}");
    }
    assert_eq!(report["approved_by"], serde_json::json!(["alice"]));
    assert!(
        stderr.contains(
            "production runs 123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.4.0@sha256:14"
        ),
        "{stderr}"
    );
}
