//! The causes behind an error, as people read them: each `source()` in turn, leaving out what
//! the message (or an earlier cause) already says, so a wrapped SDK error does not repeat itself.

/// The texts of `error`'s causes, outermost first, without `error`'s own message. A cause whose
/// text the message or an earlier cause already contains adds nothing and is left out.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut said = error.to_string();
    let mut out = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        let text = text.trim();
        if !text.is_empty() && !said.contains(text) {
            out.push(text.to_owned());
            said.push('\n');
            said.push_str(text);
        }
        next = cause.source();
    }
    out
}

/// Whether `error`, or anything in its chain of causes, is a `T` for which `found` holds: how an
/// adapter recognizes a cause by its type (a refused connection, missing credentials) instead
/// of by its text.
pub fn any_cause<T: std::error::Error + 'static>(
    error: &(dyn std::error::Error + 'static),
    found: impl Fn(&T) -> bool,
) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if current.downcast_ref::<T>().is_some_and(&found) {
            return true;
        }
        next = current.source();
    }
    false
}

/// The message and its causes on one line, `message: cause: cause` (anyhow's `{:#}`), for places
/// that keep one string per error (a queue sample, a step's detail).
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    for cause in causes(error) {
        line.push_str(": ");
        line.push_str(&cause);
    }
    // An SDK's multi-line cause (a list of what it tried) stays on the line.
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::{any_cause, causes, one_line};

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Wrapper {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    }

    fn wrap(message: &str, source: Option<Wrapper>) -> Wrapper {
        Wrapper {
            message: message.to_owned(),
            source: source.map(|s| Box::new(s) as _),
        }
    }

    #[test]
    fn every_cause_once_outermost_first() {
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let connect = Wrapper {
            message: "tcp connect error".to_owned(),
            source: Some(Box::new(root)),
        };
        let client = wrap("client error (Connect)", Some(connect));
        let error = wrap(
            "kubernetes: listing deployments got no answer (client error (Connect))",
            Some(client),
        );
        assert_eq!(
            causes(&error),
            ["tcp connect error", "Connection refused"],
            "the message already says `client error (Connect)`"
        );
        assert!(causes(&wrap("alone", None)).is_empty());
        let refused = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionRefused;
        assert!(any_cause(&error, refused));
        assert!(!any_cause(&wrap("alone", None), refused));
        assert_eq!(
            one_line(&wrap("outer", Some(wrap("inner", None)))),
            "outer: inner"
        );
    }
}
