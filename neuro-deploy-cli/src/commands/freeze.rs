//! `neuro-deploy freeze|unfreeze`: stop every writing run but `rollback` in an environment
//! (or all of them) until it is lifted on the record, or until `--for` passes. The freeze lives
//! in the environment's ConfigMap `neuro-deploy`, so every operator and CI run sees it.

use std::time::{Duration, SystemTime};

use neuro_deploy_core::model::guard::STATE_NAME;
use neuro_deploy_core::notify::GuardrailChange;
use neuro_deploy_core::{ExitStatus, Freeze, Unfrozen, guard};
use serde::Serialize;

use super::{Context, Failure, environment_namespace};
use crate::identity::{identity, rfc3339};
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

/// Freezes `env` (or every environment with `all`) for `duration`, or until unfrozen.
pub async fn freeze(
    context: &Context,
    env: Option<&str>,
    all: bool,
    reason: &str,
    duration: Option<Duration>,
) -> Result<ExitStatus, Failure> {
    reason_given(reason, "freeze")?;
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
    let now = SystemTime::now();
    let set = Freeze {
        by: identity(),
        at: rfc3339(now),
        reason: reason.to_owned(),
        until: duration.map(|d| rfc3339(now + d)),
    };
    let mut rows = Vec::new();
    let mut text = String::new();
    for name in names {
        let namespace = environment_namespace(&context.config, &name)?;
        let cluster = wiring::kube_cluster(&context.config, &context.cluster, &name).await?;
        let written = guard::update(&cluster, &namespace, |state| {
            state.freeze = Some(set.clone());
        })
        .await?;
        tracing::warn!(environment = %name, by = %set.by, reason = %set.reason, until = ?set.until, "environment frozen");
        let line = format!(
            "froze `{name}` (namespace `{namespace}`) {}: {reason}; only `rollback` writes there until then",
            set.until.as_deref().map_or_else(
                || "until `neuro-deploy unfreeze`".to_owned(),
                |u| format!("until {u}")
            )
        );
        super::notify_guardrail(
            context,
            GuardrailChange {
                change: "frozen",
                environment: name.clone(),
                message: line.clone(),
            },
        )
        .await;
        text.push_str(&line);
        text.push('\n');
        rows.push(FreezeRow {
            environment: name,
            namespace,
            freeze: written.freeze,
            unfrozen: None,
        });
    }
    let document = FreezeDocument {
        schema_version: SCHEMA_VERSION,
        outcome: "frozen",
        environments: rows,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}

/// Lifts the freeze of `env`, recording who did it, when and why.
pub async fn unfreeze(context: &Context, env: &str, reason: &str) -> Result<ExitStatus, Failure> {
    reason_given(reason, "unfreeze")?;
    let namespace = environment_namespace(&context.config, env)?;
    let cluster = wiring::kube_cluster(&context.config, &context.cluster, env).await?;
    let record = Unfrozen {
        by: identity(),
        at: rfc3339(SystemTime::now()),
        reason: reason.to_owned(),
    };
    let before = neuro_deploy_core::SharedState::read_state(&cluster, &namespace).await?;
    let was = before
        .state
        .freeze_at(&record.at)
        .map(|f| format!(" (frozen by {} since {}: {})", f.by, f.at, f.reason));
    guard::update(&cluster, &namespace, |state| {
        state.freeze = None;
        state.unfrozen = Some(record.clone());
    })
    .await?;
    tracing::warn!(environment = %env, by = %record.by, reason = %record.reason, "environment unfrozen");
    super::notify_guardrail(
        context,
        GuardrailChange {
            change: "unfrozen",
            environment: env.to_owned(),
            message: format!("`{env}` takes deploys again: {reason}"),
        },
    )
    .await;
    let text = match &was {
        Some(was) => format!("unfroze `{env}`{was}; recorded: {}: {reason}\n", record.by),
        None => format!(
            "`{env}` was not frozen; recorded the unfreeze anyway: {}: {reason}\n",
            record.by
        ),
    };
    let document = FreezeDocument {
        schema_version: SCHEMA_VERSION,
        outcome: if was.is_some() {
            "unfrozen"
        } else {
            "not_frozen"
        },
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
