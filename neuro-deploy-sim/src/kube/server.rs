//! The HTTP side: routing by Kubernetes path to CRUD and patch (watches: `watch`; `kubectl get`
//! tables and discovery: `tables`), with the faults of `faults` applied first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::faults::*;
use super::patch::{self, PatchKind};
use super::select::{FieldSelector, LabelSelector};
use super::store::{ApiError, Resource, Store};
use super::tables::*;
use super::watch::*;

/// State shared by the handlers, the controller and the owner.
pub struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) counts: Mutex<RequestCounts>,
    pub(crate) faults: Mutex<Vec<ArmedFault>>,
    pub(crate) latency: Duration,
    pub(crate) address: String,
    /// `(verb, resource)` pairs access reviews deny.
    pub(crate) denied: Mutex<Vec<(String, String)>>,
}

impl Shared {
    pub(crate) fn new(store: Store, latency: Duration, address: String) -> Shared {
        Shared {
            store: Mutex::new(store),
            counts: Mutex::new(RequestCounts::default()),
            faults: Mutex::new(Vec::new()),
            latency,
            address,
            denied: Mutex::new(Vec::new()),
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

    fn count(&self, method: &Method, path: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.total += 1;
            if matches!(
                *method,
                Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            ) {
                counts.writes += 1;
            }
            *counts
                .by_route
                .entry(format!("{method} {path}"))
                .or_default() += 1;
        }
    }

    fn fault_for(&self, method: &Method, path: &str, query: &str) -> Option<FaultAction> {
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

pub(crate) fn json_response(code: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

pub(crate) fn status_error(code: u16) -> ApiError {
    let reason = match code {
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
    ApiError {
        code,
        reason,
        message: format!("kube-sim injected fault: {code} {reason}"),
    }
}

pub(crate) fn bad_request(message: String) -> ApiError {
    ApiError {
        code: 400,
        reason: "BadRequest",
        message,
    }
}

/// The one handler: routes by path like the API server.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    if let Some(sim) = path.strip_prefix("/_sim/") {
        return sim_endpoint(&shared, &method, sim, &body);
    }
    shared.count(&method, &path);
    let mut drop_watch_after = None;
    let mut drop_answer = false;
    match shared.fault_for(&method, &path, uri.query().unwrap_or("")) {
        Some(FaultAction::Status { code }) => {
            let mut response = error_response(&status_error(code));
            if code == 429 || code == 503 {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            return response;
        }
        Some(FaultAction::Hang) => futures::future::pending::<()>().await,
        Some(FaultAction::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(FaultAction::DropWatch { after_events }) => drop_watch_after = Some(after_events),
        Some(FaultAction::ApplyThenDrop) => drop_answer = true,
        None => {}
    }
    let incoming = Incoming {
        method: &method,
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };
    let response = serve(&shared, &incoming, drop_watch_after).await;
    if drop_answer {
        return broken_answer();
    }
    response
}

/// Headers, then a body that fails: the server closes the connection mid-answer, as a crashed
/// proxy or a dropped connection would.
pub(crate) fn broken_answer() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "kube-sim injected fault: answer dropped after the write was applied",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// One API request, as routed.
pub(crate) struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

pub(crate) async fn serve(
    shared: &Arc<Shared>,
    incoming: &Incoming<'_>,
    drop_watch_after: Option<usize>,
) -> Response {
    let Incoming {
        method,
        path,
        query,
        headers,
        body,
    } = *incoming;
    if *method == Method::POST && path == super::access::PATH {
        return respond(super::access::review(shared, body));
    }
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(document) = discovery(&segments, &shared.address) {
        return json_response(200, &document);
    }
    let Some(route) = route(&segments) else {
        return error_response(&ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".to_owned(),
        });
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match (method, &route.name) {
        (&Method::GET, None) if is_true(query.get("watch")) => watch(shared, &route, query, drop_watch_after),
        (&Method::GET, None) => respond(list(shared, &route, query).map(|(code, list)| {
            if wants_table(headers) { (code, table(route.resource, &list)) } else { (code, list) }
        })),
        (&Method::POST, None) => respond(parse_body(body).and_then(|object| {
            shared.store().create(route.resource, &route.namespace, object, false)
        }).map(|o| (201, o))),
        (&Method::GET, Some(name)) => respond(shared.store().get(route.resource, &route.namespace, name).map(|o| {
            if wants_table(headers) {
                let list = json!({ "metadata": { "resourceVersion": o["metadata"]["resourceVersion"].clone() }, "items": [o] });
                (200, table(route.resource, &list))
            } else {
                (200, o)
            }
        })),
        (&Method::PUT, Some(name)) => respond(parse_body(body).and_then(|object| {
            shared.store().replace(route.resource, &route.namespace, name, object)
        }).map(|o| (200, o))),
        (&Method::PATCH, Some(name)) => respond(patch_object(shared, &route, name, content_type, body)),
        (&Method::DELETE, Some(name)) => respond(shared.store().delete(route.resource, &route.namespace, name).map(|o| (200, o))),
        _ => error_response(&ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!("{method} is not supported on {path}"),
        }),
    }
}

pub(crate) fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "true" || v == "1")
}

pub(crate) fn respond(result: Result<(u16, Value), ApiError>) -> Response {
    match result {
        Ok((code, object)) => json_response(code, &object),
        Err(error) => error_response(&error),
    }
}

pub(crate) fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the request body is not JSON: {e}")))
}

pub(crate) fn patch_object(
    shared: &Shared,
    route: &Route,
    name: &str,
    content_type: &str,
    body: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let kind = PatchKind::from_content_type(content_type).ok_or_else(|| ApiError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got `{content_type}`)"),
    })?;
    let patch_doc = parse_body(body)?;
    let mut store = shared.store();
    let current = store.get(route.resource, &route.namespace, name)?;
    let mut updated = current.clone();
    patch::apply(kind, &mut updated, &patch_doc).map_err(bad_request)?;
    // A patch carrying a resourceVersion is a precondition.
    if let Some(rv) = patch_doc["metadata"]["resourceVersion"].as_str()
        && Some(rv) != current["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified",
                route.resource.qualified()
            ),
        });
    }
    store
        .write(route.resource, &route.namespace, name, current, updated)
        .map(|o| (200, o))
}

pub(crate) struct Route {
    pub(crate) resource: Resource,
    pub(crate) namespace: String,
    pub(crate) name: Option<String>,
}

pub(crate) fn route(segments: &[&str]) -> Option<Route> {
    let resource_of = |group_version: &[&str], plural: &str| -> Option<Resource> {
        match (group_version, plural) {
            (["api", "v1"], "namespaces") => Some(Resource::Namespace),
            (["apis", "apps", "v1"], "deployments") => Some(Resource::Deployment),
            (["apis", "apps", "v1"], "replicasets") => Some(Resource::ReplicaSet),
            (["apis", "coordination.k8s.io", "v1"], "leases") => Some(Resource::Lease),
            _ => None,
        }
    };
    let split = if segments.first() == Some(&"api") {
        2
    } else {
        3
    };
    if segments.len() <= split {
        return None;
    }
    let (group_version, rest) = segments.split_at(split);
    match rest {
        [plural] => Some(Route {
            resource: resource_of(group_version, plural)?,
            namespace: String::new(),
            name: None,
        }),
        ["namespaces", name] if group_version == ["api", "v1"] => Some(Route {
            resource: Resource::Namespace,
            namespace: String::new(),
            name: Some((*name).to_owned()),
        }),
        ["namespaces", namespace, plural] => Some(Route {
            resource: resource_of(group_version, plural)?,
            namespace: (*namespace).to_owned(),
            name: None,
        }),
        ["namespaces", namespace, plural, name] => Some(Route {
            resource: resource_of(group_version, plural)?,
            namespace: (*namespace).to_owned(),
            name: Some((*name).to_owned()),
        }),
        _ => None,
    }
}

pub(crate) fn selectors(
    query: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
        .map_err(bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))
        .map_err(bad_request)?;
    Ok((labels, fields))
}

pub(crate) fn list(
    shared: &Shared,
    route: &Route,
    query: &HashMap<String, String>,
) -> Result<(u16, Value), ApiError> {
    let (labels, fields) = selectors(query)?;
    let store = shared.store();
    let items: Vec<Value> = store
        .list(route.resource, &route.namespace)
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    let (api_version, kind, _, _) = route.resource.info();
    Ok((
        200,
        json!({
            "kind": format!("{kind}List"),
            "apiVersion": api_version,
            "metadata": { "resourceVersion": store.resource_version().to_string() },
            "items": items,
        }),
    ))
}

pub(crate) fn sim_endpoint(shared: &Shared, method: &Method, path: &str, body: &Bytes) -> Response {
    match (method, path) {
        (&Method::GET, "requests") => json_response(200, &json!(shared.requests())),
        (&Method::DELETE, "requests") => {
            shared.reset_requests();
            json_response(200, &json!({}))
        }
        (&Method::POST, "faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(fault) => {
                shared.inject(fault);
                json_response(201, &json!({}))
            }
            Err(e) => error_response(&bad_request(format!("invalid fault: {e}"))),
        },
        _ => error_response(&ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("no /_sim/{path}"),
        }),
    }
}
