//! `neuro-deploy quarantine list|clear`: the versions quarantined where their rollout or
//! verification failed (or a rollback moved away from them), and clearing one on the record so
//! it may be deployed there again.

use neuro_deploy_core::model::rfc3339;
use neuro_deploy_core::notify::GuardrailChange;
use neuro_deploy_core::{ExitStatus, Quarantined, SharedState, Unfrozen, guard};
use serde::Serialize;

use super::{Context, Failure, environment_namespace};
use crate::args::QuarantineCommand;
use crate::identity::{now, recorded_by};
use crate::output::SCHEMA_VERSION;
use crate::wiring;

/// One environment's quarantine.
#[derive(Debug, Serialize)]
struct QuarantineRow {
    environment: String,
    namespace: String,
    /// Every quarantine recorded there, oldest first; cleared ones carry `cleared`.
    quarantined: Vec<Quarantined>,
}

/// `neuro-deploy quarantine list|clear`.
#[derive(Debug, Serialize)]
struct QuarantineDocument {
    schema_version: u32,
    outcome: &'static str,
    environments: Vec<QuarantineRow>,
    exit_code: u8,
}

/// Lists or clears.
pub async fn run(context: &Context, action: QuarantineCommand) -> Result<ExitStatus, Failure> {
    match action {
        QuarantineCommand::List { env } => list(context, env.as_deref()).await,
        QuarantineCommand::Clear {
            version,
            env,
            reason,
        } => clear(context, &version, &env, &reason).await,
    }
}

async fn list(context: &Context, only: Option<&str>) -> Result<ExitStatus, Failure> {
    if let Some(name) = only {
        environment_namespace(&context.config, name)?;
    }
    let mut rows = Vec::new();
    let mut text = String::new();
    for env in context
        .config
        .environments
        .iter()
        .filter(|e| only.is_none_or(|name| e.name == name))
    {
        let cluster = wiring::kube_cluster(&context.config, &context.cluster, &env.name).await?;
        let state = cluster.read_state(&env.namespace).await?.state;
        for q in &state.quarantine {
            let status = match &q.cleared {
                Some(c) => format!("cleared by {} at {}: {}", c.by, rfc3339(c.at), c.reason),
                None => "quarantined".to_owned(),
            };
            let why = q.why();
            text.push_str(&format!(
                "{:<12} {:<12} since {} by {} — {why} — {status}\n",
                env.name,
                q.version,
                rfc3339(q.at),
                q.by
            ));
        }
        rows.push(QuarantineRow {
            environment: env.name.clone(),
            namespace: env.namespace.clone(),
            quarantined: state.quarantine,
        });
    }
    if text.is_empty() {
        text.push_str("no version is quarantined\n");
    }
    let document = QuarantineDocument {
        schema_version: SCHEMA_VERSION,
        outcome: "listed",
        environments: rows,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}

async fn clear(
    context: &Context,
    version: &str,
    env: &str,
    reason: &str,
) -> Result<ExitStatus, Failure> {
    if reason.trim().is_empty() {
        return Err(Failure::invalid(
            "`quarantine clear` needs a reason: pass `--reason TEXT` (it is recorded)",
        ));
    }
    let namespace = environment_namespace(&context.config, env)?;
    let cluster = wiring::kube_cluster(&context.config, &context.cluster, env).await?;
    if cluster
        .read_state(&namespace)
        .await?
        .state
        .quarantined(version)
        .is_none()
    {
        return Err(Failure::invalid(format!(
            "{version} is not quarantined in `{env}`; `neuro-deploy quarantine list --env {env}` shows what is"
        )));
    }
    let record = Unfrozen {
        by: recorded_by(&cluster, &namespace).await?,
        at: now(),
        reason: reason.to_owned(),
    };
    let clear = |decisions: &mut neuro_deploy_core::model::Decisions| {
        decisions
            .clearances
            .push(neuro_deploy_core::model::Clearance {
                version: version.to_owned(),
                record: record.clone(),
            });
    };
    let (quarantined, text, outcome) = if context.dry_run {
        let mut state = cluster.read_state(&namespace).await?.state;
        let mut decisions = state.decisions();
        clear(&mut decisions);
        state.apply(decisions);
        let text = format!(
            "would clear {version} in `{env}` so it may be deployed there again, recording: {}: {reason}; dry run: nothing was written\n",
            record.by
        );
        (state.quarantine, text, "would_clear")
    } else {
        let written = guard::update(&cluster, &namespace, clear).await?;
        tracing::info!(environment = %env, %version, by = %record.by, %reason, "quarantine cleared");
        super::notify_guardrail(
            context,
            GuardrailChange {
                change: "quarantine_cleared",
                environment: env.to_owned(),
                message: format!("{version} may be deployed to `{env}` again: {reason}"),
            },
            &record.by,
        )
        .await;
        let text = format!(
            "cleared {version} in `{env}`: it may be deployed there again; recorded: {}: {reason}\n",
            record.by
        );
        (written.quarantine, text, "cleared")
    };
    let document = QuarantineDocument {
        schema_version: SCHEMA_VERSION,
        outcome,
        environments: vec![QuarantineRow {
            environment: env.to_owned(),
            namespace,
            quarantined,
        }],
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
