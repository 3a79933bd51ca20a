//! What the team's monitoring answers — a PromQL instant query's result, the active alerts —
//! how a verification judges them, and the samples neuro-deploy pushes for dashboards.

use std::collections::BTreeMap;

use crate::config::{NoData, QueryCheck};

/// The result of a PromQL instant query (a range vector is not one: a query returning a
/// matrix is refused by the adapter).
#[derive(Debug, Clone, PartialEq)]
pub enum QueryAnswer {
    /// A single number (`scalar(…)`, `1 + 1`).
    Scalar(f64),
    /// One value a series; empty when nothing matched.
    Vector(Vec<Series>),
}

/// One series of an instant vector: its labels and its value now.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its labels (`__name__` included when the query keeps it).
    pub labels: BTreeMap<String, String>,
    /// Its value (NaN and ±Inf as Prometheus sends them).
    pub value: f64,
}

impl Series {
    /// `{code="500",instance="…"}`, or `{}`.
    pub fn describe(&self) -> String {
        describe_labels(&self.labels)
    }
}

/// `{a="1",b="2"}`.
fn describe_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", pairs.join(","))
}

impl QueryAnswer {
    /// Whether `check` passes on this answer: `Ok` with the values seen, or `Err` naming the
    /// query, the value and the bound it broke.
    pub fn judge(&self, check: &QueryCheck) -> Result<String, String> {
        let named = format!("query `{}` (`{}`)", check.name, check.query);
        let values: Vec<(String, f64)> = match self {
            QueryAnswer::Scalar(value) => vec![(String::new(), *value)],
            QueryAnswer::Vector(series) => series.iter().map(|s| (s.describe(), s.value)).collect(),
        };
        if values.is_empty() {
            return match check.no_data {
                NoData::Pass => Ok(format!("{named}: no data (accepted: `no_data = \"pass\"`)")),
                NoData::Fail => Err(format!(
                    "{named} returned no data; set `no_data = \"pass\"` if an empty result is fine"
                )),
            };
        }
        for (series, value) in &values {
            if let Some(why) = check.out_of_bounds(*value) {
                let place = if series.is_empty() {
                    String::new()
                } else {
                    format!(" for {series}")
                };
                return Err(format!(
                    "{named} is {why}{place} (allowed: {})",
                    check.bounds()
                ));
            }
        }
        let shown: Vec<String> = values.iter().map(|(_, v)| v.to_string()).collect();
        Ok(format!(
            "{named} = {} ({})",
            shown.join(", "),
            check.bounds()
        ))
    }
}

/// An alert Alertmanager has active (not silenced, not inhibited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAlert {
    /// Its labels (`alertname` among them).
    pub labels: BTreeMap<String, String>,
    /// When it started firing (RFC 3339).
    pub starts_at: String,
}

impl ActiveAlert {
    /// `HighErrorRate {app="neuro-ui",severity="page"} since 2026-11-29T12:00:00Z`.
    pub fn describe(&self) -> String {
        let name = self
            .labels
            .get("alertname")
            .map_or("an alert", String::as_str);
        format!(
            "{name} {} since {}",
            describe_labels(&self.labels),
            self.starts_at
        )
    }
}

/// One gauge sample neuro-deploy pushes (the adapter writes the exposition format).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (`neuro_deploy_last_run_timestamp_seconds`).
    pub name: &'static str,
    /// Its HELP text.
    pub help: &'static str,
    /// Its labels beyond the group's.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}
