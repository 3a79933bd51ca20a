//! What the binaries show: the [`printer`] (one document on stdout, text or JSON), the typed
//! [`documents`] it prints (each with a `schema_version`), [`text`] renderings for people,
//! [`progress`] and [`logging`] on stderr.
//!
//! What it is not: nothing here decides anything; it only renders what the library returned.

pub mod documents;
pub mod logging;
pub mod printer;
pub mod progress;
pub mod text;

pub use documents::SCHEMA_VERSION;
pub use logging::init_logging;
pub use printer::Printer;
pub use progress::{StderrProgress, note};
