//! `neuro-deploy approvers add|remove USER --env NAME` (an administrator's, with their own
//! credentials): the objects that let one person approve in one environment — their record,
//! which only they may write, and the Role and RoleBinding that say so — created or deleted.
//! `--dry-run` names them and changes nothing.

use neuro_deploy_core::ExitStatus;
use neuro_deploy_kube::{approver_objects, object_shown};
use serde::Serialize;

use super::{Context, Failure};
use crate::args::ApproversCommand;
use crate::output::SCHEMA_VERSION;
use crate::wiring;

/// `neuro-deploy approvers`.
#[derive(Debug, Serialize)]
struct ApproversDocument {
    schema_version: u32,
    outcome: &'static str,
    environment: String,
    user: String,
    /// Each object, and whether this run created (or deleted) it.
    objects: Vec<TouchedObject>,
    /// What else to do, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    exit_code: u8,
}

#[derive(Debug, Serialize)]
struct TouchedObject {
    object: String,
    changed: bool,
}

/// Adds or removes an approver.
pub async fn run(context: &Context, action: ApproversCommand) -> Result<ExitStatus, Failure> {
    let (adding, user, env) = match action {
        ApproversCommand::Add { user, env } => (true, user, env),
        ApproversCommand::Remove { user, env } => (false, user, env),
    };
    let config = &context.config;
    let environment = config.environment(&env).ok_or_else(|| {
        Failure::invalid(format!(
            "no environment `{env}` in {}; `neuro-deploy config show` lists them",
            context.origin
        ))
    })?;
    let Some(rule) = &environment.approvals else {
        return Err(Failure::invalid(format!(
            "`{env}` requires no approvals (it has no `[environments.approvals]`), so it has no approvers; nothing was changed"
        )));
    };
    if user.trim().is_empty() {
        return Err(Failure::invalid(
            "name the user: `neuro-deploy approvers add USER --env NAME`",
        ));
    }
    let source = environment
        .promote_from
        .as_deref()
        .and_then(|s| config.environment(s))
        .map(|s| s.namespace.as_str());
    let objects = approver_objects(&environment.namespace, &user, source);
    let touched: Vec<(String, bool)> = if context.dry_run {
        objects.iter().map(|o| (object_shown(o), false)).collect()
    } else {
        let cluster = wiring::kube_cluster(config, &context.cluster, &env).await?;
        if adding {
            cluster.create_objects(&objects).await?
        } else {
            cluster.delete_objects(&objects).await?
        }
    };
    let listed = rule.approvers.contains(&user);
    let note = match (adding, listed) {
        (true, false) => Some(format!(
            "{user} is not in `approvers` of `[environments.approvals]` for `{env}`: add them there too, or their approvals will not count"
        )),
        (false, true) => Some(format!(
            "{user} is still in `approvers` of `[environments.approvals]` for `{env}`: remove them there too"
        )),
        _ => None,
    };
    let (verb, outcome) = match (adding, context.dry_run) {
        (true, true) => ("would create", "would_add"),
        (false, true) => ("would delete", "would_remove"),
        (true, false) => ("created", "added"),
        (false, false) => ("deleted", "removed"),
    };
    let mut text = String::new();
    for (object, changed) in &touched {
        let state = match (context.dry_run, changed, adding) {
            (true, _, _) => verb,
            (false, true, _) => verb,
            (false, false, true) => "already there",
            (false, false, false) => "already gone",
        };
        text.push_str(&format!("{state}: {object}\n"));
    }
    if let Some(note) = &note {
        text.push_str(&format!("note: {note}\n"));
    }
    let document = ApproversDocument {
        schema_version: SCHEMA_VERSION,
        outcome,
        environment: env,
        user,
        objects: touched
            .into_iter()
            .map(|(object, changed)| TouchedObject { object, changed })
            .collect(),
        note,
        exit_code: ExitStatus::Done.code(),
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
