//! `neuro-deploy-codefresh`: Codefresh pipeline steps (`trigger`, `deploy`). See `--help`.

use std::process::ExitCode;

use clap::Parser;
use neuro_deploy_cli::codefresh_step::CodefreshCli;

fn main() -> ExitCode {
    let cli = CodefreshCli::parse();
    neuro_deploy_cli::block_on(
        "neuro-deploy-codefresh",
        neuro_deploy_cli::codefresh_step::run(cli),
    )
}
