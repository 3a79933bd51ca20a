//! `neuro-deploy-codefresh` through the real binary, and the example pipelines.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::world::*;

const CF_KEY: &str = "cf-test-key";

fn exported(w: &World) -> String {
    std::fs::read_to_string(w.path("volume/env_vars_to_export")).unwrap_or_default()
}

async fn trigger(
    w: &World,
    vars: &[(&str, &str)],
    codefresh: Option<&MockServer>,
) -> (i32, serde_json::Value, String) {
    step(w, &["trigger"], vars, codefresh).await
}

/// Runs `neuro-deploy-codefresh ARGS` with these pipeline variables.
async fn step(
    w: &World,
    args: &[&str],
    vars: &[(&str, &str)],
    codefresh: Option<&MockServer>,
) -> (i32, serde_json::Value, String) {
    std::fs::create_dir_all(w.path("volume")).unwrap();
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy-codefresh"));
    command
        .env("CF_VOLUME_PATH", w.path("volume"))
        .args(args)
        .args(["--output", "json"]);
    if let Some(server) = codefresh {
        command
            .env("CF_URL", server.uri())
            .env("CF_API_KEY", CF_KEY);
    }
    for (k, v) in vars {
        command.env(k, v);
    }
    run_json(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_for_a_merge_builds_through_codefresh_exports_and_deploys_dev() {
    let builder = "[builder]\nkind = \"codefresh\"\ncodefresh_pipeline = \"neuro-ui/build\"\ntimeout = \"60s\"\n";
    let w = World::start_with_builder(fast_sim(), Some(builder), "").await;
    let codefresh = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "workflows": { "docs": [] } })),
        )
        .mount(&codefresh)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/pipelines/run/neuro-ui%2Fbuild"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!("65f0cafe")))
        .expect(1)
        .mount(&codefresh)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/builds/65f0cafe"))
        .respond_with(w.finished_build("65f0cafe", SHORT, SHA))
        .mount(&codefresh)
        .await;

    let vars = [
        ("CF_BRANCH", "main"),
        ("CF_REVISION", SHA),
        ("CF_SHORT_REVISION", SHORT),
    ];
    let (code, json, stderr) = trigger(&w, &vars, Some(&codefresh)).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    // What was deployed, then how the step ended (for later steps' `when` conditions).
    assert_eq!(
        exported(&w),
        format!(
            "NAMESPACE=dev\nNEURO_UI_VERSION={SHORT}\nNEURO_DEPLOY_OUTCOME=deployed\nNEURO_DEPLOY_REASON=\n"
        )
    );
    assert!(w.images("dev").contains(&format!("{}:{SHORT}", w.uri)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_for_a_release_retags_exports_and_deploys_staging() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    Mock::given(method("GET")).and(path("/repos/octo-org/neuro-ui/releases/tags/v1.4.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "tag_name": "v1.4.0", "target_commitish": "main", "draft": false, "prerelease": false })))
        .mount(&w.github).await;
    let vars = [
        ("CF_BRANCH", "v1.4.0"),
        ("CF_REVISION", SHA),
        ("CF_RELEASE_TAG", "v1.4.0"),
        ("CF_PRERELEASE_FLAG", "false"),
    ];
    let (code, json, stderr) = trigger(&w, &vars, None).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        exported(&w),
        "NAMESPACE=staging\nNEURO_UI_VERSION=v1.4.0\nNEURO_DEPLOY_OUTCOME=deployed\nNEURO_DEPLOY_REASON=\n"
    );
    assert!(w.images("staging").contains(&format!("{}:v1.4.0", w.uri)));
    assert!(w.builds().is_empty(), "retagged, not rebuilt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_without_deploy_builds_and_exports_only_then_deploy_step_deploys() {
    let w = World::start(fast_sim(), "").await;
    let vars = [("CF_BRANCH", "main"), ("CF_REVISION", SHA)];
    let (code, json, stderr) = step(&w, &["trigger", "--no-deploy"], &vars, None).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "image_ready");
    assert_eq!(w.builds(), [format!("{SHA} {SHORT}")]);
    assert_eq!(
        exported(&w),
        format!(
            "NAMESPACE=dev\nNEURO_UI_VERSION={SHORT}\nNEURO_DEPLOY_OUTCOME=image_ready\nNEURO_DEPLOY_REASON=\n"
        )
    );
    assert!(
        w.images("dev").contains(&format!("{}:v1.3.0", w.uri)),
        "nothing deployed yet"
    );
    // The deploy pipeline reads what trigger exported (Codefresh sets them as variables).
    let (code, json, stderr) = step(
        &w,
        &["deploy"],
        &[("NAMESPACE", "dev"), ("NEURO_UI_VERSION", SHORT)],
        None,
    )
    .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.images("dev").contains(&format!("{}:{SHORT}", w.uri)));
    assert_eq!(w.builds().len(), 1, "the image existed: no second build");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confused_environment_exits_2_and_names_what_it_found() {
    let w = World::start(fast_sim(), "").await;
    w.sim.reset_requests();
    let (code, json, _) = trigger(
        &w,
        &[
            ("NAMESPACE", "dev"),
            ("CF_RELEASE_TAG", "v1.4.0"),
            ("NEURO_UI_VERSION", "v1.4.0"),
        ],
        None,
    )
    .await;
    assert_eq!(code, 2, "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("found: CF_RELEASE_TAG=v1.4.0, NAMESPACE=dev, NEURO_UI_VERSION=v1.4.0"),
        "{message}"
    );
    assert!(message.contains("needed:"), "{message}");
    assert_eq!(
        exported(&w),
        "NEURO_DEPLOY_OUTCOME=refused\nNEURO_DEPLOY_REASON=invalid_input\n",
        "nothing deployed; how the step ended"
    );
    assert_eq!(w.sim.requests().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_trigger_refuses_production_and_points_at_the_deploy_pipeline() {
    let w = World::start(fast_sim(), "").await;
    w.sim.reset_requests();
    let (code, json, _) = trigger(
        &w,
        &[
            ("NAMESPACE", "leaf-neuro-ui"),
            ("NEURO_UI_VERSION", "v1.4.0"),
        ],
        None,
    )
    .await;
    assert_eq!(code, 3, "{json:#}");
    assert_eq!(json["reason"], "production_requires_promotion");
    assert!(
        json["message"].as_str().unwrap().contains("deploy.yml"),
        "{json:#}"
    );
    assert_eq!(w.sim.requests().total, 0, "nothing contacted");
}
