//! [`RunOptions`]: everything about one run that is not the event or the configuration — who
//! runs it, when, whether it is a dry run, the CI run's page, and the operator's overrides of
//! closed gates.

use serde::{Deserialize, Serialize};

/// Who runs, when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// `user@host`.
    pub identity: String,
    /// A unique id for this run (lock holder and audit).
    pub run_id: String,
    /// When the run started (written to `neuro-deploy.io/deployed-at`).
    #[serde(with = "crate::model::time::serde_instant")]
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Gather facts and evaluate gates, write nothing.
    pub dry_run: bool,
    /// The CI run's page, when known (linked from the deploy's record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// The operator's reasons to let this run through closed gates, by the gate's flag
    /// (`override-window` …; see [`crate::policy::override_flags`]): recorded on
    /// the deploy.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub overrides: crate::policy::Overrides,
}

impl RunOptions {
    /// A live run by `identity` (`user@host`), with a unique `run_id`, started at `started_at`
    /// (the core reads no clock of its own).
    pub fn new(
        identity: impl Into<String>,
        run_id: impl Into<String>,
        started_at: chrono::DateTime<chrono::Utc>,
    ) -> RunOptions {
        RunOptions {
            identity: identity.into(),
            run_id: run_id.into(),
            started_at,
            dry_run: false,
            run_url: None,
            overrides: crate::policy::Overrides::new(),
        }
    }

    /// Gathers the facts and judges every gate, but writes nothing.
    pub fn dry_run(mut self) -> RunOptions {
        self.dry_run = true;
        self
    }

    /// Lets the run through the gate whose flag is `flag` (`override-window` …, see
    /// [`crate::policy::override_flags`]) for `reason`, which is recorded on the deploy.
    pub fn overriding(mut self, flag: &str, reason: impl Into<String>) -> RunOptions {
        self.overrides.insert(flag.to_owned(), reason.into());
        self
    }

    /// The lock holder and `deployed-by` value: `user@host/run-id`.
    pub fn holder(&self) -> String {
        format!("{}/{}", self.identity, self.run_id)
    }

    /// The `deployed-by` record: the holder, and the user the run's credentials authenticate
    /// as on the cluster when known (`alice (codefresh)/RUN as system:serviceaccount:ci:neuro-deploy`).
    pub fn deployed_by(&self, authenticated: Option<&String>) -> String {
        match authenticated {
            Some(user) => format!("{} as {user}", self.holder()),
            None => self.holder(),
        }
    }
}
