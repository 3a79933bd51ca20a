//! The HTTP adapters against local wiremock servers: probe statuses and bounds, the webhook's
//! body, retries, and a URL that never shows in an error.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use neuro_deploy_core::{HealthChecker, Notifier};
use neuro_deploy_http::{HttpHealthChecker, WebhookNotifier};
use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_probe_returns_the_status_the_server_answered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/healthz"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let checker = HttpHealthChecker::new().unwrap();
    let ok = checker
        .probe(&format!("{}/healthz", server.uri()), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(ok, 204);
    let broken = checker
        .probe(&format!("{}/broken", server.uri()), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(broken, 503);
}

#[tokio::test]
async fn a_probe_is_bounded_and_a_closed_port_is_an_error_that_names_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let checker = HttpHealthChecker::new().unwrap();
    let started = std::time::Instant::now();
    let slow = checker
        .probe(
            &format!("{}/slow", server.uri()),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "not bounded");
    assert!(
        matches!(slow, neuro_deploy_core::AdapterError::Timeout { .. }),
        "{slow}"
    );

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let closed = checker
        .probe(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2))
        .await
        .unwrap_err()
        .to_string();
    assert!(closed.contains("could not connect"), "{closed}");
    assert!(closed.contains(&format!("127.0.0.1:{port}")), "{closed}");
}

#[tokio::test]
async fn the_webhook_gets_the_message_and_retries_a_failing_receiver() {
    let server = MockServer::start().await;
    let message = json!({ "text": "neuro-ui v1.4.0 → production: deployed" });
    Mock::given(method("POST"))
        .and(path("/hook/secret-part"))
        .and(body_json(&message))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook/secret-part"))
        .and(body_json(&message))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let notifier = WebhookNotifier::new(format!("{}/hook/secret-part", server.uri())).unwrap();
    notifier.notify(&message).await.unwrap();
    assert!(!format!("{notifier:?}").contains("secret-part"));
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_an_error_without_its_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let url = format!("{}/hook/T000/B000/secret-part", server.uri());
    let notifier = WebhookNotifier::new(url).unwrap();
    let error = notifier.notify(&json!({"text": "x"})).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("3 attempts failed"), "{shown}");
    assert!(shown.contains("HTTP 502"), "{shown}");
    assert!(!shown.contains("secret-part"), "{shown}");
    assert!(!shown.contains(&server.uri()), "{shown}");

    // A closed port: the transport error, still without the URL.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let notifier =
        WebhookNotifier::new(format!("http://127.0.0.1:{port}/hook/secret-part")).unwrap();
    let error = notifier.notify(&json!({"text": "x"})).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("secret-part"), "{shown}");
    assert!(!shown.contains(&port.to_string()), "{shown}");
}

#[tokio::test]
async fn a_receiver_that_refuses_the_message_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let notifier = WebhookNotifier::new(format!("{}/gone", server.uri())).unwrap();
    let error = notifier.notify(&json!({"text": "x"})).await.unwrap_err();
    assert!(
        error.to_string().contains("refused the message: HTTP 404"),
        "{error}"
    );
}
