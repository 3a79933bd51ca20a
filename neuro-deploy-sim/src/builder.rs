//! [`MemoryBuilder`]: a build that takes a while and pushes the commit's image into a
//! [`MemoryRegistry`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, GitSha, ImageBuilder, ImageRef};

use crate::digest::digest_of;
use crate::registry::MemoryRegistry;

/// Builds take `duration` (tokio time, so paused-time tests do not wait) and push an image
/// whose digest is derived from the commit: the same commit always builds the same digest.
#[derive(Debug)]
pub struct MemoryBuilder {
    registry: Arc<MemoryRegistry>,
    duration: Duration,
    builds: Mutex<Vec<ImageRef>>,
}

impl MemoryBuilder {
    /// A builder pushing into `registry`, each build taking `duration`.
    pub fn new(registry: Arc<MemoryRegistry>, duration: Duration) -> MemoryBuilder {
        MemoryBuilder {
            registry,
            duration,
            builds: Mutex::new(Vec::new()),
        }
    }

    /// The images built so far, oldest first.
    pub fn builds(&self) -> Vec<ImageRef> {
        crate::locked(&self.builds).clone()
    }
}

#[async_trait]
impl ImageBuilder for MemoryBuilder {
    async fn build(&self, revision: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError> {
        tokio::time::sleep(self.duration).await;
        let pushed = self
            .registry
            .push(&image.tag, &digest_of(revision.as_str()))?;
        crate::locked(&self.builds).push(pushed.clone());
        Ok(pushed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuro_deploy_core::Registry;

    #[tokio::test(start_paused = true)]
    async fn a_build_takes_its_time_and_pushes_the_commits_digest() {
        let registry = Arc::new(MemoryRegistry::new("registry.sim/neuro-ui"));
        let builder = MemoryBuilder::new(Arc::clone(&registry), Duration::from_secs(5));
        let sha = GitSha::parse("abc1234def").unwrap();
        let started = tokio::time::Instant::now();

        let built = builder
            .build(&sha, &ImageRef::new("registry.sim/neuro-ui", "abc1234"))
            .await
            .unwrap();

        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(built.digest, Some(digest_of("abc1234def")));
        assert_eq!(registry.find("abc1234").await.unwrap(), Some(built.clone()));
        assert_eq!(builder.builds(), vec![built]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_build_never_moves_a_tag_that_names_another_image() {
        let registry = Arc::new(MemoryRegistry::new("registry.sim/neuro-ui"));
        registry.push("v1.0.0", "sha256:other").unwrap();
        let builder = MemoryBuilder::new(Arc::clone(&registry), Duration::ZERO);
        let sha = GitSha::parse("abc1234").unwrap();
        let error = builder
            .build(&sha, &ImageRef::new("registry.sim/neuro-ui", "v1.0.0"))
            .await
            .unwrap_err();
        assert_eq!(
            error.reason_code(),
            Some(neuro_deploy_core::ReasonCode::ImmutableTag)
        );
        assert!(builder.builds().is_empty());
    }
}
