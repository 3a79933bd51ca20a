//! Record and verify through the real binary: GitHub Deployments in a stateful GitHub stand-in
//! (wiremock answering with the REST shapes), `history` from it and from the annotations,
//! verification against a local health endpoint that can be told to fail, and notifications
//! to a local webhook receiver.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::world::*;

const DEPLOYMENTS: &str = "/repos/octo-org/neuro-ui/deployments";

/// A Deployment as created, and its statuses oldest first.
type Created = (Value, Vec<Value>);

/// GitHub's Deployments endpoints with state: what was created, and every status posted.
#[derive(Clone, Default)]
pub(crate) struct GithubDeployments {
    created: Arc<Mutex<Vec<Created>>>,
}

impl Respond for GithubDeployments {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut created = self.created.lock().unwrap();
        let route = request.url.path().trim_start_matches(DEPLOYMENTS);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let id_of = |segment: &str| {
            segment
                .parse::<usize>()
                .ok()
                .filter(|id| *id <= created.len())
        };
        match (
            request.method.as_str(),
            route
                .trim_start_matches('/')
                .split('/')
                .collect::<Vec<_>>()
                .as_slice(),
        ) {
            ("POST", [""]) => {
                let id = created.len() + 1;
                let mut deployment = body.clone();
                deployment["id"] = json!(id);
                deployment["created_at"] = json!(format!("2026-11-27T10:00:{id:02}Z"));
                deployment["creator"] = json!({ "login": "neuro-deploy-bot" });
                created.push((deployment.clone(), Vec::new()));
                ResponseTemplate::new(201).set_body_json(deployment)
            }
            ("POST", [id, "statuses"]) => match id_of(id) {
                Some(id) => {
                    created[id - 1].1.push(body.clone());
                    ResponseTemplate::new(201)
                        .set_body_json(json!({ "id": 1, "state": body["state"] }))
                }
                None => ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })),
            },
            ("GET", [""]) => {
                let environment = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "environment")
                    .map(|(_, v)| v.into_owned());
                let newest_first: Vec<Value> = created
                    .iter()
                    .rev()
                    .map(|(d, _)| d.clone())
                    .filter(|d| environment.as_ref().is_none_or(|e| d["environment"] == *e))
                    .collect();
                ResponseTemplate::new(200).set_body_json(newest_first)
            }
            ("GET", [id, "statuses"]) => match id_of(id) {
                Some(id) => {
                    let newest_first: Vec<Value> =
                        created[id - 1].1.iter().rev().cloned().collect();
                    ResponseTemplate::new(200).set_body_json(newest_first)
                }
                None => ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })),
            },
            _ => ResponseTemplate::new(418).set_body_json(json!({ "message": "unexpected" })),
        }
    }
}

impl GithubDeployments {
    pub(crate) async fn mount(server: &MockServer) -> GithubDeployments {
        let stand_in = GithubDeployments::default();
        Mock::given(path_regex(format!("^{DEPLOYMENTS}(/.*)?$")))
            .respond_with(stand_in.clone())
            .mount(server)
            .await;
        stand_in
    }

    /// The states posted to the Deployments of `environment`, per Deployment, oldest first.
    fn states(&self, environment: &str) -> Vec<Vec<String>> {
        self.created
            .lock()
            .unwrap()
            .iter()
            .filter(|(d, _)| d["environment"] == environment)
            .map(|(_, statuses)| {
                statuses
                    .iter()
                    .map(|s| s["state"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .collect()
    }

    pub(crate) fn deployment(&self, environment: &str) -> Value {
        self.created
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(d, _)| d["environment"] == environment)
            .map(|(d, _)| d.clone())
            .unwrap_or_else(|| panic!("no Deployment for {environment}"))
    }
}

/// Turns `[git] deployments` on in the world's config.
pub(crate) fn record_deployments(w: &World) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    let text = text.replacen(
        "repository = \"octo-org/neuro-ui\"",
        "repository = \"octo-org/neuro-ui\"\ndeployments = true",
        1,
    );
    std::fs::write(&w.config, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deploy_is_a_github_deployment_and_history_reads_them_back() {
    let w = World::start(fast_sim(), "").await;
    record_deployments(&w);
    let github = GithubDeployments::mount(&w.github).await;

    w.staged("v1.4.0").await;
    assert_eq!(github.states("staging"), [["in_progress", "success"]]);

    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(github.states("production"), [["in_progress", "success"]]);
    assert_eq!(json["recorded"]["state"], "success", "{json:#}");
    let production = github.deployment("production");
    assert_eq!(production["ref"], "v1.4.0");
    assert_eq!(production["auto_merge"], false);
    assert_eq!(production["required_contexts"], json!([]));
    assert_eq!(production["production_environment"], true);
    assert_eq!(production["transient_environment"], false);
    assert_eq!(production["payload"]["namespace"], "leaf-neuro-ui");
    assert_eq!(production["payload"]["previous_version"], "v1.3.0");
    assert!(
        production["payload"]["image"]
            .as_str()
            .unwrap()
            .contains(":v1.4.0@sha256:"),
        "{production:#}"
    );

    // A rolled-back deploy is a failure.
    w.push_image("v9.9.9").await;
    let (code, json, stderr) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert_eq!(github.states("dev"), [["in_progress", "failure"]]);

    // Runs that write nothing record nothing: already deployed, a refusal, a dry run.
    for args in [
        &["promote", "v1.4.0", "--yes"][..],
        &["promote", "v1.3.0", "--yes"],
        &["promote", "v1.4.0", "--yes", "--dry-run"],
    ] {
        let (code, json, _) = w.run(args).await;
        assert!(code == 0 || code == 3, "{json:#}");
    }
    assert_eq!(github.states("production").len(), 1);

    // The history: the three environments' latest deploys, newest first, from GitHub.
    let (code, json, stderr) = w.run(&["history"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["source"], "github_deployments");
    let entries = json["entries"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap(),
                e["version"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("dev", "v9.9.9", "failure"),
            ("production", "v1.4.0", "success"),
            ("staging", "v1.4.0", "success"),
        ]
    );
    assert_eq!(entries[1]["previous_version"], "v1.3.0");
    let (_, json, _) = w
        .run(&["history", "--env", "production", "--limit", "1"])
        .await;
    assert_eq!(json["entries"].as_array().unwrap().len(), 1);
    assert_eq!(json["entries"][0]["environment"], "production");

    // `doctor` checks the Deployments can be read.
    let (_, json, _) = w.run(&["doctor"]).await;
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "GitHub Deployments of `octo-org/neuro-ui`")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(check["ok"], true, "{check:#}");

    // `record` writes what runs now, for a deploy whose record was lost.
    let (code, json, stderr) = w.run(&["record", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        github.states("staging"),
        [["in_progress", "success"], ["in_progress", "success"]]
    );
    assert_eq!(json["record"]["payload"]["version"], "v1.4.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_github_deployments_history_comes_from_the_annotations() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let (code, json, stderr) = w.run(&["deploy", SHORT, "--env", "dev"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    let (code, json, stderr) = w.run(&["history"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["source"], "annotations");
    assert!(
        json["note"]
            .as_str()
            .unwrap()
            .contains("only the last change"),
        "{json:#}"
    );
    let entries = json["entries"].as_array().unwrap();
    let mut seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap(),
                e["version"].as_str().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("dev", SHORT),
            ("production", "v1.4.0"),
            ("staging", "v1.4.0")
        ]
    );
    assert!(entries.iter().all(|e| {
        e["deployed_by"]
            .as_str()
            .unwrap()
            .starts_with("ops@test-host/")
    }));
    // Nothing asked GitHub for Deployments (what changed is asked of `compare`).
    let asked = w.github.received_requests().await.unwrap();
    assert!(
        asked.iter().all(|r| !r.url.path().contains("/deployments")),
        "{asked:?}"
    );

    // Text: a table, with the note.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["history", "--env", "production"]);
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("ENVIRONMENT"), "{text}");
    assert!(text.contains("production   v1.4.0       v1.3.0"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failing_changes_neither_outcome_nor_exit_code() {
    let w = World::start(fast_sim(), "").await;
    record_deployments(&w);
    Mock::given(path_regex(format!("^{DEPLOYMENTS}(/.*)?$")))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({ "message": "Server Error" })),
        )
        .mount(&w.github)
        .await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "deployed");
    assert!(w.pinned("leaf-neuro-ui", "v1.4.0"));
    let warning = json["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("could not be recorded")
            && warning.contains("neuro-deploy record --env production"),
        "{warning}"
    );
    w.push_image("v9.9.9").await;
    let (code, json, _) = w.run(&["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4, "{json:#}");
    assert_eq!(json["outcome"], "rolled_back");
    // History from a failing GitHub is an error that says so, exit 1.
    let (code, json, _) = w.run(&["history"]).await;
    assert_eq!(code, 1, "{json:#}");
    assert!(
        json["message"].as_str().unwrap().contains("500"),
        "{json:#}"
    );
}

/// A health endpoint on 127.0.0.1 answering `status` from now on.
async fn answer_health(server: &MockServer, status: u16) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/healthz"))
        .respond_with(ResponseTemplate::new(status))
        .mount(server)
        .await;
}

fn environments_with_checks(health: &MockServer) -> String {
    environments(
        &format!(
            "[environments.verify]\nhttp = [\"{}/healthz\"]\nfor = \"1s\"\nevery = \"500ms\"",
            health.uri()
        ),
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_checks_gate_the_promotion_and_a_failing_one_rolls_back() {
    let health = MockServer::start().await;
    answer_health(&health, 200).await;
    let w = World::start(fast_sim(), &environments_with_checks(&health)).await;

    // v1.4.0 passes its checks on staging: recorded on the Deployment's metadata.
    w.staged("v1.4.0").await;
    let verified = w.annotation("staging", "neuro-deploy.io/verified").unwrap();
    assert!(verified.starts_with("v1.4.0@"), "{verified}");
    assert!(health.received_requests().await.unwrap().len() >= 3);
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");

    // v1.5.0 fails them: rolled back, exit 4, verification_failed, the URL and status named.
    answer_health(&health, 503).await;
    let (code, json, stderr) = w
        .run(&[
            "released", "--tag", "v1.5.0", "--sha", SHA, "--target", "main",
        ])
        .await;
    assert_eq!(code, 4, "{json:#}\n{stderr}");
    assert_eq!(json["outcome"], "rolled_back");
    assert_eq!(reason(&json), "verification_failed");
    let detail = step(&json, "verify")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("/healthz answered HTTP 503"), "{detail}");
    assert!(w.all_on("staging", "neuro-ui", "v1.4.0"));

    // Its promotion is refused: staging does not run it verified.
    let (code, json, _) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "not_verified_on_staging"));

    // Set by hand (no checks ran): still refused, and the refusal says how to verify.
    w.set_app_image("staging", &format!("{}:v1.5.0", w.uri))
        .await;
    w.until("staging's rollout of v1.5.0", |w| {
        w.all_on("staging", "neuro-ui", "v1.5.0")
    })
    .await;
    w.kubectl(&[
        "rollout",
        "status",
        "deployment/neuro-ui",
        "-n",
        "staging",
        "--timeout=30s",
    ])
    .await;
    let (_, status, _) = w.run(&["status", "--env", "staging"]).await;
    assert_eq!(status["environments"][0]["version"], "v1.5.0");
    assert_eq!(status["environments"][0]["rollout"], "complete");
    let (code, refused, _) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(code, 3, "{refused:#}");
    assert_eq!(reason(&refused), "not_verified_on_staging", "{refused:#}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("verification has not passed")
            && message.contains("neuro-deploy verify --env staging"),
        "{message}"
    );

    // `verify` while the endpoint fails: exit 3, nothing recorded or rolled back.
    let (code, json, _) = w.run(&["verify", "--env", "staging"]).await;
    assert_eq!(code, 3, "{json:#}");
    assert_eq!(json["reason"], "verification_failed");
    assert!(w.all_on("staging", "neuro-ui", "v1.5.0"));
    // Healthy again: `verify` records it and the promotion goes through.
    answer_health(&health, 200).await;
    let (code, json, stderr) = w.run(&["verify", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(json["verification"]["version"], "v1.5.0");
    let (code, json, stderr) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned("leaf-neuro-ui", "v1.5.0"));

    // `plan` shows the checks.
    let (_, plan, _) = w
        .run(&["plan", "released", "--tag", "v1.6.0", "--sha", SHA])
        .await;
    let verify = step(&plan, "verify");
    assert!(
        verify["reason"]
            .as_str()
            .unwrap()
            .contains("/healthz must answer 2xx"),
        "{verify:#}"
    );
}

/// A webhook receiver on 127.0.0.1 whose path carries a secret; answers `status`.
pub(crate) async fn webhook_receiver(status: u16) -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0001/B0001/s3cr3t-webhook-token"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    let url = format!("{}/services/T0001/B0001/s3cr3t-webhook-token", server.uri());
    (server, url)
}

async fn run_notifying(w: &World, url: &str, args: &[&str]) -> (i32, Value, String) {
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("NEURO_DEPLOY_WEBHOOK_URL", url)
        .args(args)
        .args(["--output", "json"]);
    let (code, json, stderr) = run_json(command).await;
    let shown = format!("{json}{stderr}");
    assert!(
        !shown.contains("s3cr3t-webhook-token"),
        "the webhook URL leaked: {shown}"
    );
    (code, json, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_hears_once_per_run_with_the_outcome_and_its_url_stays_secret() {
    let (receiver, url) = webhook_receiver(200).await;
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    w.push_image("v9.9.9").await;

    // Staging deployed: by default not worth a message outside production.
    let (code, json, _) = run_notifying(
        &w,
        &url,
        &[
            "released", "--tag", "v1.4.0", "--sha", SHA, "--target", "main",
        ],
    )
    .await;
    assert_eq!(code, 0, "{json:#}");
    // Production deployed, a dry run (never notifies), a rolled-back deploy.
    let (code, _, _) = run_notifying(&w, &url, &["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0);
    let (code, _, _) = run_notifying(&w, &url, &["promote", "v1.4.0", "--dry-run"]).await;
    assert_eq!(code, 0);
    let (code, _, _) = run_notifying(&w, &url, &["deploy", "v9.9.9", "--env", "dev"]).await;
    assert_eq!(code, 4);

    let messages: Vec<Value> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].ends_with("v1.4.0 → production: deployed"),
        "{texts:?}"
    );
    assert!(texts[1].ends_with("v9.9.9 → dev: rolled back"), "{texts:?}");
    let context = messages[0]["blocks"][1]["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        context.contains("ops@test-host") && context.contains("v1.3.0"),
        "{context}"
    );

    // A receiver that fails: a warning, the same outcome and exit code, no URL anywhere.
    let (_failing, failing_url) = webhook_receiver(500).await;
    // (In staging: v9.9.9 is quarantined in dev since it failed there.)
    let (code, json, _) =
        run_notifying(&w, &failing_url, &["deploy", "v9.9.9", "--env", "staging"]).await;
    assert_eq!(code, 4, "{json:#}");
    assert_eq!(json["outcome"], "rolled_back");
    let warning = json["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("notification could not be sent"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_and_its_lifting_are_notified_like_a_deploy() {
    let (receiver, url) = webhook_receiver(200).await;
    let w = World::start(fast_sim(), "").await;
    let (code, json, stderr) = run_notifying(
        &w,
        &url,
        &["freeze", "--env", "staging", "--reason", "incident 42"],
    )
    .await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let (code, _, _) = run_notifying(
        &w,
        &url,
        &[
            "unfreeze",
            "--env",
            "staging",
            "--reason",
            "incident closed",
        ],
    )
    .await;
    assert_eq!(code, 0);
    let texts: Vec<String> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["text"].as_str().unwrap_or_default().to_owned()
                + " / "
                + body["blocks"][0]["text"]["text"]
                    .as_str()
                    .unwrap_or_default()
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("staging: frozen") && texts[0].contains("incident 42"),
        "{texts:?}"
    );
    assert!(
        texts[1].contains("staging: unfrozen") && texts[1].contains("incident closed"),
        "{texts:?}"
    );
}
