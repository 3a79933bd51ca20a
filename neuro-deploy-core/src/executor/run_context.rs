//! [`RunContext`]: who runs, when, and how (a dry run, the CI run's page).

use serde::{Deserialize, Serialize};

/// Who runs, when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
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

impl RunContext {
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
