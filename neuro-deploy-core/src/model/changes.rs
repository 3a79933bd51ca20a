//! What changed between the version an environment runs and the one about to replace it: the
//! commits between them (GitHub's compare), whether the new one is ahead, behind (a downgrade)
//! or diverged (a hotfix branch). Plain data; the GitHub adapter reads it, people are shown it.

use serde::{Deserialize, Serialize};

/// How many commits a comparison lists; the rest are counted.
pub const LISTED_COMMITS: usize = 20;

/// Where the new version stands against the one running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Divergence {
    /// The new version has commits the running one has not, and lacks none of its commits.
    Ahead,
    /// The new version lacks commits the running one has: a downgrade.
    Behind,
    /// Each has commits the other lacks (a hotfix branch against main).
    Diverged,
    /// The same commit.
    Identical,
}

/// One commit between the two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSummary {
    /// The short SHA (7 digits).
    pub sha: String,
    /// The first line of its message.
    pub title: String,
    /// Its author: the GitHub login, else the name in the commit.
    pub author: String,
    /// The pull request it came from, when its title names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
}

/// The commits between the version running (`base`) and the one about to replace it (`head`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// The version running.
    pub base: String,
    /// The version coming.
    pub head: String,
    /// Ahead, behind, diverged or identical.
    pub status: Divergence,
    /// Commits `head` has that `base` has not.
    pub ahead_by: u32,
    /// Commits `base` has that `head` has not.
    pub behind_by: u32,
    /// The newest of the commits `head` adds, oldest first, at most [`LISTED_COMMITS`].
    pub commits: Vec<CommitSummary>,
}

impl Comparison {
    /// Commits `head` adds that [`Comparison::commits`] leaves out.
    pub fn unlisted(&self) -> u32 {
        self.ahead_by
            .saturating_sub(u32::try_from(self.commits.len()).unwrap_or(u32::MAX))
    }

    /// One line for people: `v1.4.0 → v1.5.0: 3 commits ahead`, `… behind by 2 commits (a
    /// downgrade)`, `… diverged: 2 ahead, 3 behind (a hotfix branch?)`.
    pub fn summary(&self) -> String {
        let commits = |n: u32| crate::words::counted(n as usize, "commit");
        let what = match self.status {
            Divergence::Ahead => format!("{} ahead", commits(self.ahead_by)),
            Divergence::Behind => format!(
                "behind by {} (a downgrade: they would be taken out)",
                commits(self.behind_by)
            ),
            Divergence::Diverged => format!(
                "diverged: {} ahead, {} behind (another branch, such as a hotfix)",
                self.ahead_by, self.behind_by
            ),
            Divergence::Identical => "the same commit".to_owned(),
        };
        format!("{} → {}: {what}", self.base, self.head)
    }
}

/// What a deploy changes: the version and image running (`from`) and the ones replacing them
/// (`to`), and the commits between them when a repository could be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// The version running now, when one runs.
    pub from: Option<String>,
    /// Its image digest, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_digest: Option<String>,
    /// The version coming.
    pub to: String,
    /// Its image digest, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_digest: Option<String>,
    /// The commits between them (GitHub's compare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Why the commits are not listed (no repository configured, nothing runs yet, the compare
    /// could not be read), said once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits_unknown: Option<String>,
}

impl Changes {
    /// One line: the comparison's summary, else `from → to` and why the commits are not known.
    pub fn headline(&self) -> String {
        match (&self.comparison, &self.from) {
            (Some(comparison), _) => comparison.summary(),
            (None, Some(from)) if from == &self.to => {
                format!("{from} → {}: the same version", self.to)
            }
            (None, from) => {
                let from = from.as_deref().unwrap_or("nothing");
                match &self.commits_unknown {
                    Some(why) => format!("{from} → {}: commits not listed ({why})", self.to),
                    None => format!("{from} → {}", self.to),
                }
            }
        }
    }

    /// The digest change, `sha256:1111111 → sha256:2222222` (12 hex digits each), when either
    /// is known and they differ.
    pub fn digest_change(&self) -> Option<String> {
        let short = |d: &Option<String>| {
            d.as_deref().map_or("not pinned".to_owned(), |d| {
                d.chars().take("sha256:".len() + 12).collect()
            })
        };
        if self.from_digest.is_none() && self.to_digest.is_none()
            || self.from_digest == self.to_digest
        {
            return None;
        }
        Some(format!(
            "{} → {}",
            short(&self.from_digest),
            short(&self.to_digest)
        ))
    }

    /// Lines for people: the headline, the digest change, then each listed commit
    /// (`abc1234 Title — author`) and how many more there are.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.headline()];
        if let Some(digests) = self.digest_change() {
            lines.push(format!("image {digests}"));
        }
        if let Some(comparison) = &self.comparison {
            lines.extend(comparison.commits.iter().rev().map(CommitSummary::line));
            if comparison.unlisted() > 0 {
                lines.push(format!(
                    "… and {} older",
                    crate::words::counted(comparison.unlisted() as usize, "commit")
                ));
            }
        }
        lines
    }
}

impl CommitSummary {
    /// `abc1234 Add a sparkline (#412) — octocat`.
    pub fn line(&self) -> String {
        format!("{} {} — {}", self.sha, self.title, self.author)
    }
}

/// The pull request a commit title names: `Add a sparkline (#412)` (a squash merge) or
/// `Merge pull request #415 from org/branch` (a merge commit).
pub fn pull_request_of(title: &str) -> Option<u64> {
    if let Some(rest) = title.strip_prefix("Merge pull request #") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok();
    }
    let inner = title.trim_end().strip_suffix(')')?;
    let (_, number) = inner.rsplit_once("(#")?;
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_request_is_read_from_a_squash_or_a_merge_title_and_nothing_else() {
        assert_eq!(pull_request_of("Add a queue sparkline (#412)"), Some(412));
        assert_eq!(
            pull_request_of("Merge pull request #415 from octo-org/fix-approvals"),
            Some(415)
        );
        assert_eq!(pull_request_of("Bump version to 1.5.0"), None);
        assert_eq!(pull_request_of("Fix (#abc)"), None);
        assert_eq!(pull_request_of("Refer to issue #12 in the docs"), None);
    }

    fn comparison(status: Divergence, ahead_by: u32, behind_by: u32) -> Comparison {
        Comparison {
            base: "v1.4.0".to_owned(),
            head: "v1.5.0".to_owned(),
            status,
            ahead_by,
            behind_by,
            commits: Vec::new(),
        }
    }

    #[test]
    fn the_summary_says_ahead_behind_or_diverged() {
        assert_eq!(
            comparison(Divergence::Ahead, 3, 0).summary(),
            "v1.4.0 → v1.5.0: 3 commits ahead"
        );
        assert!(
            comparison(Divergence::Behind, 0, 2)
                .summary()
                .contains("behind by 2 commits (a downgrade")
        );
        assert!(
            comparison(Divergence::Diverged, 2, 3)
                .summary()
                .contains("diverged: 2 ahead, 3 behind")
        );
        assert_eq!(comparison(Divergence::Ahead, 25, 0).unlisted(), 25);
    }
}
