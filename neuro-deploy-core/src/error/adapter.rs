//! [`AdapterError`]: the vocabulary adapters convert their SDK errors into, with the
//! classifiers callers use instead of matching strings.

use super::exit::ExitStatus;
use super::reason::ReasonCode;

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
    /// The request got no answer (the connection broke, or the server failed mid-request). A
    /// write that ends this way may or may not have taken effect, so the executor counts it as
    /// applied and says so; a read changed nothing either way.
    #[error("{service}: {operation} got no answer ({message})")]
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
    /// No connection could be made (refused, no route), so nothing was sent: a write certainly
    /// did not take effect, and trying again later may succeed.
    #[error("{service}: {operation} could not be sent: {message}")]
    Unreachable {
        /// Which service.
        service: &'static str,
        /// What was attempted.
        operation: String,
        /// What to check.
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
            | AdapterError::Unreachable { source, .. }
            | AdapterError::Failed { source, .. } => *source = Some(cause.into()),
            AdapterError::Refused { .. }
            | AdapterError::Timeout { .. }
            | AdapterError::Conflict { .. } => {}
        }
        self
    }

    /// Whether trying again later may succeed: a timeout, no answer, no connection, or a lost
    /// race. Refusals, missing things and permissions need someone to act first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AdapterError::Timeout { .. }
                | AdapterError::Unanswered { .. }
                | AdapterError::Unreachable { .. }
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
