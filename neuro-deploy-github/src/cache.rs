//! Conditional GETs: an answer that carries an `ETag` is kept, and the same GET is asked again
//! with `If-None-Match`; GitHub answers `304 Not Modified` when nothing changed, which does not
//! count against the rate limit, and the kept answer is used. What keeps asking (the dashboard)
//! stays within the limit; a one-off run loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use http::StatusCode;
use http::header::{ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH};

use crate::transport::Reply;

/// At most this many answers are kept; past it, all are dropped and the next GETs fill it again
/// (a dashboard asks a few dozen paths).
const KEPT: usize = 256;

/// Kept answers by path.
#[derive(Default)]
pub(crate) struct ConditionalCache {
    kept: Mutex<HashMap<String, Reply>>,
}

impl ConditionalCache {
    /// The `If-None-Match` header for a GET of `path`, when an answer of it is kept.
    pub(crate) fn if_none_match(&self, path: &str) -> Option<HeaderMap> {
        let kept = self.kept.lock().ok()?;
        let etag = kept.get(path)?.headers.get(ETAG)?.clone();
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, etag);
        Some(headers)
    }

    /// The answer to use for a GET of `path`: the kept one for a `304`, else `reply` (kept
    /// when it is a success with an `ETag`).
    pub(crate) fn settle(&self, path: &str, reply: Reply) -> Reply {
        let Ok(mut kept) = self.kept.lock() else {
            return reply;
        };
        if reply.status == StatusCode::NOT_MODIFIED {
            if let Some(answer) = kept.get(path) {
                return answer.clone();
            }
            return reply;
        }
        let has_etag = reply
            .headers
            .get(ETAG)
            .is_some_and(|v: &HeaderValue| !v.is_empty());
        if reply.status.is_success() && has_etag {
            if kept.len() >= KEPT {
                kept.clear();
            }
            kept.insert(path.to_owned(), reply.clone());
        }
        reply
    }
}
