//! Rate limits, retries, credentials and the token never shown.

use std::time::Duration;

use neuro_deploy_core::{AdapterError, ReleaseSource};
use neuro_deploy_github::GithubReleases;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

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
