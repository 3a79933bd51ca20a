//! What every GitHub test shares: a wiremock server answering like the REST API, fixtures
//! shaped like its docs, and a client with short timeouts.

use std::time::Duration;

use neuro_deploy_core::GitSha;
use neuro_deploy_github::{GithubReleases, GithubSettings};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TOKEN: &str = "ghp_SENTINELtoken0123456789abcdefSENTINEL";
pub const REPO: &str = "/repos/octo-org/neuro-ui";
pub const TAG_COMMIT: &str = "aa218f56b14c9653891f9e74264a383fa43fefbd";
pub const ANNOTATED_COMMIT: &str = "c3d0be41ecbe669545ee3e94d31ed9a4bc91ee3c";
pub const MAIN_HEAD: &str = "bb218f56b14c9653891f9e74264a383fa43fefbd";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/resources/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

pub fn settings() -> GithubSettings {
    GithubSettings {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        secondary_min_wait: Duration::from_millis(20),
        max_rate_limit_wait: Duration::from_secs(3),
    }
}

pub async fn server() -> MockServer {
    MockServer::start().await
}

/// Registers the catch-all; call after every specific mock.
pub async fn catch_all(server: &MockServer) {
    struct Unexpected;
    impl Respond for Unexpected {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            json_reply(
                418,
                json!({ "message": format!("unexpected request: {} {}", request.method, request.url.path()) }),
            )
        }
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(Unexpected)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

pub fn client(server: &MockServer) -> GithubReleases {
    GithubReleases::new(
        "octo-org/neuro-ui",
        Some(TOKEN.to_owned()),
        Some(&server.uri()),
        settings(),
    )
    .unwrap()
}

pub async fn get(server: &MockServer, route: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/{route}")))
        .respond_with(json_reply(status, body))
        .mount(server)
        .await;
}

pub async fn not_found(server: &MockServer, route: &str) {
    get(server, route, 404, fixture("error_not_found.json")).await;
}

/// Expects exactly one `POST …/git/refs` creating `branch` at `commit`, answered 201.
pub async fn expect_branch_created(server: &MockServer, branch: &str, commit: &str) {
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/git/refs")))
        .and(body_partial_json(
            json!({ "ref": format!("refs/heads/{branch}"), "sha": commit }),
        ))
        .respond_with(json_reply(201, fixture("ref_lightweight.json")))
        .expect(1)
        .mount(server)
        .await;
}

pub fn release(tag: &str, target: &str, draft: bool, prerelease: bool) -> Value {
    let mut r = fixture("release.json");
    r["tag_name"] = json!(tag);
    r["name"] = json!(tag);
    r["target_commitish"] = json!(target);
    r["draft"] = json!(draft);
    r["prerelease"] = json!(prerelease);
    r
}

pub fn sha(text: &str) -> GitSha {
    GitSha::parse(text).unwrap()
}

// ---- refs ----
