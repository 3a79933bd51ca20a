//! Images: [`ImageRef`] (repository, tag, digest when known) and the containers that run them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A container image: `repository:tag`, plus its digest when the registry told us.
///
/// `repository` is the full repository URI (`123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageRef {
    /// Full repository URI, registry host included.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// `sha256:…` when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ImageRef {
    /// An image reference without a digest.
    pub fn new(repository: impl Into<String>, tag: impl Into<String>) -> Self {
        Self {
            repository: repository.into(),
            tag: tag.into(),
            digest: None,
        }
    }

    /// Splits a container image string (`host/path:tag`, `host/path@sha256:…`,
    /// `host/path:tag@sha256:…`) into repository, tag and digest. A missing tag reads as `latest`,
    /// as container runtimes do.
    pub fn parse_container_image(image: &str) -> ImageRef {
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_owned())),
            None => (image, None),
        };
        // A `:` after the last `/` separates the tag; one before it is a registry port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
            None => (name, if digest.is_some() { "" } else { "latest" }),
        };
        ImageRef {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest,
        }
    }
}

impl ImageRef {
    /// `repository:tag@digest` when the digest is known (what a promotion sets, so the exact
    /// image verified upstream runs), else `repository:tag`.
    pub fn pinned(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}:{}@{digest}", self.repository, self.tag),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// One container of a workload and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerImage {
    /// Container name (the key `kubectl set image` merges by).
    pub container: String,
    /// The image as written in the pod template.
    pub image: String,
}
