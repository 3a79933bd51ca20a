//! Gathering the facts a run is decided on — exactly what the gates of this run say they need
//! ([`crate::policy::needs`]) — and what a run whose facts could not all be read comes to: a
//! gate that refuses on what was read is the outcome, with the failure beside it.

use std::collections::BTreeSet;

use futures::future::join_all;

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
            // In reading order, one source at a time and everything asked of it at once: the
            // cluster first (the guardrails it holds are judged without the registry). Once one
            // source failed the run cannot deploy: nothing more is asked.
            for group in wanted.chunk_by(|a, b| a.source() == b.source()) {
                let answers = join_all(group.iter().map(|need| self.fetch(need))).await;
                let mut failed = None;
                for (need, answer) in group.iter().zip(answers) {
                    match answer {
                        Ok(answer) => {
                            answer.put(&mut facts);
                            asked.insert(need.clone());
                        }
                        Err(error) => {
                            failed.get_or_insert(error);
                        }
                    }
                }
                if let Some(error) = failed {
                    self.read_identity(event, &mut facts).await;
                    return (facts, Some(error));
                }
            }
        }
        self.read_identity(event, &mut facts).await;
        (facts, None)
    }

    /// Asks for one fact; the answer goes into the facts once read.
    async fn fetch(&self, need: &Need) -> Result<Answer, AdapterError> {
        let cluster = &self.adapters.cluster;
        let registry = &self.adapters.registry;
        Ok(match need {
            Need::TargetWorkloads { namespace } => {
                Answer::TargetWorkloads(cluster.workloads(namespace).await?)
            }
            Need::SourceWorkloads { namespace } => {
                Answer::SourceWorkloads(cluster.workloads(namespace).await?)
            }
            // Without the adapter it stays unknown, and the gates that need it refuse.
            Need::SharedState { namespace } => match &self.adapters.state {
                Some(state) => Answer::Guard(state.read_state(namespace).await?.state),
                None => Answer::Unknown,
            },
            Need::Actor { namespace } => match &self.adapters.state {
                Some(state) => Answer::Actor(state.authenticated_user(namespace).await?),
                None => Answer::Unknown,
            },
            Need::RepositoryUri => Answer::RepositoryUri(registry.repository_uri().await?),
            Need::TargetImage { tag } => Answer::TargetImage(registry.find(tag).await?),
            Need::CommitImage { tag } => Answer::CommitImage(registry.find(tag).await?),
            Need::OtherSpelling { tag } => {
                let exists = registry.find(tag).await?.is_some();
                Answer::OtherSpelling(exists.then(|| tag.clone()))
            }
            Need::Revision { release } => Answer::Revision(match &self.adapters.releases {
                Some(releases) => releases.resolve(release).await?,
                None => None,
            }),
            // Without the releases to ask, the release's word is taken.
            Need::OnReleaseBranch { branch, sha } => match &self.adapters.releases {
                Some(releases) => {
                    Answer::OnReleaseBranch(releases.branch_contains(branch, sha).await?)
                }
                None => Answer::Unknown,
            },
        })
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
        let again: Vec<Need> = needs(event, &self.config, facts)
            .into_iter()
            .filter(Need::from_the_cluster)
            .collect();
        let answers = join_all(again.iter().map(|need| self.fetch(need))).await;
        for answer in answers {
            answer?.put(facts);
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

/// One fact as read, before it goes into the [`Facts`] (reads of one source run at once).
enum Answer {
    TargetWorkloads(Vec<crate::Workload>),
    SourceWorkloads(Vec<crate::Workload>),
    Guard(crate::GuardState),
    Actor(String),
    RepositoryUri(String),
    TargetImage(Option<crate::ImageRef>),
    CommitImage(Option<crate::ImageRef>),
    OtherSpelling(Option<String>),
    Revision(Option<crate::version::GitSha>),
    OnReleaseBranch(bool),
    /// Nothing to ask it of: the fact stays unknown.
    Unknown,
}

impl Answer {
    fn put(self, facts: &mut Facts) {
        match self {
            Answer::TargetWorkloads(w) => facts.target_workloads = Fact::Known(w),
            Answer::SourceWorkloads(w) => facts.source_workloads = Fact::Known(w),
            Answer::Guard(state) => facts.guard = Fact::Known(state),
            Answer::Actor(user) => facts.actor = Fact::Known(user),
            Answer::RepositoryUri(uri) => facts.repository_uri = Fact::Known(uri),
            Answer::TargetImage(image) => facts.target_image = Fact::Known(image),
            Answer::CommitImage(image) => facts.commit_image = Fact::Known(image),
            Answer::OtherSpelling(tag) => facts.other_spelling = Fact::Known(tag),
            Answer::Revision(sha) => facts.revision = Fact::Known(sha),
            Answer::OnReleaseBranch(on) => facts.target_on_release_branch = Fact::Known(on),
            Answer::Unknown => {}
        }
    }
}
