//! Gathering the facts a run is decided on, and what a run whose facts could not all be read
//! comes to: a gate that refuses on what was read is the outcome, with the failure beside it.

use crate::error::AdapterError;
use crate::model::{Event, ReleaseTarget};
use crate::policy::{
    Fact, Facts, GateVerdict, Target, Verdict, first_refusal, gate_verdicts, previous_version,
};
use crate::version::Version;

use super::Executor;
use super::report::{Report, StepReport, StepStatus};
use super::run_context::RunContext;

impl Executor {
    /// The app's Deployments in the target namespace and, for a promotion, in the source's;
    /// and the target's shared guardrail state. Read with the facts and again under the lock.
    pub(super) async fn read_workloads(
        &self,
        target: &Target,
        facts: &mut Facts,
    ) -> Result<(), AdapterError> {
        let cluster = &self.adapters.cluster;
        facts.target_workloads = Fact::Known(cluster.workloads(&target.namespace).await?);
        if let Some((_, source_ns)) = &target.source {
            facts.source_workloads = Fact::Known(cluster.workloads(source_ns).await?);
        }
        if let Some(state) = &self.adapters.state {
            facts.guard = Fact::Known(state.read_state(&target.namespace).await?.state);
        }
        Ok(())
    }

    /// Reads what the policy needs; writes nothing. What could not be read stays unknown,
    /// and the first failure comes back beside the facts: a gate that needs none of it may
    /// still refuse (see [`Executor::refused_without`]).
    pub(super) async fn gather_facts(
        &self,
        event: &Event,
        target: &Target,
        ctx: &RunContext,
    ) -> (Facts, Option<AdapterError>) {
        let mut facts = Facts {
            now: Fact::Known(ctx.started_at),
            window_override: ctx.override_window.clone(),
            ..Facts::unknown()
        };
        // The cluster first: the guardrails it holds are judged without the registry. Once
        // one source failed the run cannot deploy, so nothing more is asked.
        if let Err(error) = self.read_cluster_facts(target, &mut facts).await {
            return (facts, Some(error));
        }
        let registry = self.read_registry_facts(event, target, &mut facts).await;
        (facts, registry.err())
    }

    /// The workloads, the shared guardrail state and who this run authenticates as.
    async fn read_cluster_facts(
        &self,
        target: &Target,
        facts: &mut Facts,
    ) -> Result<(), AdapterError> {
        self.read_workloads(target, facts).await?;
        if let Some(state) = &self.adapters.state {
            // Who deploys is recorded; where approvals are required it must be known.
            let approvals = target
                .environment
                .as_deref()
                .and_then(|name| self.config.environment(name))
                .is_some_and(|env| env.approvals.is_some());
            match state.authenticated_user(&target.namespace).await {
                Ok(user) => facts.actor = Fact::Known(user),
                Err(error) if approvals => return Err(error),
                Err(error) => tracing::debug!(%error, "the authenticated user is not known"),
            }
        }
        Ok(())
    }

    /// The repository, the images the version and its commit have, the commit itself.
    async fn read_registry_facts(
        &self,
        event: &Event,
        target: &Target,
        facts: &mut Facts,
    ) -> Result<(), AdapterError> {
        let registry = &self.adapters.registry;
        let repository = registry.repository_uri().await?;
        facts.repository_uri = Fact::Known(repository.clone());
        let version = match &target.version {
            Some(version) => Some(version.clone()),
            None => facts
                .target_workloads
                .known()
                .and_then(|workloads| previous_version(workloads, &repository).ok()),
        };
        let Some(version) = version else {
            return Ok(());
        };
        let tag = version.image_tag(self.config.git.short_sha_length);
        let target_image = registry.find(&tag).await?;
        let may_build = matches!(
            event,
            Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. }
        );
        // A release whose tag exists is compared with its commit's image when the commit is
        // known without asking anyone (a tag is never moved onto another image).
        let compare_commit = target_image.is_some() && target.commit.is_some();
        if may_build && (target_image.is_none() || compare_commit) {
            let revision = match (&target.commit, &version) {
                (Some(commit), _) => Some(commit.clone()),
                (None, Version::Release(tag)) => match &self.adapters.releases {
                    Some(releases) => releases.resolve(tag.as_str()).await?,
                    None => None,
                },
                (None, Version::GitSha(sha)) => Some(sha.clone()),
            };
            if let (Version::Release(_), Some(revision)) = (&version, &revision) {
                let short = revision.short(self.config.git.short_sha_length);
                facts.commit_image = Fact::Known(registry.find(short).await?);
            }
            facts.revision = Fact::Known(revision);
        }
        // A promotion of a release written without its `v` (or with one it lacks): name what
        // exists, since nothing is built for it.
        if target_image.is_none()
            && matches!(event, Event::Promote { .. })
            && let Version::Release(release) = &version
        {
            let other = if release.has_v_prefix() {
                release.as_str().trim_start_matches('v').to_owned()
            } else {
                format!("v{}", release.as_str())
            };
            let exists = registry.find(&other).await?.is_some();
            facts.other_spelling = Fact::Known(exists.then_some(other));
        }
        facts.target_image = Fact::Known(target_image);
        if let Event::Released {
            target_branch: Some(ReleaseTarget::Commit(sha)),
            ..
        } = event
            && let Some(releases) = &self.adapters.releases
        {
            let contained = releases
                .branch_contains(&self.config.git.main_branch, sha)
                .await?;
            facts.target_on_release_branch = Fact::Known(contained);
        }
        Ok(())
    }

    /// A run whose facts could not all be read: a gate that refuses on what was read is the
    /// outcome (exit 3), with the failure noted beside it; otherwise the failure is.
    pub(super) fn refused_without(
        &self,
        event: &Event,
        facts: &Facts,
        mut report: Report,
        error: &AdapterError,
    ) -> Report {
        let verdicts = gate_verdicts(event, &self.config, facts);
        let Some(refusal) = first_refusal(&verdicts).cloned() else {
            return report.failed(error);
        };
        report.steps = verdict_steps(&verdicts);
        let unread = crate::error::one_line(error);
        report.warnings.push(format!(
            "not everything could be read ({unread}); the refusal needs none of it — fix that before the next run"
        ));
        report.refused(refusal)
    }
}

/// Each gate's verdict as a step of a refused run's report: passed, refused, or not judged
/// and why.
pub(super) fn verdict_steps(verdicts: &[GateVerdict]) -> Vec<StepReport> {
    verdicts
        .iter()
        .map(|gate| {
            let (status, reason, detail) = match &gate.verdict {
                Verdict::Passed { reason } => (StepStatus::Ok, reason.clone(), None),
                Verdict::Refused { reason } => (
                    StepStatus::Refused,
                    reason.message.clone(),
                    Some(reason.message.clone()),
                ),
                Verdict::NotJudged { why } => (
                    StepStatus::NotRun,
                    why.clone(),
                    Some(format!("not judged: {why}")),
                ),
            };
            StepReport {
                kind: gate.gate.clone(),
                reason,
                status,
                duration_ms: 0,
                detail,
            }
        })
        .collect()
}
