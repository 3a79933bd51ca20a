//! A promotion never builds: the image must exist, and what is deployed is the digest the
//! source runs; a tag that no longer names it has moved, and is refused.

use crate::error::{Reason, ReasonCode};
use crate::model::{Event, ImageRef};
use crate::version::Version;

use super::super::plan::Step;
use super::super::workloads::pinned_digest;
use super::{Gate, Judgment, Need, Subject};

/// The digest a promotion deploys: the one the source environment's app containers are pinned
/// to, else the registry's for the tag. A tag that no longer names the digest the source runs
/// has moved, and is refused.
pub(crate) fn verified_digest(
    subject: &Subject,
    image: &ImageRef,
) -> Result<Option<String>, Reason> {
    let facts = &subject.facts;
    let source = facts
        .source_workloads
        .known()
        .and_then(|workloads| pinned_digest(workloads, &image.repository));
    let registry = facts
        .target_image
        .known()
        .and_then(|found| found.as_ref())
        .and_then(|found| found.digest.clone());
    match (source, registry) {
        (Some(runs), Some(tagged)) if runs != tagged => Err(Reason::new(
            ReasonCode::ImmutableTag,
            format!(
                "tag {} moved: `{}` runs {runs}, but the registry's {} now names {tagged}; a promotion deploys only the image verified there — release a new version and verify it",
                image.tag,
                subject
                    .target
                    .source
                    .as_ref()
                    .map_or("the source", |(env, _)| env.as_str()),
                image.tag
            ),
        )),
        (Some(digest), _) | (None, Some(digest)) => Ok(Some(digest)),
        (None, None) => Ok(None),
    }
}

pub(crate) struct PromotedImage;

impl Gate for PromotedImage {
    fn name(&self) -> &'static str {
        "gate_image_exists"
    }

    fn applies(&self, subject: &Subject) -> bool {
        matches!(subject.event, Event::Promote { .. })
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        let mut needs = subject.need_target_image();
        needs.extend(subject.need_source_workloads());
        // A release written without its `v` (or with one it lacks): name what exists, since
        // nothing is built for it.
        if let (Some(None), Some(Version::Release(release))) =
            (subject.facts.target_image.known(), &subject.version)
        {
            let other = if release.has_v_prefix() {
                release.as_str().trim_start_matches('v').to_owned()
            } else {
                format!("v{}", release.as_str())
            };
            needs.push(Need::OtherSpelling { tag: other });
        }
        needs
    }

    fn judges_the_image(&self) -> bool {
        true
    }

    fn judge(&self, subject: &Subject) -> Judgment {
        let Some((image, version)) = subject.deployed() else {
            return Judgment::image_unknown();
        };
        if let Err(reason) = verified_digest(subject, image) {
            return Judgment::refused(reason);
        }
        let facts = &subject.facts;
        let step = Step::GateImageExists {
            image: subject.planned_image(),
        };
        match facts.target_image.known() {
            Some(None) => Judgment::refused(Reason::new(
                ReasonCode::ImageMissing,
                match facts.other_spelling.known() {
                    Some(Some(tag)) => format!(
                        "no image {image} exists; did you mean `{tag}`? That release's image exists — run the same command with `{tag}`"
                    ),
                    _ => format!(
                        "no image {image} exists; production never builds — release {version} first so it is built and deployed to staging"
                    ),
                },
            )),
            Some(Some(_)) => Judgment::pass(
                step,
                match &image.digest {
                    Some(digest) => format!(
                        "image {image} exists; the digest verified upstream, {digest}, is what gets deployed (production never builds)"
                    ),
                    None => format!("image {image} exists (production never builds)"),
                },
            ),
            None => Judgment::at_run_time(
                step,
                format!(
                    "image {image} must already exist in the registry — checked at run time (production never builds); the digest the source runs is deployed"
                ),
            ),
        }
    }
}
