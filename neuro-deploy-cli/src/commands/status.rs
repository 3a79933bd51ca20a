//! `neuro-deploy status`: per environment, the version, replicas ready, where the rollout
//! stands, whether it counts as verified, the last deploy, and drift (the verdicts are the
//! core's). Exit 1 when an environment drifted or could not be read.

use neuro_deploy_core::model::rfc3339;
use std::collections::BTreeMap;

use neuro_deploy_core::policy::{
    EnvironmentStatus, GateVerdict, WindowState, first_refusal, gate_verdicts, pending_approvals,
    window_state,
};
use neuro_deploy_core::{
    ClusterDeployer, Event, ExitStatus, Fact, Facts, GuardState, SharedState, Version, Workload,
};

use super::{Context, EnvironmentReader, Failure};
use crate::output::SCHEMA_VERSION;
use crate::output::documents::{NextPromotion, StatusDocument, StatusRow};

/// Reads every environment (or `only`) and prints a table.
pub async fn run(context: &Context, only: Option<&str>) -> Result<ExitStatus, Failure> {
    let reader = EnvironmentReader::connect(context, only).await?;
    let clock = chrono::Utc::now();
    let mut rows = Vec::new();
    let mut seen: BTreeMap<&str, (Vec<Workload>, GuardState)> = BTreeMap::new();
    for env in reader.environments.iter().copied() {
        // One unreachable cluster does not hide the others.
        let read = async {
            let workloads = reader.cluster.workloads(&env.namespace).await?;
            let state = reader.cluster.read_state(&env.namespace).await?;
            Ok::<_, neuro_deploy_core::AdapterError>((workloads, state))
        };
        let mut legacy_approvals = None;
        let (status, frozen, approvals, unreachable) = match read.await {
            Ok((workloads, state)) => {
                legacy_approvals = legacy_note(&env.name, &state.state.legacy_approvals);
                let row = (
                    Some(EnvironmentStatus::of(&workloads, &reader.repository)),
                    state.state.freeze_at(clock).cloned(),
                    env.approvals.as_ref().map_or_else(Vec::new, |rule| {
                        pending_approvals(&state.state.approvals, rule.expire, clock)
                    }),
                    None,
                );
                seen.insert(&env.name, (workloads, state.state));
                row
            }
            Err(error) => (None, None, Vec::new(), Some(error.to_string())),
        };
        // A validated configuration always reads; a window that does not is shown as closed.
        let window = window_state(&env.windows, clock).unwrap_or_else(|why| WindowState::Closed {
            because: why,
            opens_at: None,
            opens_local: None,
        });
        rows.push(StatusRow {
            environment: &env.name,
            namespace: &env.namespace,
            status,
            unreachable,
            frozen,
            approvals,
            legacy_approvals,
            window,
            next_promotion: None,
        });
    }
    for row in &mut rows {
        row.next_promotion = next_promotion(context, &reader.repository, &seen, row, clock);
    }
    let mut text = format!(
        "{:<12} {:<16} {:<12} {:<7} {:<11} {}\n",
        "ENVIRONMENT", "NAMESPACE", "VERSION", "READY", "ROLLOUT", "LAST DEPLOY"
    );
    for row in &rows {
        let Some(status) = &row.status else {
            text.push_str(&format!(
                "{:<12} {:<16} unreachable: {}\n",
                row.environment,
                row.namespace,
                row.unreachable.as_deref().unwrap_or_default()
            ));
            continue;
        };
        let last = match (&status.deployed_at, &status.deployed_by) {
            (Some(at), by) => format!("{} by {}", rfc3339(*at), by.as_deref().unwrap_or("-")),
            (None, _) => "-".to_owned(),
        };
        let rollout = serde_json::to_value(status.rollout)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        text.push_str(&format!(
            "{:<12} {:<16} {:<12} {:<7} {:<11} {last}\n",
            row.environment,
            row.namespace,
            status.version.as_deref().unwrap_or("mixed/none"),
            status.ready,
            rollout
        ));
    }
    for row in &rows {
        if let Some(freeze) = &row.frozen {
            text.push_str(&format!(
                "frozen: `{}` by {} since {} ({}), {}; only `rollback` writes there\n",
                row.environment,
                freeze.by,
                rfc3339(freeze.at),
                freeze.reason,
                freeze.until.map_or_else(
                    || "until unfrozen".to_owned(),
                    |u| format!("until {}", rfc3339(u))
                )
            ));
        }
    }
    for row in &rows {
        if let Some(note) = &row.legacy_approvals {
            text.push_str(&format!("{note}\n"));
        }
        for pending in &row.approvals {
            text.push_str(&format!(
                "approval pending in `{}`: {}\n",
                row.environment,
                super::approvals::describe(pending)
            ));
        }
    }
    for row in rows
        .iter()
        .filter(|row| row.window != WindowState::Unrestricted)
    {
        text.push_str(&format!(
            "deploy window of `{}`: {}\n",
            row.environment,
            row.window.summary()
        ));
    }
    for row in &rows {
        let Some(next) = &row.next_promotion else {
            continue;
        };
        let verdict = match first_refusal(&next.gates) {
            Some(refusal) => format!("refused ({}): {}", refusal.code, refusal.message),
            None => "every gate judged here passes (the registry, the approvers and the queues are judged by the run)".to_owned(),
        };
        text.push_str(&format!(
            "next promotion, {} from `{}` to `{}`: {verdict}\n",
            next.version, next.from, row.environment
        ));
    }
    // Drift: what runs is not what neuro-deploy recorded.
    for row in &rows {
        let Some(status) = &row.status else { continue };
        for drift in &status.drift {
            text.push_str(&format!(
                "drift in `{}`: Deployment `{}` runs {}, recorded {} (changed outside neuro-deploy, e.g. `kubectl set image`; deploy the version you want, or roll back)\n",
                row.environment,
                drift.workload,
                drift.running.as_deref().unwrap_or("mixed images"),
                drift.recorded.as_deref().unwrap_or("nothing")
            ));
        }
        if status.drifted() && !status.mixed_versions.is_empty() {
            let running: Vec<String> = status
                .mixed_versions
                .iter()
                .map(|(version, workloads)| format!("{version} on {}", workloads.join(", ")))
                .collect();
            text.push_str(&format!(
                "mixed versions in `{}`: {} (deploy one version to all of them, or roll back)\n",
                row.environment,
                running.join("; ")
            ));
        }
    }
    let drifted = rows
        .iter()
        .any(|r| r.status.as_ref().is_some_and(EnvironmentStatus::drifted));
    let status = if drifted || rows.iter().any(|r| r.unreachable.is_some()) {
        ExitStatus::Failed
    } else {
        ExitStatus::Done
    };
    let document = StatusDocument {
        schema_version: SCHEMA_VERSION,
        environments: rows,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}

/// The gates of promoting to `row`'s environment what its source runs now, judged as
/// `promote --dry-run` judges them on what `status` read (the registry and the queues are not
/// asked). `None` when the environment takes no promotions, or the source was not read or runs
/// no single version.
fn next_promotion(
    context: &Context,
    repository: &str,
    seen: &BTreeMap<&str, (Vec<Workload>, GuardState)>,
    row: &StatusRow,
    clock: chrono::DateTime<chrono::Utc>,
) -> Option<NextPromotion> {
    let config = &context.config;
    let from = config.environment(row.environment)?.promote_from.clone()?;
    let (source, _) = seen.get(from.as_str())?;
    let (target, guard) = seen.get(row.environment)?;
    let version = EnvironmentStatus::of(source, repository).version?;
    let event = Event::Promote {
        version: Version::parse(&version).ok()?,
        to: Some(row.environment.to_owned()),
        allow_downgrade: false,
    };
    let facts = Facts {
        repository_uri: Fact::Known(repository.to_owned()),
        target_workloads: Fact::Known(target.clone()),
        source_workloads: Fact::Known(source.clone()),
        guard: Fact::Known(guard.clone()),
        now: Fact::Known(clock),
        ..Facts::unknown()
    };
    let gates: Vec<GateVerdict> = gate_verdicts(&event, config, &facts);
    Some(NextPromotion {
        version,
        from,
        gates,
    })
}

/// What `status` says, once an environment, of approvals kept the old way: they no longer
/// count, and each approver approves again.
fn legacy_note(environment: &str, legacy: &[neuro_deploy_core::Approval]) -> Option<String> {
    let first = legacy.first()?;
    let mut people: Vec<&str> = legacy.iter().map(|a| a.by.as_str()).collect();
    people.dedup();
    Some(format!(
        "approvals kept the old way in `{environment}` no longer count ({} by {}): each approver runs `neuro-deploy approve {} --env {environment}` again, with their own credentials",
        legacy.len(),
        people.join(", "),
        first.version
    ))
}
