//! stdout carries the result: one JSON document (`--output json`) or text for people. In text
//! mode a refusal or an error is not a result: it goes to stderr, in one format (`neuro-deploy:
//! refused (CODE): …` or `neuro-deploy: failed: …`, details below it). A closed stdout or stderr
//! (`| head`) is not an error: output stops quietly.

use neuro_deploy_core::{ExitStatus, Outcome, Report};
use serde::Serialize;

use super::actions::inert;
use super::documents::ReportDocument;
use super::text::report_text;
use super::write_quietly;
use crate::args::OutputFormat;

/// Writes results to stdout.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Text or JSON.
    pub format: OutputFormat,
    /// `-q`: no live progress on stderr (so reports list their steps).
    pub quiet: bool,
}

impl Printer {
    /// The printer the shared options ask for (`-o`, `-q`).
    pub fn of(common: &crate::args::CommonArgs) -> Printer {
        Printer {
            format: common.output,
            quiet: common.quiet,
        }
    }

    /// Prints `document` as JSON, or `text`, depending on the format.
    pub fn print<D: Serialize>(&self, document: &D, text: &str) {
        match self.format {
            OutputFormat::Json => write_quietly(&mut std::io::stdout().lock(), &json(document)),
            OutputFormat::Text => write_quietly(&mut std::io::stdout().lock(), &inert(text)),
        }
    }

    /// Prints a run's report — on stdout, or in text mode on stderr when the run did not
    /// succeed — and returns its exit status.
    pub fn report(&self, report: &Report) -> ExitStatus {
        let document = ReportDocument::new(report);
        // The live progress on a terminal showed every step already.
        let live = !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
        // A refusal's gate verdicts are judged at its end: the progress never showed them.
        let text = report_text(report, !live || report.outcome == Outcome::Refused);
        // A run that did not succeed (any exit status but 0) is not a result.
        let status = report.exit_code();
        if status == ExitStatus::Done {
            self.print(&document, &text);
        } else {
            self.print_unsuccessful(&document, &text);
        }
        if super::actions::enabled() {
            super::actions::report(report);
        }
        status
    }

    /// Prints a run that did not succeed: the JSON document on stdout, or in text mode `text`
    /// on stderr, its first line marked as neuro-deploy's.
    pub fn print_unsuccessful<D: Serialize>(&self, document: &D, text: &str) {
        match self.format {
            OutputFormat::Json => write_quietly(&mut std::io::stdout().lock(), &json(document)),
            OutputFormat::Text => {
                let text = inert(&format!("neuro-deploy: {text}"));
                write_quietly(&mut std::io::stderr().lock(), &text);
            }
        }
    }
}

fn json<D: Serialize>(document: &D) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}
