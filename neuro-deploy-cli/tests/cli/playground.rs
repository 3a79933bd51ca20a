//! `neuro-deploy demo` and `demo --shell` through the real binary: the story's key lines and
//! exit code, nothing of this machine's setup read (a tripwire on 127.0.0.1 stands in for every
//! endpoint the environment names), and the shell driven through stdin while the official
//! kubectl reads the simulated cluster.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::tripwire::Tripwire;
use crate::world::kubectl;

const SECRET: &str = "ghp_playground_secret_token";

/// `neuro-deploy demo …` in a directory holding a broken `neuro-deploy.toml`, with every
/// endpoint, kubeconfig and credential of the environment pointing at the tripwire.
fn playground_command(dir: &std::path::Path, tripwire: &Tripwire, args: &[&str]) -> Command {
    std::fs::write(dir.join("neuro-deploy.toml"), "this is [not toml").unwrap();
    let mut command = tripwire.command(env!("CARGO_BIN_EXE_neuro-deploy"), dir, SECRET);
    command
        .env("USER", "ops")
        .env("NEURO_DEPLOY_CONFIG", dir.join("neuro-deploy.toml"))
        .args(args);
    command
}

#[tokio::test]
async fn demo_runs_the_whole_story_on_loopback_ignoring_this_machines_setup() {
    let dir = tempfile::tempdir().unwrap();
    let tripwire = Tripwire::start();
    let mut command = playground_command(dir.path(), &tripwire, &["demo"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let all = format!("{stdout}\n{stderr}");
    assert_eq!(output.status.code(), Some(0), "{all}");

    // The README's excerpt is what the demo prints today (durations aside).
    let readme = include_str!("../../../README.md");
    let excerpt = readme
        .split("```text\n━━ ")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows an excerpt of the demo");
    let same_shape = |text: &str| {
        let digits_as_hash: String = text
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        digits_as_hash
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let printed = same_shape(&all);
    for line in format!("━━ {excerpt}")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let line = line.trim_end().trim_end_matches("(stderr)");
        assert!(
            printed.contains(&same_shape(line)),
            "the README's demo excerpt says `{line}`, the demo does not print it:\n{all}"
        );
    }

    // Merge → dev builds; the release is a retag of that image, not a rebuild.
    assert!(stdout.contains("$ neuro-deploy merged --sha "), "{stdout}");
    assert!(stdout.contains("retagged "), "{stdout}");
    assert!(stdout.contains("→ v1.4.0 (no rebuild)"), "{stdout}");
    assert!(
        stdout.contains("the very image dev runs as"),
        "the digest is shown: {stdout}"
    );
    // Production waits for the training job in us-east-2, says why, and then deploys.
    assert!(
        stderr.contains("in us-east-2: 0 visible, 1 in flight, 0 delayed"),
        "{stderr}"
    );
    assert!(stderr.contains("queues busy; waited"), "{stderr}");
    assert!(
        stdout.contains("[world] the training job in us-east-2 finished"),
        "{stdout}"
    );
    assert!(
        stdout.contains("drained in us-west-2 and us-east-2 for 3.0s"),
        "{stdout}"
    );
    // The broken release is rolled back with exit 4.
    assert!(
        stdout.contains("$ neuro-deploy released --tag v1.5.0"),
        "{stdout}"
    );
    // A run that did not succeed is reported on stderr, like every refusal and error.
    assert!(stderr.contains("rolled back: deploy of "), "{stderr}");
    assert!(stdout.contains("(exit 4)"), "{stdout}");
    // Production needs two people's approval, given with their own credentials; a freeze
    // refuses a promotion until it is lifted.
    assert!(stderr.contains("refused (approval_required)"), "{stderr}");
    assert!(
        stdout.contains("# as alice, with alice's own credentials"),
        "{stdout}"
    );
    assert!(stdout.contains("approved by alice, bob"), "{stdout}");
    assert!(stderr.contains("refused (frozen)"), "{stderr}");
    // The hotfix reaches production, and the final status says so.
    assert!(
        stdout.contains("release `v1.4.1` created targeting `hotfix/v1.4.1`"),
        "{stdout}"
    );
    let final_status = stdout.rsplit("$ neuro-deploy status").next().unwrap();
    let production = final_status
        .lines()
        .find(|line| line.starts_with("production"))
        .unwrap_or_else(|| panic!("no production row: {final_status}"));
    assert!(production.contains("v1.4.1"), "{production}");
    assert!(production.contains("complete"), "{production}");

    // Nothing of this machine was read or contacted; no secret was printed.
    assert!(
        stderr.contains("the playground uses its own world and configuration"),
        "{stderr}"
    );
    assert_eq!(
        tripwire.hits(),
        0,
        "the demo contacted an endpoint from the environment"
    );
    assert!(!all.contains(SECRET), "{all}");
}

/// The shell as a child process: everything it prints (stdout and stderr in order, bytes as
/// they come: the prompt ends without a newline) collected.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    /// How many bytes of `output` earlier expectations consumed.
    seen: usize,
}

impl Shell {
    fn start(mut command: Command) -> Shell {
        // One pipe for stdout and stderr keeps their order (the prompt is on stderr).
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .spawn()
            .unwrap();
        // The parent's copies of the write end are gone with `command`'s, so reads end at exit.
        drop(command);
        let output = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                collected.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        let stdin = child.stdin.take().unwrap();
        Shell {
            child,
            stdin,
            output,
            seen: 0,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits until `text` appears after what earlier expectations consumed; returns the output
    /// up to and including it.
    async fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let needle = text.as_bytes();
        loop {
            let output = self.output.lock().unwrap().clone();
            let unseen = &output[self.seen..];
            if let Some(at) = unseen.windows(needle.len()).position(|w| w == needle) {
                let chunk = String::from_utf8_lossy(&unseen[..at + needle.len()]).into_owned();
                self.seen += at + needle.len();
                return chunk;
            }
            assert!(
                Instant::now() < deadline,
                "`{text}` did not appear; the shell printed:\n{}",
                String::from_utf8_lossy(unseen)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `line` and waits for the next prompt; returns what the command printed.
    async fn run(&mut self, line: &str) -> String {
        self.send(line);
        self.expect("neuro-deploy> ").await
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The image of production's web container, as kubectl reads it.
async fn production_web_image(kubeconfig: &Path) -> String {
    kubectl(
        kubeconfig,
        &[
            "get",
            "deployment",
            "neuro-ui-web",
            "-n",
            "leaf-neuro-ui",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
    .await
}

#[tokio::test]
async fn the_shell_takes_commands_on_stdin_while_kubectl_reads_the_same_world() {
    let dir = tempfile::tempdir().unwrap();
    let tripwire = Tripwire::start();
    let mut shell = Shell::start(playground_command(
        dir.path(),
        &tripwire,
        &["demo", "--shell"],
    ));
    let banner = shell.expect("neuro-deploy> ").await;
    let kubeconfig = banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("export KUBECONFIG="))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no kubeconfig path in the banner: {banner}"));
    assert!(banner.contains("kubectl get deployments -A"), "{banner}");
    // The dashboard serves the same world on a loopback port while the prompt runs.
    let dashboard = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:") && word.ends_with('/'))
        .and_then(|url| banner.contains(&format!("dashboard: {url}")).then_some(url))
        .unwrap_or_else(|| panic!("no dashboard URL in the banner: {banner}"))
        .to_owned();

    // kubectl sees the seeded world: the app's Deployments with the sidecar, in production.
    let images = kubectl(
        &kubeconfig,
        &[
            "get",
            "deployments",
            "-n",
            "leaf-neuro-ui",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.spec.template.spec.containers[*].image}{\"\\n\"}{end}",
        ],
    )
    .await;
    assert!(images.contains("neuro-ui-web="), "{images}");
    assert!(images.contains("neuro-ui-worker="), "{images}");
    assert!(
        images.contains(":v1.3.0 envoyproxy/envoy:v1.30"),
        "{images}"
    );

    let status = shell.run("status").await;
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("production") && l.contains("v1.3.0")),
        "{status}"
    );
    let mut shown = String::new();
    for _ in 0..50 {
        let state = reqwest::get(format!("{dashboard}api/state")).await.unwrap();
        shown = state.text().await.unwrap();
        if shown.contains("\"leaf-neuro-ui\"") && shown.contains("\"v1.3.0\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        shown.contains("\"read_at\":\"2"),
        "the dashboard read the world: {shown}"
    );
    let release = shell.run("release v1.4.0").await;
    assert!(
        release.contains("GitHub release v1.4.0 published"),
        "{release}"
    );
    let staging = shell.run("released --tag v1.4.0 -q").await;
    // The headline says what happened once.
    assert!(
        staging.contains("deployed ") && staging.contains("in namespace `staging`"),
        "{staging}"
    );
    assert!(!staging.contains("deployed: deployed"), "{staging}");

    // Production needs two people: each approves with their own credentials (`as PERSON`).
    let unapproved = shell.run("promote v1.4.0 --yes -q").await;
    assert!(
        unapproved.contains("refused (approval_required)"),
        "{unapproved}"
    );
    let alice = shell.run("as alice approve v1.4.0 --env production").await;
    assert!(
        alice.contains("approved v1.4.0") && alice.contains("as alice"),
        "{alice}"
    );
    let bob = shell.run("as bob approve v1.4.0 --env production").await;
    assert!(bob.contains("approved by alice, bob"), "{bob}");

    let push = shell.run("queue push us-east-2").await;
    assert!(push.contains("1 in flight"), "{push}");
    let refused = shell.run("promote v1.4.0 --yes -q").await;
    assert!(refused.contains("refused (queue_not_drained)"), "{refused}");
    assert!(
        refused.contains("us-east-2: 0 visible, 1 in flight"),
        "{refused}"
    );
    assert!(refused.contains("(exit 3)"), "{refused}");
    let before = production_web_image(&kubeconfig).await;
    assert!(
        before.ends_with(":v1.3.0"),
        "refused means untouched: {before}"
    );

    let pop = shell.run("queue pop us-east-2").await;
    assert!(pop.contains("finished"), "{pop}");
    let promoted = shell.run("promote v1.4.0 --yes -q -o json").await;
    let json = &promoted[promoted.find('{').unwrap()..=promoted.rfind('}').unwrap()];
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(report["outcome"], "deployed", "{promoted}");
    assert_eq!(report["exit_code"], 0, "{promoted}");

    // kubectl, in another process, sees what the shell did.
    let after = production_web_image(&kubeconfig).await;
    assert!(after.contains(":v1.4.0@sha256:"), "{after}");
    let rollout = kubectl(
        &kubeconfig,
        &[
            "rollout",
            "status",
            "deployment/neuro-ui-web",
            "-n",
            "leaf-neuro-ui",
        ],
    )
    .await;
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    // Guardrails at the prompt: a deny window, then a freeze, each refusing a deploy.
    let closed = shell.run("window close staging 1h").await;
    assert!(closed.contains("takes no deploys for 1h"), "{closed}");
    let outside = shell.run("deploy v1.3.0 --env staging -q").await;
    assert!(
        outside.contains("refused (outside_deploy_window)") && outside.contains("closed until"),
        "{outside}"
    );
    shell.run("window open staging").await;
    shell.run("freeze --env staging --reason drill").await;
    let frozen = shell.run("deploy v1.3.0 --env staging -q").await;
    assert!(frozen.contains("refused (frozen)"), "{frozen}");
    let lifted = shell.run("unfreeze --env staging --reason done").await;
    assert!(lifted.contains("unfroze `staging`"), "{lifted}");

    // Bad input is explained and the shell goes on; `exit` ends it with 0.
    let unknown = shell.run("frobnicate").await;
    assert!(
        unknown.contains("unrecognized subcommand 'frobnicate'"),
        "{unknown}"
    );
    let nested = shell.run("demo").await;
    assert!(
        nested.contains("the playground is already running here"),
        "{nested}"
    );
    shell.send("exit");
    let status = tokio::task::spawn_blocking(move || {
        let mut shell = shell;
        let code = shell.child.wait().unwrap().code();
        let output = String::from_utf8_lossy(&shell.output.lock().unwrap()).into_owned();
        (code, output)
    })
    .await
    .unwrap();
    assert_eq!(status.0, Some(0), "{}", status.1);
    assert!(!status.1.contains(SECRET));
    assert_eq!(tripwire.hits(), 0);
}
