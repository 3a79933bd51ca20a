//! `neuro-deploy config check|show`: validate and explain, or print the effective configuration.

use neuro_deploy_core::ExitStatus;

use super::{Context, Failure};
use crate::args::ConfigCommand;
use crate::output::SCHEMA_VERSION;
use crate::output::documents::{ConfigCheckDocument, ConfigShowDocument};

/// Prints the check or the effective configuration (loading already validated it).
pub fn run(context: &Context, action: ConfigCommand) -> Result<ExitStatus, Failure> {
    let (config, origin) = (&context.config, context.origin.as_str());
    match action {
        ConfigCommand::Check => {
            let names: Vec<String> = config
                .environments
                .iter()
                .map(|e| format!("{} → {}", e.name, e.namespace))
                .collect();
            let mut warnings = config.warnings();
            warnings.extend(crate::wiring::credential_warnings(config, |name| {
                std::env::var(name).ok()
            }));
            let document = ConfigCheckDocument {
                schema_version: SCHEMA_VERSION,
                outcome: "valid",
                origin,
                environments: &config.environments,
                warnings: &warnings,
                exit_code: 0,
            };
            let mut text = format!("config OK ({origin}): environments {}\n", names.join(", "));
            for warning in &warnings {
                text.push_str(&format!("  warning: {warning}\n"));
            }
            context.printer.print(&document, &text);
        }
        ConfigCommand::Show => {
            let document = ConfigShowDocument {
                schema_version: SCHEMA_VERSION,
                origin,
                config,
            };
            context.printer.print(
                &document,
                &format!("# effective configuration ({origin})\n{}", config.to_toml()),
            );
        }
    }
    Ok(ExitStatus::Done)
}
