//! The response shapes of the GitHub REST API that neuro-deploy reads (refs, tags, commits,
//! releases, comparisons, deployments and their statuses), as the REST docs define them.

use neuro_deploy_core::{AdapterError, GitSha, ReleaseInfo};
use serde::Deserialize;

use crate::SERVICE;

#[derive(Deserialize)]
pub(crate) struct GitRef {
    pub(crate) object: GitObject,
}

#[derive(Deserialize)]
pub(crate) struct GitTag {
    pub(crate) object: GitObject,
}

#[derive(Deserialize)]
pub(crate) struct GitObject {
    pub(crate) sha: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

#[derive(Deserialize)]
pub(crate) struct Commit {
    pub(crate) sha: String,
}

#[derive(Deserialize)]
pub(crate) struct Release {
    pub(crate) tag_name: String,
    pub(crate) target_commitish: String,
    pub(crate) draft: bool,
    pub(crate) prerelease: bool,
}

impl From<Release> for ReleaseInfo {
    fn from(r: Release) -> Self {
        ReleaseInfo {
            tag: r.tag_name,
            target: r.target_commitish,
            draft: r.draft,
            prerelease: r.prerelease,
        }
    }
}

/// A Deployment (`POST/GET …/deployments`).
#[derive(Deserialize)]
pub(crate) struct Deployment {
    pub(crate) id: u64,
    #[serde(rename = "ref", default)]
    pub(crate) reference: String,
    #[serde(default)]
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) created_at: String,
    #[serde(default)]
    pub(crate) creator: Option<User>,
    #[serde(default)]
    pub(crate) payload: serde_json::Value,
}

#[derive(Deserialize)]
pub(crate) struct User {
    pub(crate) login: String,
}

/// A Deployment status (`GET …/deployments/{id}/statuses`, newest first).
#[derive(Deserialize)]
pub(crate) struct DeploymentStatus {
    pub(crate) state: String,
}

#[derive(Deserialize)]
pub(crate) struct Comparison {
    pub(crate) status: String,
}

pub(crate) fn parse_sha(text: &str) -> Result<GitSha, AdapterError> {
    GitSha::parse(text)
        .map_err(|e| AdapterError::failed(SERVICE, "reading a commit id", e.to_string()))
}
