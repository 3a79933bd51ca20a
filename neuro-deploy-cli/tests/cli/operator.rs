//! What an operator trips over, each through the real binary: a rollback that restores exactly
//! what ran (digest included), a dry run that never waits for the queues, a closed pipe that is
//! not a panic.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_exact_image_that_ran_digest_included() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let (code, json, stderr) = w.run(&["promote", "v1.4.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let v140 = w.app_images("leaf-neuro-ui", "neuro-ui");
    assert!(w.pinned("leaf-neuro-ui", "v1.4.0"), "{v140:?}");

    // v1.5.0 is another image; staging runs it, production is promoted to it.
    w.push_image_of("v1.5.0", "another build").await;
    let (code, json, stderr) = w.run(&["deploy", "v1.5.0", "--env", "staging"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let (code, json, stderr) = w.run(&["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert!(w.pinned("leaf-neuro-ui", "v1.5.0"));
    assert_eq!(
        w.annotation("leaf-neuro-ui", "neuro-deploy.io/previous-image"),
        Some(v140[0].clone()),
        "the exact image replaced is recorded"
    );

    let (code, json, stderr) = w.run(&["rollback", "--env", "production", "--yes"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    assert_eq!(
        w.app_images("leaf-neuro-ui", "neuro-ui"),
        v140,
        "back to v1.4.0 pinned to the digest that ran, not the bare tag"
    );
    assert_eq!(json["image"].as_str(), Some(v140[0].as_str()), "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_looks_at_busy_queues_once_and_says_what_a_real_run_would_do() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let job = w.job_in_flight("us-east-2").await;
    let started = std::time::Instant::now();
    let (code, json, stderr) = w
        .run(&[
            "promote",
            "v1.4.0",
            "--dry-run",
            "--queue-window",
            "1m",
            "--queue-timeout",
            "10m",
        ])
        .await;
    // Bounded by the looks themselves: the 1m window and the 10m timeout are never waited.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        code, 0,
        "a busy queue is what a real run waits for, not a refusal: {json:#}\n{stderr}"
    );
    assert_eq!(json["outcome"], "would_deploy");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains("would wait up to 10m"), "{message}");
    let gate = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "gate_queues_drained")
        .unwrap();
    let detail = gate["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("busy now") && detail.contains("us-east-2: 0 visible, 1 in flight"),
        "{detail}"
    );
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0);
    job.finish().await;
}

/// Runs `args`, reads one line of stdout, closes the pipe, and returns the exit code and stderr.
fn read_one_line_then_close(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    // The reader is gone: every later write hits a closed pipe.
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    for args in [
        &["completion", "bash"][..],
        &["completion", "zsh"],
        &["man"],
        &["plan", "promote", "v1.4.0"],
        &["plan", "promote", "v1.4.0", "-o", "json"],
        &["config", "show"],
        &["--help"],
    ] {
        let (code, stderr) = read_one_line_then_close(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_aws_credentials_are_named_and_queues_exits_1_not_3() {
    let w = World::start(fast_sim(), "").await;
    let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("queues");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    // Not "busy" (3): `until neuro-deploy queues; [ $? -ne 3 ]; do sleep 60; done` stops on this.
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("no AWS credentials were found"), "{stdout}");
    assert!(
        stdout.contains("AWS_PROFILE") && stdout.contains("web identity"),
        "{stdout}"
    );
    assert!(!stdout.contains("check the network"), "{stdout}");
    // Said once for both regions, with what the credential chain said, not the SDK's wrappers.
    let said = stdout.matches("no AWS credentials were found").count()
        + stderr.matches("no AWS credentials were found").count();
    assert_eq!(said, 1, "{stdout}\n{stderr}");
    for wrapper in ["dispatch failure", ": other"] {
        assert!(
            !stdout.contains(wrapper) && !stderr.contains(wrapper),
            "{stdout}\n{stderr}"
        );
    }
    // Only neuro-deploy's own lines on stderr, and no colour on a stderr that is not a terminal.
    assert!(
        !stderr.contains("WARN") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );

    // Every queue read and one busy: 3; every queue read and empty: 0.
    let job = w.job_in_flight("us-west-2").await;
    let (code, _, _) = w.run(&["queues"]).await;
    assert_eq!(code, 3);
    job.finish().await;
    let (code, _, _) = w.run(&["queues"]).await;
    assert_eq!(code, 0);
}

#[test]
fn config_check_names_every_problem_at_once_and_warns_about_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("neuro-deploy.toml");
    std::fs::write(
        &config,
        "[app]\nselector = \"app==\"\n[queues]\nregions = [\"us-west2\"]\nwindow = \"30s\"\npoll = \"20s\"\nmin_samples = 3\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["config", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for key in ["`app.selector`", "`queues.regions[0]`", "`queues.window`"] {
        assert!(stderr.contains(key), "{key} in {stderr}");
    }
    // The built-in defaults are valid but miss what a real run needs: said as warnings.
    std::fs::remove_file(&config).unwrap();
    let out = run(&["config", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: `registry.region`")
            && stdout.contains("warning: `git.repository`"),
        "{stdout}"
    );
}

#[test]
fn one_rule_for_exit_codes_and_one_stream_for_refusals() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(std::env::temp_dir())
            .args(args)
            .output()
            .unwrap()
    };
    // A refusal by a rule is 3, whatever produced it; bad input is 2; both on stderr in text.
    for (args, code, reason) in [
        (
            &["deploy", "v1.4.0", "--env", "production"][..],
            3,
            "production_requires_promotion",
        ),
        (&["plan", "promote", "abc1234"], 3, "not_a_release"),
        (
            &["plan", "promote", "v1.4.0", "--to", "prod"],
            2,
            "invalid_input",
        ),
        (&["promote", "1.4"], 2, "invalid_input"),
        (&["released", "--tag", "v2.0.0"], 2, "invalid_input"),
    ] {
        let out = run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stdout}{stderr}");
        assert!(
            stdout.is_empty(),
            "{args:?}: nothing on stdout, got {stdout}"
        );
        assert!(
            stderr.starts_with(&format!("neuro-deploy: refused ({reason}): ")),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("error: "),
            "{args:?}: not clap's own format: {stderr}"
        );
        // JSON: the same refusal as a document on stdout.
        let mut json_args = args.to_vec();
        json_args.extend(["-o", "json"]);
        let out = run(&json_args);
        let document: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{json_args:?}: {e}"));
        assert_eq!(document["reason"], reason, "{json_args:?}");
        assert_eq!(document["exit_code"], code, "{json_args:?}");
    }
}

#[test]
fn help_and_the_man_page_say_what_there_is() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A subcommand's own options first, the global ones under their heading.
    let help = run(&["rollback", "--help"]);
    let own = help.find("--reason").unwrap();
    let global = help.find("Global options:").unwrap();
    assert!(
        own < global && global < help.find("--kubeconfig").unwrap(),
        "{help}"
    );
    // `demo` does not offer what it ignores.
    let demo = run(&["demo", "--help"]);
    assert!(
        !demo.contains("--kubeconfig <") && !demo.contains("--config <"),
        "{demo}"
    );
    // Every command's one-line description fits 80 columns, and so does the exit-code table.
    let listing = run(&["--help"]);
    let commands = listing
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap();
    let exit_codes = listing.split("Exit codes:\n").nth(1).unwrap();
    for line in commands.lines().chain(exit_codes.lines()) {
        assert!(line.chars().count() <= 80, "{line}");
    }
    // The man page: no page it refers to is missing; ENVIRONMENT, EXIT STATUS and EXAMPLES.
    let page = run(&["man"]);
    assert!(
        !page.contains("neuro\\-deploy\\-promote(1)") && !page.contains("neuro-deploy-promote(1)")
    );
    for section in [
        ".SH COMMANDS",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
    ] {
        assert!(
            page.contains(section) || page.contains(&section.replace('"', "")),
            "{section}"
        );
    }
    for variable in [
        "NEURO_DEPLOY_CONFIG",
        "KUBECONFIG",
        "GITHUB_TOKEN",
        "AWS_ENDPOINT_URL",
        "NO_COLOR",
        "NEURO_DEPLOY_PROMETHEUS_TOKEN",
        "NEURO_DEPLOY_ALERTMANAGER_TOKEN",
        "NEURO_DEPLOY_PUSHGATEWAY_TOKEN",
    ] {
        assert!(page.contains(variable), "{variable}");
    }
    // Each command's own options, and a synopsis that names every option's value.
    let plain = page.replace("\\-", "-");
    let approve = plain
        .split("neuro-deploy approve [OPTIONS]")
        .nth(1)
        .and_then(|rest| rest.split(".TP\n\\fBneuro-deploy ").next())
        .expect("the man page describes approve");
    assert!(
        approve.contains("--env <ENV>") && approve.contains("--reason <REASON>"),
        "{approve}"
    );
    let synopsis = plain
        .split(".SH SYNOPSIS")
        .nth(1)
        .unwrap()
        .split(".SH")
        .next()
        .unwrap();
    assert!(
        synopsis.contains("--config <CONFIG>") && synopsis.contains("COMMAND"),
        "{synopsis}"
    );
    // A command's help offers only what it uses: approve waits for nothing (and is confirmed on
    // a terminal once the approver saw what changes).
    let approve_help = run(&["approve", "--help"]);
    assert!(approve_help.contains("--yes"), "{approve_help}");
    for unused in [
        "--queue-timeout",
        "--queue-window",
        "--rollout-timeout",
        "--wait-for-lock",
    ] {
        assert!(!approve_help.contains(unused), "{unused}: {approve_help}");
    }
    assert!(run(&["promote", "--help"]).contains("--queue-timeout"));
    assert!(run(&["lock", "break", "--help"]).contains("--yes"));
    // A usage error points at that command's help.
    let out = Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .args(["approve", "v1.4.0"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("see `neuro-deploy approve --help`"), "{said}");
    // The step binary lists every pipeline variable it reads.
    let out = Command::new(env!("CARGO_BIN_EXE_neuro-deploy-codefresh"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for variable in neuro_deploy_codefresh::VARIABLES.iter().chain(&[
        "CF_VOLUME_PATH",
        "CF_BUILD_URL",
        "CF_BUILD_INITIATOR",
        "CF_API_KEY",
        "CF_URL",
    ]) {
        assert!(help.contains(variable), "{variable}: {help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_status_shows_every_environment_and_a_free_lock_is_not_watched() {
    let w = World::start(fast_sim(), "").await;
    let (code, json, stderr) = w.run(&["lock", "status"]).await;
    assert_eq!(code, 0, "{json:#}\n{stderr}");
    let environments: Vec<&str> = json["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["environment"].as_str().unwrap())
        .collect();
    assert_eq!(environments, ["dev", "staging", "production"]);
    // Nobody holds production's lock: said at once, nothing watched.
    let started = std::time::Instant::now();
    let (code, json, stderr) = w
        .run(&[
            "lock",
            "break",
            "--env",
            "production",
            "--reason",
            "runner died",
        ])
        .await;
    assert_eq!(
        (code, json["outcome"].as_str()),
        (0, Some("not_held")),
        "{json:#}"
    );
    assert!(!stderr.contains("watching"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoting_a_release_without_its_v_suggests_the_one_that_exists() {
    let w = World::start(fast_sim(), "").await;
    w.staged("v1.4.0").await;
    let (code, json, _) = w.run(&["promote", "1.4.0", "--yes"]).await;
    assert_eq!((code, reason(&json)), (3, "image_missing"), "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(message.contains("did you mean `v1.4.0`?"), "{message}");
    assert_eq!(w.writes_to("leaf-neuro-ui"), 0);
}
