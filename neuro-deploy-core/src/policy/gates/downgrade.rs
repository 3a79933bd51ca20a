//! A promotion does not go back: the version must not be older than the highest release any
//! app Deployment runs (`--allow-downgrade` when going back is intended); a Deployment running
//! something that is not a release cannot be compared.

use crate::error::{Reason, ReasonCode};
use crate::model::Event;

use super::super::plan::Step;
use super::super::workloads::RunningReleases;
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct Downgrade;

impl Downgrade {
    fn allowed(subject: &Subject) -> bool {
        matches!(
            subject.event,
            Event::Promote {
                allow_downgrade: true,
                ..
            }
        )
    }
}

impl Gate for Downgrade {
    fn name(&self) -> &'static str {
        "gate_not_downgrade"
    }

    fn applies(&self, subject: &Subject) -> bool {
        matches!(subject.event, Event::Promote { .. })
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        vec![subject.need_target_workloads(), Need::RepositoryUri]
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let Some((image, version)) = subject.deployed() else {
            return Judgment::image_unknown();
        };
        let env_name = subject.target.environment.clone().unwrap_or_default();
        let running = subject
            .facts
            .target_workloads
            .known()
            .map(|workloads| RunningReleases::of(workloads, &image.repository));
        let current = running
            .as_ref()
            .and_then(|r| r.highest.as_ref())
            .map(ToString::to_string);
        let step = Step::GateNotDowngrade {
            current: current.clone(),
            target: version.to_string(),
        };
        if Self::allowed(subject) {
            return Judgment::pass(
                step,
                match &current {
                    Some(old) => format!(
                        "downgrades allowed for this run (the highest release there now is {old})"
                    ),
                    None => "downgrades allowed for this run".to_owned(),
                },
            );
        }
        let Some(running) = running else {
            return Judgment::at_run_time(
                step,
                format!(
                    "{version} must not be older than the highest release running there — checked at run time"
                ),
            );
        };
        if !running.not_releases.is_empty() {
            return Judgment::refused(Reason::new(
                ReasonCode::Downgrade,
                format!(
                    "`{env_name}` runs something that is not a release ({}), so whether {version} is older cannot be judged; pass `--allow-downgrade` if replacing it is intended",
                    running.not_releases.join(", ")
                ),
            ));
        }
        match (version.as_release(), &running.highest) {
            (Some(new), Some(old)) if new.semver() < old.semver() => {
                Judgment::refused(Reason::new(
                    ReasonCode::Downgrade,
                    format!(
                        "`{env_name}` runs {old}, which is newer than {new}; pass `--allow-downgrade` if going back is intended (or use `rollback`)"
                    ),
                ))
            }
            (_, Some(old)) => Judgment::pass(
                step,
                format!("{version} is not older than {old}, the highest release running there"),
            ),
            (_, None) => Judgment::pass(
                step,
                "no release runs there now, so there is nothing to compare with",
            ),
        }
    }
}
