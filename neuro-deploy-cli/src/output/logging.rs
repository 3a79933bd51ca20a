//! Logs go to stderr through `tracing`; `-v`/`-q` choose the level, `RUST_LOG` overrides.

/// Installs the tracing subscriber on stderr: warn by default, `-v` info, `-vv` debug,
/// `-vvv` trace, `-q` errors only; `RUST_LOG` overrides.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
