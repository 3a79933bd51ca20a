//! Releases, branches and comparisons: reading, paginating, creating once.

use neuro_deploy_core::{ReasonCode, ReleaseSource, hotfix};
use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::{body_partial_json, method, path, query_param};

use crate::support::*;

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
async fn compares_two_versions_listing_the_commits_with_their_authors_and_pull_requests() {
    use neuro_deploy_core::model::Divergence;
    let s = server().await;
    get(
        &s,
        "compare/v1.4.0...v1.5.0",
        200,
        fixture("compare_ahead.json"),
    )
    .await;
    get(
        &s,
        "compare/v1.5.0...6dcb09b5b57875f334f61aebed695e2e4193db5e",
        200,
        fixture("compare_behind.json"),
    )
    .await;
    get(
        &s,
        "compare/v1.4.0...v9.9.9",
        404,
        fixture("error_not_found.json"),
    )
    .await;
    catch_all(&s).await;
    let c = client(&s);

    let ahead = c.compare("v1.4.0", "v1.5.0").await.unwrap().unwrap();
    assert_eq!(ahead.status, Divergence::Ahead);
    assert_eq!(ahead.ahead_by, 3);
    let listed: Vec<(&str, &str, &str, Option<u64>)> = ahead
        .commits
        .iter()
        .map(|c| {
            (
                c.sha.as_str(),
                c.title.as_str(),
                c.author.as_str(),
                c.pull_request,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "2222222",
                "Add a queue sparkline (#412)",
                "alice",
                Some(412)
            ),
            (
                "3333333",
                "Merge pull request #415 from octo-org/fix-approvals",
                "bob",
                Some(415)
            ),
            // No GitHub user behind its email: the name in the commit.
            ("4444444", "Bump version to 1.5.0", "Release Bot", None),
        ]
    );
    assert_eq!(ahead.summary(), "v1.4.0 → v1.5.0: 3 commits ahead");

    // A downgrade says so.
    let behind = c
        .compare("v1.5.0", "6dcb09b5b57875f334f61aebed695e2e4193db5e")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(behind.status, Divergence::Behind);
    assert!(
        behind.summary().contains("behind by"),
        "{}",
        behind.summary()
    );
    // A version GitHub does not know: nothing can be said, which is not an error.
    assert_eq!(c.compare("v1.4.0", "v9.9.9").await.unwrap(), None);
}

#[tokio::test]
async fn creates_a_branch_once() {
    let s = server().await;
    not_found(&s, "git/ref/heads/hotfix/v1.4.1").await;
    expect_branch_created(&s, "hotfix/v1.4.1", TAG_COMMIT).await;
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

#[tokio::test]
async fn a_get_asked_again_is_conditional_and_a_304_is_answered_from_the_kept_answer() {
    use wiremock::matchers::header;
    let s = server().await;
    let route = format!("{REPO}/compare/v1.4.0...v1.5.0");
    // Asked again with the ETag: not modified (GitHub does not count it against the limit).
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(header("if-none-match", "W/\"c0ffee\""))
        .respond_with(wiremock::ResponseTemplate::new(304))
        .expect(2)
        .mount(&s)
        .await;
    // Asked the first time: the answer, with its ETag.
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(
            json_reply(200, fixture("compare_ahead.json")).insert_header("etag", "W/\"c0ffee\""),
        )
        .expect(1)
        .mount(&s)
        .await;
    catch_all(&s).await;
    let c = client(&s);
    let first = c.compare("v1.4.0", "v1.5.0").await.unwrap();
    let second = c.compare("v1.4.0", "v1.5.0").await.unwrap();
    let third = c.compare("v1.4.0", "v1.5.0").await.unwrap();
    assert!(first.is_some());
    assert_eq!(first, second);
    assert_eq!(second, third);
    // `expect` is checked when the server drops: one full answer, two conditional ones.
}
