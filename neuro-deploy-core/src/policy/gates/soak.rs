//! Minimum soak time: a promotion takes a version only once it has run in the source for
//! `min_soak` (`[[environments]] min_soak = "30m"`; default none), measured from the deploy
//! neuro-deploy recorded on the source's Deployments (`neuro-deploy.io/deployed-at`). Like
//! GitHub environments' wait timer, but counted from the fact that matters. A version whose
//! deploy time is not recorded there is refused with the fix; `--skip-soak --reason TEXT` lets
//! an urgent fix through on the record. Judged again under the lock, like every gate.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{format_duration, format_elapsed};
use crate::error::{Reason, ReasonCode};
use crate::model::{Event, Workload, rfc3339};

use super::super::plan::Step;
use super::super::workloads::app_workloads;
use super::{Gate, Judgment, Need, OverrideFlag, Subject};

pub(crate) struct Soak;

impl Soak {
    /// The minimum, when the target has one.
    fn minimum(subject: &Subject) -> Option<Duration> {
        subject
            .env
            .map(|env| env.min_soak)
            .filter(|minimum| !minimum.is_zero())
    }

    /// Since when every app Deployment of the source runs `tag`, by what neuro-deploy recorded
    /// there (the latest deploy among them); `Err` names a Deployment with no such record.
    fn running_since(
        workloads: &[Workload],
        repository: &str,
        tag: &str,
    ) -> Result<DateTime<Utc>, String> {
        let mut since = None;
        for workload in app_workloads(workloads, repository) {
            let recorded = workload
                .audit
                .deployed_at
                .filter(|_| workload.audit.version.as_deref() == Some(tag));
            let Some(at) = recorded else {
                return Err(workload.name.clone());
            };
            since = since.max(Some(at));
        }
        since.ok_or_else(|| "(none runs the app)".to_owned())
    }

    fn step(subject: &Subject, detail: BTreeMap<String, String>) -> Step {
        let mut detail = detail;
        if let Some(minimum) = Self::minimum(subject) {
            detail.insert("min_soak".to_owned(), format_duration(minimum));
        }
        Step::Gate {
            gate: "gate_soak".to_owned(),
            detail,
        }
    }
}

impl Gate for Soak {
    fn name(&self) -> &'static str {
        "gate_soak"
    }

    fn applies(&self, subject: &Subject) -> bool {
        matches!(subject.event, Event::Promote { .. })
            && subject.target.source.is_some()
            && Self::minimum(subject).is_some()
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        let mut needs = vec![Need::RepositoryUri];
        needs.extend(subject.need_source_workloads());
        needs
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn override_flag(&self) -> Option<OverrideFlag> {
        Some(OverrideFlag {
            flag: "skip-soak",
            help: "Promote although the version has not run in the source for the environment's `min_soak` (an urgent fix); needs `--reason`, which is recorded.",
            promotion_only: true,
        })
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let (Some(minimum), Some((source, _)), Some(image)) = (
            Self::minimum(subject),
            &subject.target.source,
            &subject.image,
        ) else {
            return Judgment::pass_silently("no minimum soak time");
        };
        let tag = &image.tag;
        let target = subject.place();
        let skip = subject.override_reason(self);
        let (Some(workloads), Some(now)) = (
            subject.facts.source_workloads.known(),
            subject.facts.now.known().copied(),
        ) else {
            return Judgment::at_run_time(
                Self::step(subject, BTreeMap::new()),
                format!(
                    "{tag} must have run on `{source}` for at least {} — checked at run time",
                    format_duration(minimum)
                ),
            );
        };
        let since = match Self::running_since(workloads, &image.repository, tag) {
            Ok(since) => since,
            Err(deployment) => {
                let note = format!(
                    "promoted with --skip-soak although when {tag} was deployed to `{source}` is not recorded: {}",
                    skip.unwrap_or_default()
                );
                if skip.is_some() {
                    return Judgment::overridden(Self::step(subject, BTreeMap::new()), note);
                }
                return Judgment::refused(Reason::new(
                    ReasonCode::SoakNotMet,
                    format!(
                        "when {tag} was deployed to `{source}` is not recorded on Deployment `{deployment}` (annotation `neuro-deploy.io/deployed-at` of {tag}), so how long it has run there is not known; nothing was changed — redeploy {tag} to `{source}` with neuro-deploy and promote once it has run {} there, or promote with `--skip-soak --reason TEXT` (recorded)",
                        format_duration(minimum)
                    ),
                ));
            }
        };
        let allowed = chrono::Duration::from_std(minimum)
            .ok()
            .and_then(|minimum| since.checked_add_signed(minimum))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let ran = (now - since).to_std().unwrap_or_default();
        let detail = BTreeMap::from([
            ("since".to_owned(), rfc3339(since)),
            ("allowed_at".to_owned(), rfc3339(allowed)),
        ]);
        if now >= allowed {
            return Judgment::pass(
                Self::step(subject, detail),
                format!(
                    "{tag} has run on `{source}` since {} ({} ago), at least {}",
                    rfc3339(since),
                    format_elapsed(ran),
                    format_duration(minimum)
                ),
            );
        }
        if let Some(why) = skip {
            let note = format!(
                "promoted to `{target}` after {} on `{source}` of the {} soak, with --skip-soak: {why}",
                format_elapsed(ran),
                format_duration(minimum)
            );
            return Judgment::overridden(Self::step(subject, detail), note);
        }
        Judgment::refused(Reason::new(
            ReasonCode::SoakNotMet,
            format!(
                "{tag} has run on `{source}` only since {} ({}), and `{target}` takes it after {} there: at {} (UTC); nothing was changed — promote then, or let an urgent fix through with `--skip-soak --reason TEXT` (recorded on the deploy)",
                rfc3339(since),
                format_elapsed(ran),
                format_duration(minimum),
                rfc3339(allowed)
            ),
        ))
    }
}
