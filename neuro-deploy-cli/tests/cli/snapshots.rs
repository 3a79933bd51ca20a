//! What operators see, as reviewed snapshots: exit code, stdout and stderr of the main
//! commands, in text and JSON, through the real binary. Times, run ids, ports, temporary paths
//! and the per-test names of the world's repository and queue are redacted. A change in what
//! operators script against shows up as a snapshot diff to review (`INSTA_UPDATE=always` writes
//! new ones; CI never does).

use std::process::Command;

use crate::world::*;

/// Exit code, stdout and stderr of one run, redacted.
async fn shot(mut command: Command) -> String {
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn redacted() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    for (pattern, replacement) in [
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[time]",
        ),
        (r#""duration_ms": \d+"#, r#""duration_ms": "[ms]""#),
        (r" +\d+ ms\b", " [ms] ms"),
        (r"/[0-9a-f]{6,}-[0-9a-f]+\b", "/[run-id]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"neuro-ui-\d+-\d+", "neuro-ui-[id]"),
        (
            r"sqs_studioml_gorunner_cpu_production_0-\d+-\d+",
            "sqs_studioml_gorunner_cpu_production_0-[id]",
        ),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[tmp]"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings
}

/// The real `neuro-deploy`, with nothing from the environment but PATH, run in an empty
/// directory (built-in defaults, no cluster, no credentials: commands that contact nothing).
fn offline(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(dir)
        .args(args);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_commands_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[lock]\nlease = \"forever\"\n").unwrap();
    let bad_config = bad_config.display().to_string();
    let cases: &[(&str, &[&str])] = &[
        (
            "plan_release",
            &["plan", "released", "--tag", "v1.4.0", "--sha", SHA],
        ),
        ("plan_promote", &["plan", "promote", "v1.4.0"]),
        (
            "plan_merge_elsewhere_ignored",
            &["plan", "merged", "--sha", SHA, "--branch", "feature/x"],
        ),
        ("plan_promote_sha_refused", &["plan", "promote", SHORT]),
        ("config_show", &["config", "show"]),
        ("config_check", &["config", "check"]),
        ("bad_version", &["promote", "1.4"]),
        (
            "bad_config_file",
            &["--config", &bad_config, "promote", "v1.4.0", "--yes"],
        ),
        ("unknown_environment", &["status", "--env", "qa"]),
        ("production_without_confirmation", &["promote", "v1.4.0"]),
    ];
    let settings = redacted();
    for (name, args) in cases {
        for format in ["text", "json"] {
            let mut command = offline(dir.path(), args);
            command.args(["--output", format]);
            let shot = shot(command).await;
            settings.bind(|| insta::assert_snapshot!(format!("{name}_{format}"), shot));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_against_the_world() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    w.push_image("v1.5.0").await;
    let settings = redacted();
    let snap = async |name: &str, args: &[&str]| {
        for format in ["text", "json"] {
            let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
            // Progress lines come as the queues answer (in any order): left out here.
            command.args(args).args(["--quiet", "--output", format]);
            let shot = shot(command).await;
            settings.bind(|| insta::assert_snapshot!(format!("{name}_{format}"), shot));
        }
    };
    snap("status", &["status"]).await;
    snap("queues_drained", &["queues"]).await;
    snap(
        "promote_not_verified_refused",
        &["promote", "v1.5.0", "--yes"],
    )
    .await;
    let job = w.job_in_flight("us-east-2").await;
    snap("queues_busy", &["queues"]).await;
    snap("promote_queue_refused", &["promote", "v1.4.0", "--yes"]).await;
    job.finish().await;
    // Deployed once (text), then already deployed (JSON): two different documents.
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["promote", "v1.4.0", "--yes", "--quiet"]);
    let deployed = shot(command).await;
    settings.bind(|| insta::assert_snapshot!("promote_deployed_text", deployed));
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command.args(["promote", "v1.4.0", "--yes", "--quiet", "--output", "json"]);
    let again = shot(command).await;
    settings.bind(|| insta::assert_snapshot!("promote_already_deployed_json", again));
}

/// A port on 127.0.0.1 nothing listens on: connecting to it is refused.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// What went wrong underneath reaches the user: the message, then one `caused by:` line per
/// cause (text) or `causes` (JSON) — down to the refused connection or the status GitHub sent —
/// and never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn causes_reach_the_user() {
    const TOKEN: &str = "kube-bearer-secret";
    let settings = redacted();
    let check = async |name: &str, mut command: Command, format: &str| {
        command.args(["--output", format]);
        let shot = shot(command).await;
        assert!(
            !shot.contains(TOKEN) && !shot.contains("ghp_test_token"),
            "{shot}"
        );
        // Only neuro-deploy's own lines on stderr: no dependency's timestamped log lines.
        assert!(
            !shot.contains(" ERROR ") && !shot.contains(" WARN "),
            "{shot}"
        );
        settings.bind(|| insta::assert_snapshot!(format!("{name}_{format}"), shot));
    };

    // A kube API server that refuses connections.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n",
            refused_port()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("neuro-deploy.toml"),
        "[registry]\nuri = \"123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui\"\n",
    )
    .unwrap();
    for format in ["text", "json"] {
        let mut command = offline(dir.path(), &["deploy", SHORT, "--env", "dev"]);
        command.env("KUBECONFIG", &kubeconfig);
        check("kube_connection_refused", command, format).await;
    }

    // An AWS endpoint that cannot be reached (the cluster answers).
    let w = World::start(fast_sim(), "").await;
    let unreachable = format!("http://127.0.0.1:{}", refused_port());
    for format in ["text", "json"] {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .env("AWS_ENDPOINT_URL", &unreachable)
            .args(["deploy", SHORT, "--env", "dev", "--quiet"]);
        check("aws_unreachable", command, format).await;
    }

    // GitHub answering 502 to every attempt.
    wiremock::Mock::given(wiremock::matchers::path_regex("/releases/"))
        .respond_with(wiremock::ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .with_priority(1)
        .mount(&w.github)
        .await;
    for format in ["text", "json"] {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command.args(["released", "--tag", "v1.4.0", "--quiet"]);
        check("github_bad_gateway", command, format).await;
    }
}

/// Help pages operators read: a subcommand's own options first, the global ones under their
/// heading, `demo` without what it ignores, the step binary with every variable it reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_pages() {
    let dir = tempfile::tempdir().unwrap();
    let settings = redacted();
    for (name, args) in [
        ("help_rollback", &["rollback", "--help"][..]),
        ("help_status", &["status", "--help"]),
        ("help_demo", &["demo", "--help"]),
    ] {
        let shot = shot(offline(dir.path(), args)).await;
        settings.bind(|| insta::assert_snapshot!(name, shot));
    }
    let mut step = Command::new(env!("CARGO_BIN_EXE_neuro-deploy-codefresh"));
    step.env_clear().arg("--help");
    let shot = shot(step).await;
    settings.bind(|| insta::assert_snapshot!("help_codefresh_step", shot));
}
