//! [`Shared`]: the state the handlers, the controller and the owner share — the store, request
//! counts, armed faults, denied access reviews.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::Method;

use super::faults::{ArmedFault, Fault, FaultAction, RequestCounts};
use super::store::Store;

/// State shared by the handlers, the controller and the owner.
pub struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) counts: Mutex<RequestCounts>,
    pub(crate) faults: Mutex<Vec<ArmedFault>>,
    pub(crate) latency: Duration,
    pub(crate) address: String,
    /// `(verb, resource)` pairs access reviews deny.
    pub(crate) denied: Mutex<Vec<(String, String)>>,
    /// Bearer token → user name, for `SelfSubjectReview` (who am I?).
    pub(crate) users: Mutex<std::collections::BTreeMap<String, String>>,
    /// The groups of a user (by name) besides `system:authenticated`, from the seed.
    pub(crate) groups: Mutex<std::collections::BTreeMap<String, Vec<String>>>,
    /// Whether RBAC authorizes every API request (else everything is allowed).
    pub(crate) rbac: bool,
}

impl Shared {
    pub(crate) fn new(store: Store, latency: Duration, address: String, rbac: bool) -> Shared {
        Shared {
            store: Mutex::new(store),
            counts: Mutex::new(RequestCounts::default()),
            faults: Mutex::new(Vec::new()),
            latency,
            address,
            denied: Mutex::new(Vec::new()),
            users: Mutex::new(std::collections::BTreeMap::from([(
                super::DEFAULT_TOKEN.to_owned(),
                super::DEFAULT_USER.to_owned(),
            )])),
            // The default token's user is the administrator: RBAC never stands in its way.
            groups: Mutex::new(std::collections::BTreeMap::from([(
                super::DEFAULT_USER.to_owned(),
                vec![super::MASTERS.to_owned()],
            )])),
            rbac,
        }
    }

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        crate::locked(&self.store)
    }

    pub(crate) fn inject(&self, fault: Fault) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.push(ArmedFault {
                fault,
                seen: 0,
                fired: 0,
            });
        }
    }

    pub(crate) fn requests(&self) -> RequestCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub(crate) fn reset_requests(&self) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts = RequestCounts::default();
        }
    }

    /// Counts a request; `stores` says whether a write method changes anything (a review is a
    /// POST that stores nothing).
    pub(crate) fn count(&self, method: &Method, path: &str, stores: bool) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.total += 1;
            if stores
                && matches!(
                    *method,
                    Method::POST | Method::PUT | Method::PATCH | Method::DELETE
                )
            {
                counts.writes += 1;
            }
            *counts
                .by_route
                .entry(format!("{method} {path}"))
                .or_default() += 1;
        }
    }

    pub(crate) fn fault_for(
        &self,
        method: &Method,
        path: &str,
        query: &str,
    ) -> Option<FaultAction> {
        let mut faults = self.faults.lock().ok()?;
        for armed in faults.iter_mut() {
            let method_ok = armed
                .fault
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()));
            let query_ok = armed
                .fault
                .query
                .as_deref()
                .is_none_or(|q| query.contains(q));
            if !method_ok || !query_ok || !path.contains(&armed.fault.path) {
                continue;
            }
            armed.seen += 1;
            if armed.seen > armed.fault.skip && armed.fired < armed.fault.times {
                armed.fired += 1;
                return Some(armed.fault.action.clone());
            }
        }
        None
    }
}
