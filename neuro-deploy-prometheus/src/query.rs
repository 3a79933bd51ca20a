//! [`Monitoring`]: the core's `SignalSource` — PromQL at Prometheus's instant-query API, and
//! the active alerts at Alertmanager (`alerts.rs`).

use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::model::{ActiveAlert, QueryAnswer};
use neuro_deploy_core::{AdapterError, ReasonCode, SignalSource};

use crate::wire::Envelope;
use crate::{Tokens, client, exchange};

/// Asks the team's Prometheus and Alertmanager.
#[derive(Debug, Clone)]
pub struct Monitoring {
    http: reqwest::Client,
    tokens: Tokens,
}

impl Monitoring {
    /// A client presenting `tokens` (each to its own service).
    pub fn new(tokens: Tokens) -> Result<Monitoring, AdapterError> {
        Ok(Monitoring {
            http: client()?,
            tokens,
        })
    }

    /// Evaluates `query` now (`GET /api/v1/query`), bounded by `timeout` (also passed to
    /// Prometheus, so it stops evaluating too).
    pub async fn evaluate(
        &self,
        prometheus: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<QueryAnswer, AdapterError> {
        let url = format!("{}/api/v1/query", prometheus.trim_end_matches('/'));
        let operation = format!("evaluating `{query}` at {prometheus}");
        let seconds = format!("{}ms", timeout.as_millis().max(1));
        let request = self
            .http
            .get(&url)
            .query(&[("query", query), ("timeout", seconds.as_str())]);
        let (status, body) = exchange(
            "prometheus",
            &operation,
            request,
            &self.tokens.prometheus,
            crate::PROMETHEUS_TOKEN_ENV,
            timeout,
        )
        .await?;
        let envelope: Envelope = serde_json::from_str(&body).map_err(|_| {
            AdapterError::failed(
                "prometheus",
                operation.clone(),
                format!("HTTP {status} without Prometheus's JSON; is {prometheus} a Prometheus?"),
            )
        })?;
        if envelope.status != "success" {
            let kind = envelope.error_type.unwrap_or_else(|| "error".to_owned());
            let why = envelope.error.unwrap_or_default();
            // A query Prometheus cannot parse is the user's to fix.
            if kind == "bad_data" {
                return Err(AdapterError::Refused {
                    code: ReasonCode::InvalidInput,
                    message: format!("Prometheus refused `{query}`: {why}"),
                });
            }
            return Err(AdapterError::failed(
                "prometheus",
                operation,
                format!("{kind}: {why}"),
            ));
        }
        let data = envelope.data.ok_or_else(|| {
            AdapterError::failed("prometheus", operation.clone(), "success without data")
        })?;
        data.answer().map_err(|why| AdapterError::Refused {
            code: ReasonCode::InvalidInput,
            message: format!("`{query}` cannot verify a deploy: {why}"),
        })
    }
}

#[async_trait]
impl SignalSource for Monitoring {
    async fn query(
        &self,
        prometheus: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<QueryAnswer, AdapterError> {
        self.evaluate(prometheus, query, timeout).await
    }

    async fn active_alerts(
        &self,
        alertmanager: &str,
        matchers: &[String],
        timeout: Duration,
    ) -> Result<Vec<ActiveAlert>, AdapterError> {
        crate::alerts::active(
            &self.http,
            &self.tokens.alertmanager,
            alertmanager,
            matchers,
            timeout,
        )
        .await
    }
}
