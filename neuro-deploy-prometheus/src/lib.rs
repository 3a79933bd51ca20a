//! # neuro-deploy-prometheus
//!
//! The Prometheus stack as neuro-deploy's signals, on `reqwest`: [`Monitoring`] implements the
//! core's `SignalSource` — PromQL through Prometheus's instant-query API (`/api/v1/query`) and
//! the active alerts through Alertmanager's API v2 (`/api/v2/alerts`) — and [`Pushgateway`] its
//! `MetricsSink`: a POST of the samples in the Prometheus text format (written by the
//! `prometheus` crate's `TextEncoder`), which replaces only the metrics of the same names in
//! the group. [`ready`] asks any of them whether it is ready (`/-/ready`), for `doctor`.
//!
//! Bearer tokens come from the environment ([`Tokens::from_env`]: `NEURO_DEPLOY_PROMETHEUS_TOKEN`,
//! `NEURO_DEPLOY_ALERTMANAGER_TOKEN`, `NEURO_DEPLOY_PUSHGATEWAY_TOKEN`) and never appear in
//! errors, logs or `Debug` output.
//!
//! **What it is not**: no judging — whether a value is within its bounds, which alerts fail a
//! verification and which metrics a run pushes are the core's (`QueryAnswer::judge`,
//! `neuro_deploy_core::telemetry`).

mod alerts;
mod push;
mod query;
mod wire;

use std::fmt;
use std::time::Duration;

use neuro_deploy_core::AdapterError;

pub use push::Pushgateway;
pub use query::Monitoring;

/// The variable holding Prometheus's bearer token.
pub const PROMETHEUS_TOKEN_ENV: &str = "NEURO_DEPLOY_PROMETHEUS_TOKEN";
/// The variable holding Alertmanager's bearer token.
pub const ALERTMANAGER_TOKEN_ENV: &str = "NEURO_DEPLOY_ALERTMANAGER_TOKEN";
/// The variable holding the Pushgateway's bearer token.
pub const PUSHGATEWAY_TOKEN_ENV: &str = "NEURO_DEPLOY_PUSHGATEWAY_TOKEN";

/// A bearer token: shown nowhere.
#[derive(Clone, Default)]
pub struct Token(Option<String>);

impl Token {
    /// The token `variable` holds, when it is set and not blank.
    pub fn from_env(variable: &str) -> Token {
        Token(
            std::env::var(variable)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
        )
    }

    /// A token given in code (tests, embedders).
    pub fn new(token: Option<String>) -> Token {
        Token(token)
    }

    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.0 {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Some(_) => "Token(<redacted>)",
            None => "Token(none)",
        })
    }
}

/// The three tokens, as the environment gives them.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// For Prometheus.
    pub prometheus: Token,
    /// For Alertmanager.
    pub alertmanager: Token,
    /// For the Pushgateway.
    pub pushgateway: Token,
}

impl Tokens {
    /// `NEURO_DEPLOY_PROMETHEUS_TOKEN`, `NEURO_DEPLOY_ALERTMANAGER_TOKEN`,
    /// `NEURO_DEPLOY_PUSHGATEWAY_TOKEN`.
    pub fn from_env() -> Tokens {
        Tokens {
            prometheus: Token::from_env(PROMETHEUS_TOKEN_ENV),
            alertmanager: Token::from_env(ALERTMANAGER_TOKEN_ENV),
            pushgateway: Token::from_env(PUSHGATEWAY_TOKEN_ENV),
        }
    }
}

fn client() -> Result<reqwest::Client, AdapterError> {
    reqwest::Client::builder()
        // Each call sets its own bound; this one only caps a caller that forgets.
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| {
            AdapterError::failed(
                "prometheus",
                "creating the HTTP client",
                e.without_url().to_string(),
            )
        })
}

/// A transport error as the core's vocabulary: a timeout, a refused connection (nothing was
/// sent), or no answer.
fn sent_error(
    service: &'static str,
    operation: String,
    error: &reqwest::Error,
    timeout: Duration,
) -> AdapterError {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if error.is_timeout() {
        AdapterError::Timeout {
            service,
            operation,
            seconds: timeout.as_secs_f64(),
        }
    } else if error.is_connect() {
        AdapterError::Unreachable {
            service,
            operation,
            message: format!("could not connect ({cause}); check the URL and that it runs"),
            source: None,
        }
    } else {
        AdapterError::Unanswered {
            service,
            operation,
            message: cause.to_string(),
            source: None,
        }
    }
}

/// Sends `request` (with `token`) and reads the answer's status and body; a refused token is
/// `Unauthorized` naming `variable`, the token's environment variable.
async fn exchange(
    service: &'static str,
    operation: &str,
    request: reqwest::RequestBuilder,
    token: &Token,
    variable: &str,
    timeout: Duration,
) -> Result<(reqwest::StatusCode, String), AdapterError> {
    let response = token
        .apply(request.timeout(timeout))
        .send()
        .await
        .map_err(|e| sent_error(service, operation.to_owned(), &e, timeout))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(AdapterError::Unauthorized {
            service,
            operation: operation.to_owned(),
            message: format!("HTTP {status}; set {variable} to a token it accepts"),
            source: None,
        });
    }
    let body = response
        .text()
        .await
        .map_err(|e| sent_error(service, operation.to_owned(), &e, timeout))?;
    Ok((status, body))
}

/// Whether the Prometheus, Alertmanager or Pushgateway at `base` says it is ready
/// (`GET /-/ready` answering 2xx), within `timeout`.
pub async fn ready(
    service: &'static str,
    base: &str,
    token: &Token,
    timeout: Duration,
) -> Result<(), AdapterError> {
    let http = client()?;
    let url = format!("{}/-/ready", base.trim_end_matches('/'));
    let operation = format!("asking {url} whether it is ready");
    let request = token.apply(http.get(&url).timeout(timeout));
    let response = request
        .send()
        .await
        .map_err(|e| sent_error(service, operation.clone(), &e, timeout))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(AdapterError::failed(
            service,
            operation,
            format!("HTTP {}", response.status()),
        ))
    }
}
