//! `neuro-deploy completion SHELL` and `neuro-deploy man`: generated from the same clap
//! definitions the binary parses with, so they never drift from it.

use clap::CommandFactory;
use neuro_deploy_core::ExitStatus;

use crate::args::Cli;

/// Prints the completion script for `shell` on stdout.
pub fn completion(shell: clap_complete::Shell) -> ExitStatus {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "neuro-deploy", &mut std::io::stdout());
    ExitStatus::Done
}

/// Prints the man page (roff) on stdout.
pub fn man() -> ExitStatus {
    let page = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    match page.render(&mut out) {
        Ok(()) => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(&out);
            ExitStatus::Done
        }
        Err(error) => {
            crate::output::note(&format!("cannot render the man page: {error}"));
            ExitStatus::Failed
        }
    }
}
