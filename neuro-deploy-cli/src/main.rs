//! `neuro-deploy`: see `neuro-deploy --help`. Exit codes are listed there and in the README.

use std::process::ExitCode;

use clap::Parser;
use neuro_deploy_cli::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    neuro_deploy_cli::block_on("neuro-deploy", neuro_deploy_cli::commands::dispatch(cli))
}
