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

/// `--override-window --reason TEXT` on the events that write (a rollback is never blocked).
#[derive(Debug, Args)]
pub struct WindowOverrideArgs {
    /// Deploy although the deploy windows are closed (an urgent fix); needs `--reason`, which
    /// is recorded. A freeze is never overridden: `unfreeze` it on the record.
    #[arg(long, requires = "reason")]
    pub override_window: bool,
    /// Why the deploy windows are overridden (recorded).
    #[arg(long, requires = "override_window")]
    pub reason: Option<String>,
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
    /// Deploy-window override.
    #[command(flatten)]
    pub window: WindowOverrideArgs,
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
    /// Deploy-window override.
    #[command(flatten)]
    pub window: WindowOverrideArgs,
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
    /// Deploy-window override.
    #[command(flatten)]
    pub window: WindowOverrideArgs,
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
    /// Deploy-window override.
    #[command(flatten)]
    pub window: WindowOverrideArgs,
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
