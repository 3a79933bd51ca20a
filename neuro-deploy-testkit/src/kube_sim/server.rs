//! The HTTP side: discovery, CRUD, patch and watch on Kubernetes paths, request counting and
//! fault injection.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::patch::{self, PatchKind};
use super::select::{FieldSelector, LabelSelector};
use super::store::{ApiError, Resource, Store};

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

fn one() -> u32 {
    1
}

struct ArmedFault {
    fault: Fault,
    seen: u32,
    fired: u32,
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

/// State shared by the handlers, the controller and the owner.
pub struct Shared {
    pub(crate) store: Mutex<Store>,
    counts: Mutex<RequestCounts>,
    faults: Mutex<Vec<ArmedFault>>,
    latency: Duration,
    address: String,
}

impl Shared {
    pub(crate) fn new(store: Store, latency: Duration, address: String) -> Shared {
        Shared {
            store: Mutex::new(store),
            counts: Mutex::new(RequestCounts::default()),
            faults: Mutex::new(Vec::new()),
            latency,
            address,
        }
    }

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
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

fn json_response(code: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

fn status_error(code: u16) -> ApiError {
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

fn bad_request(message: String) -> ApiError {
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
fn broken_answer() -> Response {
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
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

async fn serve(
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

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "true" || v == "1")
}

fn respond(result: Result<(u16, Value), ApiError>) -> Response {
    match result {
        Ok((code, object)) => json_response(code, &object),
        Err(error) => error_response(&error),
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the request body is not JSON: {e}")))
}

fn patch_object(
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

struct Route {
    resource: Resource,
    namespace: String,
    name: Option<String>,
}

fn route(segments: &[&str]) -> Option<Route> {
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

fn selectors(query: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
        .map_err(bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))
        .map_err(bad_request)?;
    Ok((labels, fields))
}

fn list(
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

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({ "type": kind, "object": object }).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn watch(
    shared: &Arc<Shared>,
    route: &Route,
    query: &HashMap<String, String>,
    drop_after: Option<usize>,
) -> Response {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(error) => return error_response(&error),
    };
    let (resource, namespace) = (route.resource, route.namespace.clone());
    let matches = move |object: &Value| {
        (namespace.is_empty()
            || object["metadata"]["namespace"].as_str() == Some(namespace.as_str()))
            && labels.matches(object)
            && fields.matches(object)
    };
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let initial_events = is_true(query.get("sendInitialEvents"));
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let (mut receiver, mut first) = {
        let store = shared.store();
        let receiver = store.subscribe();
        let mut first: Vec<Bytes> = Vec::new();
        if since == 0 || initial_events {
            for object in store
                .list(resource, &route.namespace)
                .iter()
                .filter(|o| matches(o))
            {
                first.push(event_line("ADDED", object));
            }
            if initial_events {
                let (api_version, kind, _, _) = resource.info();
                let bookmark = json!({
                    "kind": kind, "apiVersion": api_version,
                    "metadata": { "resourceVersion": store.resource_version().to_string(), "annotations": { "k8s.io/initial-events-end": "true" } }
                });
                first.push(event_line("BOOKMARK", &bookmark));
            }
        } else {
            match store.changes_since(since) {
                Some(changes) => first.extend(
                    changes
                        .iter()
                        .filter(|c| c.resource == resource && matches(&c.object))
                        .map(|c| event_line(c.kind, &c.object)),
                ),
                None => {
                    let gone = ApiError {
                        code: 410,
                        reason: "Expired",
                        message: format!("too old resource version: {since}"),
                    };
                    first.push(event_line("ERROR", &gone.status()));
                }
            }
        }
        (receiver, first)
    };
    let (sender, lines) = mpsc::channel::<Bytes>(256);
    let deadline = tokio::time::Instant::now() + timeout;
    tokio::spawn(async move {
        let mut sent = 0usize;
        let limit = drop_after.unwrap_or(usize::MAX);
        for line in first.drain(..) {
            if sent >= limit || sender.send(line).await.is_err() {
                return;
            }
            sent += 1;
        }
        loop {
            if sent >= limit {
                return;
            }
            let next = tokio::time::timeout_at(deadline, receiver.recv()).await;
            let change = match next {
                Err(_) => return,
                Ok(Ok(change)) => change,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(_)) => return,
            };
            if change.resource != resource || !matches(&change.object) {
                continue;
            }
            if sender
                .send(event_line(change.kind, &change.object))
                .await
                .is_err()
            {
                return;
            }
            sent += 1;
        }
    });
    let stream = futures::stream::unfold(lines, |mut lines| async move {
        lines
            .recv()
            .await
            .map(|line| (Ok::<Bytes, Infallible>(line), lines))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn sim_endpoint(shared: &Shared, method: &Method, path: &str, body: &Bytes) -> Response {
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

/// kubectl asks for server-side printing with `Accept: application/json;as=Table;…`.
fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("as=Table"))
}

fn age(object: &Value) -> String {
    let Some(created) = object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(super::store::parse_rfc3339)
    else {
        return "<unknown>".to_owned();
    };
    let now = super::store::parse_rfc3339(&super::store::now_rfc3339()).unwrap_or(created);
    let secs = now.saturating_sub(created);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Computes one Table row's cells from an object.
type RowCells = Box<dyn Fn(&Value) -> Vec<Value>>;

/// A `meta.k8s.io/v1` Table with kubectl's usual columns.
fn table(resource: Resource, list: &Value) -> Value {
    let column = |name: &str, kind: &str, priority: u8| json!({ "name": name, "type": kind, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": priority });
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let (columns, cells): (Vec<Value>, RowCells) = match resource {
        Resource::Deployment | Resource::ReplicaSet => (
            vec![
                column("Name", "string", 0),
                column("Ready", "string", 0),
                column("Up-to-date", "integer", 0),
                column("Available", "integer", 0),
                column("Age", "string", 0),
                column("Containers", "string", 1),
                column("Images", "string", 1),
                column("Selector", "string", 1),
            ],
            Box::new(|o: &Value| {
                let status = &o["status"];
                let int = |v: &Value| v.as_i64().unwrap_or(0);
                let containers = o["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let names: Vec<&str> = containers
                    .iter()
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                let images: Vec<&str> = containers
                    .iter()
                    .filter_map(|c| c["image"].as_str())
                    .collect();
                let selector: Vec<String> = o["spec"]["selector"]["matchLabels"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                vec![
                    o["metadata"]["name"].clone(),
                    json!(format!(
                        "{}/{}",
                        int(&status["readyReplicas"]),
                        int(&o["spec"]["replicas"])
                    )),
                    json!(int(&status["updatedReplicas"])),
                    json!(int(&status["availableReplicas"])),
                    json!(age(o)),
                    json!(names.join(",")),
                    json!(images.join(",")),
                    json!(selector.join(",")),
                ]
            }),
        ),
        Resource::Namespace => (
            vec![
                column("Name", "string", 0),
                column("Status", "string", 0),
                column("Age", "string", 0),
            ],
            Box::new(|o: &Value| {
                vec![
                    o["metadata"]["name"].clone(),
                    o["status"]["phase"].clone(),
                    json!(age(o)),
                ]
            }),
        ),
        Resource::Lease => (
            vec![
                column("Name", "string", 0),
                column("Holder", "string", 0),
                column("Age", "string", 0),
            ],
            Box::new(|o: &Value| {
                vec![
                    o["metadata"]["name"].clone(),
                    json!(o["spec"]["holderIdentity"].as_str().unwrap_or("")),
                    json!(age(o)),
                ]
            }),
        ),
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            json!({
                "cells": cells(o),
                "object": { "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone() }
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": list["metadata"]["resourceVersion"].clone() },
        "columnDefinitions": columns,
        "rows": rows,
    })
}

fn resource_entry(
    name: &str,
    singular: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
) -> Value {
    json!({
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "shortNames": short,
    })
}

fn discovery(segments: &[&str], address: &str) -> Option<Value> {
    Some(match segments {
        ["version"] => json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0-kube-sim", "gitCommit": "0000000",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
            "compiler": "gc", "platform": "linux/amd64"
        }),
        ["api"] => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": address }]
        }),
        ["api", "v1"] => json!({
            "kind": "APIResourceList", "groupVersion": "v1",
            "resources": [resource_entry("namespaces", "namespace", "Namespace", false, &["ns"])]
        }),
        ["apis"] => {
            let group = |name: &str| {
                json!({
                    "name": name,
                    "versions": [{ "groupVersion": format!("{name}/v1"), "version": "v1" }],
                    "preferredVersion": { "groupVersion": format!("{name}/v1"), "version": "v1" }
                })
            };
            json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [group("apps"), group("coordination.k8s.io")] })
        }
        ["apis", "apps", "v1"] => json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
            "resources": [
                resource_entry("deployments", "deployment", "Deployment", true, &["deploy"]),
                resource_entry("replicasets", "replicaset", "ReplicaSet", true, &["rs"]),
            ]
        }),
        ["apis", "coordination.k8s.io", "v1"] => json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "coordination.k8s.io/v1",
            "resources": [resource_entry("leases", "lease", "Lease", true, &[])]
        }),
        _ => return None,
    })
}
