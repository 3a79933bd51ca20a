//! Embedding neuro-deploy-core in another Rust tool: ask the release policy what an event
//! would do, with no credentials and no network, and print the plan as JSON.
//!
//! ```text
//! cargo run -p neuro-deploy-embedding-example -- v1.4.0 abc1234def5678abc1234def5678abc1234def56
//! ```

use std::io::Write;
use std::process::ExitCode;

use neuro_deploy_core::{Config, Decision, Event, Facts, GitSha, decide};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let tag = args.next().unwrap_or_else(|| "v1.4.0".to_owned());
    let sha = match GitSha::parse(&args.next().unwrap_or_else(|| "abc1234".to_owned())) {
        Ok(sha) => sha,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let event = Event::Released {
        tag,
        sha: Some(sha),
        target_branch: Some("main".into()),
        prerelease: false,
        draft: false,
    };
    let decision = decide(&event, &Config::default(), &Facts::unknown());
    match serde_json::to_string_pretty(&decision) {
        // A closed pipe (`| head`) is not an error worth a panic.
        Ok(json) => {
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        Err(error) => {
            eprintln!("cannot print the decision: {error}");
            return ExitCode::from(1);
        }
    }
    match decision {
        Decision::Refuse(reason) => ExitCode::from(reason.code.exit_code().code()),
        Decision::Proceed(_) | Decision::Ignore(_) => ExitCode::SUCCESS,
    }
}
