//! stdout carries the result: one JSON document (`--output json`) or text for people. A closed
//! stdout (`| head`) is not an error.

use std::io::Write;

use serde::Serialize;

use crate::args::OutputFormat;

/// Writes results to stdout.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// Text or JSON.
    pub format: OutputFormat,
}

impl Printer {
    /// Prints `document` as JSON, or `text`, depending on the format.
    pub fn print<D: Serialize>(&self, document: &D, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = match self.format {
            OutputFormat::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(document).unwrap_or_default()
            ),
            OutputFormat::Text => write!(out, "{text}"),
        };
        let _ = out.flush();
    }
}
