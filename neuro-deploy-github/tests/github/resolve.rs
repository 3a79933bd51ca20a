//! Resolving tags (lightweight and annotated), branches and short SHAs to commits.

use neuro_deploy_core::ReleaseSource;

use crate::support::*;

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
