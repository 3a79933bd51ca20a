//! `neuro-deploy-codefresh`: Codefresh pipeline steps (`trigger`, `deploy`). See `--help`.

use std::process::ExitCode;

use clap::Parser;
use neuro_deploy_cli::codefresh_step::CodefreshCli;

fn main() -> ExitCode {
    let cli = CodefreshCli::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(neuro_deploy_cli::codefresh_step::run(cli)),
        Err(error) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("neuro-deploy-codefresh: cannot start: {error}\n").as_bytes(),
            );
            ExitCode::from(1)
        }
    }
}
