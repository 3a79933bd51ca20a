//! The hotfix flow over GitHub: branch off the latest release, then release the patch.

use neuro_deploy_core::{Config, ReasonCode, hotfix};
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::{body_partial_json, method, path};

use crate::support::*;

#[tokio::test]
async fn hotfix_start_branches_off_the_latest_release() {
    let s = server().await;
    get(
        &s,
        "releases",
        200,
        json!([
            release("v1.3.0", "main", false, false),
            release("v1.4.0", "main", false, false),
            release("v1.5.0", "main", true, false)
        ]),
    )
    .await;
    get(
        &s,
        "git/ref/tags/v1.4.0",
        200,
        fixture("ref_lightweight.json"),
    )
    .await;
    not_found(&s, "git/ref/heads/hotfix/v1.4.1").await;
    expect_branch_created(&s, "hotfix/v1.4.1", TAG_COMMIT).await;
    catch_all(&s).await;
    let started = hotfix::start(&client(&s), &Config::default(), None)
        .await
        .unwrap();
    assert_eq!(started.base, "v1.4.0");
    assert_eq!(started.branch, "hotfix/v1.4.1");
    assert!(started.created);
}

#[tokio::test]
async fn hotfix_release_validates_then_creates() {
    let s = server().await;
    get(
        &s,
        "releases",
        200,
        json!([release("v1.4.0", "main", false, false)]),
    )
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
