//! Deterministic, realistic-looking content ids for the simulated world.

use std::hash::{DefaultHasher, Hash, Hasher};

/// 64 lowercase hex digits derived from `content` (four 64-bit hashes with different salts):
/// stable within a build, distinct for distinct inputs in practice.
fn hex64(content: &str) -> String {
    (0u8..4)
        .map(|salt| {
            let mut hasher = DefaultHasher::new();
            salt.hash(&mut hasher);
            content.hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// A `sha256:…` image digest for an image built from `content` (e.g. a commit SHA).
pub fn digest_of(content: &str) -> String {
    format!("sha256:{}", hex64(content))
}

/// A 40-digit commit SHA for a commit described by `content`.
pub(crate) fn commit_sha(content: &str) -> String {
    hex64(content)[..40].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_distinct_and_well_formed() {
        let a = digest_of("abc");
        assert_eq!(a, digest_of("abc"));
        assert_ne!(a, digest_of("abd"));
        assert_eq!(a.len(), "sha256:".len() + 64);
        let sha = commit_sha("first commit");
        assert_eq!(sha.len(), 40);
        assert!(neuro_deploy_core::GitSha::parse(&sha).is_ok(), "{sha}");
    }
}
