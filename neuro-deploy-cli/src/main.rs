//! `neuro-deploy`: see `neuro-deploy --help`. Exit codes are listed there and in the README.

use std::process::ExitCode;

use neuro_deploy_cli::args::Cli;

fn main() -> ExitCode {
    let cli = match neuro_deploy_cli::commands::parse_or_refuse::<Cli>(
        neuro_deploy_cli::args::command(),
        std::env::args().collect(),
    ) {
        Ok(cli) => cli,
        Err(status) => return ExitCode::from(status.code()),
    };
    neuro_deploy_cli::block_on("neuro-deploy", neuro_deploy_cli::commands::dispatch(cli))
}
