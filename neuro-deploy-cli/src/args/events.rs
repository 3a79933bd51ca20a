//! The events' arguments (`merged`, `released`, `promote`, `deploy`, `rollback`, and `plan`
//! of each): what CI calls and operators ask for.

use clap::{Args, Subcommand};
use neuro_deploy_core::{GitSha, Version};

use super::{sha, version};

/// Events (what CI calls, and what operators ask for).
#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// A merge landed: deploy its short SHA to dev.
    Merged(MergedArgs),
    /// A release was published: retag (or build), deploy to staging.
    Released(ReleasedArgs),
    /// Promote a release verified on staging to production.
    Promote(PromoteArgs),
    /// Deploy any version to a non-production environment or namespace.
    Deploy(DeployArgs),
    /// Go back to the version recorded before the last deploy.
    Rollback(RollbackArgs),
}

/// The flags that let a run through a closed gate on the record (`--override-window` …; some
/// only on `promote`), each with `--reason TEXT`: made from the core's list of gates
/// ([`neuro_deploy_core::policy::override_flags`]), so a new gate's flag needs nothing here.
/// `PROMOTION`: whether the command is `promote` (some flags are only for promotions).
#[derive(Debug, Clone, Default)]
pub struct GateOverrideArgs<const PROMOTION: bool> {
    /// Flag (`override-window`) → the reason given.
    pub overrides: neuro_deploy_core::policy::Overrides,
}

impl<const PROMOTION: bool> GateOverrideArgs<PROMOTION> {
    fn flags() -> Vec<neuro_deploy_core::policy::OverrideFlag> {
        neuro_deploy_core::policy::override_flags()
            .into_iter()
            .filter(|flag| PROMOTION || !flag.promotion_only)
            .collect()
    }
}

impl<const PROMOTION: bool> clap::FromArgMatches for GateOverrideArgs<PROMOTION> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        let reason = matches
            .get_one::<String>("reason")
            .cloned()
            .unwrap_or_default();
        for flag in Self::flags() {
            if matches.get_flag(flag.flag) {
                self.overrides.insert(flag.flag.to_owned(), reason.clone());
            }
        }
        Ok(())
    }
}

impl<const PROMOTION: bool> Args for GateOverrideArgs<PROMOTION> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let flags = Self::flags();
        let mut cmd = cmd.group(
            clap::ArgGroup::new("gate_override")
                .args(flags.iter().map(|flag| flag.flag))
                .multiple(true),
        );
        for flag in &flags {
            cmd = cmd.arg(
                clap::Arg::new(flag.flag)
                    .long(flag.flag)
                    .action(clap::ArgAction::SetTrue)
                    .requires("reason")
                    .help(flag.help),
            );
        }
        cmd.arg(
            clap::Arg::new("reason")
                .long("reason")
                .value_name("REASON")
                .requires("gate_override")
                .help("Why the gate is overridden (recorded on the deploy)"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// `merged`.
#[derive(Debug, Args)]
pub struct MergedArgs {
    /// Merge commit.
    #[arg(long, value_parser = sha)]
    pub sha: GitSha,
    /// Branch merged into (default: the configured main branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// Overrides of closed gates, on the record.
    #[command(flatten)]
    pub overrides: GateOverrideArgs<false>,
}

/// `released`.
#[derive(Debug, Args)]
pub struct ReleasedArgs {
    /// Release tag (SemVer, e.g. v1.4.0).
    #[arg(long)]
    pub tag: String,
    /// The tag's commit (looked up on GitHub when omitted and `git.repository` is set).
    #[arg(long, value_parser = sha)]
    pub sha: Option<GitSha>,
    /// Branch the release targets (looked up on GitHub when omitted).
    #[arg(long)]
    pub target: Option<String>,
    /// The release is a pre-release.
    #[arg(long)]
    pub prerelease: bool,
    /// The release is a draft (ignored).
    #[arg(long)]
    pub draft: bool,
    /// Overrides of closed gates, on the record.
    #[command(flatten)]
    pub overrides: GateOverrideArgs<false>,
}

/// `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Release to promote (the exact version verified on staging).
    #[arg(value_parser = version)]
    pub version: Version,
    /// Target environment (default: the production environment).
    #[arg(long)]
    pub to: Option<String>,
    /// Allow a version older than what runs there now.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Overrides of closed gates, on the record.
    #[command(flatten)]
    pub overrides: GateOverrideArgs<true>,
}

/// `deploy`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["env", "namespace"]))]
pub struct DeployArgs {
    /// Version: a git SHA or a release tag.
    #[arg(value_parser = version)]
    pub version: Version,
    /// Environment name.
    #[arg(long)]
    pub env: Option<String>,
    /// Namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Overrides of closed gates, on the record.
    #[command(flatten)]
    pub overrides: GateOverrideArgs<false>,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment name.
    #[arg(long)]
    pub env: String,
    /// Emergency: roll back while jobs are queued. The queues are read once and recorded (in
    /// the report and on the Deployments) with `--reason`; nothing else ever skips the gate.
    #[arg(long, requires = "reason")]
    pub skip_queue_gate: bool,
    /// Why the queue gate is skipped (recorded).
    #[arg(long, requires = "skip_queue_gate")]
    pub reason: Option<String>,
}
