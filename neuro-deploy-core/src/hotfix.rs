//! The hotfix flow: branch off the latest release, then release a patch tag targeting that branch.
//!
//! Pure rules ([`latest_release`], [`hotfix_branch`], [`check_patch_bump`]) plus two short
//! flows over a [`ReleaseSource`]. The release that follows is an ordinary `released` event:
//! hotfix branches are release branches (`hotfix/*`), so it deploys to staging by itself.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{AdapterError, InputError, ReasonCode, Stopped};
use crate::model::ReleaseInfo;
use crate::traits::ReleaseSource;
use crate::version::{GitSha, ReleaseTag};

/// The newest published release by SemVer order; drafts never count, pre-releases only when asked.
pub fn latest_release(releases: &[ReleaseInfo], include_prereleases: bool) -> Option<ReleaseTag> {
    releases
        .iter()
        .filter(|r| !r.draft && (include_prereleases || !r.prerelease))
        .filter_map(|r| ReleaseTag::parse(&r.tag).ok())
        .filter(|t| include_prereleases || !t.is_prerelease())
        .max()
}

/// The hotfix branch for a base release: `<prefix><next patch>` (`hotfix/v1.4.1`).
pub fn hotfix_branch(config: &Config, base: &ReleaseTag) -> String {
    format!("{}{}", config.git.hotfix_prefix, base.next_patch())
}

/// Checks that `tag` is a patch release after `base` (same major and minor, higher patch, no pre-release).
pub fn check_patch_bump(tag: &ReleaseTag, base: &ReleaseTag) -> Result<(), InputError> {
    let (new, old) = (tag.semver(), base.semver());
    if new.major != old.major
        || new.minor != old.minor
        || new.patch <= old.patch
        || tag.is_prerelease()
    {
        return Err(InputError::NotAPatch {
            tag: tag.to_string(),
            base: base.to_string(),
            next: base.next_patch().to_string(),
        });
    }
    Ok(())
}

/// What `hotfix start` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotfixStart {
    /// The release the branch is cut from.
    pub base: String,
    /// The branch.
    pub branch: String,
    /// The commit it points at.
    pub sha: GitSha,
    /// `false` when the branch already pointed there (idempotent re-run).
    pub created: bool,
}

/// Creates the hotfix branch at the commit of release `from` (the one production runs, as the
/// binaries choose it), or of the latest release when `None`.
pub async fn start(
    source: &dyn ReleaseSource,
    config: &Config,
    from: Option<&ReleaseTag>,
) -> Result<HotfixStart, Stopped> {
    let releases = source.releases().await?;
    let base = match from {
        Some(from) => {
            let published = releases
                .iter()
                .any(|r| !r.draft && r.tag == from.as_str());
            if !published {
                return Err(Stopped::refused(
                    ReasonCode::InvalidInput,
                    format!(
                        "`{from}` is not a published release on GitHub, so no hotfix can branch off it; name one with `--from vX.Y.Z`"
                    ),
                ));
            }
            from.clone()
        }
        None => latest_release(&releases, false).ok_or_else(|| {
            Stopped::refused(
                ReasonCode::NotARelease,
                "there is no published SemVer release to branch a hotfix from; create a release first"
                    .to_owned(),
            )
        })?,
    };
    let sha = source.resolve(base.as_str()).await?.ok_or_else(|| {
        Stopped::from(AdapterError::NotFound {
            source: None,
            service: "github",
            what: format!("the commit of release tag `{base}`"),
        })
    })?;
    let branch = hotfix_branch(config, &base);
    let created = source.create_branch(&branch, &sha).await?;
    Ok(HotfixStart {
        base: base.to_string(),
        branch,
        sha,
        created,
    })
}

/// Creates the release `tag` targeting its hotfix branch, after checking it is a patch bump
/// of the release the branch was cut from and does not exist yet.
pub async fn release(
    source: &dyn ReleaseSource,
    config: &Config,
    tag: &str,
) -> Result<ReleaseInfo, Stopped> {
    let new = ReleaseTag::parse(tag)
        .map_err(|e| Stopped::refused(ReasonCode::NotARelease, format!("hotfix tag {e}")))?;
    let releases = source.releases().await?;
    if let Some(existing) = releases.iter().find(|r| r.tag == new.as_str()) {
        return Err(Stopped::refused(
            ReasonCode::InvalidInput,
            format!(
                "release `{tag}` already exists (targeting `{}`); choose the next patch version",
                existing.target
            ),
        ));
    }
    let base = releases
        .iter()
        .filter(|r| !r.draft)
        .filter_map(|r| ReleaseTag::parse(&r.tag).ok())
        .filter(|t| {
            !t.is_prerelease()
                && t.semver().major == new.semver().major
                && t.semver().minor == new.semver().minor
                && t.semver() < new.semver()
        })
        .max()
        .ok_or_else(|| {
            Stopped::refused(
                ReasonCode::InvalidInput,
                format!(
                    "no release {}.{}.x older than `{tag}` exists to hotfix",
                    new.semver().major,
                    new.semver().minor
                ),
            )
        })?;
    check_patch_bump(&new, &base)
        .map_err(|e| Stopped::refused(ReasonCode::InvalidInput, e.to_string()))?;
    if source.resolve(new.as_str()).await?.is_some() {
        return Err(Stopped::refused(
            ReasonCode::InvalidInput,
            format!("tag `{tag}` already exists; choose the next patch version"),
        ));
    }
    let branch = format!("{}{}", config.git.hotfix_prefix, new);
    if source.resolve(&branch).await?.is_none() {
        return Err(Stopped::refused(
            ReasonCode::InvalidInput,
            format!(
                "branch `{branch}` does not exist; run `neuro-deploy hotfix start` first and merge the fix into it"
            ),
        ));
    }
    Ok(source.create_release(new.as_str(), &branch).await?)
}
