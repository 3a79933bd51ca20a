//! The dashboard in a real browser: headless Chromium driven over WebDriver against
//! `neuro-deploy dashboard` reading kube-sim, moto and a GitHub stand-in — the versions each
//! environment runs, a deploy showing up without a reload, the approvals gate naming the
//! approver, a busy queue in one region, no console error, nothing but GET and HEAD answered,
//! and no write to the cluster while it runs.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use neuro_deploy_testkit::browser::Browser;

use crate::world::*;

/// The dashboard's refresh in these tests.
const REFRESH: Duration = Duration::from_secs(1);

/// A running `neuro-deploy dashboard` and the URL it printed first.
struct Dashboard {
    child: std::process::Child,
    url: String,
}

impl Dashboard {
    fn start(w: &World, extra: &[&str]) -> Dashboard {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .args(["dashboard", "--listen", "127.0.0.1:0", "--refresh", "1s"])
            .args(extra)
            .env(
                "NEURO_DEPLOY_WEBHOOK_URL",
                "http://127.0.0.1:9/hooks/s3cr3t-webhook",
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        assert!(
            first.starts_with("http://127.0.0.1:"),
            "the URL first: {first:?}"
        );
        Dashboard {
            child,
            url: first.trim().to_owned(),
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{}", self.url.trim_end_matches('/'), path)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_what_runs_updates_in_place_and_never_writes() {
    let w = World::start(fast_sim(), &production_approvals(2)).await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w
        .run_as("alice", &["approve", "v1.4.0", "--env", "production"])
        .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    let dashboard = Dashboard::start(&w, &[]);
    let browser = Browser::start().await;
    browser.goto(&dashboard.url).await;
    let wait = REFRESH * 5;
    // The versions kube-sim runs in each environment.
    let staging = browser
        .wait_for_text("#env-staging .version", "v1.4.0", wait)
        .await;
    assert!(staging.contains("v1.4.0"), "{staging}");
    let production = browser
        .text("#env-production .version")
        .await
        .unwrap_or_default();
    assert!(production.contains("v1.3.0"), "{production}");
    let dev = browser.text("#env-dev .version").await.unwrap_or_default();
    assert!(dev.contains("v1.3.0"), "{dev}");

    // The production gate panel: the approver, and how many more.
    let panel = browser
        .text("#pair-staging-production")
        .await
        .unwrap_or_default();
    assert!(panel.contains("alice"), "{panel}");
    assert!(panel.contains("1 more"), "{panel}");
    assert!(panel.contains("v1.4.0 is not in production yet"), "{panel}");

    // Nothing is written while it runs: several refreshes, the same write count; and each
    // refresh costs the same bounded number of requests (one list of dev's Deployments a read).
    let before = w.sim.requests();
    let writes = before.writes;
    tokio::time::sleep(REFRESH * 4).await;
    let after = w.sim.requests();
    assert_eq!(after.writes, writes, "the dashboard wrote to the cluster");
    let reads_of_dev = |counts: &neuro_deploy_sim::kube::RequestCounts| {
        counts.count("GET", "/namespaces/dev/deployments")
    };
    let refreshes = reads_of_dev(&after) - reads_of_dev(&before);
    assert!(refreshes >= 2, "{refreshes} refreshes in 4 s");
    let mut routes: Vec<(String, u64)> = after
        .by_route
        .iter()
        .map(|(route, n)| {
            (
                route.clone(),
                n - before.by_route.get(route).copied().unwrap_or(0),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    routes.sort();
    let per_refresh = (after.total - before.total) as f64 / refreshes as f64;
    assert!(
        per_refresh <= 20.0,
        "{per_refresh} requests a refresh: {routes:#?}"
    );

    // A deploy through the binary shows up within two refreshes, without a reload.
    browser.eval("window.__kept = 42; return true;").await;
    let (code, json, stderr) = w.run(&["deploy", SHORT, "--env", "dev"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let dev = browser
        .wait_for_text(
            "#env-dev .version",
            SHORT,
            REFRESH * 2 + Duration::from_millis(900),
        )
        .await;
    assert!(
        dev.contains(SHORT),
        "the deploy did not show within two refreshes: {dev}"
    );
    assert_eq!(
        browser.eval("return window.__kept;").await,
        42,
        "the page reloaded"
    );

    // A busy queue in one region: its counts, and the sentence at the top of the panel.
    let _job = w.job_in_flight("us-east-2").await;
    let row = browser
        .wait_for_text("tr.queue[data-region=\"us-east-2\"] .in-flight", "1", wait)
        .await;
    assert_eq!(row, "1");
    let west = browser
        .text("tr.queue[data-region=\"us-west-2\"] .in-flight")
        .await
        .unwrap_or_default();
    assert_eq!(west, "0");
    let sentence = browser
        .wait_for_text("#pair-staging-production .sentence", "us-east-2", wait)
        .await;
    assert!(sentence.contains("us-east-2"), "{sentence}");

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // Read-only: nothing but GET and HEAD; no secret in the page or the API.
    let http = reqwest::Client::new();
    for path in ["/", "/api/state", "/fragment", "/nowhere"] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let answer = http
                .request(method.clone(), dashboard.at(path))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 405, "{method} {path}");
        }
    }
    let head = http.head(dashboard.at("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let csp = head.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let state: serde_json::Value = http
        .get(dashboard.at("/api/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["schema_version"], 1);
    let page = http
        .get(dashboard.at("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for shown in [state.to_string(), page] {
        assert!(!shown.contains("ghp_test_token"), "the GitHub token leaked");
        assert!(!shown.contains("s3cr3t-webhook"), "the webhook URL leaked");
    }
    assert_eq!(
        w.sim.requests().writes,
        writes + w.writes_to("dev"),
        "only the deploy wrote"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_it_needs_allow_remote_and_then_its_token() {
    let w = World::start(fast_sim(), "").await;
    let (code, json, _) = w.run(&["dashboard", "--listen", "0.0.0.0:8080"]).await;
    assert_eq!(code, 2, "{json:#}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--allow-remote"),
        "{json:#}"
    );

    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .args(["dashboard", "--listen", "0.0.0.0:0", "--allow-remote"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let (address, token) = first
        .trim()
        .trim_start_matches("http://")
        .split_once("/?token=")
        .expect("a URL with its token");
    let port = address.rsplit(':').next().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let without = http.get(format!("{base}/api/state")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    let wrong = http
        .get(format!("{base}/api/state"))
        .bearer_auth("0".repeat(token.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let with = http
        .get(format!("{base}/api/state"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
