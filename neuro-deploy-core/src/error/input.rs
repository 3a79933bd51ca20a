//! [`InputError`]: a value a person gave (a flag, a config key) that cannot be used.

/// A value given by a person (a flag, a config key) that cannot be used; the message says what
/// is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Not an RFC 1123 label.
    #[error(
        "`{0}` is not a valid namespace: use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
    )]
    Namespace(String),
    /// Not an environment name.
    #[error(
        "`{0}` is not a valid environment name: use lowercase letters, digits, `-` and `_`, starting with a letter"
    )]
    EnvironmentName(String),
    /// Not a duration.
    #[error("`{text}` is not a duration ({why}); write it like `20s`, `10m` or `1h`")]
    Duration {
        /// What was given.
        text: String,
        /// Why it does not parse.
        why: String,
    },
    /// A hotfix tag that is not the next patch of its base release.
    #[error("`{tag}` is not a patch release after `{base}`; a hotfix of {base} is tagged {next}")]
    NotAPatch {
        /// The tag given.
        tag: String,
        /// The release it fixes.
        base: String,
        /// What it should be.
        next: String,
    },
}

impl InputError {
    /// The given text as shown in a message: at most 80 characters.
    pub fn shown(text: &str) -> String {
        text.chars().take(80).collect()
    }
}
