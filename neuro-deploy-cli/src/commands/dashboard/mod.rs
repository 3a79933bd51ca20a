//! `neuro-deploy dashboard [--listen ADDR] [--refresh 5s] [--allow-remote]`: a read-only web page
//! of the pipeline, each pair's gates, the queues, what changed and the history, read with the
//! operator's own credentials (as `argocd admin dashboard` does). Its URL is the first line
//! printed. Loopback only unless `--allow-remote`, which then requires the bearer token it
//! prints.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use neuro_deploy_core::ExitStatus;
use neuro_deploy_dashboard::{DashboardState, ServeOptions};

use super::{Context, Failure};
pub use crate::args::DashboardArgs;
use crate::wiring;

mod read;

pub use read::WorldReader;

/// A dashboard bound to its address, ready to serve.
pub struct Bound {
    /// Its URL, with the token when one is required.
    pub url: String,
    listener: tokio::net::TcpListener,
    reader: Arc<WorldReader>,
    options: ServeOptions,
    first: DashboardState,
}

/// Serves the dashboard until interrupted (Ctrl-C): the URL first, then nothing but logs.
pub async fn run(context: &Context, args: &DashboardArgs) -> Result<ExitStatus, Failure> {
    let bound = bind(context, args).await?;
    crate::output::write_quietly(&mut std::io::stdout().lock(), &format!("{}\n", bound.url));
    tracing::info!(url = %bound.url, "dashboard serving; Ctrl-C stops it");
    bound
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitStatus::Done)
}

/// Checks the address, connects what reading the world needs, and binds.
pub async fn bind(context: &Context, args: &DashboardArgs) -> Result<Bound, Failure> {
    let address: SocketAddr = args.listen.parse().map_err(|_| {
        Failure::invalid(format!(
            "`--listen {}` is not an address and port; write it like `127.0.0.1:8080`",
            args.listen
        ))
    })?;
    if !address.ip().is_loopback() && !args.allow_remote {
        return Err(Failure::invalid(format!(
            "`--listen {address}` is not a loopback address, so anyone who can reach it would see the dashboard; listen on 127.0.0.1, or pass `--allow-remote` (every request then needs the bearer token printed at start)"
        )));
    }
    if args.refresh < Duration::from_secs(1) {
        return Err(Failure::invalid(
            "`--refresh` must be at least 1s: every refresh reads the clusters, the queues and GitHub",
        ));
    }
    let token = args.allow_remote.then(new_token).transpose()?;
    let config = &context.config;
    let names: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let clusters = wiring::cluster(config, &context.cluster, &names, None).await?;
    let adapters = wiring::adapters_over(&context.backend, config, clusters.clone()).await?;
    let recorder = wiring::recorder(&context.backend, config)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| {
            Failure::invalid(format!(
                "cannot listen on {address} ({error}); choose another `--listen` address or port"
            ))
        })?;
    let local = listener.local_addr().map_err(|error| {
        Failure::invalid(format!("cannot tell where the dashboard listens ({error})"))
    })?;
    let url = match &token {
        Some(token) => format!("http://{local}/?token={token}"),
        None => format!("http://{local}/"),
    };
    let refresh_secs = args.refresh.as_secs();
    Ok(Bound {
        url,
        listener,
        reader: Arc::new(WorldReader {
            config: config.clone(),
            clusters,
            adapters,
            recorder,
            refresh_secs,
        }),
        options: ServeOptions {
            refresh: args.refresh,
            token,
        },
        first: DashboardState::not_read_yet(&config.app.name, refresh_secs),
    })
}

impl Bound {
    /// Serves until `shutdown` completes.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), Failure> {
        neuro_deploy_dashboard::serve(
            self.listener,
            self.reader,
            self.first,
            self.options,
            shutdown,
        )
        .await
        .map_err(|error| Failure::invalid(error.to_string()))
    }
}

/// A bearer token: 32 random bytes, hex.
fn new_token() -> Result<String, Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| {
        Failure::invalid(format!(
            "no random token could be made for `--allow-remote` ({error}); listen on loopback instead"
        ))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
