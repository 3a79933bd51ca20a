//! GitHub Deployments: the exact bodies of both endpoints, the statuses per outcome, the history
//! read back, and a GitHub that answers 500.

use neuro_deploy_core::{DeploymentPayload, DeploymentRecord, DeploymentRecorder, DeploymentState};
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn record() -> DeploymentRecord {
    DeploymentRecord {
        reference: "v1.4.0".into(),
        environment: "production".into(),
        production: true,
        description: "promote v1.4.0 to production".into(),
        environment_url: Some("https://neuro-ui.example".into()),
        log_url: Some("https://g.codefresh.io/build/65f0".into()),
        payload: DeploymentPayload {
            namespace: "leaf-neuro-ui".into(),
            version: "v1.4.0".into(),
            image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.4.0@sha256:4f1d"
                .into(),
            digest: Some("sha256:4f1d".into()),
            previous_version: Some("v1.3.0".into()),
            deployed_by: "ops@laptop/run-1".into(),
            overridden: Some(
                "deployed outside the deploy windows with --override-window: hotfix".into(),
            ),
            approved_by: vec!["alice".into(), "bob".into()],
            changes: None,
        },
    }
}

fn status_body(state: &str, description: &str) -> serde_json::Value {
    json!({
        "state": state,
        "description": description,
        "auto_inactive": true,
        "log_url": "https://g.codefresh.io/build/65f0",
        "environment_url": "https://neuro-ui.example",
    })
}

#[tokio::test]
async fn a_deploy_is_created_in_progress_with_the_documented_body_then_finished() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/deployments")))
        .and(body_json(json!({
            "ref": "v1.4.0",
            "environment": "production",
            "description": "promote v1.4.0 to production",
            "auto_merge": false,
            "required_contexts": [],
            "production_environment": true,
            "transient_environment": false,
            "payload": {
                "namespace": "leaf-neuro-ui",
                "version": "v1.4.0",
                "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.4.0@sha256:4f1d",
                "digest": "sha256:4f1d",
                "previous_version": "v1.3.0",
                "deployed_by": "ops@laptop/run-1",
                "override": "deployed outside the deploy windows with --override-window: hotfix",
                "approved_by": ["alice", "bob"],
            },
        })))
        .respond_with(json_reply(201, fixture("deployment_created.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/deployments/1042/statuses")))
        .and(body_json(status_body(
            "in_progress",
            "promote v1.4.0 to production",
        )))
        .respond_with(json_reply(201, fixture("deployment_status.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/deployments/1042/statuses")))
        .and(body_json(status_body(
            "success",
            "leaf-neuro-ui runs v1.4.0",
        )))
        .respond_with(json_reply(201, fixture("deployment_status.json")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let github = client(&server);
    let id = github.start(&record()).await.unwrap();
    assert_eq!(id, 1042);
    github
        .finish(
            id,
            DeploymentState::Success,
            "leaf-neuro-ui runs v1.4.0",
            &record(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn failure_and_error_statuses_carry_a_description_github_accepts() {
    let server = server().await;
    let long = "rolled back: ".to_owned() + &"x".repeat(300);
    for state in ["failure", "error"] {
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/deployments/7/statuses")))
            .and(wiremock::matchers::body_partial_json(
                json!({ "state": state }),
            ))
            .respond_with(json_reply(201, fixture("deployment_status.json")))
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let github = client(&server);
    for state in [DeploymentState::Failure, DeploymentState::Error] {
        github.finish(7, state, &long, &record()).await.unwrap();
    }
    for request in server.received_requests().await.unwrap() {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let description = body["description"].as_str().unwrap();
        assert_eq!(description.chars().count(), 140, "{description}");
    }
}

#[tokio::test]
async fn the_history_reads_deployments_and_their_latest_status() {
    let server = server().await;
    let mut older = fixture("deployment_created.json");
    older["id"] = json!(1041);
    older["payload"]["version"] = json!("v1.3.0");
    older["payload"]["previous_version"] = json!("v1.2.0");
    older["created_at"] = json!("2026-11-20T09:00:00Z");
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/deployments")))
        .and(query_param("environment", "production"))
        .and(query_param("per_page", "5"))
        .respond_with(json_reply(
            200,
            json!([fixture("deployment_created.json"), older]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/deployments/1042/statuses")))
        .and(query_param("per_page", "1"))
        .respond_with(json_reply(200, json!([fixture("deployment_status.json")])))
        .mount(&server)
        .await;
    let mut failed = fixture("deployment_status.json");
    failed["state"] = json!("failure");
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/deployments/1041/statuses")))
        .respond_with(json_reply(200, json!([failed])))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let entries = client(&server)
        .history(Some("production"), 5)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].environment, "production");
    assert_eq!(entries[0].version, "v1.4.0");
    assert_eq!(entries[0].previous_version.as_deref(), Some("v1.3.0"));
    assert_eq!(entries[0].deployed_by.as_deref(), Some("ops@laptop/run-1"));
    assert_eq!(entries[0].outcome.as_deref(), Some("success"));
    assert_eq!(entries[1].version, "v1.3.0");
    assert_eq!(entries[1].outcome.as_deref(), Some("failure"));
    assert_eq!(
        entries[1]
            .at
            .map(neuro_deploy_core::model::rfc3339)
            .as_deref(),
        Some("2026-11-20T09:00:00Z")
    );
}

#[tokio::test]
async fn a_github_answering_500_is_an_error_after_bounded_retries() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/deployments")))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})))
        .expect(3)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let error = client(&server).start(&record()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("500"), "{text}");
    assert!(!text.contains(TOKEN) && !format!("{error:?}").contains(TOKEN));
}
