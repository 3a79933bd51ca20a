//! `SqsQueues`: the core's `QueueInspector` on Amazon SQS, one client per region.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::types::QueueAttributeName;
use futures::future::join_all;
use neuro_deploy_core::{AdapterError, QueueDepth, QueueInspector};

use crate::{AwsSettings, load_sdk_config, map_sdk_error};

/// SQS in every configured region.
#[derive(Debug)]
pub struct SqsQueues {
    clients: BTreeMap<String, Client>,
    urls: Mutex<HashMap<(String, String), String>>,
    operation_timeout: Duration,
}

impl SqsQueues {
    /// One client per region, each from the default chain with these settings.
    pub async fn connect(regions: &[String], settings: &AwsSettings) -> SqsQueues {
        let loads = regions
            .iter()
            .map(|region| load_sdk_config(Some(region), settings));
        let clients: BTreeMap<String, Client> = regions
            .iter()
            .cloned()
            .zip(join_all(loads).await.iter().map(Client::new))
            .collect();
        SqsQueues {
            clients,
            urls: Mutex::new(HashMap::new()),
            operation_timeout: settings.operation_timeout,
        }
    }

    /// From ready-made SDK configurations, one per region (tests, or callers with their own chain).
    pub fn from_configs(
        configs: &[(String, aws_config::SdkConfig)],
        settings: &AwsSettings,
    ) -> SqsQueues {
        SqsQueues {
            clients: configs
                .iter()
                .map(|(region, sdk)| (region.clone(), Client::new(sdk)))
                .collect(),
            urls: Mutex::new(HashMap::new()),
            operation_timeout: settings.operation_timeout,
        }
    }

    fn client(&self, region: &str) -> Result<&Client, AdapterError> {
        self.clients.get(region).ok_or_else(|| {
            let known: Vec<&str> = self.clients.keys().map(String::as_str).collect();
            AdapterError::failed(
                "sqs",
                format!("reading queues in {region}"),
                format!(
                    "no client for region {region}; configured regions: {}",
                    known.join(", ")
                ),
            )
        })
    }

    async fn queue_url(
        &self,
        client: &Client,
        queue: &str,
        region: &str,
    ) -> Result<String, AdapterError> {
        let key = (queue.to_owned(), region.to_owned());
        if let Some(url) = self
            .urls
            .lock()
            .ok()
            .and_then(|urls| urls.get(&key).cloned())
        {
            return Ok(url);
        }
        let response = client.get_queue_url().queue_name(queue).send().await;
        let url = match response {
            Ok(output) => output.queue_url().map(str::to_owned).ok_or_else(|| {
                AdapterError::failed(
                    "sqs",
                    format!("resolving queue `{queue}` in {region}"),
                    "SQS returned no URL",
                )
            })?,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetQueueUrlError::QueueDoesNotExist(_))
                ) =>
            {
                return Err(AdapterError::NotFound {
                    source: None,
                    service: "sqs",
                    what: format!(
                        "queue `{queue}` in {region} (check `queues.names` and `queues.regions`)"
                    ),
                });
            }
            Err(e) => {
                return Err(map_sdk_error(
                    "sqs",
                    format!("resolving queue `{queue}` in {region}"),
                    e,
                    self.operation_timeout,
                ));
            }
        };
        if let Ok(mut urls) = self.urls.lock() {
            urls.insert(key, url.clone());
        }
        Ok(url)
    }
}

#[async_trait]
impl QueueInspector for SqsQueues {
    async fn depth(&self, queue: &str, region: &str) -> Result<QueueDepth, AdapterError> {
        let client = self.client(region)?;
        let url = self.queue_url(client, queue, region).await?;
        let output = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| {
                map_sdk_error(
                    "sqs",
                    format!("reading queue `{queue}` in {region}"),
                    e,
                    self.operation_timeout,
                )
            })?;
        let attributes = output.attributes();
        let count = |name: QueueAttributeName| -> Result<u64, AdapterError> {
            let text = attributes.and_then(|a| a.get(&name)).ok_or_else(|| {
                AdapterError::failed(
                    "sqs",
                    format!("reading queue `{queue}` in {region}"),
                    format!("SQS did not report {}", name.as_str()),
                )
            })?;
            text.parse().map_err(|_| {
                AdapterError::failed(
                    "sqs",
                    format!("reading queue `{queue}` in {region}"),
                    format!("{} is not a count: `{text}`", name.as_str()),
                )
            })
        };
        Ok(QueueDepth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages)?,
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
            delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?,
        })
    }
}
