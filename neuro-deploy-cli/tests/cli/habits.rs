//! The CLI habits platform engineers expect: `-o`, `--version` naming the commit, completion
//! scripts and a man page, `--rollout-timeout`, `--wait-for-lock`.

use std::process::Command;

use serde_json::json;

use crate::world::*;

fn neuro_deploy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = neuro_deploy(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    assert!(!head.is_empty(), "the tests run in a git checkout");
    assert!(text.contains(&format!("(commit {head})")), "{text}");
}

#[test]
fn completion_scripts_parse_and_the_man_page_renders() {
    let out = neuro_deploy(&["completion", "bash"]);
    assert!(out.status.success());
    let script = std::env::temp_dir().join(format!("neuro-deploy-{}.bash", std::process::id()));
    std::fs::write(&script, &out.stdout).unwrap();
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    let _ = std::fs::remove_file(&script);
    assert!(checked.success(), "bash -n accepts the completion script");
    assert!(String::from_utf8_lossy(&out.stdout).contains("promote"));
    for shell in ["zsh", "fish", "powershell"] {
        let out = neuro_deploy(&["completion", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }

    let out = neuro_deploy(&["man"]);
    assert!(out.status.success());
    let page = std::env::temp_dir().join(format!("neuro-deploy-{}.1", std::process::id()));
    std::fs::write(&page, &out.stdout).unwrap();
    let rendered = Command::new("man")
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .arg("-l")
        .arg(&page)
        .output()
        .expect("man (man-db) renders the page");
    let _ = std::fs::remove_file(&page);
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(
        text.contains("NAME") && text.contains("neuro-deploy"),
        "{text}"
    );
}

#[test]
fn the_short_output_flag_and_a_bad_rollout_timeout() {
    let out = neuro_deploy(&["-o", "json", "plan", "promote", "v1.4.0"]);
    assert!(out.status.success());
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(document["outcome"], "planned");
    let out = neuro_deploy(&[
        "--rollout-timeout",
        "0s",
        "-o",
        "json",
        "plan",
        "promote",
        "v1.4.0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rollout.timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_lock_takes_the_lock_once_the_other_deploy_releases_it() {
    let w = World::start(fast_sim(), "").await;
    w.push_image(SHORT).await;
    // A live deploy holds dev's lock (fresh timestamps, long lease).
    w.sim
        .create(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "neuro-deploy", "namespace": "dev" },
            "spec": { "holderIdentity": "other@ci/1", "leaseDurationSeconds": 3600,
                      "acquireTime": "2099-01-01T00:00:00.000000Z", "renewTime": "2099-01-01T00:00:00.000000Z" }
        }))
        .unwrap();
    let run = w.spawn(&["merged", "--sha", SHA, "--wait-for-lock", "60s"]);
    w.until("the run asked for the lock twice", |w| {
        w.sim.requests().count("GET", "/leases/neuro-deploy") >= 2
    })
    .await;
    // The other deploy finishes and releases it.
    let mut lease = w.lease("dev").unwrap();
    lease["spec"]["holderIdentity"] = serde_json::Value::Null;
    w.sim.replace(lease).unwrap();
    let (code, json, stderr) = finish(run).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(stderr.contains("held by other@ci/1; waiting"), "{stderr}");
    assert!(w.all_on("dev", "neuro-ui", SHORT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ecr_region_is_invalid_input_naming_where_it_comes_from() {
    let w = World::start(fast_sim(), "").await;
    let config = w.path("no-region.toml");
    std::fs::write(
        &config,
        format!("[registry]\nrepository = \"{}\"\n", w.repo),
    )
    .unwrap();
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env_remove("AWS_REGION")
        .env("NEURO_DEPLOY_CONFIG", &config)
        .args(["deploy", SHORT, "--env", "dev", "--output", "json"]);
    let (code, json, _) = run_json(command).await;
    assert_eq!(code, 2, "{json:#}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("registry.region") && message.contains("AWS_REGION"),
        "{message}"
    );
    assert_eq!(w.writes_to("dev"), 0);
}

fn failing(json: &serde_json::Value) -> Vec<(String, String)> {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["fix"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_when_everything_is_in_place_and_names_the_fix_otherwise() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let w = World::start(fast_sim(), "").await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/neuro-ui"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "full_name": "octo-org/neuro-ui" })),
        )
        .mount(&w.github)
        .await;
    let (code, json, stderr) = w.run(&["doctor"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(failing(&json).is_empty(), "{json:#}");
    let checks = json["checks"].as_array().unwrap().len();
    assert_eq!(
        checks,
        3 * (1 + neuro_deploy_kube::REQUIRED_ACCESS.len() + 2) + 1 + 2 + 1,
        "clusters, every verb (the ConfigMap's included) and what the deployer must not do (the decisions, removing a quarantine entry), ECR, queues, GitHub"
    );

    // A verb the Role does not grant, a queue gone, a rejected token, another repository.
    w.sim.deny("patch", "deployments");
    let (sqs, url) = w.sqs("us-east-2").await;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    w.github.reset().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo-org/neuro-ui"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({ "message": "Bad credentials" })),
        )
        .mount(&w.github)
        .await;
    let config = w.path("other-repository.toml");
    let text = std::fs::read_to_string(&w.config).unwrap().replace(
        &format!("repository = \"{}\"", w.repo),
        "repository = \"no-such-repository\"",
    );
    std::fs::write(&config, text).unwrap();
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("NEURO_DEPLOY_CONFIG", &config)
        .args(["doctor", "--output", "json"]);
    let (code, json, _) = run_json(command).await;
    assert_eq!(code, 1, "{json:#}");
    let failed = failing(&json);
    let has = |check: &str, fix: &str| {
        failed
            .iter()
            .any(|(c, f)| c.contains(check) && f.contains(fix))
    };
    assert!(
        has(
            "`patch deployments` in `leaf-neuro-ui`",
            "neuro-deploy rbac --env production"
        ),
        "{failed:#?}"
    );
    assert!(has("in us-east-2", "queues.names"), "{failed:#?}");
    assert!(
        has("GitHub repository `octo-org/neuro-ui`", "GITHUB_TOKEN"),
        "{failed:#?}"
    );
    assert!(
        has("ECR repository `no-such-repository`", "registry.repository"),
        "{failed:#?}"
    );
    assert_eq!(
        failed.len(),
        3 + 3,
        "patch in each of 3 namespaces, queue, token, repository"
    );

    // GitHub out of reach is not a token problem; a Codefresh builder needs its API key.
    let config = w.path("codefresh-builder.toml");
    let text = std::fs::read_to_string(&w.config).unwrap();
    let text = text.split("[builder]").next().unwrap().to_owned()
        + "[builder]\nkind = \"codefresh\"\ncodefresh_pipeline = \"neuro-ui/build\"\n";
    std::fs::write(&config, text).unwrap();
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env("NEURO_DEPLOY_CONFIG", &config)
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .args(["doctor", "--output", "json"]);
    let (code, json, _) = run_json(command).await;
    assert_eq!(code, 1, "{json:#}");
    let failed = failing(&json);
    let github = failed
        .iter()
        .find(|(check, _)| check.contains("GitHub repository"))
        .unwrap_or_else(|| panic!("{failed:#?}"));
    assert!(
        github.1.contains("could not be reached") && !github.1.contains("GITHUB_TOKEN"),
        "{failed:#?}"
    );
    assert!(
        failed.iter().any(|(check, fix)| check
            .contains("Codefresh build pipeline `neuro-ui/build`")
            && fix.contains("CF_API_KEY")),
        "{failed:#?}"
    );
}
