//! A rollback goes only to a version whose image is still in the registry.

use crate::error::{Reason, ReasonCode};

use super::super::plan::Step;
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct RollbackImage;

impl Gate for RollbackImage {
    fn name(&self) -> &'static str {
        "gate_image_exists"
    }

    fn applies(&self, subject: &Subject) -> bool {
        subject.is_rollback()
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        subject.need_target_image()
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let Some((image, _)) = subject.deployed() else {
            return Judgment::image_unknown();
        };
        let tag = &image.tag;
        let step = Step::GateImageExists {
            image: subject.planned_image(),
        };
        match subject.facts.target_image.known() {
            Some(None) => Judgment::refused(Reason::new(
                ReasonCode::ImageMissing,
                format!(
                    "the previous version's image {image} is not in the registry; deploy another version explicitly"
                ),
            )),
            Some(Some(_)) => Judgment::pass(
                step,
                format!("roll back to the recorded previous version {tag}; its image exists"),
            ),
            None => Judgment::at_run_time(
                step,
                format!(
                    "roll back to the recorded previous version {tag}; its image must exist — checked at run time"
                ),
            ),
        }
    }
}
