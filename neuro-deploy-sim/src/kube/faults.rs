//! Fault injection and request counting: what a test asks kube-sim to do to matching requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this HTTP status and a matching Kubernetes Status.
    Status {
        /// 409, 429, 500, 503 …
        code: u16,
    },
    /// Never answer.
    Hang,
    /// Answer after this delay.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// For a watch: end the stream after this many events.
    DropWatch {
        /// Events sent before the connection is closed.
        after_events: usize,
    },
    /// Carry the request out (the write is applied), then break the connection instead of
    /// answering: the client cannot know whether its write landed.
    ApplyThenDrop,
    /// Before the request is served, someone else changes the object its path names: this
    /// JSON merge patch is applied to it (its `resourceVersion` moves on), as another person's
    /// `kubectl` between a client's read and its write would.
    WriteFirst {
        /// The other writer's merge patch.
        patch: serde_json::Value,
    },
}

/// A fault for requests whose path contains `path` (and whose method is `method`, when given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP method to match (`GET`, `PATCH` …); any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Substring of the request path.
    pub path: String,
    /// Substring of the query string (`watch=true` tells a watch from a list).
    #[serde(default)]
    pub query: Option<String>,
    /// Matching requests let through before the fault fires (so `skip: 2` hits the 3rd).
    #[serde(default)]
    pub skip: u32,
    /// How many matching requests it hits.
    #[serde(default = "one")]
    pub times: u32,
    /// What happens.
    pub action: FaultAction,
}

impl Fault {
    /// A fault on `method` requests whose path contains `path`, hitting the next `times` of them.
    pub fn on(method: &str, path: &str, times: u32, action: FaultAction) -> Fault {
        Fault {
            method: Some(method.to_owned()),
            path: path.to_owned(),
            query: None,
            skip: 0,
            times,
            action,
        }
    }
}

pub(crate) fn one() -> u32 {
    1
}

pub(crate) struct ArmedFault {
    pub(crate) fault: Fault,
    pub(crate) seen: u32,
    pub(crate) fired: u32,
}

/// Requests counted by method and path (query left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Every API request.
    pub total: u64,
    /// POST, PUT, PATCH and DELETE requests.
    pub writes: u64,
    /// `"METHOD /path"` → count.
    pub by_route: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// Requests whose route starts with `METHOD` and contains `path_part`.
    pub fn count(&self, method: &str, path_part: &str) -> u64 {
        self.by_route
            .iter()
            .filter(|(route, _)| {
                route.starts_with(&format!("{method} ")) && route.contains(path_part)
            })
            .map(|(_, n)| n)
            .sum()
    }
}
