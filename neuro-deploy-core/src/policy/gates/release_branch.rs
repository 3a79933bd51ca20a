//! A release that targets a commit by its SHA is deployed only when a release branch holds
//! that commit (a release targeting a branch is judged by the branch's name, before any fact).

use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ReleaseTarget};

use super::super::facts::Fact;
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct ReleaseBranch;

impl ReleaseBranch {
    /// The release's tag and the commit it targets, when it targets one.
    fn commit_target<'a>(subject: &Subject<'a>) -> Option<(&'a str, &'a crate::version::GitSha)> {
        match subject.event {
            Event::Released {
                tag,
                target_branch: Some(ReleaseTarget::Commit(commit)),
                ..
            } => Some((tag.as_str(), commit)),
            _ => None,
        }
    }
}

impl Gate for ReleaseBranch {
    fn name(&self) -> &'static str {
        "gate_release_branch"
    }

    fn applies(&self, subject: &Subject) -> bool {
        Self::commit_target(subject).is_some()
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        Self::commit_target(subject)
            .map(|(_, sha)| Need::OnReleaseBranch {
                branch: subject.config.git.main_branch.clone(),
                sha: sha.clone(),
            })
            .into_iter()
            .collect()
    }

    fn listed(&self) -> bool {
        false
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        match (
            Self::commit_target(subject),
            &subject.facts.target_on_release_branch,
        ) {
            (Some((tag, commit)), Fact::Known(false)) => Judgment::refused(Reason::new(
                ReasonCode::NotReleaseBranch,
                format!(
                    "release `{tag}` targets commit {commit}, which is on no release branch; it is not deployed"
                ),
            )),
            // Without the releases to ask, the commit is taken as the release says.
            _ => Judgment::pass_silently("the release's commit is on a release branch"),
        }
    }
}
