//! Embedding neuro-deploy-core in another Rust tool: a full promotion of `v1.4.0` from staging
//! to production — every gate (freeze, deploy windows, quarantine, the image and its digest,
//! verified on staging, no downgrade, the soak time, approvals, the queues in both regions),
//! the lock, the rollout wait and the verification after it — through the executor's builder
//! and one `RunOptions`, against this example's own in-memory adapters (`world.rs`). No
//! credentials, no network.
//!
//! ```text
//! cargo run -p neuro-deploy-embedding-example
//! ```
//!
//! It prints the run's report as JSON and exits with the run's exit code (0: deployed).

mod world;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, Utc};
use neuro_deploy_core::{Approval, Config, Event, Executor, Outcome, RunOptions, Version};

use world::World;

/// The team's setup, as they would write it in `neuro-deploy.toml`: production takes a
/// version verified on staging once it has run there for 30 minutes, with one approval, outside
/// the Friday-evening deny window, once the training queue is drained in both regions (looked
/// at once here), and verifies it with a health check.
const CONFIG: &str = r#"
[registry]
uri = "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuro-ui"

[queues]
window = "0s"
timeout = "0s"

[[environments]]
name = "staging"
namespace = "staging"
trigger = "release"

[[environments]]
name = "production"
namespace = "leaf-neuro-ui"
trigger = "manual"
promote_from = "staging"
min_soak = "30m"

[[environments.windows]]
kind = "deny"
schedule = "0 17 29 2 *"
duration = "1h"
reason = "a leap-day freeze"

[environments.approvals]
required = 1

[environments.verify]
http = ["http://neuro-ui.leaf-neuro-ui/healthz"]
for = "1s"
every = "500ms"
"#;

const DIGEST_V130: &str = "sha256:1300000000000000000000000000000000000000000000000000000000000000";
const DIGEST_V140: &str = "sha256:1400000000000000000000000000000000000000000000000000000000000000";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match Config::from_toml(CONFIG, "the example's configuration") {
        Ok(config) => config,
        Err(error) => return fail(2, &error),
    };
    let now = Utc::now();

    // The world: v1.4.0 has run on staging for two hours, production runs v1.3.0, and alice
    // approved v1.4.0 — that exact digest — for production an hour ago.
    let world = Arc::new(World::default());
    world.push("v1.3.0", DIGEST_V130);
    world.push("v1.4.0", DIGEST_V140);
    world.runs("staging", "v1.4.0", now - Duration::hours(2));
    world.runs("leaf-neuro-ui", "v1.3.0", now - Duration::days(3));
    world.guard("leaf-neuro-ui", |state| {
        state.approvals.push(Approval {
            version: "v1.4.0".to_owned(),
            digest: Some(DIGEST_V140.to_owned()),
            by: "alice".to_owned(),
            at: now - Duration::hours(1),
            reason: "release notes reviewed".to_owned(),
        });
    });

    // The builder refuses adapters that cannot serve the configuration: leave out the shared
    // state, and the freeze, quarantine and approval gates would have nothing to judge by.
    let executor = match Executor::builder(config)
        .registry(world.clone())
        .queues(world.clone())
        .cluster(world.clone())
        .shared_state(world.clone())
        .health_checker(world.clone())
        .build()
    {
        Ok(executor) => executor,
        Err(missing) => return fail(2, &missing),
    };

    let promote = Event::Promote {
        version: match Version::parse("v1.4.0") {
            Ok(version) => version,
            Err(error) => return fail(2, &error),
        },
        to: Some("production".to_owned()),
        allow_downgrade: false,
    };
    let options = RunOptions::new("release-bot@ci", "example-1", now);
    let report = executor.run(&promote, &options).await;

    match serde_json::to_string_pretty(&report) {
        // A closed pipe (`| head`) is not an error worth a panic.
        Ok(json) => {
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        Err(error) => return fail(1, &error),
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}: production runs {}",
        report.message,
        world.images_in("leaf-neuro-ui").join(", ")
    );
    if report.outcome != Outcome::Deployed {
        return ExitCode::from(report.exit_code().code().max(1));
    }
    ExitCode::SUCCESS
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "{error}");
    ExitCode::from(code)
}
