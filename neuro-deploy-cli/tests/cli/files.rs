//! Files a user points at — `./neuro-deploy.toml`, `--config`, `--kubeconfig`, the Codefresh
//! export file — that exist but cannot be read are invalid input (exit 2) naming the file and
//! why, with nothing contacted. Only "no such file" for `./neuro-deploy.toml` means the built-in
//! defaults.

use std::path::Path;
use std::process::Command;

use crate::tripwire::Tripwire;
use crate::world::{SHA, SHORT, run_json};

const SECRET: &str = "ghp_files_secret_token";

/// `BINARY ARGS --output json` in `dir`, every endpoint and the kubeconfig pointing at the
/// tripwire.
fn command(binary: &str, dir: &Path, tripwire: &Tripwire, args: &[&str]) -> Command {
    let mut command = tripwire.command(binary, dir, SECRET);
    command.args(args).args(["--output", "json"]);
    command
}

/// Runs it and checks the refusal: exit 2, `invalid_input`, the message naming `names` and
/// `why`, nothing contacted, no secret shown.
async fn refused_as_invalid(command: Command, tripwire: &Tripwire, names: &str, why: &str) {
    let (code, json, stderr) = run_json(command).await;
    assert_eq!(code, 2, "{json:#}\n{stderr}");
    assert_eq!(json["reason"], "invalid_input", "{json:#}");
    let message = json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(names) && message.contains(why),
        "the message names `{names}` and says `{why}`: {message}"
    );
    assert_eq!(tripwire.hits(), 0, "nothing may be contacted: {json:#}");
    assert!(!format!("{json}{stderr}").contains(SECRET));
}

#[tokio::test]
async fn a_config_file_that_exists_but_cannot_be_read_is_invalid_input_not_the_defaults() {
    let tripwire = Tripwire::start();
    let neuro_deploy = env!("CARGO_BIN_EXE_neuro-deploy");
    let deploy = ["deploy", SHORT, "--env", "dev"];

    // ./neuro-deploy.toml that is not UTF-8.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("neuro-deploy.toml"),
        b"[app]\nname = \"\xff\xfe\"\n",
    )
    .unwrap();
    let run = command(neuro_deploy, dir.path(), &tripwire, &deploy);
    refused_as_invalid(run, &tripwire, "neuro-deploy.toml", "not UTF-8").await;

    // ./neuro-deploy.toml that is a directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("neuro-deploy.toml")).unwrap();
    let run = command(neuro_deploy, dir.path(), &tripwire, &deploy);
    refused_as_invalid(run, &tripwire, "neuro-deploy.toml", "directory").await;

    // --config (and NEURO_DEPLOY_CONFIG) naming a directory.
    let config = dir.path().join("neuro-deploy.toml").display().to_string();
    let mut args = vec!["--config", config.as_str()];
    args.extend(deploy);
    let run = command(neuro_deploy, dir.path(), &tripwire, &args);
    refused_as_invalid(run, &tripwire, &config, "directory").await;
    let mut run = command(neuro_deploy, dir.path(), &tripwire, &deploy);
    run.env("NEURO_DEPLOY_CONFIG", &config);
    refused_as_invalid(run, &tripwire, &config, "directory").await;

    // No file at all still means the built-in defaults (`config show` names where from).
    let empty = tempfile::tempdir().unwrap();
    let out = command(neuro_deploy, empty.path(), &tripwire, &["config", "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(tripwire.hits(), 0);
}

#[tokio::test]
async fn a_kubeconfig_that_cannot_be_read_is_invalid_input_naming_it() {
    let tripwire = Tripwire::start();
    let neuro_deploy = env!("CARGO_BIN_EXE_neuro-deploy");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-kubeconfig").display().to_string();
    let run = command(
        neuro_deploy,
        dir.path(),
        &tripwire,
        &["--kubeconfig", &missing, "deploy", SHORT, "--env", "dev"],
    );
    refused_as_invalid(run, &tripwire, &missing, "No such file").await;

    let folder = dir.path().join("kube");
    std::fs::create_dir(&folder).unwrap();
    let folder = folder.display().to_string();
    let run = command(
        neuro_deploy,
        dir.path(),
        &tripwire,
        &["--kubeconfig", &folder, "status"],
    );
    refused_as_invalid(run, &tripwire, &folder, "directory").await;

    // A kubeconfig that names no usable context.
    let contextless = dir.path().join("contextless");
    std::fs::write(
        &contextless,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .unwrap();
    let mut run = command(neuro_deploy, dir.path(), &tripwire, &["status"]);
    run.env("KUBECONFIG", &contextless);
    refused_as_invalid(run, &tripwire, "kubeconfig", "cannot be used").await;

    // KUBECONFIG naming a file that is not a kubeconfig.
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "{ this is not yaml").unwrap();
    let mut run = command(neuro_deploy, dir.path(), &tripwire, &["status"]);
    run.env("KUBECONFIG", &garbage);
    refused_as_invalid(run, &tripwire, "kubeconfig", "cannot be used").await;
}

#[tokio::test]
async fn a_codefresh_export_file_that_cannot_be_written_is_invalid_input_before_anything_runs() {
    let tripwire = Tripwire::start();
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    // The export file's place is taken by a directory.
    std::fs::create_dir_all(volume.join("env_vars_to_export")).unwrap();
    let mut run = command(
        env!("CARGO_BIN_EXE_neuro-deploy-codefresh"),
        dir.path(),
        &tripwire,
        &["trigger"],
    );
    run.env("CF_VOLUME_PATH", &volume)
        .env("CF_BRANCH", "main")
        .env("CF_REVISION", SHA)
        .env("CF_SHORT_REVISION", SHORT);
    refused_as_invalid(run, &tripwire, "env_vars_to_export", "directory").await;
}
