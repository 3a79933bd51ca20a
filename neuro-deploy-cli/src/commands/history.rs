//! `neuro-deploy history`: who deployed which version where, when, and how it ended — from
//! GitHub Deployments when they are recorded, else from the audit annotations.

use neuro_deploy_core::model::{RolledBack, rfc3339};
use neuro_deploy_core::{ClusterDeployer, ExitStatus, HistoryEntry};

use super::{Context, EnvironmentReader, Failure, environment_namespace};
use crate::output::SCHEMA_VERSION;
use crate::output::documents::{HistoryDocument, HistorySource};
use crate::wiring;

/// What the annotations cannot tell.
const ANNOTATIONS_NOTE: &str = "from the audit annotations on the Deployments: only the last change of each environment is known; set `[git] deployments = true` for the full history";

/// Prints the history, newest first.
pub async fn run(
    context: &Context,
    only: Option<&str>,
    limit: usize,
) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    if let Some(name) = only {
        environment_namespace(config, name)?;
    }
    let (source, mut entries) = match wiring::recorder(&context.backend, config)? {
        Some(recorder) => (
            HistorySource::GithubDeployments,
            recorder.history(only, limit).await?,
        ),
        None => (
            HistorySource::Annotations,
            from_annotations(context, only).await?,
        ),
    };
    entries.truncate(limit);
    let note = (source == HistorySource::Annotations).then_some(ANNOTATIONS_NOTE);
    let mut text = format!(
        "{:<12} {:<12} {:<12} {:<22} {:<12} {}\n",
        "ENVIRONMENT", "VERSION", "PREVIOUS", "WHEN", "OUTCOME", "WHO"
    );
    for entry in &entries {
        text.push_str(&format!(
            "{:<12} {:<12} {:<12} {:<22} {:<12} {}\n",
            entry.environment,
            entry.version,
            entry.previous_version.as_deref().unwrap_or("-"),
            entry.at.map_or_else(|| "-".to_owned(), rfc3339),
            entry.outcome.as_deref().unwrap_or("-"),
            entry.deployed_by.as_deref().unwrap_or("-"),
        ));
    }
    if let Some(note) = note {
        text.push_str(&format!("({note})\n"));
    }
    let document = HistoryDocument {
        schema_version: SCHEMA_VERSION,
        source,
        entries: &entries,
        note,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}

/// The last deploy of each environment, as its Deployments' annotations record it.
async fn from_annotations(
    context: &Context,
    only: Option<&str>,
) -> Result<Vec<HistoryEntry>, Failure> {
    let reader = EnvironmentReader::connect(context, only).await?;
    let mut entries = Vec::new();
    for env in reader.environments {
        let workloads = reader.cluster.workloads(&env.namespace).await?;
        entries.extend(last_deploys(&env.name, &workloads, &reader.repository));
    }
    // Newest first, as GitHub lists them.
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    Ok(entries)
}

/// The last deploy of `environment` as its Deployments' annotations record it (and a failed
/// deploy rolled back before it, which is the last change though what runs is the version
/// restored), newest first.
pub(crate) fn last_deploys(
    environment: &str,
    workloads: &[neuro_deploy_core::Workload],
    repository: &str,
) -> Vec<HistoryEntry> {
    let Some(audit) = neuro_deploy_core::policy::app_workloads(workloads, repository)
        .map(|w| &w.audit)
        .find(|a| a.version.is_some())
    else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    if let Some(failed) = audit.rolled_back.as_deref().and_then(RolledBack::parse) {
        entries.push(HistoryEntry {
            environment: environment.to_owned(),
            version: failed.version,
            previous_version: audit.version.clone(),
            deployed_by: Some(failed.by),
            at: Some(failed.at),
            outcome: Some("rolled_back".to_owned()),
            overridden: None,
            took_secs: None,
        });
    }
    entries.push(HistoryEntry {
        environment: environment.to_owned(),
        version: audit.version.clone().unwrap_or_default(),
        previous_version: audit.previous_version.clone(),
        deployed_by: audit.deployed_by.clone(),
        at: audit.deployed_at,
        outcome: None,
        overridden: None,
        took_secs: None,
    });
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    entries
}
