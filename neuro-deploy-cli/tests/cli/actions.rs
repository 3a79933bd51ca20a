//! GitHub Actions as a home: the example workflows pass actionlint (with shellcheck) and pin
//! what they use; in a job (`GITHUB_ACTIONS=true`) a run leaves its summary, its outputs and
//! escaped workflow commands — and outside a job, none of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::world::*;

fn workflows() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/github-actions");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                path,
            )
        })
        .collect();
    files.sort();
    files
}

/// actionlint (with shellcheck) over `files`: its exit status and findings.
fn actionlint(files: &[PathBuf]) -> (bool, String) {
    let (actionlint, shellcheck) = neuro_deploy_testkit::env::actionlint();
    let out = Command::new(actionlint)
        .arg("-shellcheck")
        .arg(shellcheck)
        .args(files)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn actionlint_finds_nothing_in_the_three_workflows() {
    let files = workflows();
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["merge.yml", "promote.yml", "release.yml"]);
    let paths: Vec<PathBuf> = files.into_iter().map(|(_, path)| path).collect();
    let (ok, findings) = actionlint(&paths);
    assert!(ok && findings.trim().is_empty(), "{findings}");

    // The same check does speak up: an untrusted value spliced into a script (actionlint's
    // own finding) and an unquoted variable (shellcheck's, through actionlint).
    let scratch = tempfile::tempdir().unwrap();
    let merge = std::fs::read_to_string(&paths[0]).unwrap();
    let spliced = scratch.path().join("spliced.yml");
    std::fs::write(
        &spliced,
        merge.replace(
            "run: neuro-deploy merged --sha \"$GITHUB_SHA\"",
            "run: echo \"${{ github.event.head_commit.message }}\"",
        ),
    )
    .unwrap();
    let release = std::fs::read_to_string(&paths[2]).unwrap();
    let unquoted = scratch.path().join("unquoted.yml");
    std::fs::write(&unquoted, release.replace("--tag \"$TAG\"", "--tag $TAG")).unwrap();
    let (ok, findings) = actionlint(&[spliced, unquoted]);
    assert!(!ok, "{findings}");
    assert!(findings.contains("potentially untrusted"), "{findings}");
    assert!(findings.contains("SC2086"), "{findings}");
}

#[test]
fn the_workflows_pin_every_action_and_grant_the_least() {
    for (name, path) in workflows() {
        let text = std::fs::read_to_string(&path).unwrap();
        let workflow: Value = serde_saphyr::from_str(&text).unwrap();
        assert!(!text.contains(":latest"), "{name}: nothing floats");
        let permissions = workflow["permissions"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: top-level `permissions:` is set"));
        assert_eq!(permissions["contents"], "read", "{name}");
        assert_eq!(permissions["id-token"], "write", "{name}: AWS through OIDC");
        for (grant, level) in permissions {
            assert!(
                matches!(grant.as_str(), "contents" | "deployments" | "id-token"),
                "{name}: `{grant}: {level}` is more than needed"
            );
        }
        assert_eq!(
            workflow["concurrency"]["cancel-in-progress"], false,
            "{name}: a deploy in progress is never cancelled"
        );
        for (job_name, job) in workflow["jobs"].as_object().unwrap() {
            assert!(
                job["timeout-minutes"].is_u64(),
                "{name}: job {job_name} has timeout-minutes"
            );
        }
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("- uses:"))
        {
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = reference.split_once('@').unwrap();
            let (sha, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}: {action} is pinned to a full commit SHA: {line}"
            );
            assert!(
                comment.starts_with('v'),
                "{name}: the version beside the SHA: {line}"
            );
        }
        // neuro-deploy itself: the release archive, checked against a pinned checksum.
        assert!(
            text.contains("sha256sum -c -") && text.contains("EXPECTED_SHA256"),
            "{name}"
        );
        assert!(
            text.contains("chmod 600"),
            "{name}: the kubeconfig is private"
        );
    }
    let promote: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/github-actions/promote.yml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(promote["jobs"]["promote"]["environment"], "production");
    assert_eq!(
        promote["on"]["workflow_dispatch"]["inputs"]["version"]["required"],
        true
    );
}

/// A job's files, and a command that runs `neuro-deploy` as its step.
struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        Job {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn summary(&self) -> PathBuf {
        self.dir.path().join("summary.md")
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("output")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// `neuro-deploy ARGS` in the world, as a GitHub Actions step (or not).
    async fn run(&self, w: &World, actions: bool, args: &[&str]) -> (i32, String) {
        let mut command = w.command(env!("CARGO_BIN_EXE_neuro-deploy"));
        command
            .env("GITHUB_STEP_SUMMARY", self.summary())
            .env("GITHUB_OUTPUT", self.output())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "octo-org/neuro-ui")
            .args(args);
        if actions {
            command.env("GITHUB_ACTIONS", "true");
        }
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The outputs written so far (the last value of each name).
    fn outputs(&self) -> std::collections::BTreeMap<String, String> {
        let text = Job::read(&self.output());
        let mut values = std::collections::BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (name, delimiter) = line.split_once("<<").expect("name<<DELIMITER");
            let mut value = Vec::new();
            for line in lines.by_ref() {
                if line == delimiter {
                    break;
                }
                value.push(line);
            }
            values.insert(name.to_owned(), value.join("\n"));
        }
        values
    }
}

/// The annotations among the workflow commands (`::error`, `::warning`): groups left out.
fn annotations(stderr: &str) -> Vec<&str> {
    commands(stderr)
        .into_iter()
        .filter(|c| !c.starts_with("::group::") && *c != "::endgroup::")
        .collect()
}

/// Workflow commands on `stderr`: every line the runner would read as one.
fn commands(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            line.starts_with("::") || line.starts_with("##[")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_job_each_run_leaves_its_summary_outputs_and_annotations() {
    let w = World::start(fast_sim(), "").await;
    let job = Job::new();
    let settings = {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        for (pattern, replacement) in [
            (r"\d+ ms", "[ms] ms"),
            (r"neuro-ui-\d+-\d+", "neuro-ui-[id]"),
            (
                r"sqs_studioml_gorunner_cpu_production_0-\d+-\d+",
                "sqs-[id]",
            ),
            (r"sha256:[0-9a-f]{64}", "sha256:[digest]"),
            (r"/[0-9a-f]{6,}-[0-9a-f]+\b", "/[run-id]"),
        ] {
            settings.add_filter(pattern, replacement);
        }
        settings
    };

    // A deploy.
    w.push_image(SHORT).await;
    let (code, stderr) = job.run(&w, true, &["merged", "--sha", SHA]).await;
    assert_eq!(code, 0, "{stderr}");
    let outputs = job.outputs();
    assert_eq!(outputs["outcome"], "deployed");
    assert_eq!(outputs["version"], SHORT);
    assert_eq!(outputs["exit_code"], "0");
    assert_eq!(outputs["reason"], "");
    assert!(
        outputs["image"].ends_with(&format!(":{SHORT}")),
        "{outputs:?}"
    );
    assert!(
        annotations(&stderr).is_empty(),
        "a deploy annotates nothing: {stderr}"
    );
    // The rollout's progress folds into a group.
    let folded = commands(&stderr);
    let opened = folded.iter().position(|c| *c == "::group::await_rollout");
    let closed = folded.iter().rposition(|c| *c == "::endgroup::");
    assert!(opened.is_some() && opened < closed, "{stderr}");

    // A refusal.
    w.push_image("v1.5.0").await;
    let (code, stderr) = job.run(&w, true, &["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(code, 3, "{stderr}");
    let outputs = job.outputs();
    assert_eq!(
        (
            outputs["outcome"].as_str(),
            outputs["reason"].as_str(),
            outputs["exit_code"].as_str()
        ),
        ("refused", "not_verified_on_staging", "3")
    );
    let refused = annotations(&stderr);
    assert_eq!(refused.len(), 1, "{stderr}");
    assert!(
        refused[0].starts_with("::error title=neuro-deploy refused (not_verified_on_staging)::"),
        "{stderr}"
    );

    // A rolled-back deploy.
    w.push_image("v9.9.9").await;
    let (code, stderr) = job
        .run(&w, true, &["deploy", "v9.9.9", "--env", "dev"])
        .await;
    assert_eq!(code, 4, "{stderr}");
    let outputs = job.outputs();
    assert_eq!(
        (
            outputs["outcome"].as_str(),
            outputs["version"].as_str(),
            outputs["exit_code"].as_str()
        ),
        ("rolled_back", "v9.9.9", "4")
    );
    assert!(
        annotations(&stderr)
            .iter()
            .any(|c| c.starts_with("::error title=neuro-deploy rolled_back::")),
        "{stderr}"
    );
    let summary = Job::read(&job.summary());
    settings.bind(|| insta::assert_snapshot!("actions_summary", summary));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_text_from_outside_can_inject_a_workflow_command() {
    let w = World::start(fast_sim(), "").await;
    let job = Job::new();
    // A tag that is not a release, carrying everything a workflow command must escape.
    let tag = "v1%0A::warning::owned\r\n::add-mask::x";
    let (code, stderr) = job
        .run(
            &w,
            true,
            &["released", "--tag", tag, "--sha", SHA, "--target", "main"],
        )
        .await;
    assert_eq!(code, 3, "{stderr}");
    let found = commands(&stderr);
    assert_eq!(found.len(), 1, "only our own annotation: {stderr}");
    let annotation = found[0];
    assert!(
        annotation.starts_with("::error title=neuro-deploy refused (not_a_release)::"),
        "{annotation}"
    );
    assert!(
        annotation.contains("v1%250A::warning::owned%0D%0A::add-mask::x"),
        "% first, then CR and LF: {annotation}"
    );
    // The reason travels in the outputs as a value, not as a line of the file format.
    assert_eq!(job.outputs()["reason"], "not_a_release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_job_nothing_of_it_is_written() {
    let w = World::start(fast_sim(), "").await;
    let job = Job::new();
    w.push_image("v1.5.0").await;
    let (code, stderr) = job.run(&w, false, &["promote", "v1.5.0", "--yes"]).await;
    assert_eq!(code, 3, "{stderr}");
    assert!(commands(&stderr).is_empty(), "{stderr}");
    assert!(!job.summary().exists() && !job.output().exists());
}
