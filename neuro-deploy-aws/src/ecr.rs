//! `EcrRegistry`: the core's `Registry` on Amazon ECR.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
use aws_sdk_ecr::operation::put_image::PutImageError;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use neuro_deploy_core::{AdapterError, ImageRef, ReasonCode, Registry};
use tokio::sync::OnceCell;

use crate::{AwsSettings, map_sdk_error};

/// Manifest media types we accept from BatchGetImage, so PutImage gets the exact same bytes.
const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The app's ECR repository.
#[derive(Debug)]
pub struct EcrRegistry {
    client: Client,
    repository: String,
    uri: OnceCell<String>,
    operation_timeout: Duration,
}

impl EcrRegistry {
    /// A registry over `repository` in the region of `sdk`; `uri` when the config gives it,
    /// else it is looked up once with DescribeRepositories.
    pub fn new(
        sdk: &SdkConfig,
        settings: &AwsSettings,
        repository: &str,
        uri: Option<String>,
    ) -> Self {
        let cell = OnceCell::new();
        if let Some(uri) = uri {
            // A fresh cell cannot be full.
            let _ = cell.set(uri);
        }
        EcrRegistry {
            client: Client::new(sdk),
            repository: repository.to_owned(),
            uri: cell,
            operation_timeout: settings.operation_timeout,
        }
    }

    fn error<E>(&self, operation: String, error: SdkError<E, HttpResponse>) -> AdapterError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        map_sdk_error("ecr", operation, error, self.operation_timeout)
    }

    fn repository_missing(&self) -> AdapterError {
        AdapterError::NotFound {
            source: None,
            service: "ecr",
            what: format!(
                "repository `{}` (create it, or fix `registry.repository` / `registry.region`)",
                self.repository
            ),
        }
    }
}

#[async_trait]
impl Registry for EcrRegistry {
    async fn repository_uri(&self) -> Result<String, AdapterError> {
        self.uri
            .get_or_try_init(|| async {
                let response = self
                    .client
                    .describe_repositories()
                    .repository_names(&self.repository)
                    .send()
                    .await;
                match response {
                    Ok(output) => output
                        .repositories()
                        .iter()
                        .find_map(|r| r.repository_uri().map(str::to_owned))
                        .ok_or_else(|| self.repository_missing()),
                    Err(e)
                        if matches!(
                            e.as_service_error(),
                            Some(DescribeRepositoriesError::RepositoryNotFoundException(_))
                        ) =>
                    {
                        Err(self.repository_missing())
                    }
                    Err(e) => {
                        Err(self.error(format!("describing repository `{}`", self.repository), e))
                    }
                }
            })
            .await
            .cloned()
    }

    async fn find(&self, tag: &str) -> Result<Option<ImageRef>, AdapterError> {
        let uri = self.repository_uri().await?;
        let response = self
            .client
            .describe_images()
            .repository_name(&self.repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await;
        match response {
            Ok(output) => Ok(output.image_details().first().map(|detail| ImageRef {
                repository: uri.clone(),
                tag: tag.to_owned(),
                digest: detail.image_digest().map(str::to_owned),
            })),
            Err(e) => match e.as_service_error() {
                Some(DescribeImagesError::ImageNotFoundException(_)) => Ok(None),
                Some(DescribeImagesError::RepositoryNotFoundException(_)) => {
                    Err(self.repository_missing())
                }
                _ => Err(self.error(format!("looking up image `{}:{tag}`", self.repository), e)),
            },
        }
    }

    async fn retag(&self, from: &str, to: &str) -> Result<ImageRef, AdapterError> {
        let uri = self.repository_uri().await?;
        let fetched = self
            .client
            .batch_get_image()
            .repository_name(&self.repository)
            .image_ids(ImageIdentifier::builder().image_tag(from).build())
            .set_accepted_media_types(Some(
                MANIFEST_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            ))
            .send()
            .await
            .map_err(|e| {
                self.error(
                    format!("reading the manifest of `{}:{from}`", self.repository),
                    e,
                )
            })?;
        let Some(image) = fetched.images().first() else {
            return Err(AdapterError::NotFound {
                source: None,
                service: "ecr",
                what: format!("image `{}:{from}` to retag as `{to}`", self.repository),
            });
        };
        let manifest = image.image_manifest().ok_or_else(|| {
            AdapterError::failed(
                "ecr",
                format!("retagging `{from}` as `{to}`"),
                "ECR returned no manifest",
            )
        })?;
        let digest = image
            .image_id()
            .and_then(|id| id.image_digest())
            .map(str::to_owned);
        let put = self
            .client
            .put_image()
            .repository_name(&self.repository)
            .image_manifest(manifest)
            .set_image_manifest_media_type(image.image_manifest_media_type().map(str::to_owned))
            .image_tag(to)
            .send()
            .await;
        let immutable = || AdapterError::Refused {
            code: ReasonCode::ImmutableTag,
            message: format!(
                "tag `{to}` already exists in the immutable repository `{}` on another image; release a new version instead of moving the tag",
                self.repository
            ),
        };
        match put {
            Ok(_) => {}
            // "Already exists": fine only if the tag already names this very image (a re-run).
            // Re-read rather than trust the code: some implementations use it for immutable tags too.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutImageError::ImageAlreadyExistsException(_))
                ) =>
            {
                let existing = self.find(to).await?.and_then(|image| image.digest);
                if digest.is_none() || existing != digest {
                    return Err(immutable());
                }
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutImageError::ImageTagAlreadyExistsException(_))
                ) =>
            {
                return Err(immutable());
            }
            Err(e) => {
                return Err(
                    self.error(format!("tagging `{}:{from}` as `{to}`", self.repository), e)
                );
            }
        }
        Ok(ImageRef {
            repository: uri,
            tag: to.to_owned(),
            digest,
        })
    }
}
