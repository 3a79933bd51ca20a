//! One read of the world for the dashboard, with the operator's own credentials and through the
//! same adapters, facts and policy the commands use: per environment its Deployments, its
//! shared guardrail state and its lock; per pair the next promotion previewed exactly as
//! `promote --dry-run` does (nothing written); the queues in every region; the history. What
//! cannot be read is said per environment, never a blank page.

use std::sync::Arc;

use neuro_deploy_core::executor::{Side, what_changed};
use neuro_deploy_core::model::Divergence;
use neuro_deploy_core::policy::{EnvironmentStatus, WindowState, window_state};
use neuro_deploy_core::{
    Adapters, ClusterDeployer, Config, DeploymentRecorder, EnvironmentConfig, Event, Executor,
    HistoryEntry, Outcome, Report, SharedState, Silent, StepStatus, Version, Workload,
    sample_queues,
};
use neuro_deploy_dashboard::state::{
    Badge, EnvironmentView, GateView, HistoryView, PairView, QueueView, Tone, WorkloadView,
};
use neuro_deploy_dashboard::{DashboardState, SCHEMA_VERSION};
use neuro_deploy_kube::Clusters;

/// How many past deploys each environment's timeline shows.
const HISTORY_SHOWN: usize = 10;

/// What reading the world needs, connected once when the dashboard starts.
pub struct WorldReader {
    pub(super) config: Config,
    pub(super) clusters: Arc<Clusters>,
    pub(super) adapters: Adapters,
    pub(super) recorder: Option<Arc<dyn DeploymentRecorder>>,
    pub(super) refresh_secs: u64,
}

/// One environment as read: its Deployments and what it could not read.
struct Read {
    workloads: Option<Vec<Workload>>,
    view: EnvironmentView,
}

#[async_trait::async_trait]
impl neuro_deploy_dashboard::Reader for WorldReader {
    async fn read(&self) -> DashboardState {
        let now = crate::identity::now();
        let mut unread = Vec::new();
        let repository = match self.adapters.registry.repository_uri().await {
            Ok(uri) => Some(uri),
            Err(error) => {
                unread.push(format!("the registry ({error})"));
                None
            }
        };
        let mut read = Vec::new();
        for env in &self.config.environments {
            read.push(self.environment(env, repository.as_deref(), now).await);
        }
        for env in &read {
            if let Some(why) = &env.view.unreachable {
                unread.push(format!("`{}` ({why})", env.view.name));
            }
        }
        let samples = sample_queues(
            self.adapters.queues.as_ref(),
            &Silent,
            &self.config.queues.names,
            &self.config.queues.regions,
        )
        .await;
        let busy: Vec<String> = samples
            .iter()
            .filter(|sample| !sample.is_drained())
            .map(|sample| match &sample.depth {
                Some(depth) => format!("{} in {}: {depth}", sample.queue, sample.region),
                None => format!("{} in {}: not readable", sample.queue, sample.region),
            })
            .collect();
        let mut pairs = Vec::new();
        for pair in read.windows(2) {
            pairs.push(self.pair(&pair[0].view, &pair[1].view, &busy).await);
        }
        let queues = samples
            .into_iter()
            .map(|sample| QueueView {
                queue: sample.queue,
                region: sample.region,
                depth: sample.depth,
                error: sample.error,
                samples: Vec::new(),
            })
            .collect();
        let (history_source, history) = self.history(&read, repository.as_deref()).await;
        DashboardState {
            schema_version: SCHEMA_VERSION,
            app: self.config.app.name.clone(),
            read_at: Some(now),
            refresh_secs: self.refresh_secs,
            environments: read.into_iter().map(|env| env.view).collect(),
            pairs,
            queues,
            history,
            history_source: history_source.to_owned(),
            unread,
        }
    }
}

impl WorldReader {
    /// One environment's column: its Deployments, its guardrails, its lock.
    async fn environment(
        &self,
        env: &EnvironmentConfig,
        repository: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Read {
        let mut view = EnvironmentView {
            name: env.name.clone(),
            namespace: env.namespace.clone(),
            version: None,
            digest: None,
            commit_url: None,
            deployed_at: None,
            deployed_by: None,
            rollout: String::new(),
            ready: String::new(),
            workloads: Vec::new(),
            badges: Vec::new(),
            unreachable: None,
        };
        let workloads = match self.clusters.workloads(&env.namespace).await {
            Ok(workloads) => workloads,
            Err(error) => {
                view.unreachable = Some(neuro_deploy_core::error::one_line(&error));
                return Read {
                    workloads: None,
                    view,
                };
            }
        };
        if let Some(repository) = repository {
            let status = EnvironmentStatus::of(&workloads, repository);
            view.commit_url = status.version.as_deref().and_then(|v| self.commit_url(v));
            view.version = status.version.clone();
            view.digest = neuro_deploy_core::policy::pinned_digest(&workloads, repository)
                .map(|d| d.chars().take("sha256:".len() + 12).collect());
            view.deployed_at = status.deployed_at;
            view.deployed_by = status.deployed_by.clone();
            view.rollout = serde_json::to_value(status.rollout)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            view.ready = status.ready.clone();
            for drift in &status.drift {
                view.badges.push(badge(
                    "drift",
                    Tone::Bad,
                    format!(
                        "drift: {} runs {}, recorded {}",
                        drift.workload,
                        drift.running.as_deref().unwrap_or("mixed images"),
                        drift.recorded.as_deref().unwrap_or("nothing")
                    ),
                ));
            }
            view.workloads = neuro_deploy_core::policy::app_workloads(&workloads, repository)
                .map(|w| WorkloadView {
                    name: w.name.clone(),
                    desired: w.rollout.desired,
                    updated: w.rollout.updated,
                    available: w.rollout.available,
                })
                .collect();
        }
        match self.clusters.read_state(&env.namespace).await {
            Ok(state) => {
                if let Some(freeze) = state.state.freeze_at(now) {
                    let until = freeze.until.map_or_else(
                        || "until unfrozen".to_owned(),
                        |u| format!("until {}", neuro_deploy_core::model::rfc3339(u)),
                    );
                    view.badges.push(badge(
                        "freeze",
                        Tone::Warn,
                        format!("frozen by {} {until}: {}", freeze.by, freeze.reason),
                    ));
                }
                for quarantined in &state.state.quarantine {
                    view.badges.push(badge(
                        "quarantine",
                        Tone::Warn,
                        format!("{} quarantined by {}", quarantined.version, quarantined.by),
                    ));
                }
            }
            Err(error) => view.badges.push(badge(
                "state",
                Tone::Bad,
                format!(
                    "guardrails not read: {}",
                    neuro_deploy_core::error::one_line(&error)
                ),
            )),
        }
        // A validated configuration always reads; a window that does not is shown as closed.
        match window_state(&env.windows, now) {
            Ok(WindowState::Unrestricted) => {}
            Ok(open @ WindowState::Open { .. }) => {
                view.badges.push(badge(
                    "window",
                    Tone::Good,
                    format!("window {}", open.summary()),
                ));
            }
            Ok(closed) => {
                view.badges.push(badge(
                    "window",
                    Tone::Warn,
                    format!("window {}", closed.summary()),
                ));
            }
            Err(why) => {
                view.badges
                    .push(badge("window", Tone::Warn, format!("window closed: {why}")))
            }
        }
        match self
            .clusters
            .of(&env.namespace)
            .lock_status(&env.namespace)
            .await
        {
            Ok(Some(lease)) => {
                if let Some(holder) = lease.holder {
                    view.badges
                        .push(badge("lock", Tone::Note, format!("locked by {holder}")));
                }
            }
            Ok(None) => {}
            Err(error) => view.badges.push(badge(
                "lock",
                Tone::Bad,
                format!(
                    "lock not read: {}",
                    neuro_deploy_core::error::one_line(&error)
                ),
            )),
        }
        Read {
            workloads: Some(workloads),
            view,
        }
    }

    /// The GitHub page of `version`: its release, or its commit.
    fn commit_url(&self, version: &str) -> Option<String> {
        let repository = self.config.git.repository.as_deref()?;
        let server = std::env::var("GITHUB_SERVER_URL")
            .ok()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .unwrap_or_else(|| "https://github.com".to_owned());
        let page = match Version::parse(version).ok()? {
            Version::Release(tag) => format!("releases/tag/{tag}"),
            Version::GitSha(sha) => format!("commit/{sha}"),
        };
        Some(format!(
            "{}/{repository}/{page}",
            server.trim_end_matches('/')
        ))
    }

    /// Between `from` and `to`: the next promotion previewed, or how `to` gets its versions.
    /// `busy`: the queues not drained now, as one line each.
    async fn pair(
        &self,
        from: &EnvironmentView,
        to: &EnvironmentView,
        busy: &[String],
    ) -> PairView {
        let mut pair = PairView {
            from: from.name.clone(),
            to: to.name.clone(),
            version: from.version.clone(),
            sentence: String::new(),
            blocked: true,
            gates: Vec::new(),
            changes: None,
        };
        let promoted = self
            .config
            .environment(&to.name)
            .and_then(|env| env.promote_from.as_deref())
            == Some(from.name.as_str());
        let Some(version) = from.version.clone() else {
            pair.sentence = format!(
                "`{}` runs no single version, so there is nothing to move on to `{}`",
                from.name, to.name
            );
            return pair;
        };
        if !promoted {
            let trigger = match self.config.environment(&to.name).map(|env| env.trigger) {
                Some(neuro_deploy_core::Trigger::Merge) => "every merge (`trigger = \"merge\"`)",
                Some(neuro_deploy_core::Trigger::Release) => {
                    "a GitHub Release (`trigger = \"release\"`)"
                }
                _ => "hand (`neuro-deploy deploy`)",
            };
            pair.sentence = format!(
                "`{}` is not promoted from `{}`: it is deployed by {trigger}",
                to.name, from.name
            );
            pair.blocked = false;
            let releases = self.adapters.releases.as_deref();
            let running = to.version.as_deref().map(|version| Side {
                version,
                digest: to.digest.as_deref(),
            });
            let coming = Side {
                version: &version,
                digest: from.digest.as_deref(),
            };
            let (changes, _) = what_changed(releases, running, coming).await;
            // Only what `from` has that `to` lacks is on its way; an older `from` brings nothing.
            let status = changes.comparison.as_ref().map(|c| c.status);
            if matches!(status, Some(Divergence::Behind | Divergence::Identical)) {
                pair.sentence.push_str(&format!(
                    "; it already has every commit `{}` runs",
                    from.name
                ));
            } else {
                pair.changes = Some(changes);
            }
            return pair;
        }
        let Ok(parsed) = Version::parse(&version) else {
            pair.sentence = format!(
                "`{}` runs {version}, which is not a version neuro-deploy promotes",
                from.name
            );
            return pair;
        };
        let event = Event::Promote {
            version: parsed,
            to: Some(to.name.clone()),
            allow_downgrade: false,
        };
        let executor = Executor::new(self.adapters.clone(), self.config.clone());
        let preview = executor
            .preview(&event, &crate::identity::run_options(true))
            .await;
        let gated = neuro_deploy_core::policy::target(&event, &self.config)
            .is_ok_and(|target| target.queue_gate);
        let busy = if gated { busy } else { &[] };
        pair.sentence = sentence(&preview.report, &version, &to.name, busy);
        pair.blocked = !matches!(
            preview.report.outcome,
            Outcome::WouldDeploy | Outcome::Ignored
        ) || !busy.is_empty();
        pair.gates = gates(&preview.report);
        pair.changes = preview.report.changes.clone();
        pair
    }

    /// Each environment's timeline: GitHub Deployments when recorded there, else the annotations.
    async fn history(
        &self,
        read: &[Read],
        repository: Option<&str>,
    ) -> (&'static str, Vec<HistoryView>) {
        let mut views = Vec::new();
        if let Some(recorder) = &self.recorder {
            for env in read {
                let entries = recorder
                    .history(Some(&env.view.name), HISTORY_SHOWN)
                    .await
                    .unwrap_or_default();
                views.push(HistoryView {
                    environment: env.view.name.clone(),
                    entries,
                });
            }
            return ("from GitHub Deployments", views);
        }
        for env in read {
            let entries: Vec<HistoryEntry> = match (&env.workloads, repository) {
                (Some(workloads), Some(repository)) => {
                    super::super::history::last_deploys(&env.view.name, workloads, repository)
                }
                _ => Vec::new(),
            };
            views.push(HistoryView {
                environment: env.view.name.clone(),
                entries,
            });
        }
        (
            "from the annotations on the Deployments (only the last change of each)",
            views,
        )
    }
}

fn badge(kind: &str, tone: Tone, text: String) -> Badge {
    Badge {
        kind: kind.to_owned(),
        tone,
        text,
    }
}

/// Why `version` is, or is not, in `environment` yet — in one sentence, from the preview and
/// the queues busy now (`busy`, where the queue gate applies).
fn sentence(report: &Report, version: &str, environment: &str, busy: &[String]) -> String {
    let busy = busy.join("; ");
    match report.outcome {
        Outcome::Ignored => format!("{environment} runs {version} already"),
        Outcome::WouldDeploy if busy.is_empty() => format!(
            "{version} is not in {environment} yet, and nothing holds it up: every gate passes (`neuro-deploy promote {version}`)"
        ),
        Outcome::WouldDeploy => format!(
            "{version} is not in {environment} yet: every other gate passes, but a training job would be lost — {busy}"
        ),
        _ if busy.is_empty() => {
            format!("{version} is not in {environment} yet: {}", report.message)
        }
        _ => format!(
            "{version} is not in {environment} yet: a training job would be lost — {busy}; and {}",
            report.message
        ),
    }
}

/// The gates of a preview, as its steps recorded them.
fn gates(report: &Report) -> Vec<GateView> {
    report
        .steps
        .iter()
        .filter(|step| step.kind.starts_with("gate_"))
        .map(|step| {
            let verdict = match step.status {
                StepStatus::Ok | StepStatus::Skipped
                    if step.kind == "gate_queues_drained" && report.waits_for_queues() =>
                {
                    "waits"
                }
                StepStatus::Ok | StepStatus::Skipped => "passed",
                StepStatus::Refused | StepStatus::Failed => "refused",
                StepStatus::NotRun => "not judged",
            };
            GateView {
                gate: step.kind.clone(),
                verdict: verdict.to_owned(),
                text: step.detail.clone().unwrap_or_else(|| step.reason.clone()),
            }
        })
        .collect()
}
