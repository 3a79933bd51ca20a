//! # neuro-deploy-http
//!
//! The HTTP adapters of neuro-deploy, on `reqwest`: [`HttpHealthChecker`] implements the
//! core's `HealthChecker` (one bounded GET per probe, the status it answered), and
//! [`WebhookNotifier`] its `Notifier` (one POST of a JSON body to a webhook, with bounded
//! retries).
//!
//! **What it is not**: no policy — which runs notify, what the message says and how long
//! checks last are the core's (`neuro_deploy_core::notify`, `[environments.verify]`). The
//! webhook URL is a secret: it never appears in errors (reqwest's `without_url`), logs or
//! `Debug` output.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, Backoff, HealthChecker, Notifier};

/// Environment variable holding the webhook URL.
pub const WEBHOOK_URL_ENV: &str = "NEURO_DEPLOY_WEBHOOK_URL";

fn client(timeout: Duration) -> Result<reqwest::Client, AdapterError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| {
            AdapterError::failed(
                "http",
                "creating the HTTP client",
                e.without_url().to_string(),
            )
        })
}

/// Probes URLs with GET; any answer is a status, no answer an error.
#[derive(Debug, Clone)]
pub struct HttpHealthChecker {
    http: reqwest::Client,
}

impl HttpHealthChecker {
    /// A checker; each probe is bounded by the timeout it is given.
    pub fn new() -> Result<HttpHealthChecker, AdapterError> {
        Ok(HttpHealthChecker {
            // Each probe sets its own bound; this one only caps a caller that forgets.
            http: client(Duration::from_secs(60))?,
        })
    }
}

#[async_trait]
impl HealthChecker for HttpHealthChecker {
    async fn probe(&self, url: &str, timeout: Duration) -> Result<u16, AdapterError> {
        match self.http.get(url).timeout(timeout).send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) if error.is_timeout() => Err(AdapterError::Timeout {
                service: "http",
                operation: format!("GET {url}"),
                seconds: timeout.as_secs_f64(),
            }),
            // The URL is in the operation already; the innermost cause says what happened.
            Err(error) => {
                let mut cause: &dyn std::error::Error = &error;
                while let Some(inner) = cause.source() {
                    cause = inner;
                }
                let what = if error.is_connect() {
                    format!("could not connect ({cause})")
                } else {
                    cause.to_string()
                };
                Err(AdapterError::failed("http", format!("GET {url}"), what))
            }
        }
    }
}

/// Posts JSON messages to a webhook (a Slack incoming webhook, or any receiver).
pub struct WebhookNotifier {
    http: reqwest::Client,
    url: String,
    attempts: u32,
    backoff: Backoff,
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it is the secret.
        f.debug_struct("WebhookNotifier")
            .field("url", &"<redacted>")
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A notifier posting to `url`: each attempt bounded by 10 s, 3 attempts.
    pub fn new(url: String) -> Result<WebhookNotifier, AdapterError> {
        Ok(WebhookNotifier {
            http: client(Duration::from_secs(10))?,
            url,
            attempts: 3,
            backoff: Backoff {
                first: Duration::from_millis(500),
                ceiling: Duration::from_secs(5),
            },
        })
    }

    /// The notifier `NEURO_DEPLOY_WEBHOOK_URL` names, if it is set.
    pub fn from_env() -> Result<Option<WebhookNotifier>, AdapterError> {
        match std::env::var(WEBHOOK_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => {
                WebhookNotifier::new(url.trim().to_owned()).map(Some)
            }
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, message: &serde_json::Value) -> Result<(), AdapterError> {
        let operation = format!("posting to the webhook ({WEBHOOK_URL_ENV})");
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(self.backoff.delay(attempt - 1)).await;
            }
            match self.http.post(&self.url).json(message).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if response.status().is_client_error() => {
                    return Err(AdapterError::failed(
                        "webhook",
                        operation,
                        format!(
                            "the webhook refused the message: HTTP {}",
                            response.status()
                        ),
                    ));
                }
                Ok(response) => last = format!("HTTP {}", response.status()),
                Err(error) => last = error.without_url().to_string(),
            }
            tracing::debug!(attempt, problem = %last, "webhook attempt failed");
        }
        Err(AdapterError::failed(
            "webhook",
            operation,
            format!("{} attempts failed, the last with {last}", self.attempts),
        ))
    }
}
