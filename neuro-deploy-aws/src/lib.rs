//! # neuro-deploy-aws
//!
//! AWS adapters of neuro-deploy: [`EcrRegistry`] implements the core's `Registry` (find an image
//! by tag, resolve the repository URI, retag without pulling) and [`SqsQueues`] implements
//! `QueueInspector` (visible, in-flight and delayed counts of a queue in a region).
//!
//! **What it is not**: no policy lives here, and no credentials are ever configured by it.
//! Clients come from `aws-config`'s default chain (environment, profiles, SSO, web identity /
//! IRSA, instance roles) and honour `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SQS` and
//! `AWS_ENDPOINT_URL_ECR`. Every call has an explicit retry policy and timeouts
//! ([`AwsSettings`]) so none can hang; errors become the core's [`AdapterError`] with the AWS
//! error code and request id, never a credential.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::RequestId;
use neuro_deploy_core::AdapterError;

mod ecr;
mod sqs;

pub use ecr::EcrRegistry;
pub use sqs::SqsQueues;

/// Retries and timeouts for every AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// Attempts per call, first included (standard retry mode: throttling, 5xx, timeouts).
    pub max_attempts: u32,
    /// First retry delay; later ones back off exponentially with jitter.
    pub initial_backoff: Duration,
    /// Bound of one attempt.
    pub attempt_timeout: Duration,
    /// Bound of a whole call, retries included.
    pub operation_timeout: Duration,
    /// Bound of establishing a connection.
    pub connect_timeout: Duration,
    /// Explicit endpoint (tests); `None` leaves it to `AWS_ENDPOINT_URL*` and the SDK.
    pub endpoint_url: Option<String>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_millis(3100),
            endpoint_url: None,
        }
    }
}

/// Loads the shared SDK configuration for `region` (the default chain's region when `None`),
/// with these retries and timeouts.
pub async fn load_sdk_config(region: Option<&str>, settings: &AwsSettings) -> SdkConfig {
    let retry = RetryConfig::standard()
        .with_max_attempts(settings.max_attempts)
        .with_initial_backoff(settings.initial_backoff);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(settings.connect_timeout)
        .operation_attempt_timeout(settings.attempt_timeout)
        .operation_timeout(settings.operation_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint.clone());
    }
    loader.load().await
}

/// Error codes that mean the caller's identity or permissions are the problem.
const AUTH_CODES: [&str; 8] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
];

/// What the credential chain said when it came up empty (or failed) somewhere under
/// `error`: its own message and causes on one line, without the SDK's wrappers around it
/// (`dispatch failure`, `other`), which say nothing a person can act on.
fn lacks_credentials(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(current) = next {
        if current
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            // Its list of what it attempted is said below, with what to do about each.
            let said = neuro_deploy_core::error::one_line(current);
            let said = said.split(". Attempted:").next().unwrap_or_default();
            return Some(said.to_owned());
        }
        next = current.source();
    }
    None
}

/// Maps any SDK error onto the core's vocabulary. `operation` says what was attempted,
/// naming the resource (queue and region, repository and tag).
pub(crate) fn map_sdk_error<E>(
    service: &'static str,
    operation: String,
    error: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    timeout: Duration,
) -> AdapterError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = error
        .request_id()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default();
    // No credentials: the request was never sent, and the network is not the problem. Said
    // once, with what the chain said; the SDK's wrappers are not kept as causes.
    if let Some(chain_said) = lacks_credentials(&error) {
        return AdapterError::Unauthorized {
            source: None,
            service,
            operation,
            message: format!(
                "no AWS credentials were found ({chain_said}): the default provider chain tried the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), the profile (AWS_PROFILE, ~/.aws), SSO, web identity (AWS_WEB_IDENTITY_TOKEN_FILE, as on EKS with IRSA or Codefresh OIDC), the ECS container and the instance role; configure one of them"
            ),
        };
    }
    let mapped = match &error {
        SdkError::TimeoutError(_) => AdapterError::Timeout {
            service,
            operation,
            seconds: timeout.as_secs_f64(),
        },
        SdkError::DispatchFailure(failure) => {
            let why = if failure.is_timeout() {
                "the connection timed out".to_owned()
            } else if failure.is_io() {
                "the endpoint could not be reached".to_owned()
            } else {
                "the request could not be sent".to_owned()
            };
            AdapterError::failed(
                service,
                operation,
                format!("{why}; check the network and AWS_ENDPOINT_URL"),
            )
        }
        SdkError::ServiceError(context) => {
            let err = context.err();
            let code = err.code().unwrap_or("Unknown");
            let message = err.message().unwrap_or("no message");
            if AUTH_CODES.contains(&code) {
                AdapterError::Unauthorized {
                    source: None,
                    service,
                    operation,
                    message: format!(
                        "{code}: {message}{request_id}; check the AWS credentials (profile, SSO, web identity) and the IAM policies in examples/aws/"
                    ),
                }
            } else {
                AdapterError::failed(service, operation, format!("{code}: {message}{request_id}"))
            }
        }
        SdkError::ResponseError(_) => AdapterError::failed(
            service,
            operation,
            format!("the response could not be read{request_id}"),
        ),
        SdkError::ConstructionFailure(_) => AdapterError::failed(
            service,
            operation,
            "the request could not be built; check the region and endpoint configuration",
        ),
        _ => AdapterError::failed(service, operation, "unexpected SDK error"),
    };
    // The SDK error stays reachable as the cause.
    mapped.caused_by(error)
}
