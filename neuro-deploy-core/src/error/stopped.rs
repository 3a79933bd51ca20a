//! [`Stopped`]: why an operation outside a run (a hotfix step, `verify`) did not do what was
//! asked — one of its own rules refused it, or an adapter failed. A rule's refusal is a
//! [`Reason`], never dressed up as an adapter error.

use super::adapter::AdapterError;
use super::reason::{Reason, ReasonCode};

/// Why an operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    /// A rule refused it: the reason code and what to do.
    #[error("{}", .0.message)]
    Refused(Reason),
    /// An adapter failed (or the service refused, for its own reason).
    #[error(transparent)]
    Failed(#[from] AdapterError),
}

impl Stopped {
    /// A refusal by a rule.
    pub fn refused(code: ReasonCode, message: impl Into<String>) -> Stopped {
        Stopped::Refused(Reason::new(code, message))
    }

    /// The reason code, for a refusal (a rule's, or a service's).
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            Stopped::Refused(reason) => Some(reason.code),
            Stopped::Failed(error) => error.reason_code(),
        }
    }
}
