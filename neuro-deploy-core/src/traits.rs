//! The boundaries the executor acts through: the five a deploy needs, the shared guardrail
//! state, and optional ones (a health checker and the team's monitoring for verification, a
//! deployment recorder, a notifier, a metrics sink). Adapter crates implement them;
//! `mocks` (feature) exposes `mockall` doubles (`MockRegistry` …) for embedders' tests.
//!
//! Every trait is object safe (`Arc<dyn Registry>`), `Send + Sync`, and speaks the domain's words.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::AdapterError;
use crate::model::{
    ActiveAlert, Approval, Comparison, Decisions, DeployAudit, DeploymentRecord, DeploymentState,
    HistoryEntry, ImageChange, ImageRef, LockAttempt, LockHandle, Quarantined, QueryAnswer,
    QueueDepth, ReleaseInfo, RolloutResult, Sample, Spent, VersionedState, Workload,
};
use crate::version::GitSha;

/// Builds and pushes the app image for a commit. Implemented by `CodefreshBuilder`
/// (neuro-deploy-codefresh) and the CLI's command builder.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ImageBuilder: Send + Sync {
    /// Builds `revision` and pushes it as `image`; returns the pushed image (with digest when known).
    /// Dropping the returned future abandons the build (a local process is killed with it).
    async fn build(&self, revision: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError>;

    /// Stops a build this builder started and that may still run elsewhere (a remote CI build),
    /// after its `build` future was dropped by a cancelled run. Nothing to do by default.
    async fn cancel(&self) -> Result<(), AdapterError> {
        Ok(())
    }
}

/// The image registry. Implemented by `EcrRegistry` (neuro-deploy-aws).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Registry: Send + Sync {
    /// The full repository URI images are pulled from (`…amazonaws.com/neuro-ui`).
    async fn repository_uri(&self) -> Result<String, AdapterError>;

    /// The image with this tag, or `None` when there is none.
    async fn find(&self, tag: &str) -> Result<Option<ImageRef>, AdapterError>;

    /// Adds tag `to` to the image tagged `from` without pulling it. Succeeds when `to`
    /// already names the same image; an immutable repository refuses with
    /// [`ReasonCode::ImmutableTag`](crate::ReasonCode::ImmutableTag).
    async fn retag(&self, from: &str, to: &str) -> Result<ImageRef, AdapterError>;
}

/// Queue depths. Implemented by `SqsQueues` (neuro-deploy-aws).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait QueueInspector: Send + Sync {
    /// Visible, in-flight and delayed counts of `queue` in `region`. A queue that does not
    /// exist is an error, never "empty".
    async fn depth(&self, queue: &str, region: &str) -> Result<QueueDepth, AdapterError>;
}

/// Guardrail state each environment shares with every operator and CI run (a freeze …), kept
/// in its namespace, and who is changing it. Implemented by `KubeCluster` (the ConfigMap
/// `neuro-deploy`; `SelfSubjectReview`).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SharedState: Send + Sync {
    /// The state of `namespace`, assembled from its parts, and the version of its operators'
    /// decisions; an empty state when nothing was recorded yet.
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError>;

    /// Writes the operators' decisions (freeze, lifting, quarantine clearances) if they are
    /// still at `version` (`None`: creates them). Someone else having written first is
    /// [`AdapterError::Conflict`]: read again and re-apply. Only operators may.
    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError>;

    /// Records `approval` in its approver's own record, replacing their earlier approval of
    /// the same version. Only that approver may: an approval in someone else's record, or in
    /// anyone's name but its record's, never counts.
    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError>;

    /// Records that a deploy used `approvals`: they count no more. What a deployer may write.
    async fn spend_approvals(
        &self,
        namespace: &str,
        approvals: &[Spent],
    ) -> Result<(), AdapterError>;

    /// Adds a quarantine entry; entries are never changed or removed (an operator's clearance
    /// ends one). What a deployer may write.
    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError>;

    /// The user this process's credentials authenticate as on the cluster of `namespace` (who
    /// approves, who deploys) — never `$USER`, a hostname or a CI variable.
    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError>;
}

/// The cluster the app runs in. Implemented by `KubeCluster` (neuro-deploy-kube).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ClusterDeployer: Send + Sync {
    /// The app's Deployments in `namespace` (those matching the configured selector).
    async fn workloads(&self, namespace: &str) -> Result<Vec<Workload>, AdapterError>;

    /// Sets container images (one patch per Deployment, merged by container name) and
    /// writes the audit annotations on every Deployment changed. A change's
    /// `resource_version` is a precondition: a Deployment changed since is not written, and
    /// the answer is [`AdapterError::Conflict`] naming it (unless the change found there is
    /// this very write, whose first answer was lost).
    async fn set_images(
        &self,
        namespace: &str,
        changes: &[ImageChange],
        audit: &DeployAudit,
    ) -> Result<(), AdapterError>;

    /// Waits until every named Deployment's rollout is complete, one fails, or `timeout` passes.
    async fn await_rollout(
        &self,
        namespace: &str,
        workloads: &[String],
        timeout: Duration,
    ) -> Result<RolloutResult, AdapterError>;

    /// Tries to take the namespace's lock for `holder`, valid `lease` after each renewal.
    async fn lock(
        &self,
        namespace: &str,
        holder: &str,
        lease: Duration,
    ) -> Result<LockAttempt, AdapterError>;

    /// Renews a held lock; fails when it was lost.
    async fn renew(&self, lock: &LockHandle) -> Result<LockHandle, AdapterError>;

    /// Releases a held lock.
    async fn unlock(&self, lock: &LockHandle) -> Result<(), AdapterError>;

    /// Writes `annotations` on the metadata of the named Deployments (never on the pod
    /// template, so nothing rolls out).
    async fn annotate(
        &self,
        namespace: &str,
        workloads: &[String],
        annotations: &[(String, String)],
    ) -> Result<(), AdapterError>;
}

/// Releases, tags and branches. Implemented by `GithubReleases` (neuro-deploy-github).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReleaseSource: Send + Sync {
    /// The full commit SHA a branch, tag or SHA names, or `None` when it names nothing.
    async fn resolve(&self, reference: &str) -> Result<Option<GitSha>, AdapterError>;

    /// The release for a tag, or `None`.
    async fn release(&self, tag: &str) -> Result<Option<ReleaseInfo>, AdapterError>;

    /// Every published release (drafts included, flagged).
    async fn releases(&self) -> Result<Vec<ReleaseInfo>, AdapterError>;

    /// Whether `branch` contains commit `sha`.
    async fn branch_contains(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError>;

    /// Creates `branch` at `sha`; `Ok(false)` when it already points there.
    /// A branch that exists elsewhere is refused.
    async fn create_branch(&self, branch: &str, sha: &GitSha) -> Result<bool, AdapterError>;

    /// Creates a published release of `tag` targeting `branch`, with generated notes.
    async fn create_release(&self, tag: &str, branch: &str) -> Result<ReleaseInfo, AdapterError>;

    /// What changed from `base` to `head` (tags, branches or SHAs): where `head` stands and
    /// the commits it adds. `None` where nobody can tell (no history to ask), the default.
    /// Informative only: a caller bounds it and never fails a run for it.
    async fn compare(&self, base: &str, head: &str) -> Result<Option<Comparison>, AdapterError> {
        let _ = (base, head);
        Ok(None)
    }
}

/// Probes the URLs an environment's verification names. Implemented by `HttpHealthChecker`
/// (neuro-deploy-http).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthChecker: Send + Sync {
    /// One GET of `url` bounded by `timeout`: the HTTP status it answered, or why it did not.
    async fn probe(&self, url: &str, timeout: Duration) -> Result<u16, AdapterError>;
}

/// The team's monitoring, asked on every verification probe. Implemented by `Monitoring`
/// (neuro-deploy-prometheus).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SignalSource: Send + Sync {
    /// Evaluates `query` now at the Prometheus `prometheus` (the instant-query API), bounded
    /// by `timeout`. A query that returns a range vector is an error.
    async fn query(
        &self,
        prometheus: &str,
        query: &str,
        timeout: Duration,
    ) -> Result<QueryAnswer, AdapterError>;

    /// The alerts the Alertmanager `alertmanager` has active — not silenced, not inhibited —
    /// that match every matcher, bounded by `timeout`.
    async fn active_alerts(
        &self,
        alertmanager: &str,
        matchers: &[String],
        timeout: Duration,
    ) -> Result<Vec<ActiveAlert>, AdapterError>;
}

/// Where deploy metrics go, for the team's dashboards. Implemented by `Pushgateway`
/// (neuro-deploy-prometheus).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MetricsSink: Send + Sync {
    /// Pushes `samples` into the group `grouping` (`job`, `app`, `environment`) at
    /// `pushgateway`, replacing only the metrics of the same names there (what else the group
    /// holds is kept).
    async fn push(
        &self,
        pushgateway: &str,
        grouping: &[(String, String)],
        samples: &[Sample],
    ) -> Result<(), AdapterError>;
}

/// Where deploys are recorded for people. Implemented by `GithubReleases`
/// (neuro-deploy-github), as GitHub Deployments.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DeploymentRecorder: Send + Sync {
    /// Records a deploy that is about to write, in state `in_progress`; returns its id.
    async fn start(&self, record: &DeploymentRecord) -> Result<u64, AdapterError>;

    /// Moves the record to `state`, with one line saying why.
    async fn finish(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
        record: &DeploymentRecord,
    ) -> Result<(), AdapterError>;

    /// The latest deploys, newest first (to `environment` only, when given).
    async fn history<'a>(
        &self,
        environment: Option<&'a str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, AdapterError>;
}

/// Tells people how a run ended. Implemented by `WebhookNotifier` (neuro-deploy-http).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message (a JSON body, made by `neuro_deploy_core::notify::message`).
    async fn notify(&self, message: &serde_json::Value) -> Result<(), AdapterError>;
}

/// A [`MockSharedState`] where nothing is shared: no freeze, no quarantine, no approvals;
/// writes succeed; who runs is `user`, or not known with `None` (so `deployed-by` names the run
/// alone). What a test gives a run that has no guardrails of its own — a run without a
/// shared-state adapter fails closed.
#[cfg(any(test, feature = "mocks"))]
pub fn nothing_shared(user: Option<&'static str>) -> MockSharedState {
    let mut state = MockSharedState::new();
    state.expect_read_state().returning(|_| {
        Ok(VersionedState {
            state: crate::model::GuardState::default(),
            version: None,
        })
    });
    state.expect_write_decisions().returning(|_, _, _| Ok(()));
    state.expect_record_approval().returning(|_, _| Ok(()));
    state.expect_spend_approvals().returning(|_, _| Ok(()));
    state.expect_add_quarantine().returning(|_, _| Ok(()));
    state
        .expect_authenticated_user()
        .returning(move |_| match user {
            Some(user) => Ok(user.to_owned()),
            None => Err(AdapterError::failed(
                "kubernetes",
                "asking who runs",
                "not known here",
            )),
        });
    state
}
