//! CodefreshBuilder against wiremock answering like the Codefresh API.

use std::time::Duration;

use neuro_deploy_codefresh::{BuildSettings, CodefreshBuilder};
use neuro_deploy_core::{AdapterError, GitSha, ImageBuilder, ImageRef};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "cfkey.SENTINEL0123456789abcdefSENTINEL";
const SHA: &str = "abc1234def5678abc1234def5678abc1234def56";

fn settings(timeout_ms: u64) -> BuildSettings {
    BuildSettings {
        poll: Duration::from_millis(20),
        timeout: Duration::from_millis(timeout_ms),
        request_timeout: Duration::from_secs(2),
    }
}

fn builder(server: &MockServer, timeout_ms: u64) -> CodefreshBuilder {
    CodefreshBuilder::new(&server.uri(), KEY, "neuro-ui/build", settings(timeout_ms)).unwrap()
}

fn image() -> ImageRef {
    ImageRef::new(
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui",
        "abc1234",
    )
}

fn sha() -> GitSha {
    GitSha::parse(SHA).unwrap()
}

async fn no_running_builds(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "workflows": { "docs": [], "total": 0, "limit": 20, "page": 1 } }),
        ))
        .mount(server)
        .await;
}

async fn start_returns(server: &MockServer, id: &str) {
    Mock::given(method("POST"))
        .and(path("/api/pipelines/run/neuro-ui%2Fbuild"))
        .and(header("authorization", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(id)))
        .mount(server)
        .await;
}

async fn statuses(server: &MockServer, id: &str, sequence: &[&str]) {
    for (i, status) in sequence.iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path(format!("/api/builds/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "id": id, "status": status, "pipelineName": "neuro-ui/build" }),
            ));
        let mock = if i + 1 < sequence.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

#[tokio::test]
async fn runs_the_pipeline_and_follows_it_to_success() {
    let s = MockServer::start().await;
    no_running_builds(&s).await;
    start_returns(&s, "65f0build1").await;
    statuses(
        &s,
        "65f0build1",
        &["pending", "running", "running", "success"],
    )
    .await;
    let built = builder(&s, 5000).build(&sha(), &image()).await.unwrap();
    assert_eq!(built, image());
    let requests = s.received_requests().await.unwrap();
    let start = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&start.body).unwrap();
    assert_eq!(body["sha"], SHA);
    assert_eq!(body["variables"]["NEURO_UI_VERSION"], "abc1234");
}

#[tokio::test]
async fn a_failed_build_is_an_error() {
    let s = MockServer::start().await;
    no_running_builds(&s).await;
    start_returns(&s, "65f0build2").await;
    statuses(&s, "65f0build2", &["running", "error"]).await;
    let error = builder(&s, 5000).build(&sha(), &image()).await.unwrap_err();
    assert!(error.to_string().contains("status `error`"), "{error}");
}

#[tokio::test]
async fn a_build_that_never_ends_times_out() {
    let s = MockServer::start().await;
    no_running_builds(&s).await;
    start_returns(&s, "65f0build3").await;
    statuses(&s, "65f0build3", &["running"]).await;
    let error = builder(&s, 200).build(&sha(), &image()).await.unwrap_err();
    assert!(matches!(error, AdapterError::Timeout { .. }), "{error:?}");
}

#[tokio::test]
async fn a_build_already_running_for_the_revision_is_followed_not_duplicated() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .and(query_param("pipelineName", "neuro-ui/build"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "workflows": { "docs": [
            { "id": "other", "status": "running", "revision": "1111111111111111111111111111111111111111", "pipelineName": "neuro-ui/build" },
            { "id": "65f0running", "status": "running", "revision": SHA, "pipelineName": "neuro-ui/build" }
        ] } })))
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&s)
        .await;
    statuses(&s, "65f0running", &["running", "success"]).await;
    builder(&s, 5000).build(&sha(), &image()).await.unwrap();
}

#[tokio::test]
async fn a_rejected_key_says_so_and_is_never_shown() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "message": "Unauthorized" })),
        )
        .mount(&s)
        .await;
    let b = builder(&s, 5000);
    let error = b.build(&sha(), &image()).await.unwrap_err();
    assert!(
        matches!(error, AdapterError::Unauthorized { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?} {b:?}");
    assert!(shown.contains("CF_API_KEY"), "{shown}");
    assert!(
        !shown.contains(KEY) && !shown.contains("SENTINEL"),
        "the key leaked: {shown}"
    );
}

#[test]
fn a_missing_key_is_refused_up_front() {
    let error = CodefreshBuilder::new(
        "http://127.0.0.1:9",
        "",
        "neuro-ui/build",
        BuildSettings::default(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("CF_API_KEY is not set"),
        "{error}"
    );
}

#[tokio::test]
async fn a_cancelled_run_terminates_the_build_it_started() {
    let server = MockServer::start().await;
    no_running_builds(&server).await;
    start_returns(&server, "build-7").await;
    Mock::given(method("GET"))
        .and(path("/api/builds/build-7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "id": "build-7", "status": "running", "progress": "progress-7" }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/progress/progress-7"))
        .and(header("authorization", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let builder = builder(&server, 60_000);
    // The run is cancelled while the build runs: its future is dropped, then `cancel` is called.
    let sha = sha();
    let image = image();
    let build = builder.build(&sha, &image);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), build)
            .await
            .is_err(),
        "the build was still running"
    );
    builder.cancel().await.unwrap();
    // Nothing left to stop a second time.
    builder.cancel().await.unwrap();
}

#[tokio::test]
async fn a_build_only_joined_is_not_terminated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/workflow/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflows": { "docs": [{ "id": "theirs-1", "status": "running", "revision": SHA, "pipelineName": "neuro-ui/build" }],
                           "total": 1, "limit": 20, "page": 1 }
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/builds/theirs-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "theirs-1", "status": "running", "progress": "p-1" })),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let builder = builder(&server, 60_000);
    let sha = sha();
    let image = image();
    let _ = tokio::time::timeout(Duration::from_millis(300), builder.build(&sha, &image)).await;
    builder.cancel().await.unwrap();
}
