//! Per-run overrides: the flags that replace a config key for one run (`--queue-window`,
//! `--queue-timeout`, `--queue-poll`, `--rollout-timeout`, `--wait-for-lock`), applied in this
//! one place and validated like the file.

use std::time::Duration;

use super::{Config, ConfigError};

/// What one run's flags replace; `None` keeps the config's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOverrides {
    /// Replaces `queues.window` (`--queue-window`).
    pub queue_window: Option<Duration>,
    /// Replaces `queues.timeout` (`--queue-timeout`).
    pub queue_timeout: Option<Duration>,
    /// Replaces `queues.poll` (`--queue-poll`).
    pub queue_poll: Option<Duration>,
    /// Replaces `rollout.timeout` (`--rollout-timeout`).
    pub rollout_timeout: Option<Duration>,
    /// Replaces `lock.wait` (`--wait-for-lock`).
    pub lock_wait: Option<Duration>,
}

impl Config {
    /// The configuration with `overrides` applied, validated again as a whole (an override
    /// is named `command line` in messages).
    pub fn with_overrides(mut self, overrides: RunOverrides) -> Result<Config, ConfigError> {
        let RunOverrides {
            queue_window,
            queue_timeout,
            queue_poll,
            rollout_timeout,
            lock_wait,
        } = overrides;
        set(&mut self.queues.window, queue_window);
        set(&mut self.queues.timeout, queue_timeout);
        set(&mut self.queues.poll, queue_poll);
        set(&mut self.rollout.timeout, rollout_timeout);
        set(&mut self.lock.wait, lock_wait);
        self.validate("command line")?;
        Ok(self)
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}
