//! What verification asks the team's monitoring — PromQL queries with bounds
//! (`[[environments.verify.queries]]`) and Alertmanager matchers (`alerts`) — and where the
//! deploy metrics go (`[telemetry]`). Endpoints only: the bearer tokens are secrets, read from
//! the environment by the binaries, never from this file.

use serde::{Deserialize, Serialize};

/// A bound as written (`max = 0.01`); compared by value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bound(pub f64);

impl PartialEq for Bound {
    fn eq(&self, other: &Bound) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Bound {}

/// What an empty query result means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// No series fails the probe (the default: a query that matches nothing checks nothing).
    #[default]
    Fail,
    /// No series passes (e.g. no 5xx at all).
    Pass,
}

/// One `[[environments.verify.queries]]`: every series the query returns must lie within its
/// bounds on every probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryCheck {
    /// What people call it (`5xx ratio`), in reports.
    pub name: String,
    /// PromQL, evaluated with the instant-query API.
    pub query: String,
    /// The lowest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    /// The highest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// What an empty result means (default `fail`).
    #[serde(default)]
    pub no_data: NoData,
}

impl QueryCheck {
    /// `0.01 ≤ value ≤ 1` as people read the bounds.
    pub fn bounds(&self) -> String {
        match (self.min, self.max) {
            (Some(min), Some(max)) => format!("between {} and {}", min.0, max.0),
            (Some(min), None) => format!("at least {}", min.0),
            (None, Some(max)) => format!("at most {}", max.0),
            (None, None) => "unbounded".to_owned(),
        }
    }

    /// Why `value` is out of bounds, or `None` when it is within them (NaN never is).
    pub fn out_of_bounds(&self, value: f64) -> Option<String> {
        if value.is_nan() {
            return Some("NaN, which no bound accepts".to_owned());
        }
        match (self.min, self.max) {
            (Some(min), _) if value < min.0 => Some(format!("{value} < min {}", min.0)),
            (_, Some(max)) if value > max.0 => Some(format!("{value} > max {}", max.0)),
            _ => None,
        }
    }

    /// What is wrong with it, as `(key under the query, problem)`.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push((
                "name",
                "must not be empty (it names the query in reports)".to_owned(),
            ));
        }
        if self.query.trim().is_empty() {
            problems.push(("query", "must be a PromQL expression".to_owned()));
        }
        let finite = |b: Option<Bound>| b.is_none_or(|b| b.0.is_finite());
        match (self.min, self.max) {
            (None, None) => problems.push((
                "max",
                "a query needs `min`, `max` or both, e.g. `max = 0.01`".to_owned(),
            )),
            _ if !finite(self.min) || !finite(self.max) => {
                problems.push(("max", "bounds must be finite numbers".to_owned()));
            }
            (Some(min), Some(max)) if min.0 > max.0 => problems.push((
                "min",
                format!("{} is above `max` ({}); no value could pass", min.0, max.0),
            )),
            _ => {}
        }
        problems
    }
}

/// Why `matcher` is not an Alertmanager matcher (`app="neuro-ui"`, `severity=~"critical|page"`,
/// `team!=infra`), or `None`.
pub fn matcher_problem(matcher: &str) -> Option<String> {
    let operator = ["=~", "!~", "!=", "="]
        .iter()
        .filter_map(|op| matcher.find(op).map(|at| (at, *op)))
        .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())));
    let Some((at, op)) = operator else {
        return Some(format!(
            "`{matcher}` has no operator; write `label=\"value\"` (or `!=`, `=~`, `!~`)"
        ));
    };
    let label = matcher[..at].trim();
    let value = matcher[at + op.len()..].trim();
    let label_ok = label
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !label_ok {
        return Some(format!("`{matcher}` does not start with a label name"));
    }
    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    if value.starts_with('"') != quoted || (!quoted && value.contains(['"', ',', '{', '}'])) {
        return Some(format!("`{matcher}` has an unbalanced or misplaced quote"));
    }
    None
}

/// `[telemetry]`: where every finished run's metrics are pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The Pushgateway (`http://pushgateway.monitoring:9091`); none: no metrics are pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushgateway: Option<String>,
}
