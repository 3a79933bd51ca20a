//! [`MemoryReleases`]: a git repository's commits, branches, tags and GitHub releases in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use neuro_deploy_core::model::{CommitSummary, Comparison, Divergence, LISTED_COMMITS};
use neuro_deploy_core::{AdapterError, GitSha, ReasonCode, ReleaseInfo, ReleaseSource};

use crate::digest::commit_sha;

#[derive(Debug, Default)]
struct Repository {
    /// Commit → its parent.
    parents: BTreeMap<String, Option<String>>,
    /// Commit → its message's first line.
    titles: BTreeMap<String, String>,
    branches: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    releases: Vec<ReleaseInfo>,
}

impl Repository {
    /// The full SHA a branch, tag or (abbreviated) SHA names.
    fn resolve(&self, reference: &str) -> Option<String> {
        if let Some(sha) = self.branches.get(reference).or(self.tags.get(reference)) {
            return Some(sha.clone());
        }
        GitSha::parse(reference).ok()?;
        let mut found = self.parents.keys().filter(|sha| sha.starts_with(reference));
        match (found.next(), found.next()) {
            (Some(sha), None) => Some(sha.clone()),
            _ => None,
        }
    }

    /// `commit` and its ancestors, newest first.
    fn ancestry(&self, commit: &str) -> Vec<String> {
        let mut line = Vec::new();
        let mut next = Some(commit.to_owned());
        while let Some(sha) = next {
            next = self.parents.get(&sha).cloned().flatten();
            line.push(sha);
        }
        line
    }

    fn head(&self, branch: &str) -> Result<String, AdapterError> {
        self.branches
            .get(branch)
            .cloned()
            .ok_or_else(|| AdapterError::NotFound {
                service: "github",
                what: format!("branch `{branch}`"),
                source: None,
            })
    }
}

/// Commits, branches, tags and releases, with GitHub's rules: a branch that exists elsewhere
/// and a tag that exists already are refused.
#[derive(Debug)]
pub struct MemoryReleases {
    repository: Mutex<Repository>,
}

impl MemoryReleases {
    /// A repository with one commit on `main_branch`.
    pub fn new(main_branch: &str) -> MemoryReleases {
        let first = commit_sha(&format!("0:{main_branch}:initial commit"));
        let mut repository = Repository::default();
        repository.parents.insert(first.clone(), None);
        repository.branches.insert(main_branch.to_owned(), first);
        MemoryReleases {
            repository: Mutex::new(repository),
        }
    }

    fn repository(&self) -> std::sync::MutexGuard<'_, Repository> {
        crate::locked(&self.repository)
    }

    /// Adds a commit on top of `branch` (a merge, a fix) and returns its SHA.
    pub fn commit(&self, branch: &str, message: &str) -> Result<GitSha, AdapterError> {
        let mut repository = self.repository();
        let parent = repository.head(branch)?;
        let sha = commit_sha(&format!("{}:{branch}:{message}", repository.parents.len()));
        repository.parents.insert(sha.clone(), Some(parent));
        let title = message.lines().next().unwrap_or_default().to_owned();
        repository.titles.insert(sha.clone(), title);
        repository.branches.insert(branch.to_owned(), sha.clone());
        to_sha(&sha)
    }

    /// The commit `branch` points at.
    pub fn head(&self, branch: &str) -> Result<GitSha, AdapterError> {
        to_sha(&self.repository().head(branch)?)
    }
}

fn to_sha(sha: &str) -> Result<GitSha, AdapterError> {
    GitSha::parse(sha).map_err(|e| AdapterError::failed("github", "read a commit", e.to_string()))
}

fn refused(message: String) -> AdapterError {
    AdapterError::Refused {
        code: ReasonCode::InvalidInput,
        message,
    }
}

#[async_trait]
impl ReleaseSource for MemoryReleases {
    async fn resolve(&self, reference: &str) -> Result<Option<GitSha>, AdapterError> {
        self.repository()
            .resolve(reference)
            .map(|sha| to_sha(&sha))
            .transpose()
    }

    async fn release(&self, tag: &str) -> Result<Option<ReleaseInfo>, AdapterError> {
        Ok(self
            .repository()
            .releases
            .iter()
            .find(|r| r.tag == tag)
            .cloned())
    }

    async fn releases(&self) -> Result<Vec<ReleaseInfo>, AdapterError> {
        Ok(self.repository().releases.clone())
    }

    async fn branch_contains(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError> {
        let repository = self.repository();
        let mut next = Some(repository.head(branch)?);
        while let Some(commit) = next {
            if commit.starts_with(sha.as_str()) {
                return Ok(true);
            }
            next = repository.parents.get(&commit).cloned().flatten();
        }
        Ok(false)
    }

    /// As GitHub's compare: what `head` adds since the commit it shares with `base`, and what
    /// it lacks. Every commit here is by `octocat`.
    async fn compare(&self, base: &str, head: &str) -> Result<Option<Comparison>, AdapterError> {
        let repository = self.repository();
        let (Some(from), Some(to)) = (repository.resolve(base), repository.resolve(head)) else {
            return Ok(None);
        };
        let theirs = repository.ancestry(&from);
        let ours = repository.ancestry(&to);
        let added: Vec<&String> = ours.iter().take_while(|c| !theirs.contains(c)).collect();
        let lacked = theirs.iter().take_while(|c| !ours.contains(c)).count();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let status = match (added.is_empty(), lacked == 0) {
            (true, true) => Divergence::Identical,
            (false, true) => Divergence::Ahead,
            (true, false) => Divergence::Behind,
            (false, false) => Divergence::Diverged,
        };
        let commits = added
            .iter()
            .take(LISTED_COMMITS)
            .rev()
            .map(|sha| {
                let title = repository.titles.get(*sha).cloned().unwrap_or_default();
                CommitSummary {
                    sha: sha.chars().take(7).collect(),
                    pull_request: neuro_deploy_core::model::changes::pull_request_of(&title),
                    title,
                    author: "octocat".to_owned(),
                }
            })
            .collect();
        Ok(Some(Comparison {
            base: base.to_owned(),
            head: head.to_owned(),
            status,
            ahead_by: count(added.len()),
            behind_by: count(lacked),
            commits,
        }))
    }

    async fn create_branch(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError> {
        let mut repository = self.repository();
        let full = repository
            .resolve(sha.as_str())
            .ok_or_else(|| AdapterError::NotFound {
                service: "github",
                what: format!("commit {sha}"),
                source: None,
            })?;
        match repository.branches.get(branch) {
            Some(head) if *head == full => Ok(false),
            Some(head) => Err(refused(format!(
                "branch `{branch}` already exists at {head}, not at {sha}; delete or rename it first"
            ))),
            None => {
                repository.branches.insert(branch.to_owned(), full);
                Ok(true)
            }
        }
    }

    async fn create_release(&self, tag: &str, branch: &str) -> Result<ReleaseInfo, AdapterError> {
        let mut repository = self.repository();
        if repository.tags.contains_key(tag) {
            return Err(refused(format!(
                "tag `{tag}` already exists; choose another version"
            )));
        }
        let head = repository.head(branch)?;
        repository.tags.insert(tag.to_owned(), head);
        let release = ReleaseInfo {
            tag: tag.to_owned(),
            target: branch.to_owned(),
            draft: false,
            prerelease: false,
        };
        repository.releases.push(release.clone());
        Ok(release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commits_branches_and_releases_follow_githubs_rules() {
        let source = MemoryReleases::new("main");
        let first = source.head("main").unwrap();
        let second = source.commit("main", "feature").unwrap();
        assert_ne!(first, second);

        let release = source.create_release("v1.0.0", "main").await.unwrap();
        assert_eq!(release.target, "main");
        assert_eq!(
            source.resolve("v1.0.0").await.unwrap(),
            Some(second.clone())
        );
        assert_eq!(source.release("v1.0.0").await.unwrap(), Some(release));
        assert!(source.create_release("v1.0.0", "main").await.is_err());

        // A hotfix branch off the release, a fix on it: main does not contain the fix.
        assert!(source.create_branch("hotfix/v1.0", &second).await.unwrap());
        assert!(!source.create_branch("hotfix/v1.0", &second).await.unwrap());
        assert!(source.create_branch("hotfix/v1.0", &first).await.is_err());
        let fix = source.commit("hotfix/v1.0", "fix").unwrap();
        assert!(source.branch_contains("hotfix/v1.0", &fix).await.unwrap());
        assert!(source.branch_contains("hotfix/v1.0", &first).await.unwrap());
        assert!(!source.branch_contains("main", &fix).await.unwrap());

        // Abbreviated SHAs resolve to the full one; unknown references to nothing.
        let short = GitSha::parse(fix.short(7)).unwrap();
        assert_eq!(source.resolve(short.as_str()).await.unwrap(), Some(fix));
        assert_eq!(source.resolve("0000000").await.unwrap(), None);
        assert_eq!(source.resolve("no-such-branch").await.unwrap(), None);
        assert!(source.branch_contains("gone", &first).await.is_err());
        assert_eq!(source.releases().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn compare_lists_what_a_version_adds_and_says_behind_or_diverged() {
        let source = MemoryReleases::new("main");
        source.create_release("v1.0.0", "main").await.unwrap();
        source.commit("main", "Add a sparkline (#412)").unwrap();
        source.commit("main", "Fix approvals expiry").unwrap();
        source.create_release("v1.1.0", "main").await.unwrap();

        let ahead = source.compare("v1.0.0", "v1.1.0").await.unwrap().unwrap();
        assert_eq!(
            (ahead.status, ahead.ahead_by, ahead.behind_by),
            (Divergence::Ahead, 2, 0)
        );
        let titles: Vec<&str> = ahead.commits.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Add a sparkline (#412)", "Fix approvals expiry"],
            "oldest first"
        );
        assert_eq!(ahead.commits[0].pull_request, Some(412));

        let behind = source.compare("v1.1.0", "v1.0.0").await.unwrap().unwrap();
        assert_eq!((behind.status, behind.behind_by), (Divergence::Behind, 2));
        assert!(behind.commits.is_empty());

        // A hotfix off v1.0.0 against v1.1.0: each has what the other lacks.
        let base = source.resolve("v1.0.0").await.unwrap().unwrap();
        source.create_branch("hotfix/v1.0.1", &base).await.unwrap();
        source.commit("hotfix/v1.0.1", "Fix the crash").unwrap();
        let diverged = source
            .compare("v1.1.0", "hotfix/v1.0.1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (diverged.status, diverged.ahead_by, diverged.behind_by),
            (Divergence::Diverged, 1, 2)
        );
        assert_eq!(source.compare("v1.0.0", "v9.9.9").await.unwrap(), None);
        assert_eq!(
            source
                .compare("v1.1.0", "v1.1.0")
                .await
                .unwrap()
                .unwrap()
                .status,
            Divergence::Identical
        );
    }
}
