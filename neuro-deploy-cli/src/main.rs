//! `neuro-deploy`: see `neuro-deploy --help`. Exit codes are listed there and in the README.

use std::process::ExitCode;

use clap::Parser;
use neuro_deploy_cli::args::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(neuro_deploy_cli::run::run(cli)),
        Err(error) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("neuro-deploy: cannot start: {error}\n").as_bytes(),
            );
            ExitCode::from(1)
        }
    }
}
