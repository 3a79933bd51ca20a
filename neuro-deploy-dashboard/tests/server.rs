//! The server over a reader that returns a fixed world: what each route answers, that nothing
//! but GET and HEAD is answered, the token, the security headers, the page without script, and
//! that the world is read once per refresh however many requests come.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use neuro_deploy_core::QueueDepth;
use neuro_deploy_dashboard::state::{Badge, EnvironmentView, GateView, PairView, QueueView, Tone};
use neuro_deploy_dashboard::{DashboardState, Reader, SCHEMA_VERSION, ServeOptions, serve};

struct Fixed {
    reads: Arc<AtomicUsize>,
}

fn at() -> DateTime<Utc> {
    "2026-12-03T12:00:00Z".parse().unwrap_or_default()
}

fn world() -> DashboardState {
    let environment =
        |name: &str, version: Option<&str>, unreachable: Option<&str>| EnvironmentView {
            name: name.to_owned(),
            namespace: name.to_owned(),
            version: version.map(str::to_owned),
            digest: Some("sha256:0123456789ab".to_owned()),
            commit_url: None,
            deployed_at: Some(at()),
            deployed_by: Some("ops@laptop".to_owned()),
            rollout: "complete".to_owned(),
            ready: "2/2".to_owned(),
            workloads: Vec::new(),
            badges: vec![Badge {
                kind: "freeze".to_owned(),
                tone: Tone::Warn,
                text: "frozen by <script>alert(1)</script>".to_owned(),
            }],
            unreachable: unreachable.map(str::to_owned),
        };
    DashboardState {
        schema_version: SCHEMA_VERSION,
        app: "neuro-ui".to_owned(),
        read_at: Some(at()),
        refresh_secs: 1,
        environments: vec![
            environment("staging", Some("v1.4.0"), None),
            environment("production", None, Some("connection refused")),
        ],
        pairs: vec![PairView {
            from: "staging".to_owned(),
            to: "production".to_owned(),
            version: Some("v1.4.0".to_owned()),
            sentence: "v1.4.0 is not in production yet: 1 more approval".to_owned(),
            blocked: true,
            gates: vec![GateView {
                gate: "gate_approvals".to_owned(),
                verdict: "not judged".to_owned(),
                text: "approved by alice, so 1 more needed".to_owned(),
            }],
            changes: None,
        }],
        queues: vec![QueueView {
            queue: "jobs".to_owned(),
            region: "us-east-2".to_owned(),
            depth: Some(QueueDepth {
                visible: 0,
                in_flight: 1,
                delayed: 0,
            }),
            error: None,
            samples: Vec::new(),
        }],
        history: Vec::new(),
        history_source: "from the annotations".to_owned(),
        unread: vec!["`production` (connection refused)".to_owned()],
    }
}

#[async_trait::async_trait]
impl Reader for Fixed {
    async fn read(&self) -> DashboardState {
        self.reads.fetch_add(1, Ordering::SeqCst);
        world()
    }
}

async fn start(token: Option<&str>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = Arc::new(Fixed {
        reads: Arc::clone(&reads),
    });
    let options = ServeOptions {
        // Long enough that a test sees exactly the first read.
        refresh: Duration::from_secs(600),
        token: token.map(str::to_owned),
    };
    let first = DashboardState::not_read_yet("neuro-ui", 1);
    tokio::spawn(serve(
        listener,
        reader,
        first,
        options,
        std::future::pending(),
    ));
    for _ in 0..50 {
        if reads.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (url, reads)
}

#[tokio::test]
async fn every_route_answers_get_and_head_only_with_a_strict_policy_and_escaped_text() {
    let (url, reads) = start(None).await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(page.headers().contains_key("server-timing"));
    let html = page.text().await.unwrap();
    // Without script: the page refreshes itself.
    assert!(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>"));
    // What comes from the world is text, never markup.
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;"),
        "{html}"
    );
    // An unreachable environment is said where it is; the rest is shown.
    assert!(html.contains("unreachable: connection refused"), "{html}");
    assert!(html.contains("v1.4.0"), "{html}");
    assert!(html.contains("1 more"), "{html}");
    // No script inline, no asset from elsewhere.
    assert!(
        !html.contains("<script>") && !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );

    let fragment = http
        .get(format!("{url}/fragment"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("v1.4.0"));
    let state: serde_json::Value = http
        .get(format!("{url}/api/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["schema_version"], SCHEMA_VERSION);
    assert_eq!(
        state["queues"][0]["samples"].as_array().map(Vec::len),
        Some(1)
    );
    for asset in [
        "/assets/dashboard.css",
        "/assets/dashboard.js",
        "/favicon.ico",
    ] {
        let answer = http.get(format!("{url}{asset}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{asset}");
    }
    assert_eq!(
        http.head(format!("{url}/api/state"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{url}/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        for path in ["/", "/api/state", "/nowhere"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let answer = http
                .request(method.clone(), format!("{url}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 405, "{method} {path}");
        }
    }
    // Many requests, one read per refresh.
    let before = reads.load(Ordering::SeqCst);
    for _ in 0..50 {
        http.get(format!("{url}/")).send().await.unwrap();
    }
    assert!(
        reads.load(Ordering::SeqCst) <= before + 1,
        "requests made reads"
    );
}

#[tokio::test]
async fn with_a_token_every_request_must_carry_it() {
    let (url, _) = start(Some("s3cr3t")).await;
    let http = reqwest::Client::new();
    let without = http.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert!(without.headers().contains_key("content-security-policy"));
    assert_eq!(
        http.get(format!("{url}/?token=s3cr3x"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http.get(format!("{url}/?token=s3cr3t"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bearer = http
        .get(format!("{url}/api/state"))
        .bearer_auth("s3cr3t")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    assert!(
        !bearer.text().await.unwrap().contains("s3cr3t"),
        "the token reached the state"
    );
}
