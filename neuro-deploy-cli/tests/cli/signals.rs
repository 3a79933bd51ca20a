//! Signals end to end through the real binary against kube-sim and the real Prometheus,
//! Alertmanager and Pushgateway (started on loopback by the testkit): a release whose error
//! ratio rises after the rollout is rolled back naming the query and the value, one that stays
//! below passes; an active matching alert rolls back and the same alert silenced does not; and
//! Prometheus, scraping the Pushgateway, answers what the deploys pushed.

use std::time::{Duration, Instant, SystemTime};

use neuro_deploy_testkit::monitoring::Monitoring as Stack;
use serde_json::Value;

use crate::world::*;

/// Staging verified for 4 s, probed every second, by the exporter's error ratio and the app's
/// alerts; the run's metrics pushed to the stack's Pushgateway.
fn watched_by(stack: &Stack) -> String {
    let staging = format!(
        r#"[environments.verify]
for = "4s"
every = "1s"
timeout = "1s"
prometheus = "{}"
alertmanager = "{}"
alerts = ['app="neuro-ui"', 'severity=~"critical|page"']

[[environments.verify.queries]]
name = "error ratio"
query = 'max(neuro_ui_error_ratio{{app="neuro-ui"}})'
max = 0.01"#,
        stack.prometheus, stack.alertmanager
    );
    format!(
        "{}\n[telemetry]\npushgateway = \"{}\"\n",
        environments(&staging, ""),
        stack.pushgateway
    )
}

fn ratio(stack: &Stack, value: f64) {
    stack.exporter.set(&format!(
        "# TYPE neuro_ui_error_ratio gauge\nneuro_ui_error_ratio{{app=\"neuro-ui\"}} {value}\n"
    ));
}

/// Waits until Prometheus answers `query` with a non-empty vector; returns its first value.
async fn prometheus_value(stack: &Stack, query: &str) -> f64 {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer: Value = http
            .get(format!("{}/api/v1/query", stack.prometheus))
            .query(&[("query", query)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(value) = answer["data"]["result"][0]["value"][1].as_str() {
            return value.parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "`{query}` stayed empty: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The verify step of a report.
fn verify_detail(json: &Value) -> String {
    json["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["kind"] == "verify"))
        .and_then(|s| s["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_ratio_that_rises_after_the_rollout_rolls_back_and_one_that_stays_low_passes() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    ratio(&stack, 0.001);
    let w = World::start(fast_sim(), &watched_by(&stack)).await;
    prometheus_value(&stack, "neuro_ui_error_ratio").await;

    // v1.4.0 stays below the bound: verified and deployed.
    w.staged("v1.4.0").await;
    assert!(w.all_on("staging", "neuro-ui", "v1.4.0"));
    assert!(
        w.annotation("staging", "neuro-deploy.io/verified")
            .is_some_and(|v| v.starts_with("v1.4.0@")),
        "the pass is recorded"
    );

    // v1.5.0's errors rise once its rollout is done: rolled back, naming the query and value.
    w.push_image_of("v1.5.0", "a worse build").await;
    let rising = async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !w.all_on("staging", "neuro-ui", "v1.5.0") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ratio(&stack, 0.2);
    };
    let release = w.run(&["deploy", "v1.5.0", "--env", "staging"]);
    let ((code, json, stderr), ()) = tokio::join!(release, rising);
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert_eq!(json["reason"], "verification_failed", "{json:#}");
    let detail = verify_detail(&json);
    assert!(
        detail.contains("query `error ratio`") && detail.contains("0.2 > max 0.01"),
        "{detail}"
    );
    assert!(w.all_on("staging", "neuro-ui", "v1.4.0"), "restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_matching_alert_rolls_back_and_the_same_alert_silenced_does_not() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    ratio(&stack, 0.0);
    let w = World::start(fast_sim(), &watched_by(&stack)).await;
    prometheus_value(&stack, "neuro_ui_error_ratio").await;
    stack.fire_alert(&[
        ("alertname", "NeuroUiDown"),
        ("app", "neuro-ui"),
        ("severity", "page"),
    ]);
    tokio::time::sleep(Duration::from_secs(1)).await;

    w.push_image("v1.4.0").await;
    let (code, json, stderr) = w.run(&["deploy", "v1.4.0", "--env", "staging"]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    let detail = verify_detail(&json);
    assert!(
        detail.contains("NeuroUiDown") && detail.contains("is active"),
        "{detail}"
    );

    // Silenced: the next release is verified.
    stack.silence("alertname", "NeuroUiDown");
    tokio::time::sleep(Duration::from_secs(1)).await;
    w.push_image_of("v1.4.1", "the fix").await;
    let (code, json, stderr) = w.run(&["deploy", "v1.4.1", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(
        verify_detail(&json).contains("no alert matching"),
        "{json:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_answers_the_last_success_and_a_rolled_back_outcome_from_the_pushgateway() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    ratio(&stack, 0.0);
    let w = World::start(fast_sim(), &watched_by(&stack)).await;
    prometheus_value(&stack, "neuro_ui_error_ratio").await;

    let before = SystemTime::now();
    w.push_image("v1.4.0").await;
    let (code, json, stderr) = w.run(&["deploy", "v1.4.0", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let after = SystemTime::now();
    let unix = |t: SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };

    // A broken release afterwards: rolled back, and the last success stays the first deploy's.
    w.push_image("v9.9.9").await;
    let (code, json, stderr) = w.run(&["deploy", "v9.9.9", "--env", "staging"]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert!(
        json["warnings"].as_array().is_none_or(|w| w.is_empty()),
        "the pushes succeeded: {json:#}"
    );

    let rolled_back = prometheus_value(
        &stack,
        "neuro_deploy_last_run_outcome{environment=\"staging\",outcome=\"rolled_back\"}",
    )
    .await;
    assert_eq!(rolled_back, 1.0);
    let success = prometheus_value(
        &stack,
        "neuro_deploy_last_success_timestamp_seconds{environment=\"staging\",job=\"neuro_deploy\",app=\"neuro-ui\"}",
    )
    .await;
    assert!(
        (unix(before) - 1.0..=unix(after) + 1.0).contains(&success),
        "{success} is not the first deploy's time ({:?}..{:?})",
        unix(before),
        unix(after)
    );
    let version = prometheus_value(
        &stack,
        "neuro_deploy_deployed_version_info{environment=\"staging\",version=\"v1.4.0\"}",
    )
    .await;
    assert_eq!(version, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_stack_and_each_query_and_the_plan_shows_queries_and_matchers() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    // A second query that returns a range vector: it can verify nothing.
    let config = watched_by(&stack).replace(
        "max = 0.01",
        "max = 0.01\n\n[[environments.verify.queries]]\nname = \"range\"\nquery = 'neuro_ui_error_ratio[1m]'\nmax = 1",
    );
    let w = World::start(fast_sim(), &config).await;
    let (code, json, _) = w.run(&["doctor"]).await;
    assert_ne!(code, 0, "a failed check fails doctor: {json:#}");
    let check = |name: &str| -> Value {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"].as_str().unwrap_or_default().starts_with(name))
            .cloned()
            .unwrap_or_else(|| panic!("no check `{name}`: {json:#}"))
    };
    for service in ["prometheus at", "alertmanager at", "pushgateway at"] {
        assert_eq!(check(service)["ok"], true, "{json:#}");
    }
    assert_eq!(check("query `error ratio`")["ok"], true, "{json:#}");
    let range = check("query `range`");
    assert_eq!(range["ok"], false, "{json:#}");
    assert!(
        range["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("range vector"),
        "{range:#}"
    );
    assert!(
        range["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("environments[1].verify.queries[1].query"),
        "{range:#}"
    );
    assert_eq!(check("alert matchers of `staging`")["ok"], true, "{json:#}");

    // The offline plan shows what every probe will ask.
    let (code, json, _) = w
        .run(&["plan", "deploy", "v1.4.0", "--env", "staging"])
        .await;
    assert_eq!(code, 0, "{json:#}");
    let shown = json.to_string();
    for needed in [
        "`error ratio`",
        "at most 0.01",
        "app=\\\"neuro-ui\\\"",
        "severity=~\\\"critical|page\\\"",
    ] {
        assert!(shown.contains(needed), "`{needed}` missing: {shown}");
    }
}
