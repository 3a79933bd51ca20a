//! Logs go to stderr through `tracing`; `-v`/`-q` choose the level, `RUST_LOG` overrides.

use std::io::IsTerminal;

/// The filter for a verbosity: without `-v` only neuro-deploy's own warnings (its crates'
/// targets all start with `neuro_deploy`) — a dependency's logging (kube's, the AWS SDK's) is
/// for `-v` and up, since the error it logs reaches the user anyway, with its causes.
fn directives(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "off,neuro_deploy=error",
        (false, 0) => "off,neuro_deploy=warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    }
}

/// Installs the tracing subscriber on stderr: neuro-deploy's warnings by default, `-v` info,
/// `-vv` debug, `-vvv` trace (every crate's), `-q` errors only; `RUST_LOG` overrides. Colour
/// only on a terminal, and never with `NO_COLOR` set.
pub fn init_logging(verbose: u8, quiet: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives(verbose, quiet)));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn every_verbosity_parses_and_the_default_keeps_dependencies_quiet() {
        for (verbose, quiet) in [(0, false), (1, false), (2, false), (3, false), (0, true)] {
            let text = directives(verbose, quiet);
            assert!(
                tracing_subscriber::EnvFilter::try_new(text).is_ok(),
                "{text}"
            );
        }
        assert!(directives(0, false).starts_with("off,"));
    }
}
