//! Who runs (for the lock holder and the audit trail) and the context of one run.

use std::time::{SystemTime, UNIX_EPOCH};

use neuro_deploy_core::RunContext;

/// Who is running, for the lock holder and the audit trail: `user@host`.
pub fn identity() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host}")
}

/// A run context with a fresh run id and the current time.
pub fn run_context(dry_run: bool) -> RunContext {
    let now = SystemTime::now();
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    RunContext {
        identity: identity(),
        run_id: format!("{:x}-{:x}", nanos % 0xffff_ffff_ffff, std::process::id()),
        started_at: humantime::format_rfc3339_seconds(now).to_string(),
        dry_run,
    }
}
