//! `neuro-deploy hotfix start|release`: the hotfix branch off the latest release, and the patch
//! release targeting it.

use neuro_deploy_core::{ExitStatus, hotfix};

use super::{Context, Failure};
use crate::args::HotfixCommand;
use crate::output::SCHEMA_VERSION;
use crate::output::documents::{HotfixReleaseDocument, HotfixStartDocument};
use crate::wiring;

/// Runs one hotfix step on GitHub.
pub async fn run(context: &Context, action: HotfixCommand) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let source = wiring::required_releases(&context.backend, config)?;
    match action {
        HotfixCommand::Start => {
            let started = hotfix::start(source.as_ref(), config).await?;
            let verb = if started.created {
                "created"
            } else {
                "already exists at"
            };
            let text = format!(
                "hotfix branch `{}` {verb} {} (release {}); merge the fix into it, then `neuro-deploy hotfix release {}`\n",
                started.branch,
                started.sha,
                started.base,
                started.branch.trim_start_matches(&config.git.hotfix_prefix)
            );
            let document = HotfixStartDocument {
                schema_version: SCHEMA_VERSION,
                outcome: "done",
                hotfix: &started,
                exit_code: 0,
            };
            context.printer.print(&document, &text);
        }
        HotfixCommand::Release { tag } => {
            let release = hotfix::release(source.as_ref(), config, &tag).await?;
            let text = format!(
                "release `{}` created targeting `{}`; its `released` event deploys it to staging\n",
                release.tag, release.target
            );
            let document = HotfixReleaseDocument {
                schema_version: SCHEMA_VERSION,
                outcome: "done",
                release: &release,
                exit_code: 0,
            };
            context.printer.print(&document, &text);
        }
    }
    Ok(ExitStatus::Done)
}
