//! What the binaries show: the [`printer`] (one document on stdout, text or JSON), the typed
//! [`documents`] it prints (each with a `schema_version`), [`text`] renderings for people,
//! [`progress`] and [`logging`] on stderr, and what a GitHub Actions job gets ([`actions`]).
//!
//! What it is not: nothing here decides anything; it only renders what the library returned.

pub mod actions;
pub mod documents;
pub mod logging;
pub mod printer;
pub mod progress;
pub mod text;

pub use documents::SCHEMA_VERSION;
pub use logging::init_logging;
pub use printer::Printer;
pub use progress::{StderrProgress, note};

/// Writes and flushes `text`, ignoring a closed pipe (and any other write error: there is
/// nowhere left to report it).
pub fn write_quietly(out: &mut impl std::io::Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
