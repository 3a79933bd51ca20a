//! EcrRegistry against moto: URI resolution, find, retag without pulling, immutable tags.

use neuro_deploy_aws::EcrRegistry;
use neuro_deploy_core::{AdapterError, ReasonCode, Registry};

use crate::support::*;

async fn registry(name: &str, uri: Option<String>) -> EcrRegistry {
    EcrRegistry::new(&moto("us-west-2").await, &settings(moto_url()), name, uri)
}

#[tokio::test]
async fn resolves_the_repository_uri() {
    let name = unique("neuro-ui");
    create_repository(&moto("us-west-2").await, &name, false).await;
    let uri = registry(&name, None).await.repository_uri().await.unwrap();
    assert_eq!(
        uri,
        format!("123456789012.dkr.ecr.us-west-2.amazonaws.com/{name}")
    );
    let given = registry(&name, Some("example.com/given".into())).await;
    assert_eq!(given.repository_uri().await.unwrap(), "example.com/given");
}

#[tokio::test]
async fn a_missing_repository_is_named() {
    let name = unique("absent");
    let error = registry(&name, None)
        .await
        .repository_uri()
        .await
        .unwrap_err();
    assert!(matches!(error, AdapterError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains(&name), "{error}");
}

#[tokio::test]
async fn finds_images_by_tag() {
    let name = unique("neuro-ui");
    let sdk = moto("us-west-2").await;
    create_repository(&sdk, &name, false).await;
    let digest = push(&sdk, &name, "abc1234", "one").await;
    let ecr = registry(&name, None).await;
    let found = ecr.find("abc1234").await.unwrap().unwrap();
    assert_eq!(found.tag, "abc1234");
    assert_eq!(found.digest.as_deref(), Some(digest.as_str()));
    assert!(found.repository.ends_with(&name));
    assert_eq!(ecr.find("v9.9.9").await.unwrap(), None);
}

#[tokio::test]
async fn retags_without_pulling_and_is_idempotent() {
    let name = unique("neuro-ui");
    let sdk = moto("us-west-2").await;
    create_repository(&sdk, &name, false).await;
    let digest = push(&sdk, &name, "abc1234", "two").await;
    let ecr = registry(&name, None).await;
    let tagged = ecr.retag("abc1234", "v1.4.0").await.unwrap();
    assert_eq!(tagged.tag, "v1.4.0");
    let found = ecr.find("v1.4.0").await.unwrap().unwrap();
    assert_eq!(
        found.digest.as_deref(),
        Some(digest.as_str()),
        "same image, new tag"
    );
    // Again: the tag already names this manifest.
    ecr.retag("abc1234", "v1.4.0").await.unwrap();
    assert_eq!(
        ecr.find("v1.4.0").await.unwrap().unwrap().digest.as_deref(),
        Some(digest.as_str())
    );
}

#[tokio::test]
async fn retagging_a_missing_image_names_repository_and_tag() {
    let name = unique("neuro-ui");
    create_repository(&moto("us-west-2").await, &name, false).await;
    let error = registry(&name, None)
        .await
        .retag("deadbee", "v1.0.0")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, AdapterError::NotFound { .. }), "{error:?}");
    assert!(text.contains(&name) && text.contains("deadbee"), "{text}");
}

#[tokio::test]
async fn an_immutable_repository_refuses_to_move_a_tag() {
    let name = unique("neuro-ui");
    let sdk = moto("us-west-2").await;
    create_repository(&sdk, &name, true).await;
    push(&sdk, &name, "abc1234", "three").await;
    push(&sdk, &name, "v1.4.0", "four").await;
    let error = registry(&name, None)
        .await
        .retag("abc1234", "v1.4.0")
        .await
        .unwrap_err();
    assert_eq!(
        error.reason_code(),
        Some(ReasonCode::ImmutableTag),
        "{error:?}"
    );
    assert!(error.to_string().contains("v1.4.0"), "{error}");
}
