//! One request to the API server: bounded by a timeout, retried (429/5xx/transport) with a
//! capped backoff, and its error mapped into the core's vocabulary (a broken connection or a
//! server error after a write is "no answer": the write may have landed).

use std::future::Future;

use neuro_deploy_core::{AdapterError, Backoff};

use crate::{KubeCluster, SERVICE};

impl KubeCluster {
    /// Runs one request with the timeout and the retry policy.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &str,
        request: F,
    ) -> Result<T, AdapterError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 0u32;
        loop {
            let result = tokio::time::timeout(self.settings.request_timeout, request()).await;
            let error = match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => {
                    return Err(AdapterError::Timeout {
                        service: SERVICE,
                        operation: operation.to_owned(),
                        seconds: self.settings.request_timeout.as_secs_f64(),
                    });
                }
            };
            if is_retryable(&error) && attempt < self.settings.max_retries {
                let delay = Backoff {
                    first: self.settings.min_backoff,
                    ceiling: self.settings.max_backoff,
                }
                .delay(attempt);
                attempt += 1;
                tracing::debug!(%error, attempt, "retrying Kubernetes request");
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(map_error(operation, error));
        }
    }
}

pub(crate) fn is_retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

pub(crate) fn map_error(operation: &str, error: kube::Error) -> AdapterError {
    let mapped = match &error {
        // 409 AlreadyExists on create is the same lost race as 409 Conflict on update.
        kube::Error::Api(status) if status.is_conflict() || status.is_already_exists() => {
            AdapterError::Conflict {
                service: SERVICE,
                operation: operation.to_owned(),
            }
        }
        kube::Error::Api(status) if status.is_not_found() => AdapterError::NotFound {
            source: None,
            service: SERVICE,
            what: format!("{operation}: {}", status.message),
        },
        kube::Error::Api(status) if status.is_forbidden() || status.code == 401 => {
            AdapterError::Unauthorized {
                source: None,
                service: SERVICE,
                operation: operation.to_owned(),
                message: format!(
                    "{}; grant the identity neuro-deploy runs as its Role in this namespace: `neuro-deploy rbac --deployer SUBJECT | kubectl apply -f -` (examples/k8s/README.md)",
                    status.message
                ),
            }
        }
        // A server error may come after the write was applied (an etcd timeout …).
        kube::Error::Api(status) if status.code >= 500 => AdapterError::Unanswered {
            source: None,
            service: SERVICE,
            operation: operation.to_owned(),
            message: format!("{} ({})", status.message, status.code),
        },
        kube::Error::Api(status) => AdapterError::failed(
            SERVICE,
            operation.to_owned(),
            format!("{} ({})", status.message, status.code),
        ),
        // No connection was made, so nothing was sent: the request certainly did not apply.
        kube::Error::HyperError(_) | kube::Error::Service(_) if never_connected(&error) => {
            AdapterError::Unreachable {
                source: None,
                service: SERVICE,
                operation: operation.to_owned(),
                message: "could not connect to the API server; check the server address in the kubeconfig and that it is reachable".to_owned(),
            }
        }
        // The connection broke: the request may have been applied before it did.
        kube::Error::HyperError(_) | kube::Error::Service(_) => AdapterError::Unanswered {
            source: None,
            service: SERVICE,
            operation: operation.to_owned(),
            message: format!("{error}; check that the API server is reachable"),
        },
        _ => AdapterError::failed(
            SERVICE,
            operation.to_owned(),
            format!("{error}; check that the API server is reachable"),
        ),
    };
    // The kube-rs error stays reachable as the cause.
    mapped.caused_by(error)
}

/// Whether the connection itself failed (refused, no route): an I/O error of that kind anywhere
/// in the chain means the request was never sent.
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    neuro_deploy_core::error::any_cause(error, |io: &std::io::Error| {
        matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::AddrNotAvailable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::HostUnreachable
        )
    })
}
