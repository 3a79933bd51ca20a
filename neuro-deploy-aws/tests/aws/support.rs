//! The moto server, settings with short bounds, and unique names so tests share one server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use neuro_deploy_aws::{AwsSettings, load_sdk_config};

/// moto's URL from `scripts/test`. Missing → fail loudly, never skip.
pub fn moto_url() -> String {
    let url = std::env::var("NEURO_DEPLOY_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "NEURO_DEPLOY_TEST_MOTO_URL is not set: these tests need a moto server. Run them with `scripts/test` \
             (it installs moto into target/test-venv and starts it on 127.0.0.1)"
        )
    });
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "NEURO_DEPLOY_TEST_MOTO_URL must point at 127.0.0.1, got {url}"
    );
    assert_eq!(
        std::env::var("AWS_EC2_METADATA_DISABLED").as_deref(),
        Ok("true"),
        "AWS_EC2_METADATA_DISABLED=true must be set (scripts/test does) so the SDK never probes the metadata address"
    );
    let addr = url.trim_start_matches("http://");
    if std::net::TcpStream::connect(addr).is_err() {
        panic!("moto is not reachable at {url}: start the tests with `scripts/test`");
    }
    url
}

/// Short bounds so fault tests finish quickly; the defaults are tested separately.
pub fn settings(endpoint: String) -> AwsSettings {
    AwsSettings {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        attempt_timeout: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        endpoint_url: Some(endpoint),
    }
}

pub async fn moto(region: &str) -> SdkConfig {
    load_sdk_config(Some(region), &settings(moto_url())).await
}

pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// A minimal Docker image manifest; `seed` makes distinct images (distinct layer digests).
pub fn manifest(seed: &str) -> String {
    let hex: String = seed.bytes().map(|b| format!("{b:02x}")).collect();
    let digest = format!("sha256:{hex:0>64}");
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": digest
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": 32654,
            "digest": digest
        }]
    })
    .to_string()
}

pub async fn create_repository(sdk: &SdkConfig, name: &str, immutable: bool) {
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let mutability = if immutable {
        aws_sdk_ecr::types::ImageTagMutability::Immutable
    } else {
        aws_sdk_ecr::types::ImageTagMutability::Mutable
    };
    let created = ecr
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(mutability)
        .send()
        .await;
    // Names are unique per test: "already exists" is the SDK's retry of a create whose first
    // answer was lost on a loaded machine, after moto had created it.
    if let Err(error) = created {
        let retried = error
            .as_service_error()
            .is_some_and(|e| e.is_repository_already_exists_exception());
        assert!(retried, "creating repository {name}: {error:?}");
    }
}

pub async fn push(sdk: &SdkConfig, repository: &str, tag: &str, seed: &str) -> String {
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let out = ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(manifest(seed))
        .image_manifest_media_type("application/vnd.docker.distribution.manifest.v2+json")
        .image_tag(tag)
        .send()
        .await
        .unwrap();
    out.image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .unwrap()
        .to_owned()
}

pub async fn create_queue(sdk: &SdkConfig, name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned()
}
