//! [`ConfigError`]: why a configuration was rejected, naming the key and what is allowed.

/// Why a configuration was rejected. Each message names the key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML, or has an unknown key or a wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// Where the text came from (a path, or `built-in`).
        origin: String,
        /// The parser's explanation, with the key's path.
        message: String,
    },
    /// A key has a value that makes no sense.
    #[error("{origin}: `{key}` {problem}")]
    Invalid {
        /// Where the text came from.
        origin: String,
        /// The dotted key, e.g. `queues.poll` or `environments[2].namespace`.
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// Several keys have values that make no sense: every one is named.
    #[error("{origin}: {} problems:{}", problems.len(), listed(problems))]
    Problems {
        /// Where the text came from.
        origin: String,
        /// `(dotted key, what is wrong and what is allowed)`, in the file's order.
        problems: Vec<(String, String)>,
    },
}

impl ConfigError {
    /// Each problem as `(key, what is wrong)`; a parse error has no key.
    pub fn problems(&self) -> Vec<(Option<&str>, String)> {
        match self {
            ConfigError::Parse { message, .. } => vec![(None, message.clone())],
            ConfigError::Invalid { key, problem, .. } => {
                vec![(Some(key.as_str()), problem.clone())]
            }
            ConfigError::Problems { problems, .. } => problems
                .iter()
                .map(|(key, problem)| (Some(key.as_str()), problem.clone()))
                .collect(),
        }
    }
}

fn listed(problems: &[(String, String)]) -> String {
    problems
        .iter()
        .map(|(key, problem)| format!("\n  `{key}` {problem}"))
        .collect()
}
