//! Faults on the wire: throttling and 5xx are retried a bounded number of times, a hung
//! endpoint is bounded by the timeouts, and auth errors say what to check without leaking keys.

use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use neuro_deploy_aws::{AwsSettings, SqsQueues, load_sdk_config};
use neuro_deploy_core::{AdapterError, QueueInspector};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sqs_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .insert_header("x-amzn-requestid", "req-1234")
        .set_body_string(serde_json::json!({ "__type": code, "message": message }).to_string())
}

fn sqs_ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.0")
        .set_body_string(body.to_string())
}

fn short(endpoint: String) -> AwsSettings {
    AwsSettings {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        attempt_timeout: Duration::from_millis(500),
        operation_timeout: Duration::from_millis(1500),
        connect_timeout: Duration::from_millis(500),
        endpoint_url: Some(endpoint),
    }
}

async fn inspector(endpoint: String) -> SqsQueues {
    let settings = short(endpoint);
    let sdk = load_sdk_config(Some("us-east-2"), &settings).await;
    SqsQueues::from_configs(&[("us-east-2".to_owned(), sdk)], &settings)
}

async fn requests_to(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|r| r.len())
        .unwrap_or(0)
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sqs_error(500, "InternalError", "boom"))
        .mount(&server)
        .await;
    let error = inspector(server.uri())
        .await
        .depth("jobs", "us-east-2")
        .await
        .unwrap_err();
    assert_eq!(
        requests_to(&server).await,
        3,
        "three attempts, then give up"
    );
    let text = error.to_string();
    assert!(
        text.contains("InternalError") && text.contains("jobs") && text.contains("us-east-2"),
        "{text}"
    );
    assert!(
        text.contains("req-1234"),
        "the request id helps AWS support: {text}"
    );
}

#[tokio::test]
async fn throttling_is_retried_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sqs_error(400, "ThrottlingException", "Rate exceeded"))
        .mount(&server)
        .await;
    let error = inspector(server.uri())
        .await
        .depth("jobs", "us-east-2")
        .await
        .unwrap_err();
    assert_eq!(requests_to(&server).await, 3);
    assert!(error.to_string().contains("ThrottlingException"), "{error}");
}

#[tokio::test]
async fn a_transient_5xx_then_success_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSQS.GetQueueUrl"))
        .respond_with(sqs_error(503, "ServiceUnavailable", "try again"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSQS.GetQueueUrl"))
        .respond_with(sqs_ok(
            serde_json::json!({ "QueueUrl": format!("{}/123456789012/jobs", server.uri()) }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSQS.GetQueueAttributes"))
        .respond_with(sqs_ok(serde_json::json!({ "Attributes": {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "2",
            "ApproximateNumberOfMessagesDelayed": "0"
        }})))
        .mount(&server)
        .await;
    let depth = inspector(server.uri())
        .await
        .depth("jobs", "us-east-2")
        .await
        .unwrap();
    assert_eq!(depth.in_flight, 2);
    assert_eq!(
        requests_to(&server).await,
        3,
        "one failed GetQueueUrl, its retry, one GetQueueAttributes"
    );
}

#[tokio::test]
async fn a_hung_endpoint_is_bounded_by_the_timeouts() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let started = Instant::now();
    let error = inspector(format!("http://{addr}"))
        .await
        .depth("jobs", "us-east-2")
        .await
        .unwrap_err();
    let waited = started.elapsed();
    hold.abort();
    assert!(matches!(error, AdapterError::Timeout { .. }), "{error:?}");
    // The operation timeout is 1.5 s; allow generous scheduling slack, but not a hang.
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
}

#[tokio::test]
async fn bad_credentials_say_what_to_check_and_leak_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sqs_error(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ))
        .mount(&server)
        .await;
    let settings = short(server.uri());
    let sdk = load_sdk_config(Some("us-east-2"), &settings)
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIASENTINELKEYID",
            "sentinel-secret-access-key",
            Some("sentinel-session-token".to_owned()),
            None,
            "test",
        )))
        .build();
    let queues = SqsQueues::from_configs(&[("us-east-2".to_owned(), sdk)], &settings);
    let error = queues.depth("jobs", "us-east-2").await.unwrap_err();
    assert!(
        matches!(error, AdapterError::Unauthorized { .. }),
        "{error:?}"
    );
    assert_eq!(requests_to(&server).await, 1, "auth errors are not retried");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("credentials"), "{shown}");
    for secret in [
        "AKIASENTINELKEYID",
        "sentinel-secret-access-key",
        "sentinel-session-token",
    ] {
        assert!(
            !shown.contains(secret),
            "a credential leaked into the error: {shown}"
        );
    }
}

#[test]
fn default_settings_match_the_reliability_figures() {
    let s = AwsSettings::default();
    assert!((3..=5).contains(&s.max_attempts));
    assert_eq!(s.attempt_timeout, Duration::from_secs(5));
    assert_eq!(s.operation_timeout, Duration::from_secs(20));
    assert_eq!(s.endpoint_url, None);
}
