//! Command-line arguments (clap derive). Parsing only; validation into typed values happens in
//! clap's value parsers, so malformed input exits 2 before anything is contacted.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod dashboard;
mod events;

pub use dashboard::DashboardArgs;
pub use events::{
    DeployArgs, EventCommand, GateOverrideArgs, MergedArgs, PromoteArgs, ReleasedArgs, RollbackArgs,
};
use neuro_deploy_core::{GitSha, ReleaseTag, Version};

/// `--version`: the package version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NEURO_DEPLOY_COMMIT"),
    ")"
);

/// Exit statuses, shown in `--help`: generated from the core's one list.
pub fn exit_codes() -> String {
    neuro_deploy_core::error::exit_codes_help()
}

/// Release automation for neuro-ui: build once, promote, gate, roll back.
///
/// Build once and promote by retagging; gate production on drained queues and a verified
/// staging; wait for rollouts and roll back a failed one; one deploy per namespace at a time.
#[derive(Debug, Parser)]
#[command(name = "neuro-deploy", version = VERSION, after_help = exit_codes())]
pub struct Cli {
    /// Options every binary shares.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Confirm production changes without asking.
    #[arg(long, short = 'y', global = true, help_heading = GLOBAL)]
    pub yes: bool,
    /// How long queues must stay empty (`0s`: one all-zero sample suffices).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = duration, env = "NEURO_DEPLOY_QUEUE_WINDOW")]
    pub queue_window: Option<Duration>,
    /// How long to wait for drained queues (`0s`: look once).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = duration, env = "NEURO_DEPLOY_QUEUE_TIMEOUT")]
    pub queue_timeout: Option<Duration>,
    /// Time between queue samples.
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = duration, env = "NEURO_DEPLOY_QUEUE_POLL")]
    pub queue_poll: Option<Duration>,
    /// How long a rollout may take before it is rolled back (replaces `rollout.timeout`).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = duration)]
    pub rollout_timeout: Option<Duration>,
    /// Wait up to this long for another deploy's lock instead of refusing at once (exit 5).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = duration)]
    pub wait_for_lock: Option<Duration>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `neuro-deploy` command definition, as parsed, completed and documented: `demo` does not
/// offer the global options it ignores (its world brings its own config and cluster).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sc| sc.get_name().to_owned())
        .collect();
    for name in names {
        let ignored = ignored_globals(&name);
        // A subcommand's own argument of the same id keeps a global one from being propagated
        // to it (and to its subcommands): hidden, it is left out of their help and man page.
        let hidden: Vec<clap::Arg> = ignored
            .iter()
            .filter_map(|id| command.get_arguments().find(|a| a.get_id() == *id))
            .map(|arg| arg.clone().global(false).hide(true))
            .collect();
        if !hidden.is_empty() {
            command = command.mut_subcommand(name, |sc| sc.args(hidden));
        }
    }
    command
}

/// The global options a command ignores, so its help does not offer them: the queue gate,
/// rollout and lock knobs mean something only to the events (and the plan of one, and the
/// effective config); `--yes` only to the events and `lock break --force`; the playground
/// brings its own config and cluster.
fn ignored_globals(command: &str) -> Vec<&'static str> {
    const RUN_KNOBS: [&str; 5] = [
        "queue_window",
        "queue_timeout",
        "queue_poll",
        "rollout_timeout",
        "wait_for_lock",
    ];
    match command {
        "merged" | "released" | "promote" | "deploy" | "rollback" | "plan" => Vec::new(),
        "config" => vec!["yes"],
        "lock" | "approve" => RUN_KNOBS.to_vec(),
        "demo" => [
            RUN_KNOBS.as_slice(),
            &["yes", "config", "kubeconfig", "context"],
        ]
        .concat(),
        _ => [RUN_KNOBS.as_slice(), &["yes"]].concat(),
    }
}

/// The heading global options are listed under in every command's help, after its own.
pub const GLOBAL: &str = "Global options";

/// Options both `neuro-deploy` and `neuro-deploy-codefresh` take.
#[derive(Debug, Args)]
#[command(next_help_heading = GLOBAL)]
pub struct CommonArgs {
    /// Configuration file (default ./neuro-deploy.toml when present, else built-in defaults).
    #[arg(long, global = true, env = "NEURO_DEPLOY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Result format on stdout.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_enum,
        default_value_t = OutputFormat::Text,
        env = "NEURO_DEPLOY_OUTPUT"
    )]
    pub output: OutputFormat,
    /// Kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else in-cluster).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kube context for environments without `kube_context` and for `deploy --namespace`;
    /// contradicting an environment's `kube_context` is invalid input.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Gather facts and evaluate every gate, but write nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// More logs on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl CommonArgs {
    /// Which cluster `--kubeconfig` and `--context` name.
    pub fn cluster_choice(&self) -> neuro_deploy_kube::ClusterChoice {
        neuro_deploy_kube::ClusterChoice {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Sentences and tables.
    Text,
    /// One JSON document.
    Json,
}

fn duration(text: &str) -> Result<Duration, neuro_deploy_core::InputError> {
    neuro_deploy_core::config::parse_duration(text)
}

pub(crate) fn version(text: &str) -> Result<Version, neuro_deploy_core::VersionError> {
    Version::parse(text)
}

fn release_tag(text: &str) -> Result<ReleaseTag, neuro_deploy_core::VersionError> {
    ReleaseTag::parse(text)
}

pub(crate) fn sha(text: &str) -> Result<GitSha, neuro_deploy_core::VersionError> {
    GitSha::parse(text)
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// An event to act on.
    #[command(flatten)]
    Event(EventCommand),
    /// What an event would do, offline (or on live facts: --live).
    ///
    /// Contacts nothing and needs no credentials: facts are unknown, so the plan shows both
    /// branches where one depends on them. With `--live` it reads what a run reads (the
    /// cluster, the registry, the queues once, GitHub) and decides on it, writing nothing: the
    /// same as the event with `--dry-run`, with what changed (the commits between the version
    /// running and the one coming).
    Plan {
        /// Read the facts and decide on them (the event's `--dry-run`); writes nothing.
        #[arg(long)]
        live: bool,
        /// The event.
        #[command(subcommand)]
        event: EventCommand,
    },
    /// Per environment: namespace, version, ready, rollout, last deploy.
    Status {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// Depth of every configured queue in every region.
    ///
    /// Exit 0 when every queue was read and is empty, 3 when every queue was read and one is
    /// busy, 1 when a queue could not be read (the reason is printed).
    Queues,
    /// Who deployed what, where, when, and how it ended.
    ///
    /// From GitHub Deployments with `[git] deployments = true`, else from the audit annotations
    /// on the Deployments (there only the last change of each environment is known).
    History {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// At most this many entries (1 to 100).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
        limit: u16,
    },
    /// Run an environment's checks now and record a pass.
    ///
    /// Runs `[environments.verify]` against what runs there and records a pass on its
    /// Deployments (what a promotion from it requires). Exit 0 passed, 3 failed (nothing is
    /// rolled back).
    Verify {
        /// Environment name.
        #[arg(long)]
        env: String,
    },
    /// Record what runs in an environment now as a GitHub Deployment.
    ///
    /// For a deploy whose record could not be written (status `success`). Needs
    /// `[git] deployments = true`.
    Record {
        /// Environment name.
        #[arg(long)]
        env: String,
    },
    /// The hotfix flow.
    Hotfix {
        /// Step.
        #[command(subcommand)]
        action: HotfixCommand,
    },
    /// Configuration.
    Config {
        /// Action.
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Preflight: can every environment be reached and deployed to?
    ///
    /// Clusters reachable, every RBAC verb allowed, the ECR repository and the queues readable,
    /// the GitHub token able to read the repository.
    Doctor,
    /// Print the RBAC that makes the guardrails hold: who may write what.
    ///
    /// Per environment's namespace: the records an administrator creates beforehand, and a
    /// Role and RoleBinding for the deployer (the Deployments, the lock, reading the records,
    /// creating quarantine entries — never a freeze, a clearance or an approval), the operators
    /// (the decisions, the lock) and each of `[environments.approvals] approvers` (their own
    /// approval record only). `neuro-deploy rbac --deployer serviceaccount:ci:neuro-deploy
    /// --operators group:sre | kubectl apply -f -`.
    Rbac {
        /// One environment (default: every one).
        #[arg(long)]
        env: Option<String>,
        /// The identity that deploys: `user:NAME`, `group:NAME` or
        /// `serviceaccount:NAMESPACE:NAME`.
        #[arg(long)]
        deployer: String,
        /// Who freezes, unfreezes, clears quarantines and breaks the lock (same forms).
        #[arg(long, num_args = 1..)]
        operators: Vec<String>,
    },
    /// Print a shell completion script.
    ///
    /// `source <(neuro-deploy completion bash)`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    ///
    /// `neuro-deploy man > neuro-deploy.1 && man -l neuro-deploy.1`.
    Man,
    /// Freeze an environment: only `rollback` writes there until unfrozen.
    ///
    /// The freeze is kept in the environment's ConfigMap `neuro-deploy`, so every operator and
    /// CI run sees it; with `--for` it ends by itself. There is no override: `unfreeze`, on
    /// the record, is the way.
    Freeze {
        /// The environment.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        env: Option<String>,
        /// Every configured environment.
        #[arg(long)]
        all: bool,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// End the freeze by itself after this long (e.g. `2h`).
        #[arg(long = "for", value_parser = duration)]
        duration: Option<Duration>,
    },
    /// Approve a version for an environment that requires approvals.
    ///
    /// Records your approval of the version and the digest it would deploy in the ConfigMap
    /// `neuro-deploy`, as who your own credentials are on that cluster (`SelfSubjectReview`).
    Approve {
        /// The version (a release tag or a git SHA).
        #[arg(value_parser = version)]
        version: Version,
        /// The environment.
        #[arg(long)]
        env: String,
        /// Why (recorded with the approval).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Approvals that count now: who approved which version, until when.
    Approvals {
        /// Action.
        #[command(subcommand)]
        action: ApprovalsCommand,
    },
    /// Who may approve: add or remove one approver (an administrator's).
    ///
    /// Creates or deletes the approver's record, Role and RoleBinding in an environment's
    /// namespace, with your own credentials.
    Approvers {
        /// Action.
        #[command(subcommand)]
        action: ApproversCommand,
    },
    /// Versions quarantined where they failed: list them, clear one.
    Quarantine {
        /// Action.
        #[command(subcommand)]
        action: QuarantineCommand,
    },
    /// Lift an environment's freeze, on the record.
    Unfreeze {
        /// The environment.
        #[arg(long)]
        env: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
    },
    /// Who holds an environment's deploy lock; break a stuck one.
    ///
    /// The lock is the Lease `neuro-deploy` in the environment's namespace.
    Lock {
        /// Action.
        #[command(subcommand)]
        action: LockCommand,
    },
    /// A read-only web page: the pipeline, its gates, queues and history.
    ///
    /// Prints its URL first, then serves until Ctrl-C. Reads the world with your own
    /// credentials every --refresh and changes nothing (only GET and HEAD are answered). Listens
    /// on loopback unless --allow-remote, which then requires the bearer token it prints.
    Dashboard(DashboardArgs),
    /// The whole release process on a simulated world, offline.
    ///
    /// Merge → dev, release → staging (retagged), a queue wait before production, a failed
    /// rollout rolled back, a hotfix. Nothing but 127.0.0.1 is contacted; no config, kubeconfig
    /// or credential is read (so `--config`, `--kubeconfig` and `--context` are not offered).
    Demo {
        /// Instead of the story, open a prompt on the same world: any neuro-deploy command,
        /// plus `queue push|pop REGION`, `release TAG`, `break-image TAG`, `help`, `exit`.
        #[arg(long)]
        shell: bool,
    },
}

/// `quarantine`.
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// The quarantined versions of every environment (or one), cleared ones included.
    List {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// Let a quarantined version be deployed to an environment again, on the record.
    Clear {
        /// The version (as its image is tagged, e.g. `v1.5.0` or `abc1234`).
        version: String,
        /// The environment.
        #[arg(long)]
        env: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
    },
}

/// `approvals`.
#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// The unexpired approvals of every environment that requires them (or one).
    List {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
}

/// `approvers`.
#[derive(Debug, Subcommand)]
pub enum ApproversCommand {
    /// Let USER approve in the environment: their record (only they may write it), Role and
    /// RoleBinding. Their approvals count once USER is in `approvers` of the configuration.
    Add {
        /// The Kubernetes user name (as `kubectl auth whoami` names them).
        user: String,
        /// Environment name.
        #[arg(long)]
        env: String,
    },
    /// Take it back: delete the record (and the approvals in it), the Role and RoleBinding.
    Remove {
        /// The Kubernetes user name.
        user: String,
        /// Environment name.
        #[arg(long)]
        env: String,
    },
}

/// `lock`.
#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Who holds the lock, since when, and when it was last renewed.
    Status {
        /// Only this environment (default: every environment).
        #[arg(long)]
        env: Option<String>,
    },
    /// Clear a lock nobody renews any more.
    ///
    /// The lock is watched unchanged for its whole duration first; with `--force`, any lock.
    /// Recorded on the Lease, in the log and in the report.
    Break {
        /// Environment name.
        #[arg(long)]
        env: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// Break it even if its holder still renews it (asks on a terminal; needs `--yes` elsewhere).
        #[arg(long)]
        force: bool,
    },
}

/// `hotfix`.
#[derive(Debug, Subcommand)]
pub enum HotfixCommand {
    /// Create `hotfix/<next patch>` at the commit of the release production runs.
    Start {
        /// Branch off this release instead of the one production runs.
        #[arg(long, value_parser = release_tag)]
        from: Option<ReleaseTag>,
    },
    /// Create the release TAG targeting its hotfix branch.
    ///
    /// GitHub generates the release notes.
    Release {
        /// The new patch tag, e.g. v1.4.1.
        tag: String,
    },
}

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and explain it.
    Check,
    /// Print the effective configuration, defaults included.
    Show,
}
