//! What `status` says about one environment: the version its app runs, replicas ready, where
//! the rollout stands, whether it counts as verified (what a promotion from it needs), the
//! last deploy recorded on it, and drift (what runs is not what neuro-deploy recorded).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Workload;

use super::workloads::{app_workloads, common_tag, runs_completely};

/// Where an environment's rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutSummary {
    /// No Deployment of the app there.
    None,
    /// Every app Deployment's rollout is complete.
    Complete,
    /// At least one is still moving (or failing).
    Progressing,
}

/// One environment, as `neuro-deploy status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    /// The release or SHA every app container runs, when they agree.
    pub version: Option<String>,
    /// `repository:version`, when one version runs.
    pub image: Option<String>,
    /// Available replicas of the desired count, over the app's Deployments (`3/4`).
    pub ready: String,
    /// Where the rollout stands.
    pub rollout: RolloutSummary,
    /// Runs one version with a complete rollout: what a promotion from here needs.
    pub verified: bool,
    /// How many app Deployments.
    pub workloads: usize,
    /// Whether neuro-deploy recorded a deploy on any of them.
    #[serde(skip)]
    pub recorded: bool,
    /// The last deploy recorded on them.
    #[serde(default, with = "crate::model::time::serde_optional_instant")]
    pub deployed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who made it.
    pub deployed_by: Option<String>,
    /// App Deployments that do not run what neuro-deploy recorded on them (changed outside it,
    /// e.g. `kubectl set image`). Empty where nothing was ever recorded.
    pub drift: Vec<Drift>,
    /// When the app Deployments run different versions: each version and the Deployments that
    /// run it (`unknown` for one whose containers disagree). Empty when one version runs.
    pub mixed_versions: BTreeMap<String, Vec<String>>,
}

impl EnvironmentStatus {
    /// Whether the environment is not as neuro-deploy left it: a Deployment drifted from its
    /// record, or — where neuro-deploy recorded something — different versions run.
    pub fn drifted(&self) -> bool {
        !self.drift.is_empty() || (self.recorded && !self.mixed_versions.is_empty())
    }
}

/// One app Deployment that drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The Deployment.
    pub workload: String,
    /// The version recorded on it (`neuro-deploy.io/version`), if any.
    pub recorded: Option<String>,
    /// The version its app containers run (`None` when they disagree).
    pub running: Option<String>,
}

/// The app Deployments among `apps` whose running version is not the one recorded on them.
fn drift(apps: &[&Workload], repository: &str) -> Vec<Drift> {
    apps.iter()
        .filter_map(|w| {
            let running = w.app_tag(repository);
            let recorded = w.audit.version.clone();
            (recorded.is_some() && running != recorded).then(|| Drift {
                workload: w.name.clone(),
                recorded,
                running,
            })
        })
        .collect()
}

/// Each version the app Deployments run and who runs it, when they run more than one.
fn mixed_versions(apps: &[&Workload], repository: &str) -> BTreeMap<String, Vec<String>> {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in apps {
        let running = w
            .app_tag(repository)
            .unwrap_or_else(|| "unknown".to_owned());
        versions.entry(running).or_default().push(w.name.clone());
    }
    if versions.len() < 2 {
        versions.clear();
    }
    versions
}

impl EnvironmentStatus {
    /// The status of the app's Deployments among `workloads` (others, such as a cache, are
    /// left out as everywhere else).
    pub fn of(workloads: &[Workload], repository: &str) -> EnvironmentStatus {
        let apps: Vec<&Workload> = app_workloads(workloads, repository).collect();
        let version = common_tag(workloads, repository);
        let (available, desired) = apps.iter().fold((0, 0), |(a, d), w| {
            (a + w.rollout.available, d + w.rollout.desired)
        });
        let rollout = if apps.is_empty() {
            RolloutSummary::None
        } else if apps.iter().all(|w| w.rollout.state().is_complete()) {
            RolloutSummary::Complete
        } else {
            RolloutSummary::Progressing
        };
        let last = apps.iter().find_map(|w| {
            w.audit
                .deployed_at
                .map(|at| (at, w.audit.deployed_by.clone()))
        });
        EnvironmentStatus {
            drift: drift(&apps, repository),
            mixed_versions: mixed_versions(&apps, repository),
            recorded: apps.iter().any(|w| w.audit.version.is_some()),
            image: version.as_ref().map(|v| format!("{repository}:{v}")),
            verified: version
                .as_ref()
                .is_some_and(|v| runs_completely(workloads, repository, v)),
            version,
            ready: format!("{available}/{desired}"),
            rollout,
            workloads: apps.len(),
            deployed_at: last.as_ref().map(|l| l.0),
            deployed_by: last.and_then(|l| l.1),
        }
    }
}
