//! What a deploy changes ([`Changes`]): the versions and digests, and the commits between them
//! from one bounded compare of the releases. Informative only: a compare that fails or hangs
//! becomes a warning and the versions and digests alone, never a failed run.

use std::time::Duration;

use crate::model::{Changes, ImageRef};
use crate::policy::replacement;
use crate::traits::ReleaseSource;

use super::Executor;
use super::interrupt::Watch;
use super::run::Run;

/// How long the compare may take before the run goes on without the commits.
pub const COMPARE_BOUND: Duration = Duration::from_secs(10);

/// A version and its image digest, when known.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The version (an image tag: a release tag or a short SHA, both git references).
    pub version: &'a str,
    /// `sha256:…`, when known.
    pub digest: Option<&'a str>,
}

/// What replacing `from` (what runs; `None` when nothing does) by `to` changes, with the commits
/// between them when `releases` can tell — at most one request, bounded by [`COMPARE_BOUND`].
/// The second value is a warning for the report when the compare failed.
pub async fn what_changed(
    releases: Option<&dyn ReleaseSource>,
    from: Option<Side<'_>>,
    to: Side<'_>,
) -> (Changes, Option<String>) {
    let mut changes = Changes {
        from: from.map(|s| s.version.to_owned()),
        from_digest: from.and_then(|s| s.digest.map(str::to_owned)),
        to: to.version.to_owned(),
        to_digest: to.digest.map(str::to_owned),
        comparison: None,
        commits_unknown: None,
    };
    let Some(from) = from else {
        changes.commits_unknown = Some("nothing runs there yet".to_owned());
        return (changes, None);
    };
    if from.version == to.version {
        return (changes, None);
    }
    let Some(releases) = releases else {
        changes.commits_unknown =
            Some("no GitHub repository is configured (`[git] repository`)".to_owned());
        return (changes, None);
    };
    match crate::bounded::within(COMPARE_BOUND, releases.compare(from.version, to.version)).await {
        Ok(Some(comparison)) => changes.comparison = Some(comparison),
        Ok(None) => {
            changes.commits_unknown = Some(format!(
                "the repository does not know {} or {} as a tag or commit",
                from.version, to.version
            ));
        }
        Err(why) => {
            changes.commits_unknown = Some("the compare could not be read".to_owned());
            let warning = format!(
                "the commits between {} and {} could not be listed ({why}); the run is unaffected",
                from.version, to.version
            );
            return (changes, Some(warning));
        }
    }
    (changes, None)
}

impl Executor {
    /// Puts what the run's deploy changes on its report (a warning when the compare failed),
    /// whether or not the gates let it through. An interrupt while the compare is asked leaves
    /// the commits out: the next step stops the run.
    pub(super) async fn note_changes(&self, run: &mut Run<'_>) {
        let Some(replacement) = replacement(run.event, &self.config, &run.facts) else {
            return;
        };
        let previous = replacement
            .previous_image
            .as_deref()
            .map(ImageRef::parse_container_image);
        let from = replacement.previous_version.as_deref().map(|version| Side {
            version,
            digest: previous.as_ref().and_then(|image| image.digest.as_deref()),
        });
        let to = Side {
            version: &replacement.version,
            digest: replacement.image.digest.as_deref(),
        };
        let releases = self.adapters.releases.as_deref();
        let watch = Watch::unlocked(&self.interrupt);
        if let Ok((changes, warning)) = watch.race(what_changed(releases, from, to)).await {
            run.report.changes = Some(changes);
            run.report.warnings.extend(warning);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Side, what_changed};
    use crate::error::AdapterError;
    use crate::model::{Comparison, Divergence};
    use crate::traits::MockReleaseSource;

    const FROM: Side<'static> = Side {
        version: "v1.4.0",
        digest: Some("sha256:1111111111111111111111111111"),
    };
    const TO: Side<'static> = Side {
        version: "v1.5.0",
        digest: Some("sha256:2222222222222222222222222222"),
    };

    #[tokio::test(start_paused = true)]
    async fn one_compare_lists_the_commits_and_a_failure_is_a_warning_not_an_error() {
        let mut releases = MockReleaseSource::new();
        releases
            .expect_compare()
            .withf(|base, head| base == "v1.4.0" && head == "v1.5.0")
            .times(1)
            .returning(|base, head| {
                Ok(Some(Comparison {
                    base: base.to_owned(),
                    head: head.to_owned(),
                    status: Divergence::Ahead,
                    ahead_by: 3,
                    behind_by: 0,
                    commits: Vec::new(),
                }))
            });
        let (changes, warning) = what_changed(Some(&releases), Some(FROM), TO).await;
        assert_eq!(warning, None);
        assert_eq!(changes.headline(), "v1.4.0 → v1.5.0: 3 commits ahead");
        assert_eq!(
            changes.digest_change().as_deref(),
            Some("sha256:111111111111 → sha256:222222222222")
        );

        let mut failing = MockReleaseSource::new();
        failing
            .expect_compare()
            .times(1)
            .returning(|_, _| Err(AdapterError::failed("github", "comparing", "HTTP 502")));
        let (changes, warning) = what_changed(Some(&failing), Some(FROM), TO).await;
        assert!(warning.is_some_and(|w| w.contains("HTTP 502") && w.contains("unaffected")));
        assert!(changes.comparison.is_none());
        assert!(changes.headline().contains("commits not listed"));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_repository_or_a_running_version_nothing_is_asked_and_it_says_why() {
        let (changes, warning) = what_changed(None, Some(FROM), TO).await;
        assert_eq!(warning, None);
        assert!(
            changes
                .headline()
                .contains("no GitHub repository is configured")
        );
        let releases = MockReleaseSource::new(); // any call would panic: none is expected
        let (changes, _) = what_changed(Some(&releases), None, TO).await;
        assert_eq!(
            changes.headline(),
            "nothing → v1.5.0: commits not listed (nothing runs there yet)"
        );
        let (same, _) = what_changed(Some(&releases), Some(TO), TO).await;
        assert_eq!(same.headline(), "v1.5.0 → v1.5.0: the same version");
        assert_eq!(same.digest_change(), None);
    }
}
