//! Reason codes: why a run was refused or ignored, as a stable code for machines and a
//! sentence for people.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::exit::ExitStatus;

/// A stable, machine-readable reason for a refusal or an ignore.
///
/// Codes appear in JSON reports (`reason`) and text output. They are never renamed; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    // ---- refusals ----
    /// A configured queue held visible, in-flight or delayed messages (or could not be read).
    QueueNotDrained,
    /// The promotion source does not run the version with a complete rollout.
    NotVerifiedOnStaging,
    /// The registry has no image for the version, and none may be built.
    ImageMissing,
    /// The version is older than what the environment runs.
    Downgrade,
    /// A release was required, but the version or tag is not SemVer.
    NotARelease,
    /// Production takes versions only through `promote`.
    ProductionRequiresPromotion,
    /// Another run holds the namespace's lock.
    LockHeld,
    /// Production needs `--yes` or an interactive confirmation.
    ConfirmationRequired,
    /// An argument or setting is malformed.
    InvalidInput,
    /// The registry refuses to move an existing tag (immutable repository).
    ImmutableTag,
    /// No Deployment in the namespace matches the selector.
    NoWorkloads,
    /// Rollback needs a recorded previous version, and the workloads have none (or disagree).
    NoPreviousVersion,
    /// A Deployment is paused, so a rollout would never finish.
    WorkloadPaused,
    /// The images are already set, but their rollout is failing; this run changed nothing.
    RolloutFailing,
    /// The environment is frozen: nothing but `rollback` writes there until it is unfrozen.
    Frozen,
    /// The version failed in this environment (or was rolled back from) and is quarantined
    /// there until someone clears it.
    VersionQuarantined,
    /// The environment's deploy windows are closed now (an active deny window, or no allow
    /// window active); `--override-window --reason` lets an urgent fix through.
    OutsideDeployWindow,
    /// The promotion lacks the approvals the environment requires (distinct people, of this
    /// version and digest, not the promoter).
    ApprovalRequired,
    /// The environment's checks failed after the rollout (the previous images were restored).
    VerificationFailed,
    /// The version has not run in the promotion source for the target's `min_soak` (or when it
    /// was deployed there is not recorded); `--skip-soak --reason` lets an urgent fix through.
    SoakNotMet,
    // ---- ignores ----
    /// The branch is not one that deploys.
    NotReleaseBranch,
    /// Draft releases are not deployed.
    DraftRelease,
    /// The environment already runs the version with a complete rollout.
    AlreadyDeployed,
}

impl ReasonCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ReasonCode; 23] = [
        ReasonCode::QueueNotDrained,
        ReasonCode::NotVerifiedOnStaging,
        ReasonCode::ImageMissing,
        ReasonCode::Downgrade,
        ReasonCode::NotARelease,
        ReasonCode::ProductionRequiresPromotion,
        ReasonCode::LockHeld,
        ReasonCode::ConfirmationRequired,
        ReasonCode::InvalidInput,
        ReasonCode::ImmutableTag,
        ReasonCode::NoWorkloads,
        ReasonCode::NoPreviousVersion,
        ReasonCode::WorkloadPaused,
        ReasonCode::RolloutFailing,
        ReasonCode::Frozen,
        ReasonCode::VersionQuarantined,
        ReasonCode::OutsideDeployWindow,
        ReasonCode::ApprovalRequired,
        ReasonCode::VerificationFailed,
        ReasonCode::SoakNotMet,
        ReasonCode::NotReleaseBranch,
        ReasonCode::DraftRelease,
        ReasonCode::AlreadyDeployed,
    ];

    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::QueueNotDrained => "queue_not_drained",
            ReasonCode::NotVerifiedOnStaging => "not_verified_on_staging",
            ReasonCode::ImageMissing => "image_missing",
            ReasonCode::Downgrade => "downgrade",
            ReasonCode::NotARelease => "not_a_release",
            ReasonCode::ProductionRequiresPromotion => "production_requires_promotion",
            ReasonCode::LockHeld => "lock_held",
            ReasonCode::ConfirmationRequired => "confirmation_required",
            ReasonCode::InvalidInput => "invalid_input",
            ReasonCode::ImmutableTag => "immutable_tag",
            ReasonCode::NoWorkloads => "no_workloads",
            ReasonCode::NoPreviousVersion => "no_previous_version",
            ReasonCode::WorkloadPaused => "workload_paused",
            ReasonCode::RolloutFailing => "rollout_failing",
            ReasonCode::Frozen => "frozen",
            ReasonCode::VersionQuarantined => "version_quarantined",
            ReasonCode::OutsideDeployWindow => "outside_deploy_window",
            ReasonCode::ApprovalRequired => "approval_required",
            ReasonCode::VerificationFailed => "verification_failed",
            ReasonCode::SoakNotMet => "soak_not_met",
            ReasonCode::NotReleaseBranch => "not_release_branch",
            ReasonCode::DraftRelease => "draft_release",
            ReasonCode::AlreadyDeployed => "already_deployed",
        }
    }

    /// Whether this code means "nothing to do" rather than "refused".
    pub fn is_ignore(self) -> bool {
        matches!(
            self,
            ReasonCode::NotReleaseBranch | ReasonCode::DraftRelease | ReasonCode::AlreadyDeployed
        )
    }

    /// The process exit code for a run that ended with this reason — one rule: an ignore is
    /// done (0), `invalid_input` is 2, a held lock 5, failed verification (rolled back) 4, and
    /// every other refusal 3.
    pub fn exit_code(self) -> ExitStatus {
        match self {
            code if code.is_ignore() => ExitStatus::Done,
            ReasonCode::InvalidInput => ExitStatus::InvalidInput,
            ReasonCode::LockHeld => ExitStatus::LockHeld,
            ReasonCode::VerificationFailed => ExitStatus::RolledBack,
            _ => ExitStatus::Refused,
        }
    }

    /// One line for people: when a run ends with this code.
    pub fn meaning(self) -> &'static str {
        match self {
            ReasonCode::QueueNotDrained => {
                "a training queue held visible, in-flight or delayed messages (or could not be read)"
            }
            ReasonCode::NotVerifiedOnStaging => {
                "the promotion source does not run the version with a complete rollout (and passed checks)"
            }
            ReasonCode::ImageMissing => {
                "the registry has no image for the version, and none may be built"
            }
            ReasonCode::Downgrade => "the version is older than what the environment runs",
            ReasonCode::NotARelease => {
                "a release was required, but the version or tag is not SemVer"
            }
            ReasonCode::ProductionRequiresPromotion => {
                "production takes versions only through `promote`"
            }
            ReasonCode::LockHeld => "another deploy holds the namespace's lock",
            ReasonCode::ConfirmationRequired => {
                "a production change was not confirmed (`--yes`, or yes on a terminal)"
            }
            ReasonCode::InvalidInput => "an argument, a setting or a file cannot be used",
            ReasonCode::ImmutableTag => "the registry refuses to move an existing tag",
            ReasonCode::NoWorkloads => "no Deployment of the app in the namespace",
            ReasonCode::NoPreviousVersion => "nothing recorded to roll back to",
            ReasonCode::WorkloadPaused => "a Deployment is paused, so a rollout would never finish",
            ReasonCode::RolloutFailing => {
                "the images are already set but their rollout is failing; nothing changed"
            }
            ReasonCode::Frozen => {
                "the environment is frozen; only `rollback` writes there until `unfreeze`"
            }
            ReasonCode::VersionQuarantined => {
                "the version failed there (or was rolled back from) until `quarantine clear`"
            }
            ReasonCode::OutsideDeployWindow => {
                "the environment's deploy windows are closed now; `--override-window --reason` lets a fix through"
            }
            ReasonCode::ApprovalRequired => {
                "the version lacks the approvals the environment requires (`neuro-deploy approve`)"
            }
            ReasonCode::VerificationFailed => {
                "the checks after the rollout failed; the previous images were restored"
            }
            ReasonCode::SoakNotMet => {
                "the version has not run in the promotion source for `min_soak` yet; `--skip-soak --reason` lets a fix through"
            }
            ReasonCode::NotReleaseBranch => "the branch does not deploy",
            ReasonCode::DraftRelease => "draft releases are not deployed",
            ReasonCode::AlreadyDeployed => {
                "the environment already runs the version with a complete rollout"
            }
        }
    }

    /// Every code with its exit status and meaning, as the README's Markdown table.
    pub fn markdown_table() -> String {
        let mut out = String::from("| reason code | exit | when |\n|---|---:|---|\n");
        for code in ReasonCode::ALL {
            out.push_str(&format!(
                "| `{code}` | {} | {} |\n",
                code.exit_code().code(),
                code.meaning()
            ));
        }
        out
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal or ignore: a code for machines and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// What happened and what to do.
    pub message: String,
}

impl Reason {
    /// A reason.
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// The exit-code table for `--help`, one line per code, with the reason codes that end a run
/// with it (the same rule as [`ReasonCode::exit_code`]).
pub fn exit_codes_help() -> String {
    let mut text = String::from("Exit codes:\n");
    for status in ExitStatus::ALL {
        text.push_str(&format!("  {}  {}\n", status.code(), status.meaning()));
        let codes: Vec<&str> = ReasonCode::ALL
            .iter()
            .filter(|code| code.exit_code() == status)
            .map(|code| code.as_str())
            .collect();
        // Wrapped to fit 80 columns.
        let mut line = String::from("     reasons:");
        for (i, code) in codes.iter().enumerate() {
            let word = if i + 1 < codes.len() {
                format!(" {code},")
            } else {
                format!(" {code}")
            };
            if line.len() + word.len() > 80 {
                text.push_str(&line);
                text.push('\n');
                line = String::from("             ");
            }
            line.push_str(&word);
        }
        if !codes.is_empty() {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}
