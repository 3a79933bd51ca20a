//! What the executor found out before deciding ([`Facts`]), each fact possibly [`Fact::Unknown`]
//! (offline `plan`), and the rule that only the app's Deployments count.

use serde::{Deserialize, Serialize};

use crate::model::{GuardState, ImageRef, Workload};
use crate::version::GitSha;

use super::workloads::app_workloads;

/// The operators' reasons to let a run through closed gates: the gate's flag
/// (`override-window`) → the reason given.
pub type Overrides = std::collections::BTreeMap<String, String>;

/// A fact the executor gathered, or `Unknown` when planning offline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact<T> {
    /// Not looked up (offline plan).
    #[default]
    Unknown,
    /// Looked up.
    Known(T),
}

impl<T> Fact<T> {
    /// Whether it was not looked up.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Fact::Unknown)
    }

    /// Whether it was looked up.
    pub fn is_known(&self) -> bool {
        matches!(self, Fact::Known(_))
    }

    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(value) => Some(value),
            Fact::Unknown => None,
        }
    }
}

/// What the executor found out before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The registry's repository URI.
    pub repository_uri: Fact<String>,
    /// The image tagged with the version to deploy.
    pub target_image: Fact<Option<ImageRef>>,
    /// The image tagged with the commit's short SHA (a release's retag source).
    pub commit_image: Fact<Option<ImageRef>>,
    /// The commit a release tag points at (to build it, or find its image).
    pub revision: Fact<Option<GitSha>>,
    /// For a release that targets a commit SHA: whether a release branch contains it.
    pub target_on_release_branch: Fact<bool>,
    /// The app's Deployments in the target namespace.
    pub target_workloads: Fact<Vec<Workload>>,
    /// The app's Deployments in the promotion source's namespace.
    pub source_workloads: Fact<Vec<Workload>>,
    /// When a release's image is missing: the same release written the other way (`v1.4.0`
    /// for `1.4.0`, and back), if that tag's image exists — what the user probably meant.
    #[serde(default, skip_serializing_if = "Fact::is_unknown")]
    pub other_spelling: Fact<Option<String>>,
    /// The target environment's shared guardrail state (a freeze …).
    #[serde(default, skip_serializing_if = "Fact::is_unknown")]
    pub guard: Fact<GuardState>,
    /// The instant guardrails are judged at: the run's start, and again under the lock.
    #[serde(default, skip_serializing_if = "Fact::is_unknown")]
    pub now: Fact<chrono::DateTime<chrono::Utc>>,
    /// Not read from the world but weighed with it: the operator's reasons to let this run
    /// through closed gates (`--override-window --reason` …), by flag, for this run only.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub overrides: Overrides,
    /// The user this run's credentials authenticate as on the target's cluster (who deploys,
    /// whose own approval does not count).
    #[serde(default, skip_serializing_if = "Fact::is_unknown")]
    pub actor: Fact<String>,
}

impl Facts {
    /// Nothing known: what `plan` decides on.
    pub fn unknown() -> Facts {
        Facts::default()
    }
}

/// Facts with only the app's Deployments left in the workload lists.
pub(crate) fn only_app_workloads(facts: &Facts, repository: &str) -> Facts {
    let keep = |fact: &Fact<Vec<Workload>>| match fact {
        Fact::Known(workloads) => Fact::Known(
            app_workloads(workloads, repository)
                .cloned()
                .collect::<Vec<_>>(),
        ),
        Fact::Unknown => Fact::Unknown,
    };
    Facts {
        target_workloads: keep(&facts.target_workloads),
        source_workloads: keep(&facts.source_workloads),
        ..facts.clone()
    }
}
