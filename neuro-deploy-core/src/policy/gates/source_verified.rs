//! A promotion's source runs the version with a complete rollout (and its verification passed
//! there, where the source has checks).

use crate::error::{Reason, ReasonCode};
use crate::model::Event;

use super::super::plan::Step;
use super::super::workloads::{common_tag, runs_completely};
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct SourceVerified;

impl Gate for SourceVerified {
    fn name(&self) -> &'static str {
        "gate_source_verified"
    }

    fn applies(&self, subject: &Subject) -> bool {
        matches!(subject.event, Event::Promote { .. }) && subject.target.source.is_some()
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        subject.need_source_workloads().into_iter().collect()
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let (Some((source_env, source_ns)), Some((image, version))) =
            (&subject.target.source, subject.deployed())
        else {
            return Judgment::image_unknown();
        };
        let repository = &image.repository;
        let verifies = subject.target.source_verifies;
        let step = Step::GateSourceVerified {
            environment: source_env.clone(),
            namespace: source_ns.clone(),
            version: version.to_string(),
        };
        let Some(workloads) = subject.facts.source_workloads.known() else {
            let also = if verifies {
                " and a passed verification"
            } else {
                ""
            };
            return Judgment::at_run_time(
                step,
                format!(
                    "`{source_env}` must run {version} with a complete rollout{also} — checked at run time"
                ),
            );
        };
        if !runs_completely(workloads, repository, &image.tag) {
            let runs =
                common_tag(workloads, repository).unwrap_or_else(|| "no single version".to_owned());
            let rollout = if workloads.iter().all(|w| w.rollout.state().is_complete()) {
                "complete"
            } else {
                "incomplete"
            };
            return Judgment::refused(Reason::new(
                ReasonCode::NotVerifiedOnStaging,
                format!(
                    "`{source_env}` (namespace `{source_ns}`) runs {runs} (rollout {rollout}), not {version} with a complete rollout; deploy and verify {version} on `{source_env}` first"
                ),
            ));
        }
        if !verifies {
            return Judgment::pass(
                step,
                format!("`{source_env}` runs {version} with a complete rollout"),
            );
        }
        let verified = workloads
            .iter()
            .filter(|w| w.runs_app(repository))
            .all(|w| w.audit.verified(&image.tag));
        if !verified {
            return Judgment::refused(Reason::new(
                ReasonCode::NotVerifiedOnStaging,
                format!(
                    "`{source_env}` runs {version} with a complete rollout, but its verification has not passed there (no `neuro-deploy.io/verified: {}@…` on every Deployment); run `neuro-deploy verify --env {source_env}`, or deploy a version that passes",
                    image.tag
                ),
            ));
        }
        Judgment::pass(
            step,
            format!(
                "`{source_env}` runs {version} with a complete rollout and its verification passed there"
            ),
        )
    }
}
