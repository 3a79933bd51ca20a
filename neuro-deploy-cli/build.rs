//! Names the commit the binaries are built from, for `--version`: from git at build time, else
//! `NEURO_DEPLOY_GIT_COMMIT` (set by a build without `.git`, such as a container build), else
//! `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=NEURO_DEPLOY_GIT_COMMIT");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs");
    let from_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let commit = from_git
        .or_else(|| std::env::var("NEURO_DEPLOY_GIT_COMMIT").ok())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=NEURO_DEPLOY_COMMIT={commit}");
}
