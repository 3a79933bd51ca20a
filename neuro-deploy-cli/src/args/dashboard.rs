//! `neuro-deploy dashboard`'s arguments.

use std::time::Duration;

use clap::Args;

use super::duration;

/// Where and how the dashboard serves.
#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    /// Where to listen (a loopback address unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// How often to read the world and update the page.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub refresh: Duration,
    /// Listen beyond loopback; every request then needs the bearer token printed at start.
    #[arg(long)]
    pub allow_remote: bool,
}
