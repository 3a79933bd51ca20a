//! [`MemoryRegistry`]: an image repository in memory with immutable tags, like the ECR
//! repository neuro-deploy recommends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, ImageRef, ReasonCode, Registry};

/// One repository: tags → digests. Tags are immutable: a tag never moves to another image.
#[derive(Debug)]
pub struct MemoryRegistry {
    uri: String,
    tags: Mutex<BTreeMap<String, String>>,
}

impl MemoryRegistry {
    /// An empty repository pulled from `uri` (`host/path`).
    pub fn new(uri: impl Into<String>) -> MemoryRegistry {
        MemoryRegistry {
            uri: uri.into(),
            tags: Mutex::new(BTreeMap::new()),
        }
    }

    fn tags(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        crate::locked(&self.tags)
    }

    /// Pushes an image with `digest` under `tag`, as a build does; refused when the tag names
    /// another image already.
    pub fn push(&self, tag: &str, digest: &str) -> Result<ImageRef, AdapterError> {
        let mut tags = self.tags();
        match tags.get(tag) {
            Some(existing) if existing != digest => Err(self.immutable(tag)),
            _ => {
                tags.insert(tag.to_owned(), digest.to_owned());
                Ok(self.image(tag, digest))
            }
        }
    }

    /// The digest `tag` names, when it exists.
    pub fn digest(&self, tag: &str) -> Option<String> {
        self.tags().get(tag).cloned()
    }

    /// Every tag and its digest, sorted by tag.
    pub fn list(&self) -> Vec<(String, String)> {
        self.tags()
            .iter()
            .map(|(tag, digest)| (tag.clone(), digest.clone()))
            .collect()
    }

    fn image(&self, tag: &str, digest: &str) -> ImageRef {
        ImageRef {
            repository: self.uri.clone(),
            tag: tag.to_owned(),
            digest: Some(digest.to_owned()),
        }
    }

    fn immutable(&self, tag: &str) -> AdapterError {
        AdapterError::Refused {
            code: ReasonCode::ImmutableTag,
            message: format!(
                "tag `{tag}` already exists in the immutable repository `{}` on another image; release a new version instead of moving the tag",
                self.uri
            ),
        }
    }
}

#[async_trait]
impl Registry for MemoryRegistry {
    async fn repository_uri(&self) -> Result<String, AdapterError> {
        Ok(self.uri.clone())
    }

    async fn find(&self, tag: &str) -> Result<Option<ImageRef>, AdapterError> {
        Ok(self.digest(tag).map(|digest| self.image(tag, &digest)))
    }

    async fn retag(&self, from: &str, to: &str) -> Result<ImageRef, AdapterError> {
        let digest = self.digest(from).ok_or_else(|| AdapterError::NotFound {
            service: "registry",
            what: format!("image `{}:{from}`", self.uri),
            source: None,
        })?;
        self.push(to, &digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retag_adds_a_tag_to_the_same_digest_and_never_moves_one() {
        let registry = MemoryRegistry::new("registry.sim/neuro-ui");
        registry.push("abc1234", "sha256:aa").unwrap();
        registry.push("def5678", "sha256:bb").unwrap();

        let retagged = registry.retag("abc1234", "v1.4.0").await.unwrap();
        assert_eq!(retagged.digest.as_deref(), Some("sha256:aa"));
        assert_eq!(retagged.to_string(), "registry.sim/neuro-ui:v1.4.0");
        // A re-run is fine; moving the tag to another image is refused.
        assert!(registry.retag("abc1234", "v1.4.0").await.is_ok());
        let moved = registry.retag("def5678", "v1.4.0").await.unwrap_err();
        assert_eq!(moved.reason_code(), Some(ReasonCode::ImmutableTag));
        assert_eq!(registry.digest("v1.4.0").as_deref(), Some("sha256:aa"));

        let missing = registry.retag("0000000", "v9.9.9").await.unwrap_err();
        assert!(
            matches!(missing, AdapterError::NotFound { .. }),
            "{missing}"
        );
        assert_eq!(registry.find("v9.9.9").await.unwrap(), None);
        assert_eq!(
            registry
                .find("def5678")
                .await
                .unwrap()
                .unwrap()
                .digest
                .as_deref(),
            Some("sha256:bb")
        );
        assert_eq!(registry.list().len(), 3);
        assert_eq!(
            registry.repository_uri().await.unwrap(),
            "registry.sim/neuro-ui"
        );
    }
}
