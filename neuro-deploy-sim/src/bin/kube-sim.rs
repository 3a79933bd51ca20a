//! `kube-sim`: a fake Kubernetes API server for tests and benchmarks.
//!
//! ```text
//! kube-sim --listen 127.0.0.1:0 --seed manifests.yaml --kubeconfig-out kubeconfig.yaml \
//!          [--rollout-ms N] [--fail-image REGEX] [--deadline-ms N] [--latency-ms N]
//! ```
//! Prints `kube-sim listening on http://127.0.0.1:PORT` once ready; stops on Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use neuro_deploy_sim::kube::{KubeSim, KubeSimOptions};

/// What `kube-sim --help` shows after the options: a seed to start from, acting as someone
/// else, and what kubectl needs.
const AFTER_HELP: &str = r#"An example seed (multi-document YAML; Namespaces and Deployments as on a real cluster, plus
kube-sim's own `kind: User`: who a bearer token is, and the groups SelfSubjectReview reports):

  apiVersion: v1
  kind: Namespace
  metadata: {name: staging}
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: neuro-ui, namespace: staging, labels: {app.kubernetes.io/part-of: neuro-ui}}
  spec:
    replicas: 2
    selector: {matchLabels: {app.kubernetes.io/part-of: neuro-ui}}
    template:
      metadata: {labels: {app.kubernetes.io/part-of: neuro-ui}}
      spec:
        containers:
        - {name: web, image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui:v1.3.0}
  ---
  apiVersion: kube-sim.neuro-deploy.io/v1
  kind: User
  token: alice-token
  username: alice
  groups: [release-approvers]

The kubeconfig written by --kubeconfig-out holds kube-sim-admin's token. To act as another
person with neuro-deploy, copy it and set `users[0].user.token: alice-token` (neuro-deploy sends
a kubeconfig's token over plain HTTP); kubectl sends none over plain HTTP, so impersonate with
it instead: `kubectl --as alice auth whoami`.

With --rbac, every request is authorized by the Roles and bindings you create (kubectl
`create role`/`create rolebinding` or `apply`), 403 in Kubernetes' words otherwise; `kubectl
auth can-i --as alice update configmaps/NAME -n NS` gets the same evaluator's answer.

kubectl: `get`, `set image`, `rollout status`, `patch` and `auth whoami` work as on a real
cluster; kube-sim serves no OpenAPI document, so `kubectl apply` needs `--validate=false`, and
it speaks JSON only, so kubectl's typed `create` commands (`create role`, `create configmap`,
which send protobuf) are refused with 415: `kubectl apply`/`create -f` a manifest instead."#;

/// A fake Kubernetes API server (Deployments, Leases, watch, rollouts) for tests and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "kube-sim", version, after_help = AFTER_HELP)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Multi-document Kubernetes YAML with Namespaces and Deployments to start with.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// How long a successful rollout takes.
    #[arg(long, default_value_t = 1500)]
    rollout_ms: u64,
    /// Images matching this regular expression never become available.
    #[arg(long)]
    fail_image: Option<String>,
    /// When a failing rollout is marked ProgressDeadlineExceeded.
    #[arg(long, default_value_t = 2000)]
    deadline_ms: u64,
    /// Latency added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Authorize every API request by RBAC (Roles, ClusterRoles and their bindings), as a real
    /// API server does. The kubeconfig's user is in system:masters; kubectl, which sends no
    /// credentials over plain HTTP, is bound to cluster-admin and plays people with `--as`.
    #[arg(long)]
    rbac: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let rollout = Duration::from_millis(args.rollout_ms);
    let options = KubeSimOptions {
        listen: args.listen,
        rollout,
        observe_delay: (rollout / 10).min(Duration::from_millis(150)),
        deadline: Duration::from_millis(args.deadline_ms),
        fail_image: args.fail_image,
        latency: Duration::from_millis(args.latency_ms),
        rbac: args.rbac,
    };
    let sim = match KubeSim::start(options).await {
        Ok(sim) => sim,
        Err(error) => return fail(&error),
    };
    if let Some(path) = &args.seed {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => return fail(&format!("cannot read {}: {error}", path.display())),
        };
        if let Err(error) = sim.seed(&text) {
            return fail(&error);
        }
    }
    if let Some(path) = &args.kubeconfig_out
        && let Err(error) = sim.write_kubeconfig(path)
    {
        return fail(&format!("cannot write {}: {error}", path.display()));
    }
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "kube-sim listening on {}", sim.url());
        let _ = stdout.flush();
    }
    wait_for_stop().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "kube-sim: {message}");
    ExitCode::from(2)
}
