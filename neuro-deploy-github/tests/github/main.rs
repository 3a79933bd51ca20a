//! GithubReleases against wiremock servers answering with GitHub REST response shapes
//! (fixtures in tests/resources). A catch-all registered last answers 418 naming the request,
//! so an unexpected call fails readably.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use neuro_deploy_core::{AdapterError, Config, GitSha, ReasonCode, ReleaseSource, hotfix};
use neuro_deploy_github::{GithubReleases, GithubSettings};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "ghp_SENTINELtoken0123456789abcdefSENTINEL";
const REPO: &str = "/repos/octo-org/neuro-ui";
const TAG_COMMIT: &str = "aa218f56b14c9653891f9e74264a383fa43fefbd";
const ANNOTATED_COMMIT: &str = "c3d0be41ecbe669545ee3e94d31ed9a4bc91ee3c";
const MAIN_HEAD: &str = "bb218f56b14c9653891f9e74264a383fa43fefbd";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/resources/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn settings() -> GithubSettings {
    GithubSettings {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        secondary_min_wait: Duration::from_millis(20),
        max_rate_limit_wait: Duration::from_secs(3),
    }
}

async fn server() -> MockServer {
    MockServer::start().await
}

/// Registers the catch-all; call after every specific mock.
async fn catch_all(server: &MockServer) {
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

fn client(server: &MockServer) -> GithubReleases {
    GithubReleases::new(
        "octo-org/neuro-ui",
        Some(TOKEN.to_owned()),
        Some(&server.uri()),
        settings(),
    )
    .unwrap()
}

async fn get(server: &MockServer, route: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/{route}")))
        .respond_with(json_reply(status, body))
        .mount(server)
        .await;
}

async fn not_found(server: &MockServer, route: &str) {
    get(server, route, 404, fixture("error_not_found.json")).await;
}

fn release(tag: &str, target: &str, draft: bool, prerelease: bool) -> Value {
    let mut r = fixture("release.json");
    r["tag_name"] = json!(tag);
    r["name"] = json!(tag);
    r["target_commitish"] = json!(target);
    r["draft"] = json!(draft);
    r["prerelease"] = json!(prerelease);
    r
}

fn sha(text: &str) -> GitSha {
    GitSha::parse(text).unwrap()
}

// ---- refs ----

#[tokio::test]
async fn resolves_a_lightweight_tag() {
    let s = server().await;
    get(
        &s,
        "git/ref/tags/v1.4.0",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    catch_all(&s).await;
    assert_eq!(
        client(&s).resolve("v1.4.0").await.unwrap(),
        Some(sha(TAG_COMMIT))
    );
}

#[tokio::test]
async fn resolves_an_annotated_tag_to_its_commit() {
    let s = server().await;
    get(
        &s,
        "git/ref/tags/v1.5.0",
        200,
        fixture("ref_annotated.json"),
    )
    .await;
    get(
        &s,
        "git/tags/940bd336248efae0f9ee5bc7b2d5c985887b16ac",
        200,
        fixture("tag_object.json"),
    )
    .await;
    catch_all(&s).await;
    assert_eq!(
        client(&s).resolve("v1.5.0").await.unwrap(),
        Some(sha(ANNOTATED_COMMIT))
    );
}

#[tokio::test]
async fn resolves_a_branch_head() {
    let s = server().await;
    not_found(&s, "git/ref/tags/main").await;
    get(&s, "git/ref/heads/main", 200, fixture("ref_branch.json")).await;
    catch_all(&s).await;
    assert_eq!(
        client(&s).resolve("main").await.unwrap(),
        Some(sha(MAIN_HEAD))
    );
}

#[tokio::test]
async fn resolves_a_short_sha_to_the_full_commit() {
    let s = server().await;
    not_found(&s, "git/ref/tags/6dcb09b").await;
    not_found(&s, "git/ref/heads/6dcb09b").await;
    get(&s, "commits/6dcb09b", 200, fixture("commit.json")).await;
    catch_all(&s).await;
    assert_eq!(
        client(&s).resolve("6dcb09b").await.unwrap(),
        Some(sha("6dcb09b5b57875f334f61aebed695e2e4193db5e"))
    );
}

#[tokio::test]
async fn an_unknown_reference_resolves_to_nothing() {
    let s = server().await;
    not_found(&s, "git/ref/tags/nope").await;
    not_found(&s, "git/ref/heads/nope").await;
    catch_all(&s).await;
    assert_eq!(client(&s).resolve("nope").await.unwrap(), None);
}

// ---- releases ----

#[tokio::test]
async fn reads_a_release_by_tag() {
    let s = server().await;
    get(
        &s,
        "releases/tags/v1.4.0",
        200,
        release("v1.4.0", "main", false, false),
    )
    .await;
    not_found(&s, "releases/tags/v9.9.9").await;
    catch_all(&s).await;
    let c = client(&s);
    let found = c.release("v1.4.0").await.unwrap().unwrap();
    assert_eq!(
        (found.tag.as_str(), found.target.as_str(), found.draft),
        ("v1.4.0", "main", false)
    );
    assert_eq!(c.release("v9.9.9").await.unwrap(), None);
}

#[tokio::test]
async fn paginates_releases_and_picks_the_latest_by_semver() {
    let s = server().await;
    let first: Vec<Value> = (0..100)
        .map(|i| release(&format!("v1.0.{i}"), "main", false, false))
        .collect();
    let second = vec![
        release("v1.10.0", "main", false, false),
        release("v2.0.0", "main", true, false),
        release("v1.11.0-rc.1", "main", false, true),
        release("not-semver", "main", false, false),
    ];
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/releases")))
        .and(query_param("page", "2"))
        .respond_with(json_reply(200, json!(second)))
        .mount(&s)
        .await;
    let next = format!("{}{REPO}/releases?per_page=100&page=2", s.uri());
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/releases")))
        .respond_with(json_reply(200, json!(first)).insert_header(
            "link",
            format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""),
        ))
        .mount(&s)
        .await;
    catch_all(&s).await;
    let all = client(&s).releases().await.unwrap();
    assert_eq!(all.len(), 104);
    let latest = hotfix::latest_release(&all, false).unwrap();
    assert_eq!(
        latest.as_str(),
        "v1.10.0",
        "drafts and pre-releases are skipped; 1.10 > 1.0.99"
    );
    assert_eq!(
        hotfix::latest_release(&all, true).unwrap().as_str(),
        "v1.11.0-rc.1"
    );
}

#[tokio::test]
async fn tells_whether_a_branch_contains_a_commit() {
    let s = server().await;
    let commit = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    get(
        &s,
        &format!("compare/main...{commit}"),
        200,
        fixture("compare_behind.json"),
    )
    .await;
    get(
        &s,
        &format!("compare/hotfix/v1.4.1...{commit}"),
        200,
        fixture("compare_diverged.json"),
    )
    .await;
    catch_all(&s).await;
    let c = client(&s);
    assert!(c.branch_contains("main", &sha(commit)).await.unwrap());
    assert!(
        !c.branch_contains("hotfix/v1.4.1", &sha(commit))
            .await
            .unwrap()
    );
}

// ---- writes ----

#[tokio::test]
async fn creates_a_branch_once() {
    let s = server().await;
    not_found(&s, "git/ref/heads/hotfix/v1.4.1").await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/git/refs")))
        .and(body_partial_json(
            json!({ "ref": "refs/heads/hotfix/v1.4.1", "sha": TAG_COMMIT }),
        ))
        .respond_with(json_reply(201, fixture("ref_lightweight.json")))
        .expect(1)
        .mount(&s)
        .await;
    catch_all(&s).await;
    assert!(
        client(&s)
            .create_branch("hotfix/v1.4.1", &sha(TAG_COMMIT))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_existing_branch_at_the_same_commit_is_success_and_elsewhere_is_refused() {
    let s = server().await;
    get(
        &s,
        "git/ref/heads/hotfix/v1.4.1",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    catch_all(&s).await;
    let c = client(&s);
    assert!(
        !c.create_branch("hotfix/v1.4.1", &sha(TAG_COMMIT))
            .await
            .unwrap()
    );
    let error = c
        .create_branch("hotfix/v1.4.1", &sha(MAIN_HEAD))
        .await
        .unwrap_err();
    assert_eq!(error.reason_code(), Some(ReasonCode::InvalidInput));
    assert!(error.to_string().contains("already exists at"), "{error}");
    assert_eq!(
        s.received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count(),
        0
    );
}

#[tokio::test]
async fn a_branch_created_concurrently_is_judged_by_what_is_there() {
    let s = server().await;
    // First read: absent; the POST says it exists (a retried POST); second read: ours.
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/git/ref/heads/hotfix/v1.4.1")))
        .respond_with(json_reply(404, fixture("error_not_found.json")))
        .up_to_n_times(1)
        .mount(&s)
        .await;
    get(
        &s,
        "git/ref/heads/hotfix/v1.4.1",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/git/refs")))
        .respond_with(json_reply(422, fixture("error_ref_exists.json")))
        .mount(&s)
        .await;
    catch_all(&s).await;
    assert!(
        !client(&s)
            .create_branch("hotfix/v1.4.1", &sha(TAG_COMMIT))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn creates_a_release_with_generated_notes_targeting_the_branch() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/releases")))
        .and(body_partial_json(json!({
            "tag_name": "v1.4.1",
            "target_commitish": "hotfix/v1.4.1",
            "generate_release_notes": true
        })))
        .respond_with(json_reply(
            201,
            release("v1.4.1", "hotfix/v1.4.1", false, false),
        ))
        .expect(1)
        .mount(&s)
        .await;
    catch_all(&s).await;
    let created = client(&s)
        .create_release("v1.4.1", "hotfix/v1.4.1")
        .await
        .unwrap();
    assert_eq!(created.target, "hotfix/v1.4.1");
}

#[tokio::test]
async fn already_exists_for_the_same_target_is_success_and_for_another_is_refused() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/releases")))
        .respond_with(json_reply(422, fixture("error_already_exists.json")))
        .mount(&s)
        .await;
    get(
        &s,
        "releases/tags/v1.4.1",
        200,
        release("v1.4.1", "hotfix/v1.4.1", false, false),
    )
    .await;
    catch_all(&s).await;
    let c = client(&s);
    assert_eq!(
        c.create_release("v1.4.1", "hotfix/v1.4.1")
            .await
            .unwrap()
            .tag,
        "v1.4.1"
    );
    let error = c.create_release("v1.4.1", "main").await.unwrap_err();
    assert_eq!(error.reason_code(), Some(ReasonCode::InvalidInput));
    assert!(
        error.to_string().contains("targeting `hotfix/v1.4.1`"),
        "{error}"
    );
}

// ---- limits, failures, secrets ----

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn limited_then_ok(s: &MockServer, limited: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/releases/tags/v1.4.0")))
        .respond_with(limited)
        .up_to_n_times(1)
        .mount(s)
        .await;
    get(
        s,
        "releases/tags/v1.4.0",
        200,
        release("v1.4.0", "main", false, false),
    )
    .await;
    catch_all(s).await;
}

#[tokio::test]
async fn an_exhausted_primary_limit_waits_until_the_reset() {
    let s = server().await;
    let limited = json_reply(403, fixture("error_rate_limit.json"))
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", now().to_string().as_str());
    limited_then_ok(&s, limited).await;
    assert!(client(&s).release("v1.4.0").await.unwrap().is_some());
    assert_eq!(s.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let s = server().await;
    let limited = json_reply(429, json!({ "message": "Too Many Requests" }))
        .insert_header("retry-after", "1");
    limited_then_ok(&s, limited).await;
    let started = std::time::Instant::now();
    assert!(client(&s).release("v1.4.0").await.unwrap().is_some());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry-after was honoured"
    );
}

#[tokio::test]
async fn a_secondary_limit_without_headers_waits_and_retries() {
    let s = server().await;
    limited_then_ok(
        &s,
        json_reply(403, fixture("error_secondary_rate_limit.json")),
    )
    .await;
    assert!(client(&s).release("v1.4.0").await.unwrap().is_some());
}

#[tokio::test]
async fn a_limit_beyond_the_wait_budget_says_when_to_retry() {
    let s = server().await;
    let reset = now() + 3600;
    Mock::given(method("GET"))
        .respond_with(
            json_reply(403, fixture("error_rate_limit.json"))
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        )
        .mount(&s)
        .await;
    let started = std::time::Instant::now();
    let error = client(&s).release("v1.4.0").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up at once instead of waiting an hour"
    );
    let text = error.to_string();
    assert!(
        text.contains("rate limited") && text.contains(&reset.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_or_fail() {
    let s = server().await;
    limited_then_ok(&s, json_reply(502, json!({ "message": "Bad Gateway" }))).await;
    assert!(client(&s).release("v1.4.0").await.unwrap().is_some());

    let failing = server().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(500, json!({ "message": "boom" })))
        .mount(&failing)
        .await;
    let error = client(&failing).release("v1.4.0").await.unwrap_err();
    assert_eq!(failing.received_requests().await.unwrap().len(), 3);
    assert!(error.to_string().contains("500"), "{error}");
}

#[tokio::test]
async fn bad_credentials_point_at_the_token() {
    let s = server().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(401, fixture("error_bad_credentials.json")))
        .mount(&s)
        .await;
    let error = client(&s).releases().await.unwrap_err();
    assert!(
        matches!(error, AdapterError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("GITHUB_TOKEN"), "{error}");
}

#[tokio::test]
async fn the_token_is_sent_but_never_shown() {
    let s = server().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(401, fixture("error_bad_credentials.json")))
        .mount(&s)
        .await;
    let c = client(&s);
    let mut shown = vec![format!("{c:?}")];
    for error in [
        c.releases().await.unwrap_err(),
        c.release("v1.4.0").await.unwrap_err(),
        c.create_release("v1.4.1", "hotfix/v1.4.1")
            .await
            .unwrap_err(),
    ] {
        shown.push(format!("{error}"));
        shown.push(format!("{error:?}"));
    }
    let requests = s.received_requests().await.unwrap();
    let sent = requests[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains(TOKEN), "the token is used for authentication");
    for text in shown {
        assert!(
            !text.contains(TOKEN) && !text.contains("SENTINEL"),
            "token leaked: {text}"
        );
    }
}

#[test]
fn a_malformed_repository_is_refused() {
    let error = GithubReleases::new("neuro-ui", None, None, settings()).unwrap_err();
    assert!(error.to_string().contains("owner/name"), "{error}");
}

// ---- the hotfix flow through the core ----

#[tokio::test]
async fn hotfix_start_branches_off_the_latest_release() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/releases")))
        .respond_with(json_reply(
            200,
            json!([
                release("v1.3.0", "main", false, false),
                release("v1.4.0", "main", false, false),
                release("v1.5.0", "main", true, false)
            ]),
        ))
        .mount(&s)
        .await;
    get(
        &s,
        "git/ref/tags/v1.4.0",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    not_found(&s, "git/ref/heads/hotfix/v1.4.1").await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/git/refs")))
        .and(body_partial_json(
            json!({ "ref": "refs/heads/hotfix/v1.4.1", "sha": TAG_COMMIT }),
        ))
        .respond_with(json_reply(201, fixture("ref_lightweight.json")))
        .expect(1)
        .mount(&s)
        .await;
    catch_all(&s).await;
    let started = hotfix::start(&client(&s), &Config::default())
        .await
        .unwrap();
    assert_eq!(started.base, "v1.4.0");
    assert_eq!(started.branch, "hotfix/v1.4.1");
    assert!(started.created);
}

#[tokio::test]
async fn hotfix_release_validates_then_creates() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path(format!("{REPO}/releases")))
        .respond_with(json_reply(
            200,
            json!([release("v1.4.0", "main", false, false)]),
        ))
        .mount(&s)
        .await;
    not_found(&s, "git/ref/tags/v1.4.1").await;
    not_found(&s, "git/ref/heads/v1.4.1").await;
    not_found(&s, "git/ref/tags/hotfix/v1.4.1").await;
    get(
        &s,
        "git/ref/heads/hotfix/v1.4.1",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{REPO}/releases")))
        .and(body_partial_json(
            json!({ "tag_name": "v1.4.1", "target_commitish": "hotfix/v1.4.1" }),
        ))
        .respond_with(json_reply(
            201,
            release("v1.4.1", "hotfix/v1.4.1", false, false),
        ))
        .expect(1)
        .mount(&s)
        .await;
    catch_all(&s).await;
    let c = client(&s);
    let created = hotfix::release(&c, &Config::default(), "v1.4.1")
        .await
        .unwrap();
    assert_eq!(created.target, "hotfix/v1.4.1");
    // Not a patch bump of 1.4.0: refused before any write.
    let error = hotfix::release(&c, &Config::default(), "v1.5.0")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no release 1.5.x"), "{error}");
    let error = hotfix::release(&c, &Config::default(), "v1.4")
        .await
        .unwrap_err();
    assert_eq!(error.reason_code(), Some(ReasonCode::NotARelease));
}
