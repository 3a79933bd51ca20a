//! `neuro-deploy hotfix start|release`: the hotfix branch off the release production runs (or
//! `--from`), and the patch release targeting it.

use neuro_deploy_core::policy::common_tag;
use neuro_deploy_core::{ClusterDeployer, ExitStatus, ReleaseTag, hotfix};

use super::{Context, EnvironmentReader, Failure};
use crate::args::HotfixCommand;
use crate::output::SCHEMA_VERSION;
use crate::output::documents::{HotfixReleaseDocument, HotfixStartDocument};
use crate::wiring;

/// Runs one hotfix step on GitHub.
pub async fn run(context: &Context, action: HotfixCommand) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let source = wiring::required_releases(&context.backend, config)?;
    match action {
        HotfixCommand::Start { from } => {
            let from = match from {
                Some(from) => from,
                None => production_release(context).await?,
            };
            let started = hotfix::start(source.as_ref(), config, Some(&from)).await?;
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

/// The release production runs: what a hotfix fixes (the latest release may be one that failed
/// on staging and never reached production).
async fn production_release(context: &Context) -> Result<ReleaseTag, Failure> {
    let Some(production) = context.config.production() else {
        return Err(Failure::invalid(
            "no environment is promotion-only, so there is no production release to branch off; pass `--from vX.Y.Z`",
        ));
    };
    let reader = EnvironmentReader::connect(context, Some(&production.name)).await?;
    let workloads = reader.cluster.workloads(&production.namespace).await?;
    let running = common_tag(&workloads, &reader.repository);
    running
        .as_deref()
        .and_then(|tag| ReleaseTag::parse(tag).ok())
        .ok_or_else(|| {
            Failure::invalid(format!(
                "`{}` (namespace `{}`) does not run one release ({}), so there is nothing to branch a hotfix off by default; pass `--from vX.Y.Z`",
                production.name,
                production.namespace,
                running.map_or_else(|| "its Deployments disagree".to_owned(), |tag| format!("it runs {tag}"))
            ))
        })
}
