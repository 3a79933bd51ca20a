//! The app's Deployments can take the image: there is at least one, and none is paused (a
//! paused Deployment would never roll out).

use super::super::workloads::image_changes;
use super::{Gate, Judgment, Need, Subject};
use crate::words::counted;

pub(crate) struct Workloads;

impl Gate for Workloads {
    fn name(&self) -> &'static str {
        "gate_workloads"
    }

    fn applies(&self, _: &Subject) -> bool {
        true
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        vec![subject.need_target_workloads(), Need::RepositoryUri]
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let namespace = &subject.target.namespace;
        let (Some(workloads), Some(image)) =
            (subject.facts.target_workloads.known(), &subject.image)
        else {
            return Judgment::NotYetKnown {
                why: format!("the Deployments in `{namespace}` were not read"),
                step: None,
            };
        };
        match image_changes(workloads, &image.repository, image, namespace) {
            Ok(_) => Judgment::pass_silently(format!(
                "{} of the app in `{namespace}`, none paused",
                counted(workloads.len(), "Deployment"),
            )),
            Err(reason) => Judgment::refused(reason),
        }
    }
}
