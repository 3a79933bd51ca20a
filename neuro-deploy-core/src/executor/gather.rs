//! Gathering the facts a run is decided on — exactly what the gates of this run say they need
//! ([`crate::policy::needs`]) — and what a run whose facts could not all be read comes to: a
//! gate that refuses on what was read is the outcome, with the failure beside it.

use std::collections::BTreeSet;

use crate::error::AdapterError;
use crate::model::Event;
use crate::policy::{Fact, Facts, GateVerdict, Need, Verdict, first_refusal, gate_verdicts, needs};

use super::Executor;
use super::report::{StepReport, StepStatus};
use super::run::Run;
use super::run_options::RunOptions;

impl Executor {
    /// Reads what the gates need; writes nothing. What could not be read stays unknown, and
    /// the first failure comes back beside the facts: a gate that needs none of it may still
    /// refuse (see [`Executor::refused_without`]). What is needed next may depend on what was
    /// found (a missing image needs its commit), so the gates are asked again after each round.
    pub(super) async fn gather_facts(
        &self,
        event: &Event,
        ctx: &RunOptions,
    ) -> (Facts, Option<AdapterError>) {
        let mut facts = Facts {
            now: Fact::Known(ctx.started_at),
            overrides: ctx.overrides.clone(),
            ..Facts::unknown()
        };
        let mut asked = BTreeSet::new();
        loop {
            let wanted: Vec<Need> = needs(event, &self.config, &facts)
                .into_iter()
                .filter(|need| !asked.contains(need))
                .collect();
            if wanted.is_empty() {
                break;
            }
            // In reading order: the cluster first (the guardrails it holds are judged without
            // the registry). Once one source failed the run cannot deploy: nothing more is asked.
            for need in wanted {
                if let Err(error) = self.read(&need, &mut facts).await {
                    self.read_identity(event, &mut facts).await;
                    return (facts, Some(error));
                }
                asked.insert(need);
            }
        }
        self.read_identity(event, &mut facts).await;
        (facts, None)
    }

    /// Reads one fact into `facts`.
    pub(super) async fn read(&self, need: &Need, facts: &mut Facts) -> Result<(), AdapterError> {
        let cluster = &self.adapters.cluster;
        let registry = &self.adapters.registry;
        match need {
            Need::TargetWorkloads { namespace } => {
                facts.target_workloads = Fact::Known(cluster.workloads(namespace).await?);
            }
            Need::SourceWorkloads { namespace } => {
                facts.source_workloads = Fact::Known(cluster.workloads(namespace).await?);
            }
            Need::SharedState { namespace } => {
                // Without the adapter it stays unknown, and the gates that need it refuse.
                if let Some(state) = &self.adapters.state {
                    facts.guard = Fact::Known(state.read_state(namespace).await?.state);
                }
            }
            Need::Actor { namespace } => {
                if let Some(state) = &self.adapters.state {
                    facts.actor = Fact::Known(state.authenticated_user(namespace).await?);
                }
            }
            Need::RepositoryUri => {
                facts.repository_uri = Fact::Known(registry.repository_uri().await?);
            }
            Need::TargetImage { tag } => {
                facts.target_image = Fact::Known(registry.find(tag).await?);
            }
            Need::CommitImage { tag } => {
                facts.commit_image = Fact::Known(registry.find(tag).await?);
            }
            Need::OtherSpelling { tag } => {
                let exists = registry.find(tag).await?.is_some();
                facts.other_spelling = Fact::Known(exists.then(|| tag.clone()));
            }
            Need::Revision { release } => {
                facts.revision = Fact::Known(match &self.adapters.releases {
                    Some(releases) => releases.resolve(release).await?,
                    None => None,
                });
            }
            Need::OnReleaseBranch { branch, sha } => {
                // Without the releases to ask, the release's word is taken.
                if let Some(releases) = &self.adapters.releases {
                    facts.target_on_release_branch =
                        Fact::Known(releases.branch_contains(branch, sha).await?);
                }
            }
        }
        Ok(())
    }

    /// Who this run authenticates as, for the record (`deployed-by`), when no gate asked:
    /// best effort, since no gate depends on it.
    async fn read_identity(&self, event: &Event, facts: &mut Facts) {
        let (Some(state), Fact::Unknown) = (&self.adapters.state, &facts.actor) else {
            return;
        };
        let Ok(target) = crate::policy::target(event, &self.config) else {
            return;
        };
        match state.authenticated_user(&target.namespace).await {
            Ok(user) => facts.actor = Fact::Known(user),
            Err(error) => tracing::debug!(%error, "the authenticated user is not known"),
        }
    }

    /// Reads again, under the lock, what the gates read from the cluster (the Deployments,
    /// the shared state): facts read before a long queue wait go stale.
    pub(super) async fn read_again(
        &self,
        event: &Event,
        facts: &mut Facts,
    ) -> Result<(), AdapterError> {
        for need in needs(event, &self.config, facts) {
            if need.from_the_cluster() {
                self.read(&need, facts).await?;
            }
        }
        Ok(())
    }

    /// A run whose facts could not all be read: a gate that refuses on what was read is the
    /// outcome (exit 3), with the failure noted beside it; otherwise the failure is.
    pub(super) fn refused_without(&self, run: &mut Run<'_>, error: &AdapterError) {
        let verdicts = gate_verdicts(run.event, &self.config, &run.facts);
        let Some(refusal) = first_refusal(&verdicts).cloned() else {
            return run.fail(error);
        };
        run.report.steps = verdict_steps(&verdicts);
        let unread = crate::error::one_line(error);
        run.report.warnings.push(format!(
            "not everything could be read ({unread}); the refusal needs none of it — fix that before the next run"
        ));
        run.refuse(refusal)
    }
}
/// Each gate's verdict as a step of a refused run's report: passed, refused, or not judged
/// and why.
pub(super) fn verdict_steps(verdicts: &[GateVerdict]) -> Vec<StepReport> {
    verdicts
        .iter()
        .map(|gate| {
            let (status, reason, detail) = match &gate.verdict {
                Verdict::Passed { reason } | Verdict::Overridden { reason } => {
                    (StepStatus::Ok, reason.clone(), None)
                }
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
