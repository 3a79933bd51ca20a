//! `neuro-deploy-codefresh`: the team's `deploy-trigger` and `deploy` Codefresh pipelines as one
//! binary.
//!
//! `trigger` reads what the pipeline was triggered for (merge, release or the manual
//! NAMESPACE + version form), decides with the core policy, exports `NAMESPACE` and
//! `NEURO_UI_VERSION` for later steps (cf_export semantics), makes sure the image exists (retag,
//! or build through the Codefresh `build` pipeline) and deploys unless `--no-deploy`. `deploy`
//! deploys `NAMESPACE` + version with every gate; into production that is a promotion (the
//! operator starting the pipeline by hand is the confirmation). Same report and exit codes as
//! `neuro-deploy`.

use clap::{Parser, Subcommand};
use neuro_deploy_codefresh::{PipelineRequest, cf_export, export_file};
use neuro_deploy_core::{Event, ExitStatus, Intent, Outcome, ReasonCode, Report};

use crate::args::{CommonArgs, exit_codes};
use crate::commands::event::{self, complete_release};
use crate::commands::{Context, Failure};
use crate::output::{self, Printer};
use crate::wiring;

/// The variables the step reads, then the exit codes: what `--help` ends with.
fn step_help() -> String {
    format!("{ENVIRONMENT}\n{}", exit_codes())
}

/// Every variable the step binary reads.
const ENVIRONMENT: &str = "\
Pipeline variables (what the run is for):
  CF_BRANCH, CF_REVISION, CF_SHORT_REVISION   a merge (Codefresh git trigger)
  CF_RELEASE_TAG, CF_PRERELEASE_FLAG          a published GitHub release
  NAMESPACE, NEURO_UI_VERSION                 a manual deploy (the `deploy` pipeline's
                                              existing neuro-ui_VERSION works too)
Codefresh:
  CF_VOLUME_PATH       the shared volume; exports land in its env_vars_to_export
  CF_BUILD_URL         the build's page (recorded with the deploy)
  CF_BUILD_INITIATOR   who started the build (recorded with the deploy)
  CF_API_KEY, CF_URL   the Codefresh API, for builds (`[builder] kind = \"codefresh\"`)
Everything else as for neuro-deploy: NEURO_DEPLOY_CONFIG, NEURO_DEPLOY_OUTPUT, KUBECONFIG,
GITHUB_TOKEN, GITHUB_API_URL, AWS_* (the default provider chain, AWS_REGION,
AWS_ENDPOINT_URL), NEURO_DEPLOY_WEBHOOK_URL, RUST_LOG, NO_COLOR.
Exports for later steps: NAMESPACE, NEURO_UI_VERSION, NEURO_DEPLOY_OUTCOME, NEURO_DEPLOY_REASON.
";

/// Codefresh pipeline steps of neuro-deploy.
#[derive(Debug, Parser)]
#[command(name = "neuro-deploy-codefresh", version = crate::args::VERSION, after_help = step_help())]
pub struct CodefreshCli {
    /// Options every binary shares (`--dry-run` also skips the export).
    #[command(flatten)]
    pub common: CommonArgs,
    /// The step.
    #[command(subcommand)]
    pub command: Step,
}

/// Steps.
#[derive(Debug, Subcommand)]
pub enum Step {
    /// The deploy-trigger pipeline: decide, export NAMESPACE and NEURO_UI_VERSION, ensure the image, deploy.
    Trigger {
        /// Stop after the image exists and the variables are exported.
        #[arg(long)]
        no_deploy: bool,
    },
    /// The deploy pipeline: deploy NAMESPACE + NEURO_UI_VERSION with every gate.
    Deploy,
}

/// Runs the step binary.
pub async fn run(cli: CodefreshCli) -> ExitStatus {
    output::init_logging(cli.common.verbose, cli.common.quiet);
    let printer = Printer::of(&cli.common);
    let dry_run = cli.common.dry_run;
    let outcome = async {
        if !dry_run {
            writable_export_file()?;
        }
        let (config, origin) = wiring::load_config(cli.common.config.as_deref())?;
        let context = Context::new(&cli.common, config, origin);
        step(&context, cli.command, dry_run).await
    }
    .await;
    let (status, outcome, reason) = match outcome {
        Ok(report) => {
            let status = printer.report(&report);
            (status, report.outcome, report.reason)
        }
        Err(failure) => {
            let status = failure.print(printer);
            let outcome = if failure.reason.is_some() {
                Outcome::Refused
            } else {
                Outcome::Failed
            };
            (status, outcome, failure.reason)
        }
    };
    // Later steps branch on how this one ended (`when` conditions, notifications).
    if !dry_run {
        let file = export_file(std::env::var("CF_VOLUME_PATH").ok().as_deref());
        let exported = cf_export(
            &file,
            &[
                ("NEURO_DEPLOY_OUTCOME", outcome.as_str()),
                (
                    "NEURO_DEPLOY_REASON",
                    reason.map(|r| r.as_str()).unwrap_or(""),
                ),
            ],
        );
        if let Err(error) = exported {
            output::note(&format!(
                "cannot export the outcome to {}: {error}",
                file.display()
            ));
        }
    }
    status
}

/// The step's exports must be able to land: a volume whose export file cannot be opened for
/// appending is invalid input (exit 2) found before anything is contacted, not a failure after
/// the deploy.
fn writable_export_file() -> Result<(), Failure> {
    let file = export_file(std::env::var("CF_VOLUME_PATH").ok().as_deref());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map(drop)
        .map_err(|error| {
            Failure::invalid(format!(
                "{}: the step cannot write its exports there ({}); check CF_VOLUME_PATH (the pipeline's shared volume)",
                file.display(),
                wiring::io_problem(&error)
            ))
        })
}

async fn step(context: &Context, step: Step, dry_run: bool) -> Result<Report, Failure> {
    let config = &context.config;
    let request = PipelineRequest::from_env(|name| std::env::var(name).ok())
        .map_err(|error| Failure::invalid(error.to_string()))?;
    let (deploy, export) = match step {
        Step::Trigger { no_deploy } => (!no_deploy, true),
        Step::Deploy => {
            if !matches!(request, PipelineRequest::Manual { .. }) {
                return Err(Failure::invalid(
                    "the deploy step needs NAMESPACE and NEURO_UI_VERSION (or neuro-ui_VERSION); set them on the pipeline run",
                ));
            }
            (true, false)
        }
    };
    // Codefresh does not say which branch a release targets; GitHub does.
    let event = request.to_event(config);
    let event = complete_release(event.clone(), &context.backend, config)
        .await
        .map_err(|error| Failure::from(error).about(&event))?;
    // Production changes run only through the deploy pipeline (its dry run and approval).
    if export && matches!(event, Event::Promote { .. }) {
        return Err(Failure::refused(
            ReasonCode::ProductionRequiresPromotion,
            "deploy-trigger handles dev and staging; production changes run only through the deploy pipeline (examples/codefresh/deploy.yml): start it with NAMESPACE and NEURO_UI_VERSION",
        )
        .about(&event));
    }
    let Ok(Intent { target, .. }) = Intent::of(&event, config) else {
        // The executor reports the refusal or ignore, exactly as `neuro-deploy` does.
        return event::run(context, event, options(deploy, dry_run)).await;
    };
    let version = target
        .version
        .as_ref()
        .map(|v| v.image_tag(config.git.short_sha_length))
        .unwrap_or_default();
    if export && !dry_run {
        let file = export_file(std::env::var("CF_VOLUME_PATH").ok().as_deref());
        cf_export(
            &file,
            &[
                ("NAMESPACE", target.namespace.as_str()),
                ("NEURO_UI_VERSION", version.as_str()),
            ],
        )
        .map_err(|error| {
            Failure::failed(format!("cannot export variables to {}", file.display()))
                .because(&error)
                .about(&event)
        })?;
    }
    event::run(context, event, options(deploy, dry_run)).await
}

/// The operator who started the pipeline confirmed the change; `trigger --no-deploy` stops once
/// the image exists.
fn options(deploy: bool, dry_run: bool) -> event::Options {
    event::Options {
        dry_run,
        yes: true,
        image_only: !deploy,
        overrides: Default::default(),
    }
}
