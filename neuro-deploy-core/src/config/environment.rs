//! `[[environments]]`: where each environment lives, what deploys there ([`Trigger`]), and the
//! checks after its rollouts (`[environments.verify]`); its deploy windows are in [`super::window`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::signals::QueryCheck;
use super::window::WindowConfig;

/// How an environment is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Every merge to the main branch deploys here.
    Merge,
    /// Every published release deploys here.
    Release,
    /// Only on request (`deploy`, or `promote` when it has `promote_from`).
    Manual,
}

impl Trigger {
    /// The name written in the file.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Merge => "merge",
            Trigger::Release => "release",
            Trigger::Manual => "manual",
        }
    }
}

/// One `[[environments]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// The name people use (`dev`, `staging`, `production`).
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// What deploys here.
    pub trigger: Trigger,
    /// Set for promotion-only environments (production): only a version verified there may come here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote_from: Option<String>,
    /// The kubeconfig context of the cluster this environment lives in (default: `--context`,
    /// else the kubeconfig's current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_context: Option<String>,
    /// Wait for drained queues before deploying here (and before rolling back); defaults to
    /// whether the environment is promotion-only.
    #[serde(
        default,
        rename = "queue_gate",
        skip_serializing_if = "Option::is_none"
    )]
    queue_gate_setting: Option<bool>,
    /// Where people reach the environment (shown on its GitHub Deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `[environments.verify]`: checks that must pass after a rollout completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
    /// `[[environments.windows]]`: when deploys may go in (none: always).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowConfig>,
    /// How long a version must have run in `promote_from` before it is promoted here (none:
    /// no minimum).
    #[serde(
        default,
        with = "duration::serde",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub min_soak: Duration,
    /// `[environments.approvals]`: how many people must approve a version before it goes here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<ApprovalsConfig>,
}

/// `[environments.approvals]`: every run that writes here (but `rollback`) needs `required`
/// distinct people's unexpired approvals of the version and the digest it deploys, none by
/// whoever runs it (`neuro-deploy approve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsConfig {
    /// Distinct people, not counting whoever runs the deploy.
    pub required: u32,
    /// How long an approval counts.
    #[serde(with = "duration::serde", default = "ApprovalsConfig::default_expire")]
    pub expire: Duration,
    /// Who may approve: Kubernetes user names, as `SelfSubjectReview` names them. Approvals
    /// by anyone else do not count, and `approve` refuses them; empty, anyone's count (but the
    /// deployer's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

impl ApprovalsConfig {
    fn default_expire() -> Duration {
        Duration::from_secs(24 * 3600)
    }

    /// `required` approvals that count for a day.
    pub fn new(required: u32) -> ApprovalsConfig {
        ApprovalsConfig {
            required,
            expire: Self::default_expire(),
            approvers: Vec::new(),
        }
    }

    /// Whether an approval by `user` counts: one of the `approvers`, or anyone when none are
    /// named.
    pub fn admits(&self, user: &str) -> bool {
        self.approvers.is_empty() || self.approvers.iter().any(|a| a == user)
    }
}

/// `[environments.verify]`: after the rollout, on every probe for `for` (probed `every`, each
/// probe bounded by `timeout`), every URL must answer 2xx, every query's series must lie within
/// its bounds, and no active alert may match the matchers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// URLs probed with GET (`http://` or `https://`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// The Prometheus the queries are asked of (`http://prometheus.monitoring:9090`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    /// `[[environments.verify.queries]]`: PromQL with bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<QueryCheck>,
    /// The Alertmanager the alerts are asked of (`http://alertmanager.monitoring:9093`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<String>,
    /// Alertmanager matchers (`app="neuro-ui"`), all of which an active alert must match to
    /// fail a probe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// How long every probe must keep passing.
    #[serde(
        rename = "for",
        with = "duration::serde",
        default = "VerifyConfig::default_window"
    )]
    pub window: Duration,
    /// Time between probes.
    #[serde(with = "duration::serde", default = "VerifyConfig::default_every")]
    pub every: Duration,
    /// Bound of one probe (never more than `every`).
    #[serde(with = "duration::serde", default = "VerifyConfig::default_timeout")]
    pub timeout: Duration,
}

impl VerifyConfig {
    /// The bound of one probe: `timeout`, but never more than `every`, so probes never overlap.
    pub fn probe_timeout(&self) -> Duration {
        self.timeout.min(self.every)
    }
}

impl VerifyConfig {
    /// What every probe checks, for plans: the URLs, each query with its bounds and where it is
    /// asked, the alert matchers.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.http.is_empty() {
            parts.push(format!("{} must answer 2xx", self.http.join(", ")));
        }
        let prometheus = self.prometheus.as_deref().unwrap_or("?");
        for query in &self.queries {
            parts.push(format!(
                "`{}` (`{}` at {prometheus}) must be {}{}",
                query.name,
                query.query,
                query.bounds(),
                match query.no_data {
                    super::signals::NoData::Fail => "",
                    super::signals::NoData::Pass => " (no data passes)",
                }
            ));
        }
        if !self.alerts.is_empty() {
            parts.push(format!(
                "no active alert at {} may match {}",
                self.alertmanager.as_deref().unwrap_or("?"),
                self.alerts.join(", ")
            ));
        }
        parts.join("; ")
    }

    /// What is wrong with it, as `(key under `verify`, e.g. `.http`, problem)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut invalid = |key: String, problem: String| problems.push((key, problem));
        let web_url = |url: &str| url.starts_with("http://") || url.starts_with("https://");
        if self.http.is_empty() && self.queries.is_empty() && self.alerts.is_empty() {
            invalid(
                String::new(),
                "must check something: `http` URLs, `queries` (with `prometheus`) or `alerts` (with `alertmanager`)".to_owned(),
            );
        }
        if self.http.iter().any(|u| !web_url(u)) {
            invalid(
                ".http".to_owned(),
                "must list URLs starting with `http://` or `https://`".to_owned(),
            );
        }
        let endpoints = [
            (
                "prometheus",
                &self.prometheus,
                !self.queries.is_empty(),
                9090,
            ),
            (
                "alertmanager",
                &self.alertmanager,
                !self.alerts.is_empty(),
                9093,
            ),
        ];
        for (name, endpoint, used, port) in endpoints {
            match endpoint {
                Some(url) if !web_url(url) => invalid(
                    format!(".{name}"),
                    "must start with `http://` or `https://`".to_owned(),
                ),
                None if used => invalid(
                    format!(".{name}"),
                    format!("must be set to ask it, e.g. `http://{name}.monitoring:{port}`"),
                ),
                _ => {}
            }
        }
        for (j, query) in self.queries.iter().enumerate() {
            for (field, problem) in query.problems() {
                invalid(format!(".queries[{j}].{field}"), problem);
            }
        }
        for (j, matcher) in self.alerts.iter().enumerate() {
            if let Some(problem) = super::signals::matcher_problem(matcher) {
                invalid(format!(".alerts[{j}]"), problem);
            }
        }
        if self.every.is_zero() || self.every > self.window {
            invalid(
                ".every".to_owned(),
                "must be more than 0s and at most `verify.for`, e.g. `10s` for `2m`".to_owned(),
            );
        }
        if self.timeout.is_zero() {
            invalid(
                ".timeout".to_owned(),
                "must be more than 0s, e.g. `5s`".to_owned(),
            );
        }
        problems
    }

    fn default_window() -> Duration {
        Duration::from_secs(120)
    }
    fn default_every() -> Duration {
        Duration::from_secs(10)
    }
    fn default_timeout() -> Duration {
        Duration::from_secs(5)
    }

    /// Checks of `http`, with the default window (2m), interval (10s) and probe bound (5s).
    pub fn new(http: Vec<String>) -> VerifyConfig {
        VerifyConfig {
            http,
            prometheus: None,
            queries: Vec::new(),
            alertmanager: None,
            alerts: Vec::new(),
            window: Self::default_window(),
            every: Self::default_every(),
            timeout: Self::default_timeout(),
        }
    }
}

impl EnvironmentConfig {
    /// An environment; `queue_gate` defaults to whether it is promotion-only.
    pub fn new(
        name: &str,
        namespace: &str,
        trigger: Trigger,
        promote_from: Option<&str>,
        queue_gate: Option<bool>,
    ) -> EnvironmentConfig {
        EnvironmentConfig {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            trigger,
            promote_from: promote_from.map(str::to_owned),
            kube_context: None,
            queue_gate_setting: Some(queue_gate.unwrap_or(promote_from.is_some())),
            url: None,
            verify: None,
            windows: Vec::new(),
            min_soak: Duration::ZERO,
            approvals: None,
        }
    }

    /// Promotion-only environments cannot take arbitrary deploys.
    pub fn is_promotion_target(&self) -> bool {
        self.promote_from.is_some()
    }

    /// Writes the effective value of every defaulted key, so `config show` prints it.
    pub(super) fn settle_defaults(&mut self) {
        self.queue_gate_setting = Some(self.queue_gate());
    }

    /// Whether deploys here wait for drained queues.
    pub fn queue_gate(&self) -> bool {
        self.queue_gate_setting
            .unwrap_or(self.is_promotion_target())
    }
}
