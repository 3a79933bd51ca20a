//! [`Pushgateway`]: the core's `MetricsSink`. A POST to `/metrics/job/…/app/…/environment/…`
//! replaces only the metrics of the same names in that group; the body is the Prometheus text
//! format as the `prometheus` crate's `TextEncoder` writes it.

use async_trait::async_trait;
use base64::Engine;
use neuro_deploy_core::model::Sample;
use neuro_deploy_core::{AdapterError, MetricsSink};
use prometheus::{Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::{Token, client, sent_error};

/// How long one push may take at most (the executor bounds it too).
const PUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Pushes deploy metrics.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    http: reqwest::Client,
    token: Token,
}

impl Pushgateway {
    /// A client presenting `token`.
    pub fn new(token: Token) -> Result<Pushgateway, AdapterError> {
        Ok(Pushgateway {
            http: client()?,
            token,
        })
    }
}

/// `samples` in the text exposition format: one gauge family a name.
pub fn encode(samples: &[Sample]) -> Result<String, String> {
    let registry = Registry::new();
    let mut families: Vec<(&str, GaugeVec)> = Vec::new();
    for sample in samples {
        let names: Vec<&str> = sample.labels.iter().map(|(k, _)| k.as_str()).collect();
        let family = match families.iter().find(|(name, _)| *name == sample.name) {
            Some((_, family)) => family.clone(),
            None => {
                let family = GaugeVec::new(Opts::new(sample.name, sample.help), &names)
                    .map_err(|e| format!("metric {}: {e}", sample.name))?;
                registry
                    .register(Box::new(family.clone()))
                    .map_err(|e| format!("metric {}: {e}", sample.name))?;
                families.push((sample.name, family.clone()));
                family
            }
        };
        let values: Vec<&str> = sample.labels.iter().map(|(_, v)| v.as_str()).collect();
        family
            .get_metric_with_label_values(&values)
            .map_err(|e| format!("metric {}: {e}", sample.name))?
            .set(sample.value);
    }
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut body)
        .map_err(|e| e.to_string())?;
    String::from_utf8(body).map_err(|e| e.to_string())
}

/// `/metrics/job/neuro_deploy/app/neuro-ui/environment/staging`: each value as a path segment,
/// base64 (the Pushgateway's `@base64` form) when it is empty or holds a `/`.
fn group_path(grouping: &[(String, String)]) -> String {
    let mut path = String::from("/metrics");
    for (label, value) in grouping {
        if value.is_empty() || value.contains('/') {
            let encoded = base64::engine::general_purpose::URL_SAFE.encode(value);
            let encoded = if encoded.is_empty() {
                "=".to_owned()
            } else {
                encoded
            };
            path.push_str(&format!("/{label}@base64/{encoded}"));
        } else {
            let escaped: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    other => format!("%{other:02X}"),
                })
                .collect();
            path.push_str(&format!("/{label}/{escaped}"));
        }
    }
    path
}

#[async_trait]
impl MetricsSink for Pushgateway {
    async fn push(
        &self,
        pushgateway: &str,
        grouping: &[(String, String)],
        samples: &[Sample],
    ) -> Result<(), AdapterError> {
        let path = group_path(grouping);
        let url = format!("{}{path}", pushgateway.trim_end_matches('/'));
        let operation = format!("pushing {} samples to {pushgateway}", samples.len());
        let body = encode(samples)
            .map_err(|why| AdapterError::failed("pushgateway", operation.clone(), why))?;
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(body)
            .timeout(PUSH_TIMEOUT);
        let response = self
            .token
            .apply(request)
            .send()
            .await
            .map_err(|e| sent_error("pushgateway", operation.clone(), &e, PUSH_TIMEOUT))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let said = response.text().await.unwrap_or_default();
        Err(AdapterError::failed(
            "pushgateway",
            operation,
            format!("HTTP {status}: {}", said.trim()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_path_segments_and_awkward_values_are_base64() {
        let group = |env: &str| {
            group_path(&[
                ("job".to_owned(), "neuro_deploy".to_owned()),
                ("environment".to_owned(), env.to_owned()),
            ])
        };
        assert_eq!(
            group("staging"),
            "/metrics/job/neuro_deploy/environment/staging"
        );
        assert_eq!(
            group("a/b"),
            "/metrics/job/neuro_deploy/environment@base64/YS9i"
        );
        assert_eq!(group(""), "/metrics/job/neuro_deploy/environment@base64/=");
        assert_eq!(group("a b"), "/metrics/job/neuro_deploy/environment/a%20b");
    }
}
