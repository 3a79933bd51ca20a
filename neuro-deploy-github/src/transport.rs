//! Sending one request: bounded retries of 5xx and transport errors with a capped backoff, rate
//! limits honoured within a total budget, replies read (JSON, pagination, `already_exists`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use neuro_deploy_core::{AdapterError, Backoff};
use serde::Deserialize;
use serde_json::Value;

use crate::{API_URL_ENV, GithubReleases, SERVICE, TOKEN_ENV};

/// A response, read whole.
#[derive(Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    /// Errors for non-success statuses, in words a user can act on.
    pub(crate) fn ok(self, operation: &str) -> Result<Reply, AdapterError> {
        if self.status.is_success() {
            return Ok(self);
        }
        let message = serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| self.status.canonical_reason().unwrap_or("error").to_owned());
        Err(match self.status {
            StatusCode::UNAUTHORIZED => AdapterError::Unauthorized {
                source: None,
                service: SERVICE,
                operation: operation.to_owned(),
                message: format!("{message}; set {TOKEN_ENV} to a valid token"),
            },
            StatusCode::FORBIDDEN => AdapterError::Unauthorized {
                source: None,
                service: SERVICE,
                operation: operation.to_owned(),
                message: format!(
                    "{message}; the token needs Contents: read to deploy and Contents: write for hotfix commands"
                ),
            },
            StatusCode::NOT_FOUND => AdapterError::NotFound {
                source: None,
                service: SERVICE,
                what: format!("{operation} (check `git.repository` and that the token can see it)"),
            },
            // 5xx are retried before they get here (`send`).
            status if status.is_server_error() => AdapterError::failed(
                SERVICE,
                operation.to_owned(),
                format!(
                    "GitHub answered {} {message} on every attempt; it may be having trouble: try again later",
                    status.as_u16()
                ),
            ),
            status => AdapterError::failed(
                SERVICE,
                operation.to_owned(),
                format!("{} {message}", status.as_u16()),
            ),
        })
    }

    pub(crate) fn json<T: for<'de> Deserialize<'de>>(
        &self,
        operation: &str,
    ) -> Result<T, AdapterError> {
        serde_json::from_str(&self.text).map_err(|e| {
            AdapterError::failed(
                SERVICE,
                operation.to_owned(),
                format!("unexpected response: {e}"),
            )
        })
    }

    /// Whether a 422 says the thing already exists.
    pub(crate) fn already_exists(&self) -> bool {
        self.status == StatusCode::UNPROCESSABLE_ENTITY
            && serde_json::from_str::<Value>(&self.text).is_ok_and(|v| {
                v.get("errors")
                    .and_then(Value::as_array)
                    .is_some_and(|errors| {
                        errors.iter().any(|e| {
                            e.get("code").and_then(Value::as_str) == Some("already_exists")
                        })
                    })
                    || v.get("message")
                        .and_then(Value::as_str)
                        .is_some_and(|m| m.contains("already exists"))
            })
    }

    /// The URL of the next page, from the `Link` header.
    pub(crate) fn next_page(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, rel) = part.split_once(';')?;
            rel.contains("rel=\"next\"").then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
    }
}

/// How long a rate-limited response asks us to wait.
pub(crate) struct RateLimit {
    pub(crate) wait: Duration,
    pub(crate) reset_at: Option<u64>,
    pub(crate) secondary: bool,
}

impl RateLimit {
    pub(crate) fn retry_hint(&self) -> String {
        match self.reset_at {
            Some(epoch) => format!("the limit resets at {epoch} (Unix time); retry after that"),
            None => format!("retry in {} s", self.wait.as_secs().max(1)),
        }
    }
}

pub(crate) fn rate_limit(reply: &Reply, secondary_wait: Duration) -> Option<RateLimit> {
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let status = reply.status;
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let secondary_text = reply
        .text
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && (exhausted || secondary_text || header("retry-after").is_some()));
    if !limited {
        return None;
    }
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(RateLimit {
            wait: Duration::from_secs(seconds),
            reset_at: None,
            secondary: false,
        });
    }
    if exhausted
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok())
    {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        return Some(RateLimit {
            wait: Duration::from_secs(reset.saturating_sub(now) + 1),
            reset_at: Some(reset),
            secondary: false,
        });
    }
    Some(RateLimit {
        wait: secondary_wait,
        reset_at: None,
        secondary: true,
    })
}

pub(crate) fn transport_message(error: &octocrab::Error) -> String {
    // octocrab's errors name the URI, never the Authorization header.
    format!("could not reach GitHub ({error}); check the network and {API_URL_ENV}")
}

impl GithubReleases {
    /// Sends one request with bounded retries and rate-limit waits; returns status, headers, body.
    pub(crate) async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, AdapterError> {
        let operation = format!("{method} {path}");
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        let mut secondary_backoff = self.settings.secondary_min_wait;
        loop {
            attempt += 1;
            let bound = self.settings.connect_timeout + self.settings.read_timeout;
            let sent = tokio::time::timeout(bound, self.send_once(&method, path, body)).await;
            let reply = match sent {
                Err(_) => Err(AdapterError::Timeout {
                    service: SERVICE,
                    operation: operation.clone(),
                    seconds: bound.as_secs_f64(),
                }),
                Ok(Err(error)) => {
                    Err(
                        AdapterError::failed(SERVICE, operation.clone(), transport_message(&error))
                            .caused_by(error),
                    )
                }
                Ok(Ok(reply)) => Ok(reply),
            };
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) if attempt < self.settings.max_attempts => {
                    tracing::debug!(%error, attempt, "retrying GitHub request");
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if let Some(limit) = rate_limit(&reply, secondary_backoff) {
                if waited + limit.wait > self.settings.max_rate_limit_wait {
                    return Err(AdapterError::failed(
                        SERVICE,
                        operation,
                        format!("rate limited by GitHub; {}", limit.retry_hint()),
                    ));
                }
                tracing::info!(
                    wait_ms = limit.wait.as_millis() as u64,
                    "GitHub rate limit; waiting"
                );
                tokio::time::sleep(limit.wait).await;
                waited += limit.wait;
                if limit.secondary {
                    secondary_backoff = secondary_backoff.saturating_mul(2);
                }
                continue;
            }
            if reply.status.is_server_error() && attempt < self.settings.max_attempts {
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            return Ok(reply);
        }
    }

    /// The delay before retry `attempt` (1 for the first retry), capped at the longest wait
    /// for a rate limit.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        Backoff {
            first: self.settings.initial_backoff,
            ceiling: self.settings.max_rate_limit_wait,
        }
        .delay(attempt.saturating_sub(1))
    }

    pub(crate) async fn send_once(
        &self,
        method: &http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, octocrab::Error> {
        let get = *method != http::Method::POST;
        let response = if get {
            let conditional = self.cache.if_none_match(path);
            self.client._get_with_headers(path, conditional).await?
        } else {
            self.client._post(path, body).await?
        };
        let status = response.status();
        let headers = response.headers().clone();
        let text = self.client.body_to_string(response).await?;
        let reply = Reply {
            status,
            headers,
            text,
        };
        Ok(if get {
            self.cache.settle(path, reply)
        } else {
            reply
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Reply, AdapterError> {
        self.send(http::Method::GET, path, None).await
    }

    /// GET that reads a 404 as `None` and any other failure as an error.
    pub(crate) async fn get_optional<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
    ) -> Result<Option<T>, AdapterError> {
        let reply = self.get(path).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let reply = reply.ok(&format!("GET {path}"))?;
        reply.json(&format!("GET {path}")).map(Some)
    }
}
