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
    #[serde(default)]
    pub(crate) created_at: String,
}

/// `GET …/compare/{base}...{head}`: where head stands and the commits it adds, oldest first.
#[derive(Deserialize)]
pub(crate) struct Comparison {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) ahead_by: u32,
    #[serde(default)]
    pub(crate) behind_by: u32,
    #[serde(default)]
    pub(crate) commits: Vec<ComparedCommit>,
}

/// One commit of a comparison: its GitHub author may be `null` (an email GitHub does not
/// know), the name in the commit never is.
#[derive(Deserialize)]
pub(crate) struct ComparedCommit {
    pub(crate) sha: String,
    pub(crate) commit: CommitDetail,
    #[serde(default)]
    pub(crate) author: Option<User>,
}

#[derive(Deserialize)]
pub(crate) struct CommitDetail {
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) author: Option<CommitAuthor>,
}

#[derive(Deserialize)]
pub(crate) struct CommitAuthor {
    #[serde(default)]
    pub(crate) name: String,
}

impl Comparison {
    /// The domain's comparison of `base` and `head`: the newest listed commits, oldest first.
    pub(crate) fn into_model(self, base: &str, head: &str) -> neuro_deploy_core::model::Comparison {
        use neuro_deploy_core::model::{CommitSummary, Divergence, LISTED_COMMITS, changes};
        let status = match self.status.as_str() {
            "ahead" => Divergence::Ahead,
            "behind" => Divergence::Behind,
            "identical" => Divergence::Identical,
            _ => Divergence::Diverged,
        };
        let skip = self.commits.len().saturating_sub(LISTED_COMMITS);
        let commits = self
            .commits
            .into_iter()
            .skip(skip)
            .map(|c| {
                let title = printable(c.commit.message.lines().next().unwrap_or_default());
                let author = printable(
                    &c.author
                        .map(|user| user.login)
                        .or_else(|| c.commit.author.map(|a| a.name))
                        .unwrap_or_default(),
                );
                CommitSummary {
                    sha: c.sha.chars().take(7).collect(),
                    pull_request: changes::pull_request_of(&title),
                    title,
                    author,
                }
            })
            .collect();
        neuro_deploy_core::model::Comparison {
            base: base.to_owned(),
            head: head.to_owned(),
            status,
            ahead_by: self.ahead_by,
            behind_by: self.behind_by,
            commits,
        }
    }
}

pub(crate) fn parse_sha(text: &str) -> Result<GitSha, AdapterError> {
    GitSha::parse(text)
        .map_err(|e| AdapterError::failed(SERVICE, "reading a commit id", e.to_string()))
}

/// Text someone wrote into a commit, made safe to print: control characters (a terminal's
/// escape sequences) dropped, at most 120 characters.
fn printable(text: &str) -> String {
    const LONGEST: usize = 120;
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= LONGEST {
        return clean;
    }
    let mut cut: String = clean.chars().take(LONGEST - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_commit_title_loses_its_escape_sequences_and_is_cut() {
        assert_eq!(
            super::printable("Fix \u{1b}[31mred\u{1b}[0m"),
            "Fix [31mred[0m"
        );
        let long = "x".repeat(300);
        assert_eq!(super::printable(&long).chars().count(), 120);
    }
}
