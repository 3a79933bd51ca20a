//! The error vocabulary, one concept a file: [`reason`] codes, [`exit`] statuses, the
//! [`adapter`] errors SDK failures become, [`input`] errors for what a person typed, why an
//! operation [`stopped`] (a rule's refusal or an adapter's failure), and the cause [`chain`]
//! the binaries show under a failure.

pub mod adapter;
pub mod chain;
pub mod exit;
pub mod input;
pub mod reason;
pub mod stopped;

pub use adapter::{AdapterError, Cause};
pub use chain::{any_cause, causes, one_line};
pub use exit::ExitStatus;
pub use input::InputError;
pub use reason::{Reason, ReasonCode, exit_codes_help};
pub use stopped::Stopped;

#[cfg(test)]
mod tests {
    use super::{AdapterError, ExitStatus, ReasonCode};

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
        assert_eq!(ReasonCode::NotARelease.exit_code().code(), 3);
        assert_eq!(ReasonCode::InvalidInput.exit_code().code(), 2);
        // One rule: `invalid_input` is 2, every other refusal 3 (but a held lock and failed
        // verification, which have their own), ignores 0.
        for code in ReasonCode::ALL {
            let expected = match code {
                ReasonCode::InvalidInput => 2,
                ReasonCode::LockHeld => 5,
                ReasonCode::VerificationFailed => 4,
                code if code.is_ignore() => 0,
                _ => 3,
            };
            assert_eq!(code.exit_code().code(), expected, "{code}");
        }
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
