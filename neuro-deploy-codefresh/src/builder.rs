//! `CodefreshBuilder`: the core's `ImageBuilder` on the Codefresh `build` pipeline.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, GitSha, ImageBuilder, ImageRef};
use serde::Deserialize;
use serde_json::json;

const SERVICE: &str = "codefresh";
/// The public Codefresh API.
pub const DEFAULT_URL: &str = "https://g.codefresh.io";
/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "CF_API_KEY";
/// Environment variable holding the API base URL.
pub const URL_ENV: &str = "CF_URL";

/// Timing of a build run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// Time between status polls.
    pub poll: Duration,
    /// How long a build may take.
    pub timeout: Duration,
    /// Bound of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            poll: Duration::from_secs(10),
            timeout: Duration::from_secs(1800),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs the image build pipeline through the Codefresh API.
pub struct CodefreshBuilder {
    http: reqwest::Client,
    base: String,
    api_key: String,
    pipeline: String,
    settings: BuildSettings,
    /// The build this builder started (not one it joined), until it ends: what `cancel` stops.
    started: std::sync::Mutex<Option<String>>,
}

impl fmt::Debug for CodefreshBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("CodefreshBuilder")
            .field("base", &self.base)
            .field("pipeline", &self.pipeline)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Build {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
    /// The build's progress id: terminating a build deletes its progress (what
    /// `codefresh terminate` does).
    #[serde(default)]
    progress: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowPage {
    workflows: WorkflowDocs,
}

#[derive(Deserialize)]
struct WorkflowDocs {
    #[serde(default)]
    docs: Vec<Workflow>,
}

#[derive(Deserialize)]
struct Workflow {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    revision: String,
    #[serde(default, rename = "pipelineName")]
    pipeline_name: String,
}

/// Where a build stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Succeeded,
    Failed,
}

fn phase(status: &str) -> Phase {
    match status {
        "success" => Phase::Succeeded,
        "error" | "terminated" | "denied" | "failure" => Phase::Failed,
        _ => Phase::Running,
    }
}

impl CodefreshBuilder {
    /// A builder for `pipeline` (`project/pipeline`) with `api_key` against `base_url`.
    pub fn new(
        base_url: &str,
        api_key: &str,
        pipeline: &str,
        settings: BuildSettings,
    ) -> Result<CodefreshBuilder, AdapterError> {
        if api_key.trim().is_empty() {
            return Err(AdapterError::Unauthorized {
                source: None,
                service: SERVICE,
                operation: "starting a build".to_owned(),
                message: format!(
                    "{API_KEY_ENV} is not set; create an API key in Codefresh (User Settings → API Keys) with the pipeline scope"
                ),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                AdapterError::failed(SERVICE, "creating the HTTP client", e.to_string())
            })?;
        Ok(CodefreshBuilder {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            pipeline: pipeline.to_owned(),
            settings,
            started: std::sync::Mutex::new(None),
        })
    }

    /// From `CF_API_KEY` and `CF_URL` (default the public API).
    pub fn from_env(
        pipeline: &str,
        settings: BuildSettings,
    ) -> Result<CodefreshBuilder, AdapterError> {
        let key = std::env::var(API_KEY_ENV).unwrap_or_default();
        let url = std::env::var(URL_ENV).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        CodefreshBuilder::new(&url, &key, pipeline, settings)
    }

    fn pipeline_path(&self) -> String {
        self.pipeline.replace('/', "%2F")
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        operation: &str,
    ) -> Result<String, AdapterError> {
        let response = request
            .header("Authorization", &self.api_key)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    AdapterError::Timeout {
                        service: SERVICE,
                        operation: operation.to_owned(),
                        seconds: self.settings.request_timeout.as_secs_f64(),
                    }
                } else {
                    // reqwest's message names the URL, never the Authorization header.
                    let e = e.without_url();
                    AdapterError::failed(
                        SERVICE,
                        operation.to_owned(),
                        format!("could not reach Codefresh ({e}); check {URL_ENV}"),
                    )
                    .caused_by(e)
                }
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        match status.as_u16() {
            200..=299 => Ok(body),
            401 | 403 => Err(AdapterError::Unauthorized {
                source: None,
                service: SERVICE,
                operation: operation.to_owned(),
                message: format!(
                    "Codefresh answered {status}; check that {API_KEY_ENV} is valid and allowed to run `{}`",
                    self.pipeline
                ),
            }),
            404 => Err(AdapterError::NotFound {
                source: None,
                service: SERVICE,
                what: format!(
                    "{operation}: pipeline `{}` (check `builder.codefresh_pipeline`)",
                    self.pipeline
                ),
            }),
            _ => Err(AdapterError::failed(
                SERVICE,
                operation.to_owned(),
                format!("{status}: {}", body.chars().take(200).collect::<String>()),
            )),
        }
    }

    /// A build of this pipeline for `revision` that is still running, if any.
    async fn running_build(&self, revision: &GitSha) -> Result<Option<String>, AdapterError> {
        let url = format!("{}/api/workflow/", self.base);
        let request = self.http.get(url).query(&[
            ("limit", "20"),
            ("page", "1"),
            ("pipelineName", self.pipeline.as_str()),
            ("status", "pending"),
            ("status", "elected"),
            ("status", "running"),
        ]);
        let body = self.send(request, "listing running builds").await?;
        let page: WorkflowPage = serde_json::from_str(&body).map_err(|e| {
            AdapterError::failed(
                SERVICE,
                "listing running builds",
                format!("unexpected response: {e}"),
            )
        })?;
        Ok(page
            .workflows
            .docs
            .into_iter()
            .find(|w| {
                phase(&w.status) == Phase::Running
                    && (w.pipeline_name.is_empty() || w.pipeline_name == self.pipeline)
                    && GitSha::parse(&w.revision).is_ok_and(|r| r.matches(revision))
            })
            .map(|w| w.id))
    }

    async fn start(&self, revision: &GitSha, image: &ImageRef) -> Result<String, AdapterError> {
        let url = format!("{}/api/pipelines/run/{}", self.base, self.pipeline_path());
        let body = json!({
            "sha": revision.as_str(),
            "variables": {
                "CF_REVISION": revision.as_str(),
                "IMAGE": image.to_string(),
                "IMAGE_TAG": image.tag,
                "NEURO_UI_VERSION": image.tag,
            }
        });
        let text = self
            .send(self.http.post(url).json(&body), "starting a build")
            .await?;
        // The API answers with the build id as a JSON string.
        let id = serde_json::from_str::<String>(&text)
            .unwrap_or_else(|_| text.trim().trim_matches('"').to_owned());
        if id.is_empty() {
            return Err(AdapterError::failed(
                SERVICE,
                "starting a build",
                "Codefresh returned no build id",
            ));
        }
        Ok(id)
    }

    fn set_started(&self, id: Option<String>) {
        if let Ok(mut slot) = self.started.lock() {
            *slot = id;
        }
    }

    async fn read_build(&self, id: &str) -> Result<Build, AdapterError> {
        let url = format!("{}/api/builds/{id}", self.base);
        let text = self
            .send(self.http.get(url), &format!("reading build {id}"))
            .await?;
        serde_json::from_str(&text).map_err(|e| {
            AdapterError::failed(
                SERVICE,
                format!("reading build {id}"),
                format!("unexpected response: {e}"),
            )
        })
    }

    async fn follow(&self, id: &str) -> Result<(), AdapterError> {
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        loop {
            let build = self.read_build(id).await?;
            match phase(&build.status) {
                Phase::Succeeded => return Ok(()),
                Phase::Failed => {
                    return Err(AdapterError::failed(
                        SERVICE,
                        format!("build {}", if build.id.is_empty() { id } else { &build.id }),
                        format!(
                            "ended with status `{}`; see the build log in Codefresh",
                            build.status
                        ),
                    ));
                }
                Phase::Running => {}
            }
            if tokio::time::Instant::now() + self.settings.poll > deadline {
                return Err(AdapterError::Timeout {
                    service: SERVICE,
                    operation: format!("waiting for build {id}"),
                    seconds: self.settings.timeout.as_secs_f64(),
                });
            }
            tokio::time::sleep(self.settings.poll).await;
        }
    }
}

#[async_trait]
impl ImageBuilder for CodefreshBuilder {
    async fn build(&self, revision: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError> {
        // Never start a second build of the same revision (a retried step, a re-run).
        let id = match self.running_build(revision).await? {
            Some(id) => {
                tracing::info!(build = %id, "following the build already running for this revision");
                id
            }
            None => {
                let id = self.start(revision, image).await?;
                self.set_started(Some(id.clone()));
                id
            }
        };
        let followed = self.follow(&id).await;
        self.set_started(None);
        followed?;
        Ok(image.clone())
    }

    /// Terminates the build this builder started, when a cancelled run dropped its `build`
    /// (`DELETE /api/progress/{progress}`, as `codefresh terminate` does). A build it only
    /// joined belongs to someone else and is left running.
    async fn cancel(&self) -> Result<(), AdapterError> {
        let Some(id) = self.started.lock().ok().and_then(|mut slot| slot.take()) else {
            return Ok(());
        };
        let build = self.read_build(&id).await?;
        let Some(progress) = build.progress.filter(|p| !p.is_empty()) else {
            return Err(AdapterError::failed(
                SERVICE,
                format!("terminating build {id}"),
                "Codefresh did not say which progress runs it; terminate it in the Codefresh UI",
            ));
        };
        let url = format!("{}/api/progress/{progress}", self.base);
        self.send(self.http.delete(url), &format!("terminating build {id}"))
            .await?;
        tracing::warn!(build = %id, "terminated the build this run started");
        Ok(())
    }
}
