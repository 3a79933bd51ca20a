//! The image a merge, a release or a deploy needs: present, retagged from its commit's image
//! (build once), or built — never a moved tag. Its step runs after every gate passed, so a
//! refused run changes nothing.

use crate::error::{Reason, ReasonCode};
use crate::model::Event;
use crate::version::Version;

use super::super::plan::{ImageAction, Step};
use super::{Gate, Judgment, Need, Subject};

pub(crate) struct EnsureImage;

impl EnsureImage {
    /// The commit to build or whose image to retag: the event's, else the release tag's.
    fn revision(subject: &Subject) -> Option<crate::version::GitSha> {
        subject
            .target
            .commit
            .clone()
            .or_else(|| subject.facts.revision.known().cloned().flatten())
    }
}

impl Gate for EnsureImage {
    fn name(&self) -> &'static str {
        "ensure_image"
    }

    fn applies(&self, subject: &Subject) -> bool {
        matches!(
            subject.event,
            Event::Merged { .. } | Event::Released { .. } | Event::Deploy { .. }
        )
    }

    fn needs(&self, subject: &Subject) -> Vec<Need> {
        let mut needs = subject.need_target_image();
        // Its commit matters when the image is missing (to retag or build), or when the commit
        // is known without asking anyone (a tag is never moved onto another image).
        let missing = matches!(subject.facts.target_image.known(), Some(None));
        let present = matches!(subject.facts.target_image.known(), Some(Some(_)));
        if !(missing || present && subject.target.commit.is_some()) {
            return needs;
        }
        let Some(Version::Release(release)) = &subject.version else {
            return needs;
        };
        if subject.target.commit.is_none() {
            needs.push(Need::Revision {
                release: release.as_str().to_owned(),
            });
        }
        if let Some(revision) = Self::revision(subject) {
            needs.push(Need::CommitImage {
                tag: revision
                    .short(subject.config.git.short_sha_length)
                    .to_owned(),
            });
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
        let facts = &subject.facts;
        let revision = Self::revision(subject);
        let step = |action: ImageAction| Step::EnsureImage {
            image: subject.planned_image(),
            action,
        };
        match (facts.target_image.known(), facts.commit_image.known()) {
            // A release tag is never moved: one that names another image than its commit's is refused.
            (Some(Some(tagged)), Some(Some(commit)))
                if tagged.digest.is_some()
                    && commit.digest.is_some()
                    && tagged.digest != commit.digest =>
            {
                Judgment::refused(Reason::new(
                    ReasonCode::ImmutableTag,
                    format!(
                        "tag {} already names image {}, but the release's commit image {} is {}; a release tag is never moved or deployed as is — release a new version",
                        image.tag,
                        tagged.digest.as_deref().unwrap_or_default(),
                        commit.tag,
                        commit.digest.as_deref().unwrap_or_default()
                    ),
                ))
            }
            (Some(Some(_)), _) => Judgment::pass(
                step(ImageAction::Present),
                format!("image {image} already exists; nothing to build"),
            ),
            (Some(None), Some(Some(existing))) => Judgment::pass(
                step(ImageAction::Retag {
                    from: existing.tag.clone(),
                }),
                format!(
                    "build once: the commit's image {existing} exists, so it is retagged {} instead of rebuilt",
                    image.tag
                ),
            ),
            (Some(None), _) => match revision {
                Some(revision) => {
                    let why = format!(
                        "no image for {} yet: build commit {revision} and push it as {image}",
                        image.tag
                    );
                    Judgment::pass(step(ImageAction::Build { revision }), why)
                }
                None => {
                    let what = match subject.event {
                        Event::Released { .. } => {
                            "pass `--sha` with the release's commit or configure `git.repository`"
                        }
                        _ => {
                            "deploy the commit SHA instead, or configure `git.repository` so the tag can be resolved"
                        }
                    };
                    Judgment::refused(Reason::new(
                        ReasonCode::ImageMissing,
                        format!(
                            "no image {image} exists and the commit of {version} is unknown, so it cannot be built; {what}"
                        ),
                    ))
                }
            },
            (None, _) => {
                let commit_tag = match version {
                    Version::Release(_) => revision
                        .as_ref()
                        .map(|r| r.short(subject.config.git.short_sha_length).to_owned()),
                    Version::GitSha(_) => None,
                };
                let why = match (&commit_tag, &revision) {
                    (Some(from), _) => format!(
                        "use {image} if it exists in the registry, else retag the commit's image {from} → {} if that exists (no rebuild), else build the commit",
                        image.tag
                    ),
                    (None, Some(rev)) => {
                        format!("use {image} if it exists in the registry, else build commit {rev}")
                    }
                    (None, None) => format!(
                        "use {image} if it exists in the registry, else retag the tag's commit image, else build the tag's commit"
                    ),
                };
                Judgment::at_run_time(
                    step(ImageAction::Resolve {
                        from: commit_tag,
                        revision,
                    }),
                    why,
                )
            }
        }
    }
}
