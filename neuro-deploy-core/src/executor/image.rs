//! Making the image exist before anything runs it: present, retagged (build once) or built, and
//! a build checked in the registry afterwards.

use crate::error::{AdapterError, Reason, ReasonCode};
use crate::model::ImageRef;
use crate::policy::ImageAction;
use crate::version::GitSha;

use super::interrupt::{CLEANUP_BOUND, Watch};
use super::progress::Progress;
use super::{Executor, StepEnd, Stop};

impl Executor {
    pub(super) async fn ensure_image(
        &self,
        image: &ImageRef,
        action: &ImageAction,
        dry_run: bool,
        watch: &Watch,
    ) -> StepEnd {
        match action {
            ImageAction::Present => StepEnd::Ok(Some(format!("{image} exists"))),
            ImageAction::Retag { from } if dry_run => {
                StepEnd::Skipped(format!("dry run: would retag {from} → {}", image.tag))
            }
            ImageAction::Build { revision } if dry_run => {
                StepEnd::Skipped(format!("dry run: would build {revision} as {image}"))
            }
            ImageAction::Retag { from } => {
                match watch
                    .race(self.adapters.registry.retag(from, &image.tag))
                    .await
                {
                    Ok(Ok(done)) => {
                        StepEnd::Ok(Some(format!("retagged {from} → {} (no rebuild)", done.tag)))
                    }
                    Ok(Err(error)) => StepEnd::Stop(Stop::Failed(error)),
                    Err(_) => StepEnd::Stop(Stop::Interrupted),
                }
            }
            ImageAction::Build { revision } => {
                let Some(builder) = &self.adapters.builder else {
                    return StepEnd::Stop(Stop::Failed(AdapterError::failed(
                        "neuro-deploy",
                        "build",
                        format!(
                            "no image {image} exists and no builder is configured here; configure `[builder]` or build it in CI first"
                        ),
                    )));
                };
                let built = match watch.race(builder.build(revision, image)).await {
                    Ok(Ok(built)) => built,
                    Ok(Err(error)) => return StepEnd::Stop(Stop::Failed(error)),
                    Err(_) => {
                        // The build future is dropped (a local build's child is killed with
                        // it); a remote build this run started is stopped explicitly.
                        if let Ok(Err(error)) =
                            tokio::time::timeout(CLEANUP_BOUND, builder.cancel()).await
                        {
                            self.observer.progress(&Progress::Note(format!(
                                "could not stop the build it started: {error}"
                            )));
                        }
                        return StepEnd::Stop(Stop::Interrupted);
                    }
                };
                self.check_built(revision, image, &built).await
            }
            ImageAction::Resolve { .. } => StepEnd::Stop(Stop::Failed(AdapterError::failed(
                "neuro-deploy",
                "ensure image",
                "the registry was not consulted; this plan is for display only",
            ))),
        }
    }

    /// A build must leave the tag in the registry before anything runs it. A build of the same
    /// commit started for another tag (a merge's short SHA) left the commit's image under that
    /// tag: it is retagged (build once). Otherwise the image is missing and nothing is deployed.
    pub(super) async fn check_built(
        &self,
        revision: &GitSha,
        image: &ImageRef,
        built: &ImageRef,
    ) -> StepEnd {
        let registry = &self.adapters.registry;
        match registry.find(&image.tag).await {
            Ok(Some(_)) => return StepEnd::Ok(Some(format!("built {revision} as {built}"))),
            Ok(None) => {}
            Err(error) => return StepEnd::Stop(Stop::Failed(error)),
        }
        let short = revision.short(self.config.git.short_sha_length);
        if short != image.tag {
            match registry.find(short).await {
                Ok(Some(_)) => {
                    return match registry.retag(short, &image.tag).await {
                        Ok(done) => StepEnd::Ok(Some(format!(
                            "the build of {revision} pushed it as {short} (a build of the same commit for another tag); retagged {short} → {} (build once)",
                            done.tag
                        ))),
                        Err(error) => StepEnd::Stop(Stop::Failed(error)),
                    };
                }
                Ok(None) => {}
                Err(error) => return StepEnd::Stop(Stop::Failed(error)),
            }
        }
        StepEnd::Stop(Stop::Refused(Reason::new(
            ReasonCode::ImageMissing,
            format!(
                "the build of commit {revision} (reported as {built}) finished, but the registry has no image {} nor {short}; nothing was deployed — check that the build pipeline pushes to {}",
                image.tag, image.repository
            ),
        )))
    }
}
