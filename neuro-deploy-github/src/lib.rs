//! # neuro-deploy-github
//!
//! The GitHub adapter of neuro-deploy: [`GithubReleases`] implements the core's
//! `ReleaseSource` with `octocrab` — resolve branches, tags (annotated or lightweight) and SHAs
//! to commits, read releases (paginated), tell whether a branch contains a commit, create hotfix
//! branches and releases — and its `DeploymentRecorder`: every deploy that writes as a GitHub
//! Deployment with its statuses, read back as the history.
//!
//! **What it is not**: no policy (the hotfix rules live in `neuro_deploy_core::hotfix`), and no
//! token storage: the token comes from `GITHUB_TOKEN` (or the caller) and is held as a
//! `SecretString`; it never appears in errors, logs or `Debug` output.
//!
//! Reliability: octocrab's own retries are switched off (they resend POSTs blindly); this
//! adapter retries 5xx and transport errors a bounded number of times, treats a 422
//! `already_exists` as success after re-reading when it names the same target, honours
//! `retry-after` and `x-ratelimit-reset`, waits at least a minute for secondary rate limits, and
//! gives up after a bounded total wait with an error that says when to retry.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;
use neuro_deploy_core::{AdapterError, GitSha, ReasonCode, ReleaseInfo, ReleaseSource};
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde_json::json;

use crate::wire::{Commit, Comparison, GitRef, GitTag, Release, parse_sha};

/// Environment variable holding the token.
pub const TOKEN_ENV: &str = "GITHUB_TOKEN";
/// Environment variable holding the API base URL (GitHub Enterprise).
pub const API_URL_ENV: &str = "GITHUB_API_URL";

const SERVICE: &str = "github";

mod cache;
mod deployments;
mod transport;
mod wire;

/// Timeouts, retries and rate-limit waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubSettings {
    /// Connection bound.
    pub connect_timeout: Duration,
    /// Bound of reading a response.
    pub read_timeout: Duration,
    /// Attempts for 5xx and transport errors, first included.
    pub max_attempts: u32,
    /// First retry delay for 5xx and transport errors (doubles each time).
    pub initial_backoff: Duration,
    /// Shortest wait after a secondary rate limit without headers.
    pub secondary_min_wait: Duration,
    /// The most time spent waiting for rate limits in one call.
    pub max_rate_limit_wait: Duration,
}

impl Default for GithubSettings {
    fn default() -> Self {
        GithubSettings {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            secondary_min_wait: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(300),
        }
    }
}

/// One repository's releases, tags and branches.
pub struct GithubReleases {
    client: Octocrab,
    owner: String,
    repo: String,
    settings: GithubSettings,
    /// Answers kept for conditional GETs.
    cache: Arc<cache::ConditionalCache>,
}

impl fmt::Debug for GithubReleases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the client: it holds the token.
        f.debug_struct("GithubReleases")
            .field("repository", &format!("{}/{}", self.owner, self.repo))
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl GithubReleases {
    /// A client for `repository` (`owner/name`), with `token` (none for public read-only use)
    /// against `api_url` (default `https://api.github.com`).
    pub fn new(
        repository: &str,
        token: Option<String>,
        api_url: Option<&str>,
        settings: GithubSettings,
    ) -> Result<GithubReleases, AdapterError> {
        let (owner, repo) = match repository.split_once('/') {
            Some((owner, repo)) if !owner.is_empty() && !repo.is_empty() && !repo.contains('/') => {
                (owner.to_owned(), repo.to_owned())
            }
            _ => {
                return Err(AdapterError::Refused {
                    code: ReasonCode::InvalidInput,
                    message: format!(
                        "`{repository}` is not a GitHub repository; write it as `owner/name` (`git.repository`)"
                    ),
                });
            }
        };
        let mut builder = Octocrab::builder()
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(settings.connect_timeout))
            .set_read_timeout(Some(settings.read_timeout));
        if let Some(url) = api_url {
            builder = builder.base_uri(url).map_err(|_| AdapterError::Refused {
                code: ReasonCode::InvalidInput,
                message: format!("{API_URL_ENV} `{url}` is not a URL"),
            })?;
        }
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            builder = builder.personal_token(token);
        }
        let client = builder
            .build()
            .map_err(|e| AdapterError::failed(SERVICE, "creating the client", e.to_string()))?;
        Ok(GithubReleases {
            client,
            owner,
            repo,
            settings,
            cache: Arc::default(),
        })
    }

    /// A client configured from `GITHUB_TOKEN` and `GITHUB_API_URL`.
    pub fn from_env(
        repository: &str,
        settings: GithubSettings,
    ) -> Result<GithubReleases, AdapterError> {
        let token = std::env::var(TOKEN_ENV).ok();
        let api_url = std::env::var(API_URL_ENV).ok();
        GithubReleases::new(repository, token, api_url.as_deref(), settings)
    }

    /// Whether the token can read the repository (`neuro-deploy doctor`): `GET /repos/OWNER/NAME`.
    pub async fn check_repository(&self) -> Result<(), AdapterError> {
        let path = format!("/repos/{}/{}", self.owner, self.repo);
        self.get(&path)
            .await?
            .ok(&format!("reading repository {}/{}", self.owner, self.repo))
            .map(|_| ())
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}/{rest}", self.owner, self.repo)
    }

    async fn resolve_tag(&self, tag: &str) -> Result<Option<GitSha>, AdapterError> {
        let Some(reference) = self
            .get_optional::<GitRef>(&self.path(&format!("git/ref/tags/{tag}")))
            .await?
        else {
            return Ok(None);
        };
        let mut object = reference.object;
        // Annotated tags point at a tag object; follow it (tags of tags included, bounded).
        for _ in 0..5 {
            if object.kind != "tag" {
                break;
            }
            let path = self.path(&format!("git/tags/{}", object.sha));
            let tag_object: GitTag =
                self.get_optional(&path)
                    .await?
                    .ok_or_else(|| AdapterError::NotFound {
                        source: None,
                        service: SERVICE,
                        what: format!("tag object {} of `{tag}`", object.sha),
                    })?;
            object = tag_object.object;
        }
        parse_sha(&object.sha).map(Some)
    }

    async fn branch_head(&self, branch: &str) -> Result<Option<GitSha>, AdapterError> {
        match self
            .get_optional::<GitRef>(&self.path(&format!("git/ref/heads/{branch}")))
            .await?
        {
            Some(reference) => parse_sha(&reference.object.sha).map(Some),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl ReleaseSource for GithubReleases {
    async fn resolve(&self, reference: &str) -> Result<Option<GitSha>, AdapterError> {
        if let Some(sha) = self.resolve_tag(reference).await? {
            return Ok(Some(sha));
        }
        if let Some(sha) = self.branch_head(reference).await? {
            return Ok(Some(sha));
        }
        if GitSha::parse(reference).is_ok() {
            let path = self.path(&format!("commits/{reference}"));
            let reply = self.get(&path).await?;
            // 422: "No commit found for SHA".
            if reply.status == StatusCode::NOT_FOUND
                || reply.status == StatusCode::UNPROCESSABLE_ENTITY
            {
                return Ok(None);
            }
            let commit: Commit = reply
                .ok(&format!("GET {path}"))?
                .json(&format!("GET {path}"))?;
            return parse_sha(&commit.sha).map(Some);
        }
        Ok(None)
    }

    async fn release(&self, tag: &str) -> Result<Option<ReleaseInfo>, AdapterError> {
        let release: Option<Release> = self
            .get_optional(&self.path(&format!("releases/tags/{tag}")))
            .await?;
        Ok(release.map(ReleaseInfo::from))
    }

    async fn releases(&self) -> Result<Vec<ReleaseInfo>, AdapterError> {
        let mut all = Vec::new();
        let mut next = Some(self.path("releases?per_page=100"));
        // Bounded: 50 pages of 100 releases.
        for _ in 0..50 {
            let Some(path) = next.take() else { break };
            let operation = format!("GET {path}");
            let reply = self.get(&path).await?.ok(&operation)?;
            let page: Vec<Release> = reply.json(&operation)?;
            all.extend(page.into_iter().map(ReleaseInfo::from));
            next = reply.next_page();
        }
        Ok(all)
    }

    async fn branch_contains(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError> {
        let path = self.path(&format!("compare/{branch}...{sha}"));
        let operation = format!("GET {path}");
        let comparison: Comparison = self.get(&path).await?.ok(&operation)?.json(&operation)?;
        // `sha` is in `branch` when it is the same commit or behind the branch head.
        Ok(matches!(comparison.status.as_str(), "identical" | "behind"))
    }

    async fn compare(
        &self,
        base: &str,
        head: &str,
    ) -> Result<Option<neuro_deploy_core::model::Comparison>, AdapterError> {
        // A reference GitHub does not know (404) leaves the comparison unknown.
        let path = self.path(&format!("compare/{base}...{head}"));
        let comparison: Option<Comparison> = self.get_optional(&path).await?;
        Ok(comparison.map(|c| c.into_model(base, head)))
    }

    async fn create_branch(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError> {
        let elsewhere = |current: &GitSha| AdapterError::Refused {
            code: ReasonCode::InvalidInput,
            message: format!(
                "branch `{branch}` already exists at {current}, not at {sha}; delete it or choose another name"
            ),
        };
        if let Some(current) = self.branch_head(branch).await? {
            return if current.matches(sha) {
                Ok(false)
            } else {
                Err(elsewhere(&current))
            };
        }
        let path = self.path("git/refs");
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": sha.as_str() });
        let reply = self.send(http::Method::POST, &path, Some(&body)).await?;
        if reply.already_exists() {
            // A retried POST, or someone was quicker: judge by what is there now.
            return match self.branch_head(branch).await? {
                Some(current) if current.matches(sha) => Ok(false),
                Some(current) => Err(elsewhere(&current)),
                None => Err(AdapterError::failed(
                    SERVICE,
                    format!("creating branch `{branch}`"),
                    "GitHub said it exists but it cannot be read",
                )),
            };
        }
        reply.ok(&format!("creating branch `{branch}`"))?;
        Ok(true)
    }

    async fn create_release(&self, tag: &str, branch: &str) -> Result<ReleaseInfo, AdapterError> {
        let path = self.path("releases");
        let body = json!({
            "tag_name": tag,
            "target_commitish": branch,
            "name": tag,
            "generate_release_notes": true,
        });
        let operation = format!("creating release `{tag}`");
        let reply = self.send(http::Method::POST, &path, Some(&body)).await?;
        if reply.already_exists() {
            return match self.release(tag).await? {
                Some(existing) if existing.target == branch => Ok(existing),
                Some(existing) => Err(AdapterError::Refused {
                    code: ReasonCode::InvalidInput,
                    message: format!(
                        "release `{tag}` already exists targeting `{}`, not `{branch}`; choose the next patch version",
                        existing.target
                    ),
                }),
                None => Err(AdapterError::Refused {
                    code: ReasonCode::InvalidInput,
                    message: format!(
                        "tag `{tag}` already exists without a release; choose the next patch version"
                    ),
                }),
            };
        }
        let release: Release = reply.ok(&operation)?.json(&operation)?;
        Ok(release.into())
    }
}
