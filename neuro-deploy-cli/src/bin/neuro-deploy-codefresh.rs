//! `neuro-deploy-codefresh`: Codefresh pipeline steps (`trigger`, `deploy`). See `--help`.

use std::process::ExitCode;

use neuro_deploy_cli::codefresh_step::CodefreshCli;

fn main() -> ExitCode {
    let cli = match neuro_deploy_cli::commands::parse_or_refuse::<CodefreshCli>(
        <CodefreshCli as clap::CommandFactory>::command(),
        std::env::args().collect(),
    ) {
        Ok(cli) => cli,
        Err(status) => return ExitCode::from(status.code()),
    };
    neuro_deploy_cli::block_on(
        "neuro-deploy-codefresh",
        neuro_deploy_cli::codefresh_step::run(cli),
    )
}
