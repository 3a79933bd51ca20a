//! `neuro-deploy-codefresh`: the seed's `deploy-trigger` and `deploy` pipelines as one binary.
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
use crate::output::documents::ReportDocument;
use crate::output::{self, Printer, text};
use crate::wiring;

/// Codefresh pipeline steps of neuro-deploy.
#[derive(Debug, Parser)]
#[command(name = "neuro-deploy-codefresh", version = crate::args::VERSION, after_help = exit_codes())]
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
    let printer = Printer {
        format: cli.common.output,
    };
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
            let status = report.exit_code();
            printer.print(&ReportDocument::new(&report), &text::report_text(&report));
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
                ("NEURO_DEPLOY_OUTCOME", outcome_word(outcome).as_str()),
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

/// The outcome as reports spell it (`deployed`, `refused` …).
fn outcome_word(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
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
    }
}
