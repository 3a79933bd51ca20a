//! `neuro-deploy plan EVENT`: what an event would do, decided offline — contacts nothing, needs
//! no credentials; unknown facts show both branches.

use neuro_deploy_core::{Decision, ExitStatus, Facts, decide};

use super::{Context, Failure, event};
use crate::args::EventCommand;
use crate::output::documents::PlanDocument;
use crate::output::text;

/// Decides `command` on unknown facts and prints the plan.
pub fn run(context: &Context, command: EventCommand) -> Result<ExitStatus, Failure> {
    let event = event::from_command(command, &context.config)?;
    let decision = decide(&event, &context.config, &Facts::unknown());
    let headline = match &decision {
        Decision::Proceed(plan) => text::plan_headline(&event, plan),
        Decision::Ignore(_) | Decision::Refuse(_) => String::new(),
    };
    let document = PlanDocument::new(&event, &decision, headline);
    let text = text::plan_text(&event, &decision);
    match &decision {
        Decision::Refuse(_) => context.printer.print_unsuccessful(&document, &text),
        Decision::Proceed(_) | Decision::Ignore(_) => context.printer.print(&document, &text),
    }
    Ok(match &decision {
        Decision::Proceed(_) => ExitStatus::Done,
        Decision::Ignore(reason) | Decision::Refuse(reason) => reason.code.exit_code(),
    })
}
