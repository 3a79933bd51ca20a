//! Kubernetes names: what a namespace may be called. Below the configuration and the model,
//! which both check namespaces by this one rule.

use crate::error::InputError;

/// Checks a Kubernetes namespace name (an RFC 1123 label): at most 63 characters of
/// lowercase letters, digits and `-`, starting and ending with a letter or digit.
pub fn validate_namespace(name: &str) -> Result<(), InputError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !name.is_empty() && name.len() <= 63 && ok_chars && ok_ends {
        Ok(())
    } else {
        Err(InputError::Namespace(InputError::shown(name)))
    }
}
