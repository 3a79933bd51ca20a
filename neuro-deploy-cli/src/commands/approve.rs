//! `neuro-deploy approve VERSION --env NAME [--reason TEXT]`: one person's approval of deploying
//! a version — the exact image, by the digest the promotion source runs — to an environment
//! with `[environments.approvals]`. Who approves is the user the approver's own credentials
//! authenticate as on that cluster (`SelfSubjectReview`), never `$USER` or a CI variable. The
//! approval is kept in the approver's own record (a ConfigMap only they may write) until a
//! deploy uses it.

use neuro_deploy_core::executor::{Side, what_changed};
use neuro_deploy_core::model::Changes;
use neuro_deploy_core::policy::{common_tag, expired_until, pinned_digest, runs_completely};
use neuro_deploy_core::{Approval, ClusterDeployer, ExitStatus, ReasonCode, SharedState, Version};
use serde::Serialize;

use super::{Context, Failure, environment_namespace};
use crate::output::SCHEMA_VERSION;
use crate::wiring;

/// `neuro-deploy approve`.
#[derive(Debug, Serialize)]
struct ApproveDocument {
    schema_version: u32,
    outcome: &'static str,
    environment: String,
    /// The approval recorded.
    approval: Approval,
    /// Every unexpired approval of this version and digest now (a deploy counts those not by
    /// whoever runs it).
    approved_by: Vec<String>,
    /// How many distinct people the environment requires.
    required: u32,
    /// That the approver's own deploy does not count it.
    note: String,
    /// What a deploy of it would change in the environment: the version running there now,
    /// the digests, the commits between them.
    changes: Changes,
    exit_code: u8,
}

/// Records the caller's approval of `version` for `env`, once they saw what it changes (asked on
/// a terminal unless `--yes`).
pub async fn run(
    context: &Context,
    version: &Version,
    env: &str,
    reason: Option<&str>,
    yes: bool,
) -> Result<ExitStatus, Failure> {
    let config = &context.config;
    let namespace = environment_namespace(config, env)?;
    let Some(environment) = config.environment(env) else {
        return Err(Failure::invalid(format!("no environment `{env}`")));
    };
    let Some(rule) = environment.approvals.clone() else {
        return Err(Failure::invalid(format!(
            "`{env}` requires no approvals (it has no `[environments.approvals]`); nothing was recorded"
        )));
    };
    let tag = version.image_tag(config.git.short_sha_length);
    let mut touched = vec![env];
    touched.extend(environment.promote_from.as_deref());
    let clusters = wiring::cluster(config, &context.cluster, &touched, None).await?;
    let by = clusters.authenticated_user(&namespace).await?;
    if !rule.admits(&by) {
        return Err(Failure::refused(
            ReasonCode::ApprovalRequired,
            format!(
                "{by} is not one of `{env}`'s approvers ({}), so an approval by them would not count; nothing was recorded — ask one of them to run `neuro-deploy approve {tag} --env {env}`, or add {by} to `approvers` in `[environments.approvals]`",
                rule.approvers.join(", ")
            ),
        ));
    }
    let registry = wiring::registry(&context.backend, config).await;
    let repository = registry.repository_uri().await?;
    // What a promotion would deploy: the digest the source runs, else the registry's for the tag.
    let mut digest = None;
    if let Some(source) = &environment.promote_from {
        let source_namespace = environment_namespace(config, source)?;
        let workloads = clusters.workloads(&source_namespace).await?;
        if !runs_completely(&workloads, &repository, &tag) {
            return Err(Failure::refused(
                ReasonCode::NotVerifiedOnStaging,
                format!(
                    "`{source}` does not run {tag} with a complete rollout, so there is no image of it to approve for `{env}`; approve the version `{source}` runs (`neuro-deploy status --env {source}`)"
                ),
            ));
        }
        digest = pinned_digest(&workloads, &repository);
    }
    if digest.is_none() {
        digest = registry.find(&tag).await?.and_then(|image| image.digest);
    }
    let Some(digest) = digest else {
        return Err(Failure::refused(
            ReasonCode::ImageMissing,
            format!(
                "no image {repository}:{tag} is in the registry, so there is nothing to approve; release it first"
            ),
        ));
    };
    // What the approver approves, before anything is recorded.
    let running = clusters.workloads(&namespace).await?;
    let releases = crate::wiring::releases(&context.backend, config)?;
    let from = common_tag(&running, &repository);
    let from_digest = pinned_digest(&running, &repository);
    let from = from.as_deref().map(|version| Side {
        version,
        digest: from_digest.as_deref(),
    });
    let to = Side {
        version: &tag,
        digest: Some(&digest),
    };
    let (changes, warning) = what_changed(releases.as_deref(), from, to).await;
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    let shown = crate::output::text::changes_lines(&changes);
    if !context.dry_run && !yes && super::on_terminal() {
        crate::output::note(&format!("approving {tag} for `{env}`:\n{shown}"));
        if !super::confirm_on_terminal("Record your approval? [y/N] ") {
            return Err(Failure::refused(
                ReasonCode::ConfirmationRequired,
                "not confirmed; nothing was recorded",
            ));
        }
    }
    let now = crate::identity::now();
    let approval = Approval {
        version: tag.clone(),
        digest: Some(digest.clone()),
        by: by.clone(),
        at: now,
        reason: reason.unwrap_or_default().trim().to_owned(),
    };
    // One approval a person and version: approving again renews it.
    if !context.dry_run {
        clusters.record_approval(&namespace, &approval).await?;
    }
    let mut written = clusters.read_state(&namespace).await?.state;
    if context.dry_run {
        written
            .approvals
            .retain(|a| !(a.version == approval.version && a.by == approval.by));
        written.approvals.push(approval.clone());
    }
    let expired_until = expired_until(now, rule.expire);
    let approved_by: Vec<String> = written
        .approvals_for(&tag, Some(&digest), expired_until, "")
        .iter()
        .map(|a| a.by.clone())
        .collect();
    let own = format!(
        "it does not count for a deploy you run yourself (as {by}): someone else runs it, or {required} other people approve",
        required = rule.required
    );
    let text = if context.dry_run {
        format!(
            "would approve {tag} ({digest}) for `{env}` as {by}; approved by {} then, {} required; {own}; dry run: nothing was written\n{shown}",
            approved_by.join(", "),
            rule.required
        )
    } else {
        tracing::info!(environment = %env, version = %tag, %digest, by = %by, "approved");
        super::notify_guardrail(
            context,
            neuro_deploy_core::notify::GuardrailChange {
                change: "approved",
                environment: env.to_owned(),
                message: format!(
                    "{by} approved {tag} ({digest}) for `{env}`; approved by {} now, {} required",
                    approved_by.join(", "),
                    rule.required
                ),
            },
            &by,
        )
        .await;
        format!(
            "approved {tag} ({digest}) for `{env}` as {by}; approved by {} now, {} required (not counting whoever runs the deploy); an approval counts for {}\n{shown}note: {own}\n",
            approved_by.join(", "),
            rule.required,
            neuro_deploy_core::config::format_duration(rule.expire)
        )
    };
    let document = ApproveDocument {
        schema_version: SCHEMA_VERSION,
        outcome: if context.dry_run {
            "would_approve"
        } else {
            "approved"
        },
        environment: env.to_owned(),
        approval,
        approved_by,
        required: rule.required,
        note: own,
        changes,
        exit_code: 0,
    };
    context.printer.print(&document, &text);
    Ok(ExitStatus::Done)
}
