//! `neuro-deploy freeze|unfreeze`: stop every writing run but `rollback` in an environment
//! (or all of them) until it is lifted on the record, or until `--for` passes. The freeze lives
//! in the environment's ConfigMap `neuro-deploy`, so every operator and CI run sees it.

use std::time::Duration;

use neuro_deploy_core::config::format_duration;
use neuro_deploy_core::model::guard::STATE_NAME;
use neuro_deploy_core::model::rfc3339;
use neuro_deploy_core::notify::GuardrailChange;
use neuro_deploy_core::{ExitStatus, Freeze, Unfrozen, guard};
use serde::Serialize;

use super::{Context, Failure, environment_namespace};
use crate::identity::{now, recorded_by};
use crate::output::SCHEMA_VERSION;
use crate::wiring;

/// One environment's freeze after the command.
#[derive(Debug, Serialize)]
struct FreezeRow {
    environment: String,
    namespace: String,
    /// The freeze now in force (`null`: not frozen).
    freeze: Option<Freeze>,
    /// The unfreeze this command recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    unfrozen: Option<Unfrozen>,
}

/// `neuro-deploy freeze` and `unfreeze`.
#[derive(Debug, Serialize)]
struct FreezeDocument {
    schema_version: u32,
    outcome: &'static str,
    /// `--dry-run`: nothing was written; the rows say what would have been.
    dry_run: bool,
    environments: Vec<FreezeRow>,
    exit_code: u8,
}

fn reason_given(reason: &str, command: &str) -> Result<(), Failure> {
    if reason.trim().is_empty() {
        return Err(Failure::invalid(format!(
            "`{command}` needs a reason: pass `--reason TEXT` (it is recorded in the ConfigMap `{STATE_NAME}`)"
        )));
    }
    Ok(())
}

/// Freezes `env` (or every environment with `all`) for `duration`, or until unfrozen; with
/// `--dry-run` it says what it would write and writes nothing.
pub async fn freeze(
    context: &Context,
    env: Option<&str>,
    all: bool,
    reason: &str,
    duration: Option<Duration>,
) -> Result<ExitStatus, Failure> {
    reason_given(reason, "freeze")?;
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(Failure::invalid(
            "`freeze --for 0s` would freeze nothing; give how long the freeze lasts (`--for 2h`), or leave `--for` out to freeze until `neuro-deploy unfreeze`",
        ));
    }
    let names: Vec<String> = match (env, all) {
        (Some(env), false) => vec![env.to_owned()],
        (None, true) => context
            .config
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect(),
        _ => return Err(Failure::invalid("freeze needs `--env NAME` or `--all`")),
    };
    let now = now();
    let until = duration
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_add_signed(d));
    let mut rows = Vec::new();
    let mut text = String::new();
    for name in names {
        let namespace = environment_namespace(&context.config, &name)?;
        let cluster = wiring::kube_cluster(&context.config, &context.cluster, &name).await?;
        let set = Freeze {
            by: recorded_by(&cluster, &namespace).await?,
            at: now,
            reason: reason.to_owned(),
            until,
        };
        let lasts = match (&set.until, duration) {
            (Some(until), Some(d)) => {
                format!("for {} (until {})", format_duration(d), rfc3339(*until))
            }
            _ => "until `neuro-deploy unfreeze`".to_owned(),
        };
        let freeze = if context.dry_run {
            text.push_str(&format!(
                "would freeze `{name}` (namespace `{namespace}`) {lasts} as {}: {reason}; dry run: nothing was written\n",
                set.by
            ));
            Some(set)
        } else {
            let written = guard::update(&cluster, &namespace, |state| {
                state.freeze = Some(set.clone());
            })
            .await?;
            tracing::info!(environment = %name, by = %set.by, reason = %set.reason, lasts = %lasts, "environment frozen");
            let line = format!(
                "froze `{name}` (namespace `{namespace}`) {lasts}: {reason}; only `rollback` writes there until then"
            );
            super::notify_guardrail(
                context,
                GuardrailChange {
                    change: "frozen",
                    environment: name.clone(),
                    message: line.clone(),
                },
                &set.by,
            )
            .await;
            text.push_str(&line);
            text.push('\n');
            written.freeze
        };
        rows.push(FreezeRow {
            environment: name,
            namespace,
            freeze,
            unfrozen: None,
        });
    }
    let document = FreezeDocument {
        schema_version: SCHEMA_VERSION,
        outcome: if context.dry_run {
            "would_freeze"
        } else {
            "frozen"
        },
        dry_run: context.dry_run,
        environments: rows,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}

/// Lifts the freeze of `env`, recording who did it, when and why; with `--dry-run` it says
/// what it would write and writes nothing.
pub async fn unfreeze(context: &Context, env: &str, reason: &str) -> Result<ExitStatus, Failure> {
    reason_given(reason, "unfreeze")?;
    let namespace = environment_namespace(&context.config, env)?;
    let cluster = wiring::kube_cluster(&context.config, &context.cluster, env).await?;
    let record = Unfrozen {
        by: recorded_by(&cluster, &namespace).await?,
        at: now(),
        reason: reason.to_owned(),
    };
    let before = neuro_deploy_core::SharedState::read_state(&cluster, &namespace).await?;
    let was = before.state.freeze_at(record.at).map(|f| {
        format!(
            " (frozen by {} since {}: {})",
            f.by,
            rfc3339(f.at),
            f.reason
        )
    });
    let text = if context.dry_run {
        match &was {
            Some(was) => format!(
                "would unfreeze `{env}`{was}, recording: {}: {reason}; dry run: nothing was written\n",
                record.by
            ),
            None => format!(
                "`{env}` is not frozen; would record the unfreeze anyway: {}: {reason}; dry run: nothing was written\n",
                record.by
            ),
        }
    } else {
        guard::update(&cluster, &namespace, |state| {
            state.freeze = None;
            state.unfrozen = Some(record.clone());
        })
        .await?;
        tracing::info!(environment = %env, by = %record.by, reason = %record.reason, "environment unfrozen");
        super::notify_guardrail(
            context,
            GuardrailChange {
                change: "unfrozen",
                environment: env.to_owned(),
                message: format!("`{env}` takes deploys again: {reason}"),
            },
            &record.by,
        )
        .await;
        match &was {
            Some(was) => format!("unfroze `{env}`{was}; recorded: {}: {reason}\n", record.by),
            None => format!(
                "`{env}` was not frozen; recorded the unfreeze anyway: {}: {reason}\n",
                record.by
            ),
        }
    };
    let outcome = match (context.dry_run, was.is_some()) {
        (true, true) => "would_unfreeze",
        (false, true) => "unfrozen",
        (_, false) => "not_frozen",
    };
    let document = FreezeDocument {
        schema_version: SCHEMA_VERSION,
        outcome,
        dry_run: context.dry_run,
        environments: vec![FreezeRow {
            environment: env.to_owned(),
            namespace,
            freeze: None,
            unfrozen: Some(record),
        }],
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
