//! Process exit statuses, shared by every binary, with the meaning `--help` and the README show.

use serde::{Deserialize, Serialize};

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
            ExitStatus::Refused => "refused (a gate, a rule, or no confirmation); nothing changed",
            ExitStatus::RolledBack => "rollout or its verification failed and was rolled back",
            ExitStatus::LockHeld => "another deploy holds the namespace lock",
            ExitStatus::RollbackFailed => {
                "rollback failed too, or the lock lost after a write: operator needed"
            }
            ExitStatus::Interrupted => {
                "interrupted (SIGINT/SIGTERM); what it changed restored, the lock released"
            }
        }
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Every exit status with its meaning, as the README's Markdown table.
    pub fn markdown_table() -> String {
        let mut out = String::from("| exit | meaning |\n|---:|---|\n");
        for status in ExitStatus::ALL {
            out.push_str(&format!("| {} | {} |\n", status.code(), status.meaning()));
        }
        out
    }
}
