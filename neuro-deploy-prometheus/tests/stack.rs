//! The adapters against the real Prometheus, Alertmanager and Pushgateway (Debian's packages,
//! started on loopback by the testkit): instant queries and their shapes, active alerts and
//! silences, pushes that keep what they do not replace, readiness, and tokens kept secret.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use neuro_deploy_core::model::{QueryAnswer, Sample};
use neuro_deploy_core::{AdapterError, MetricsSink, ReasonCode, SignalSource};
use neuro_deploy_prometheus::{Monitoring, Pushgateway, Token, Tokens, ready};
use neuro_deploy_testkit::monitoring::Monitoring as Stack;

const BOUND: Duration = Duration::from_secs(5);

/// Evaluates `query` until it returns a non-empty vector (Prometheus scrapes every second).
async fn eventually(monitoring: &Monitoring, prometheus: &str, query: &str) -> QueryAnswer {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = monitoring.query(prometheus, query, BOUND).await.unwrap();
        if !matches!(&answer, QueryAnswer::Vector(series) if series.is_empty()) {
            return answer;
        }
        assert!(Instant::now() < deadline, "`{query}` stayed empty");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_queries_are_read_by_shape_and_a_range_or_a_bad_query_is_refused() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    stack
        .exporter
        .set("# TYPE neuro_ui_error_ratio gauge\nneuro_ui_error_ratio{app=\"neuro-ui\"} 0.2\n");
    let monitoring = Monitoring::new(Tokens::default()).unwrap();
    let prom = &stack.prometheus;
    match eventually(&monitoring, prom, "neuro_ui_error_ratio{app=\"neuro-ui\"}").await {
        QueryAnswer::Vector(series) => {
            assert_eq!(series.len(), 1);
            assert_eq!(series[0].value, 0.2);
            assert_eq!(series[0].labels["app"], "neuro-ui");
            assert_eq!(series[0].labels["job"], "exporter");
        }
        other => panic!("expected a vector, got {other:?}"),
    }
    assert_eq!(
        monitoring.query(prom, "1 + 1", BOUND).await.unwrap(),
        QueryAnswer::Scalar(2.0)
    );
    let nan = monitoring.query(prom, "scalar(vector(0) / 0)", BOUND).await;
    assert!(
        matches!(nan, Ok(QueryAnswer::Scalar(v)) if v.is_nan()),
        "{nan:?}"
    );
    // Nothing matches: an empty vector, not an error.
    assert_eq!(
        monitoring
            .query(prom, "absent_metric_xyz", BOUND)
            .await
            .unwrap(),
        QueryAnswer::Vector(Vec::new())
    );
    let range = monitoring
        .query(prom, "neuro_ui_error_ratio[10s]", BOUND)
        .await;
    match range {
        Err(AdapterError::Refused { code, message }) => {
            assert_eq!(code, ReasonCode::InvalidInput);
            assert!(message.contains("range vector"), "{message}");
        }
        other => panic!("a matrix is refused, got {other:?}"),
    }
    match monitoring.query(prom, "sum(", BOUND).await {
        Err(AdapterError::Refused { code, message }) => {
            assert_eq!(code, ReasonCode::InvalidInput);
            assert!(message.contains("Prometheus refused `sum(`"), "{message}");
        }
        other => panic!("a parse error is refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_matching_alert_is_seen_and_a_silenced_one_is_not() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    stack.fire_alert(&[
        ("alertname", "HighErrorRate"),
        ("app", "neuro-ui"),
        ("severity", "page"),
    ]);
    let monitoring = Monitoring::new(Tokens::default()).unwrap();
    let am = &stack.alertmanager;
    let matchers = vec![
        "app=\"neuro-ui\"".to_owned(),
        "severity=~\"critical|page\"".to_owned(),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let firing = loop {
        let firing = monitoring
            .active_alerts(am, &matchers, BOUND)
            .await
            .unwrap();
        if !firing.is_empty() || Instant::now() > deadline {
            break firing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0].labels["alertname"], "HighErrorRate");
    assert!(firing[0].describe().contains("since"), "{firing:?}");
    // Another app's matcher matches nothing.
    let other = vec!["app=\"other\"".to_owned()];
    assert!(
        monitoring
            .active_alerts(am, &other, BOUND)
            .await
            .unwrap()
            .is_empty()
    );
    // A matcher Alertmanager cannot parse is its 400, named.
    let bad = vec!["app=~\"(\"".to_owned()];
    let error = monitoring.active_alerts(am, &bad, BOUND).await.unwrap_err();
    assert!(error.to_string().contains("HTTP 400"), "{error}");

    // Silenced, it no longer counts.
    stack.silence("app", "neuro-ui");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let firing = monitoring
            .active_alerts(am, &matchers, BOUND)
            .await
            .unwrap();
        if firing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the silenced alert still counts: {firing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn sample(name: &'static str, labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name,
        help: "test",
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        value,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_replaces_only_its_own_metrics_and_prometheus_scrapes_the_group() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let sink = Pushgateway::new(Token::default()).unwrap();
    let group = [
        ("job".to_owned(), "neuro_deploy".to_owned()),
        ("app".to_owned(), "neuro-ui".to_owned()),
        ("environment".to_owned(), "staging".to_owned()),
    ];
    let gw = &stack.pushgateway;
    sink.push(
        gw,
        &group,
        &[
            sample("neuro_deploy_last_success_timestamp_seconds", &[], 1000.0),
            sample(
                "neuro_deploy_last_run_outcome",
                &[("outcome", "deployed"), ("reason", "")],
                1.0,
            ),
        ],
    )
    .await
    .unwrap();
    // A later failure pushes only its own metrics: the last success is kept.
    sink.push(
        gw,
        &group,
        &[sample(
            "neuro_deploy_last_run_outcome",
            &[("outcome", "rolled_back"), ("reason", "")],
            1.0,
        )],
    )
    .await
    .unwrap();
    let monitoring = Monitoring::new(Tokens::default()).unwrap();
    let prom = &stack.prometheus;
    let success = eventually(
        &monitoring,
        prom,
        "neuro_deploy_last_success_timestamp_seconds{environment=\"staging\",job=\"neuro_deploy\"}",
    )
    .await;
    assert!(
        matches!(&success, QueryAnswer::Vector(s) if s[0].value == 1000.0),
        "{success:?}"
    );
    let outcome = eventually(
        &monitoring,
        prom,
        "neuro_deploy_last_run_outcome{environment=\"staging\",outcome=\"rolled_back\"}",
    )
    .await;
    assert!(
        matches!(&outcome, QueryAnswer::Vector(s) if s.len() == 1 && s[0].value == 1.0),
        "{outcome:?}"
    );
    // The outcome was replaced, not added to.
    let deployed = monitoring
        .query(
            prom,
            "neuro_deploy_last_run_outcome{outcome=\"deployed\"}",
            BOUND,
        )
        .await
        .unwrap();
    assert_eq!(deployed, QueryAnswer::Vector(Vec::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_asked_and_a_dead_endpoint_is_named_unreachable() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    for (service, url) in [
        ("prometheus", &stack.prometheus),
        ("alertmanager", &stack.alertmanager),
        ("pushgateway", &stack.pushgateway),
    ] {
        ready(service, url, &Token::default(), BOUND).await.unwrap();
    }
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let error = ready("prometheus", &url, &Token::default(), BOUND)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AdapterError::Unreachable { .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_sent_as_a_bearer_and_shown_nowhere() {
    // A listener standing in for a Prometheus behind an authenticating proxy: it records the
    // request head and answers 401.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let head = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            head.push_str(&line);
            line.clear();
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        head
    });
    let tokens = Tokens {
        prometheus: Token::new(Some("s3cr3t-prom-token".into())),
        ..Tokens::default()
    };
    let monitoring = Monitoring::new(tokens.clone()).unwrap();
    let error = monitoring.query(&url, "up", BOUND).await.unwrap_err();
    let head = head.join().unwrap();
    assert!(
        head.contains("authorization: Bearer s3cr3t-prom-token"),
        "{head}"
    );
    assert!(
        matches!(error, AdapterError::Unauthorized { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?} {tokens:?} {monitoring:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("NEURO_DEPLOY_PROMETHEUS_TOKEN"), "{shown}");
}
