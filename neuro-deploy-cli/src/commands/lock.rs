//! `neuro-deploy lock status|break`: who holds an environment's deploy lock, and clearing a
//! stuck one on the record (report, log, an annotation on the Lease).

use neuro_deploy_core::{ExitStatus, ReasonCode};
use neuro_deploy_kube::{BreakResult, LeaseInfo};

use super::{Context, Failure, confirm_on_terminal, environment_namespace};
use crate::args::LockCommand;
use crate::identity::recorded_by;
use crate::output::documents::{
    LockBreakDocument, LockRow, LockStatusAllDocument, LockStatusDocument,
};
use crate::output::{SCHEMA_VERSION, note};
use crate::wiring;

/// Shows or breaks the lock.
pub async fn run(context: &Context, action: LockCommand, yes: bool) -> Result<ExitStatus, Failure> {
    match action {
        LockCommand::Status { env: Some(env) } => status(context, &env).await,
        LockCommand::Status { env: None } => status_of_every_environment(context).await,
        LockCommand::Break { env, reason, force } => {
            break_lock(context, &env, &reason, force, yes).await
        }
    }
}

/// The lock of one environment.
async fn status(context: &Context, env: &str) -> Result<ExitStatus, Failure> {
    let namespace = environment_namespace(&context.config, env)?;
    let cluster = wiring::kube_cluster(&context.config, &context.cluster, env).await?;
    let info = cluster.lock_status(&namespace).await?;
    let document = LockStatusDocument {
        schema_version: SCHEMA_VERSION,
        environment: env,
        namespace: &namespace,
        held: info.as_ref().is_some_and(|i| i.holder.is_some()),
        lease: info.as_ref(),
        exit_code: 0,
    };
    context
        .printer
        .print(&document, &status_text(env, &namespace, info.as_ref()));
    Ok(ExitStatus::Done)
}

/// The lock of every configured environment, each from its own cluster; an environment whose
/// cluster cannot be read is shown as such (exit 1).
async fn status_of_every_environment(context: &Context) -> Result<ExitStatus, Failure> {
    let mut rows = Vec::new();
    let mut text = String::new();
    let mut unreadable = false;
    for environment in &context.config.environments {
        let (env, namespace) = (&environment.name, &environment.namespace);
        let read = async {
            let cluster = wiring::kube_cluster(&context.config, &context.cluster, env).await?;
            Ok::<_, neuro_deploy_core::Stopped>(cluster.lock_status(namespace).await?)
        };
        match read.await {
            Ok(info) => {
                text.push_str(&status_text(env, namespace, info.as_ref()));
                rows.push(LockRow {
                    environment: env,
                    namespace,
                    held: Some(info.as_ref().is_some_and(|i| i.holder.is_some())),
                    lease: info,
                    error: None,
                });
            }
            Err(error) => {
                unreadable = true;
                let why = neuro_deploy_core::error::one_line(&error);
                text.push_str(&format!(
                    "lock of `{env}` (namespace `{namespace}`): could not be read: {why}\n"
                ));
                rows.push(LockRow {
                    environment: env,
                    namespace,
                    held: None,
                    lease: None,
                    error: Some(why),
                });
            }
        }
    }
    let status = if unreadable {
        ExitStatus::Failed
    } else {
        ExitStatus::Done
    };
    let document = LockStatusAllDocument {
        schema_version: SCHEMA_VERSION,
        locks: rows,
        exit_code: status.code(),
    };
    context.printer.print(&document, &text);
    Ok(status)
}

/// Breaks one environment's lock on the record.
async fn break_lock(
    context: &Context,
    env: &str,
    reason: &str,
    force: bool,
    yes: bool,
) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let namespace = environment_namespace(config, env)?;
    if reason.trim().is_empty() {
        return Err(Failure::invalid(
            "`lock break` needs a reason: pass `--reason TEXT` (it is recorded on the Lease)",
        ));
    }
    let question = format!(
        "Break the lock of `{env}` (namespace `{namespace}`) even if its holder is alive? Two deploys may then run at once. [y/N] "
    );
    if force && !yes && !confirm_on_terminal(&question) {
        return Err(Failure::refused(
            ReasonCode::ConfirmationRequired,
            "`lock break --force` needs confirmation: pass `--yes`, or run it on a terminal and answer y",
        ));
    }
    let cluster = wiring::kube_cluster(config, &context.cluster, env).await?;
    let who = recorded_by(&cluster, &namespace).await?;
    let record = format!(
        "{who} at {}{}: {reason}",
        neuro_deploy_core::model::rfc3339(crate::identity::now()),
        if force { " (forced)" } else { "" }
    );
    // A lock nobody holds is said at once; only a held one is watched first.
    let held = cluster
        .lock_status(&namespace)
        .await?
        .is_some_and(|info| info.holder.is_some());
    let result = if !held {
        BreakResult::NotHeld
    } else {
        if !force {
            note(&format!(
                "watching the lock of `{env}` for its whole duration before breaking it (it is kept if its holder renews it)"
            ));
        }
        cluster.break_lock(&namespace, &record, force).await?
    };
    let (outcome, text, status) = match &result {
        BreakResult::NotHeld => (
            "not_held",
            format!("the lock of `{env}` is not held; nothing to break\n"),
            ExitStatus::Done,
        ),
        BreakResult::Broken { holder } => {
            tracing::info!(%namespace, %holder, by = %who, %reason, forced = force, "lock broken");
            (
                "broken",
                format!(
                    "broke the lock of `{env}` held by {holder}; recorded on the Lease: {record}\n"
                ),
                ExitStatus::Done,
            )
        }
        BreakResult::Alive { holder } => (
            "refused",
            format!(
                "refused (lock_held): {holder} renewed the lock while it was watched, so it is alive and was left alone; wait for it, or pass `--force` if it is truly stuck\n"
            ),
            ExitStatus::LockHeld,
        ),
    };
    let document = LockBreakDocument {
        schema_version: SCHEMA_VERSION,
        outcome,
        reason: matches!(result, BreakResult::Alive { .. }).then_some(ReasonCode::LockHeld),
        environment: env,
        namespace: &namespace,
        result: &result,
        recorded: &record,
        exit_code: status.code(),
    };
    if matches!(result, BreakResult::Alive { .. }) {
        context.printer.print_unsuccessful(&document, &text);
    } else {
        context.printer.print(&document, &text);
    }
    Ok(status)
}

/// `lock status` for people.
fn status_text(env: &str, namespace: &str, info: Option<&LeaseInfo>) -> String {
    let Some(info) = info else {
        return format!("lock of `{env}` (namespace `{namespace}`): free (no Lease yet)\n");
    };
    let mut text = match &info.holder {
        Some(holder) => format!(
            "lock of `{env}` (namespace `{namespace}`): held by {holder}\n  since     {}\n  renewed   {}{}\n  lease     {}s, {} transition(s)\n",
            info.acquired_at.as_deref().unwrap_or("-"),
            info.renewed_at.as_deref().unwrap_or("-"),
            if info.looks_expired {
                " (looks old: it is taken over once it stays unrenewed for its whole duration)"
            } else {
                ""
            },
            info.lease_seconds.unwrap_or(0),
            info.transitions
        ),
        None => format!("lock of `{env}` (namespace `{namespace}`): free\n"),
    };
    if let Some(broken) = &info.broken_by {
        text.push_str(&format!("  last broken by {broken}\n"));
    }
    text
}
