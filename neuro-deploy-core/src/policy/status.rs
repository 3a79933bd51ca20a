//! What `status` says about one environment: the version its app runs, replicas ready, where
//! the rollout stands, whether it counts as verified (what a promotion from it needs), the
//! last deploy recorded on it, and drift (what runs is not what neuro-deploy recorded).

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
    /// The last deploy recorded on them (RFC 3339).
    pub deployed_at: Option<String>,
    /// Who made it.
    pub deployed_by: Option<String>,
    /// App Deployments that do not run what neuro-deploy recorded on them (changed outside it,
    /// e.g. `kubectl set image`), or that run different versions in one environment. Empty
    /// where nothing was ever recorded.
    pub drift: Vec<Drift>,
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

/// The app Deployments among `apps` that drifted: each whose running version is not its
/// recorded one, and — when the environment runs more than one version and neuro-deploy
/// recorded something there — every one of them.
fn drift(apps: &[&Workload], repository: &str, one_version: bool) -> Vec<Drift> {
    let recorded_anywhere = apps.iter().any(|w| w.audit.version.is_some());
    apps.iter()
        .filter_map(|w| {
            let running = w.app_tag(repository);
            let recorded = w.audit.version.clone();
            let differs = recorded.is_some() && running != recorded;
            let mixed = recorded_anywhere && !one_version;
            (differs || mixed).then(|| Drift {
                workload: w.name.clone(),
                recorded,
                running,
            })
        })
        .collect()
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
                .clone()
                .map(|at| (at, w.audit.deployed_by.clone()))
        });
        EnvironmentStatus {
            drift: drift(&apps, repository, version.is_some()),
            image: version.as_ref().map(|v| format!("{repository}:{v}")),
            verified: version
                .as_ref()
                .is_some_and(|v| runs_completely(workloads, repository, v)),
            version,
            ready: format!("{available}/{desired}"),
            rollout,
            workloads: apps.len(),
            deployed_at: last.as_ref().map(|l| l.0.clone()),
            deployed_by: last.and_then(|l| l.1),
        }
    }
}
