//! Reason codes, exit codes, and the error vocabulary adapters convert into.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// The environment's checks failed after the rollout (the previous images were restored).
    VerificationFailed,
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
    pub const ALL: [ReasonCode; 18] = [
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
        ReasonCode::VerificationFailed,
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
            ReasonCode::VerificationFailed => "verification_failed",
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

    /// The process exit code for a run that ended with this reason.
    pub fn exit_code(self) -> ExitStatus {
        match self {
            ReasonCode::NotReleaseBranch
            | ReasonCode::DraftRelease
            | ReasonCode::AlreadyDeployed => ExitStatus::Done,
            ReasonCode::InvalidInput
            | ReasonCode::NotARelease
            | ReasonCode::ProductionRequiresPromotion
            | ReasonCode::ConfirmationRequired => ExitStatus::InvalidInput,
            ReasonCode::LockHeld => ExitStatus::LockHeld,
            ReasonCode::VerificationFailed => ExitStatus::RolledBack,
            ReasonCode::QueueNotDrained
            | ReasonCode::NotVerifiedOnStaging
            | ReasonCode::ImageMissing
            | ReasonCode::Downgrade
            | ReasonCode::ImmutableTag
            | ReasonCode::NoWorkloads
            | ReasonCode::NoPreviousVersion
            | ReasonCode::WorkloadPaused
            | ReasonCode::RolloutFailing => ExitStatus::Refused,
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Process exit codes, shared by every binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// 0: done (including no-op and ignored).
    Done = 0,
    /// 1: unexpected failure after retries.
    Failed = 1,
    /// 2: invalid input or config; nothing changed.
    InvalidInput = 2,
    /// 3: refused by a gate; nothing changed.
    Refused = 3,
    /// 4: the rollout (or the checks after it) failed and was rolled back.
    RolledBack = 4,
    /// 5: another deploy holds the lock.
    LockHeld = 5,
    /// 6: the rollout failed and the rollback failed too (or the lock was lost after a write);
    /// an operator is needed.
    RollbackFailed = 6,
    /// 7: interrupted by a signal; what the run changed was restored and the lock released.
    Interrupted = 7,
}

impl ExitStatus {
    /// Every exit code, in order.
    pub const ALL: [ExitStatus; 8] = [
        ExitStatus::Done,
        ExitStatus::Failed,
        ExitStatus::InvalidInput,
        ExitStatus::Refused,
        ExitStatus::RolledBack,
        ExitStatus::LockHeld,
        ExitStatus::RollbackFailed,
        ExitStatus::Interrupted,
    ];

    /// One line for people: what the code means.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Done => "done (including no-op and ignored events)",
            ExitStatus::Failed => "unexpected failure after retries",
            ExitStatus::InvalidInput => "invalid input or config; nothing changed",
            ExitStatus::Refused => {
                "refused by a gate (queues, staging verification, image, downgrade, failing rollout); nothing changed"
            }
            ExitStatus::RolledBack => "rollout or its verification failed and was rolled back",
            ExitStatus::LockHeld => "another deploy holds the namespace lock",
            ExitStatus::RollbackFailed => {
                "rollout failed and the rollback failed too, or the lock was lost after a write: an operator is needed"
            }
            ExitStatus::Interrupted => {
                "interrupted (SIGINT/SIGTERM); what this run changed was restored and the lock released"
            }
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit-code table for `--help` and docs, one line per code.
    pub fn table() -> String {
        let mut text = String::from("Exit codes:\n");
        for code in ExitStatus::ALL {
            text.push_str(&format!("  {}  {}\n", code.code(), code.meaning()));
        }
        text
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

/// A value given by a person (a flag, a config key) that cannot be used; the message says what
/// is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not an RFC 1123 label.
    #[error(
        "`{0}` is not a valid namespace: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
    )]
    Namespace(String),
    /// Not an environment name.
    #[error(
        "`{0}` is not a valid environment name: use lowercase letters, digits, `-` and `_`, starting with a letter"
    )]
    EnvironmentName(String),
    /// Not a duration.
    #[error("`{text}` is not a duration ({why}); write it like `20s`, `10m` or `1h`")]
    Duration {
        /// What was given.
        text: String,
        /// Why it does not parse.
        why: String,
    },
    /// A hotfix tag that is not the next patch of its base release.
    #[error("`{tag}` is not a patch release after `{base}`; a hotfix of {base} is tagged {next}")]
    NotAPatch {
        /// The tag given.
        tag: String,
        /// The release it fixes.
        base: String,
        /// What it should be.
        next: String,
    },
}

impl InputError {
    /// The given text as shown in a message: at most 80 characters.
    pub fn shown(text: &str) -> String {
        text.chars().take(80).collect()
    }
}

/// The underlying error an adapter saw (an SDK's, a transport's), kept as the cause.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an adapter reports when a call fails. Adapters convert their SDK errors into this and
/// keep the SDK's error as the `source` (reachable through [`std::error::Error::source`]);
/// messages never carry a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The service refused the credentials or permissions.
    #[error("{service}: {operation} was not authorized: {message}")]
    Unauthorized {
        /// `ecr`, `sqs`, `kubernetes`, `github`, `codefresh`.
        service: &'static str,
        /// What was attempted.
        operation: String,
        /// What to check.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// Something the call needs does not exist.
    #[error("{service}: {what} was not found")]
    NotFound {
        /// Which service.
        service: &'static str,
        /// What is missing, named fully (repository and tag, queue and region …).
        what: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// The service refused for a reason the user must act on.
    #[error("{message}")]
    Refused {
        /// A stable reason code.
        code: ReasonCode,
        /// What happened and what to do.
        message: String,
    },
    /// The call took longer than its timeout.
    #[error(
        "{service}: {operation} timed out after {seconds:.1}s; check that the endpoint is reachable"
    )]
    Timeout {
        /// Which service.
        service: &'static str,
        /// What was attempted.
        operation: String,
        /// The bound that passed.
        seconds: f64,
    },
    /// Optimistic concurrency lost (someone else wrote first).
    #[error("{service}: {operation} conflicted with a concurrent change")]
    Conflict {
        /// Which service.
        service: &'static str,
        /// What was attempted.
        operation: String,
    },
    /// The request got no answer (the connection broke, or the server failed mid-request): a
    /// write may or may not have taken effect, so it counts as applied.
    #[error(
        "{service}: {operation} got no answer ({message}); it may or may not have taken effect"
    )]
    Unanswered {
        /// Which service.
        service: &'static str,
        /// What was attempted.
        operation: String,
        /// What broke.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// Any other failure, after the adapter's retries.
    #[error("{service}: {operation} failed: {message}")]
    Failed {
        /// Which service.
        service: &'static str,
        /// What was attempted.
        operation: String,
        /// What the service said (error code, request id).
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Cause>,
    },
}

impl AdapterError {
    /// A generic failure.
    pub fn failed(
        service: &'static str,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AdapterError::Failed {
            service,
            operation: operation.into(),
            message: message.into(),
            source: None,
        }
    }

    /// The same error, keeping `cause` as its source (for the kinds that carry one).
    pub fn caused_by(mut self, cause: impl Into<Cause>) -> Self {
        match &mut self {
            AdapterError::Unauthorized { source, .. }
            | AdapterError::NotFound { source, .. }
            | AdapterError::Unanswered { source, .. }
            | AdapterError::Failed { source, .. } => *source = Some(cause.into()),
            AdapterError::Refused { .. }
            | AdapterError::Timeout { .. }
            | AdapterError::Conflict { .. } => {}
        }
        self
    }

    /// Whether trying again later may succeed: a timeout, no answer, or a lost race. Refusals,
    /// missing things and permissions need someone to act first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdapterError::Timeout { .. }
                | AdapterError::Unanswered { .. }
                | AdapterError::Conflict { .. }
        )
    }

    /// The exit status a run ending with this error has: a refusal's, else an unexpected
    /// failure (1).
    pub fn exit_status(&self) -> ExitStatus {
        self.reason_code()
            .map_or(ExitStatus::Failed, ReasonCode::exit_code)
    }

    /// Whether a write that failed this way may still have been applied (a timeout, or no
    /// answer): the executor then counts it as applied and restores it.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            AdapterError::Timeout { .. } | AdapterError::Unanswered { .. }
        )
    }

    /// The reason code this error carries, when it is a refusal.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            AdapterError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case_and_serialize_as_written() {
        for code in ReasonCode::ALL {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
    }

    #[test]
    fn an_sdk_error_stays_reachable_as_the_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let error = AdapterError::failed("sqs", "reading queue depth", "the connection broke")
            .caused_by(io);
        let source = error.source().expect("the cause is kept");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("as the SDK's own type");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(!error.is_retryable());
        assert_eq!(error.exit_status(), ExitStatus::Failed);
    }

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(ReasonCode::QueueNotDrained.exit_code().code(), 3);
        assert_eq!(ReasonCode::NotARelease.exit_code().code(), 2);
        assert_eq!(ReasonCode::LockHeld.exit_code().code(), 5);
        assert_eq!(ReasonCode::AlreadyDeployed.exit_code().code(), 0);
        assert!(ReasonCode::DraftRelease.is_ignore());
        assert!(!ReasonCode::Downgrade.is_ignore());
        assert_eq!(ReasonCode::RolloutFailing.exit_code().code(), 3);
        for (i, code) in ExitStatus::ALL.iter().enumerate() {
            assert_eq!(usize::from(code.code()), i);
        }
        assert_eq!(ExitStatus::Interrupted.code(), 7);
    }
}
