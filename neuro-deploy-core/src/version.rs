//! Versions: a git revision or a SemVer release tag.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a version. The message says what a version looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a version: {problem}; a version is a git SHA (7 to 40 lowercase hex digits, e.g. `abc1234`) or a SemVer release tag (e.g. `v1.4.0` or `1.4.0-rc.1`)"
)]
pub struct VersionError {
    /// The rejected input, shortened when very long.
    pub input: String,
    /// What exactly is wrong with it.
    pub problem: String,
}

impl VersionError {
    fn new(input: &str, problem: impl Into<String>) -> Self {
        // Keep the message readable when someone pastes a whole file.
        let input: String = input.chars().take(80).collect();
        Self {
            input,
            problem: problem.into(),
        }
    }
}

/// A git commit id: 7 to 40 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GitSha(String);

impl GitSha {
    /// The shortest accepted length (git's default abbreviation).
    pub const MIN_LEN: usize = 7;
    /// The length of a full SHA-1 commit id.
    pub const MAX_LEN: usize = 40;

    /// Parses a git SHA, rejecting anything but 7–40 lowercase hex digits.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let len = input.len();
        if !input.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(VersionError::new(
                input,
                "it contains a character that is not a hex digit",
            ));
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(VersionError::new(
                input,
                "git SHAs are written in lowercase",
            ));
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(VersionError::new(
                input,
                format!("a git SHA has 7 to 40 hex digits, this one has {len}"),
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// The SHA as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `len` digits (the whole SHA when it is shorter).
    pub fn short(&self, len: usize) -> &str {
        &self.0[..len.min(self.0.len())]
    }

    /// Whether this SHA and `other` name the same commit as far as both are written
    /// (one is a prefix of the other).
    pub fn matches(&self, other: &GitSha) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

impl fmt::Display for GitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for GitSha {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A release tag: SemVer 2.0 with an optional leading `v`, kept as written.
///
/// Ordering is SemVer's (pre-releases sort below their release); two tags that differ
/// only in the leading `v` compare by SemVer first and by spelling last, so the order is total.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReleaseTag {
    written: String,
    semver: semver::Version,
}

impl ReleaseTag {
    /// Parses a release tag. Build metadata (`+…`) is refused because `+` cannot
    /// appear in a container image tag.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let body = input.strip_prefix('v').unwrap_or(input);
        if body.is_empty() {
            return Err(VersionError::new(input, "it is empty"));
        }
        let semver = semver::Version::parse(body)
            .map_err(|e| VersionError::new(input, format!("it is not SemVer 2.0 ({e})")))?;
        if !semver.build.is_empty() {
            return Err(VersionError::new(
                input,
                "build metadata (`+…`) cannot be part of an image tag",
            ));
        }
        // Docker tags are at most 128 characters.
        if input.len() > 128 {
            return Err(VersionError::new(
                input,
                "an image tag has at most 128 characters",
            ));
        }
        Ok(Self {
            written: input.to_owned(),
            semver,
        })
    }

    /// The tag exactly as written (`v1.4.0` stays `v1.4.0`).
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The SemVer value.
    pub fn semver(&self) -> &semver::Version {
        &self.semver
    }

    /// Whether the tag is a pre-release (`1.4.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.semver.pre.is_empty()
    }

    /// Whether the tag is written with a leading `v`.
    pub fn has_v_prefix(&self) -> bool {
        self.written.starts_with('v')
    }

    /// The next patch release, spelled like this one (`v1.4.0` → `v1.4.1`).
    /// A pre-release's next patch is its own release (`1.5.0-rc.1` → `1.5.0`), as SemVer orders them.
    pub fn next_patch(&self) -> ReleaseTag {
        let mut next =
            semver::Version::new(self.semver.major, self.semver.minor, self.semver.patch);
        if !self.is_prerelease() {
            next.patch += 1;
        }
        let prefix = if self.has_v_prefix() { "v" } else { "" };
        ReleaseTag {
            written: format!("{prefix}{next}"),
            semver: next,
        }
    }
}

impl Ord for ReleaseTag {
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver
            .cmp(&other.semver)
            .then_with(|| self.written.cmp(&other.written))
    }
}

impl PartialOrd for ReleaseTag {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ReleaseTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl FromStr for ReleaseTag {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// What gets deployed: a git revision or a release.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Version {
    /// A commit, deployed under its short SHA.
    GitSha(GitSha),
    /// A SemVer release, deployed under its tag as written.
    Release(ReleaseTag),
}

impl Version {
    /// Parses a version strictly: a git SHA or a SemVer release tag, nothing else.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new(input, "it is empty"));
        }
        if input.trim() != input {
            return Err(VersionError::new(input, "it has surrounding white space"));
        }
        if input.contains('.') {
            return ReleaseTag::parse(input).map(Version::Release);
        }
        GitSha::parse(input).map(Version::GitSha)
    }

    /// The image tag this version is deployed under: the short SHA (first `short_len`
    /// digits) or the release tag as written.
    pub fn image_tag(&self, short_len: usize) -> String {
        match self {
            Version::GitSha(sha) => sha.short(short_len).to_owned(),
            Version::Release(tag) => tag.as_str().to_owned(),
        }
    }

    /// The release tag, when this is a release.
    pub fn as_release(&self) -> Option<&ReleaseTag> {
        match self {
            Version::Release(tag) => Some(tag),
            Version::GitSha(_) => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::GitSha(sha) => sha.fmt(f),
            Version::Release(tag) => tag.fmt(f),
        }
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! serde_as_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$ty>::from_str(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_string!(GitSha);
serde_as_string!(ReleaseTag);
serde_as_string!(Version);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_lengths_and_case() {
        assert!(GitSha::parse("abc1234").is_ok());
        assert!(GitSha::parse(&"a".repeat(40)).is_ok());
        assert!(GitSha::parse("abc123").is_err());
        assert!(GitSha::parse(&"a".repeat(41)).is_err());
        let upper = GitSha::parse("ABC1234").expect_err("uppercase refused");
        assert!(upper.to_string().contains("lowercase"), "{upper}");
        assert!(GitSha::parse("abc123g").is_err());
    }

    #[test]
    fn short_sha_is_a_prefix() {
        let sha = GitSha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid");
        assert_eq!(sha.short(7), "0123456");
        let short = GitSha::parse("0123456").expect("valid");
        assert!(sha.matches(&short));
        assert!(!sha.matches(&GitSha::parse("1123456").expect("valid")));
    }

    #[test]
    fn release_keeps_its_spelling() {
        let v = Version::parse("v1.4.0").expect("valid");
        assert_eq!(v.to_string(), "v1.4.0");
        assert_eq!(v.image_tag(7), "v1.4.0");
        let plain = Version::parse("1.4.0").expect("valid");
        assert_eq!(plain.to_string(), "1.4.0");
        assert_ne!(v, plain);
    }

    #[test]
    fn release_order_is_semver() {
        let rc = ReleaseTag::parse("v1.4.0-rc.1").expect("valid");
        let rel = ReleaseTag::parse("v1.4.0").expect("valid");
        let next = ReleaseTag::parse("1.10.0").expect("valid");
        assert!(rc < rel);
        assert!(rel < next);
    }

    #[test]
    fn bad_releases_are_explained() {
        for bad in [
            "v1.4",
            "1.4.0.1",
            "v01.4.0",
            "1.4.0+build.1",
            "vv1.4.0",
            "v",
            "1.4.0 ",
        ] {
            let err = Version::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("a version is a git SHA"), "{err}");
        }
    }

    #[test]
    fn next_patch_keeps_prefix() {
        let tag = ReleaseTag::parse("v1.4.0").expect("valid");
        assert_eq!(tag.next_patch().as_str(), "v1.4.1");
        let pre = ReleaseTag::parse("2.0.0-rc.2").expect("valid");
        assert_eq!(pre.next_patch().as_str(), "2.0.0");
    }

    #[test]
    fn sha_image_tag_is_short() {
        let v = Version::parse("abcdef0123456789").expect("valid");
        assert_eq!(v.image_tag(7), "abcdef0");
    }
}
