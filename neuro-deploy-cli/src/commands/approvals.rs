//! `neuro-deploy approvals list [--env NAME]`: the approvals given in each environment that
//! requires them and that still count — who approved which version and digest, and until when.

use neuro_deploy_core::model::rfc3339;
use neuro_deploy_core::policy::{PendingApproval, pending_approvals};
use neuro_deploy_core::{ExitStatus, SharedState};
use serde::Serialize;

use super::{Context, Failure, environment_namespace};
use crate::output::SCHEMA_VERSION;
use crate::wiring;

/// One environment's pending approvals.
#[derive(Debug, Serialize)]
struct ApprovalsRow {
    environment: String,
    namespace: String,
    /// How many distinct people a deploy needs.
    required: u32,
    /// The approvals that count now, oldest first.
    approvals: Vec<PendingApproval>,
}

/// `neuro-deploy approvals list`.
#[derive(Debug, Serialize)]
struct ApprovalsDocument {
    schema_version: u32,
    outcome: &'static str,
    environments: Vec<ApprovalsRow>,
    exit_code: u8,
}

/// One pending approval, for people.
pub fn describe(pending: &PendingApproval) -> String {
    format!(
        "{} by {} at {} ({}), expires {}{}",
        pending.version,
        pending.by,
        rfc3339(pending.at),
        pending.digest.as_deref().unwrap_or("no digest"),
        rfc3339(pending.expires),
        if pending.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", pending.reason)
        }
    )
}

/// Lists the approvals of every environment that requires them (or `only` that one).
pub async fn list(context: &Context, only: Option<&str>) -> Result<ExitStatus, Failure> {
    if let Some(name) = only {
        environment_namespace(&context.config, name)?;
    }
    let now = chrono::Utc::now();
    let mut rows = Vec::new();
    let mut text = String::new();
    for env in context
        .config
        .environments
        .iter()
        .filter(|e| only.is_none_or(|name| e.name == name))
    {
        let Some(rule) = &env.approvals else {
            if only.is_some() {
                text.push_str(&format!("`{}` requires no approvals\n", env.name));
            }
            continue;
        };
        let cluster = wiring::kube_cluster(&context.config, &context.cluster, &env.name).await?;
        let state = cluster.read_state(&env.namespace).await?.state;
        let approvals = pending_approvals(&state.approvals, rule.expire, now);
        text.push_str(&format!(
            "`{}` requires {} — {} pending\n",
            env.name,
            neuro_deploy_core::words::counted(
                usize::try_from(rule.required).unwrap_or(usize::MAX),
                "approval"
            ),
            approvals.len()
        ));
        for pending in &approvals {
            text.push_str(&format!("  {}\n", describe(pending)));
        }
        rows.push(ApprovalsRow {
            environment: env.name.clone(),
            namespace: env.namespace.clone(),
            required: rule.required,
            approvals,
        });
    }
    if text.is_empty() {
        text.push_str("no environment requires approvals\n");
    }
    let document = ApprovalsDocument {
        schema_version: SCHEMA_VERSION,
        outcome: "listed",
        environments: rows,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
