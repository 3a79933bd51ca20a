//! `neuro-deploy plan EVENT`: what an event would do, decided offline — contacts nothing, needs
//! no credentials; unknown facts show both branches. The clock is read: the deploy windows are
//! judged now.

use neuro_deploy_core::policy::gate_verdicts;
use neuro_deploy_core::{Decision, ExitStatus, Fact, Facts, decide};

use super::{Context, Failure, event};
use crate::args::EventCommand;
use crate::output::documents::PlanDocument;
use crate::output::text;

/// Decides `command` on unknown facts and prints the plan.
pub fn run(context: &Context, command: EventCommand) -> Result<ExitStatus, Failure> {
    let overrides = event::overrides(&command);
    let event = event::from_command(command, &context.config)?;
    let facts = Facts {
        now: Fact::Known(crate::identity::now()),
        overrides,
        ..Facts::unknown()
    };
    let decision = decide(&event, &context.config, &facts);
    let headline = match &decision {
        Decision::Proceed(plan) => text::plan_headline(&event, plan),
        Decision::Ignore(_) | Decision::Refuse(_) => String::new(),
    };
    let gates = match &decision {
        Decision::Refuse(_) => gate_verdicts(&event, &context.config, &facts),
        Decision::Proceed(_) | Decision::Ignore(_) => Vec::new(),
    };
    let document = PlanDocument::new(&event, &decision, headline, &gates);
    let text = text::plan_text(&event, &decision, &gates);
    match &decision {
        Decision::Refuse(_) => context.printer.print_unsuccessful(&document, &text),
        Decision::Proceed(_) | Decision::Ignore(_) => context.printer.print(&document, &text),
    }
    Ok(match &decision {
        Decision::Proceed(_) => ExitStatus::Done,
        Decision::Ignore(reason) | Decision::Refuse(reason) => reason.code.exit_code(),
    })
}
