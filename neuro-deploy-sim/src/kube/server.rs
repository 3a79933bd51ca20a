//! The HTTP side: routing by Kubernetes path to CRUD and patch (watches: `watch`; `kubectl get`
//! tables and discovery: `tables`), with the faults of `faults` applied first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::faults::{Fault, FaultAction};
use super::patch::{self, PatchKind};
use super::rbac::{Attributes, allows, forbidden, identify};
use super::respond::{
    bad_request, error_response, json_response, parse_body, respond, status_error,
};
use super::route::{Route, is_true, route, selectors};
use super::shared::Shared;
use super::store::ApiError;
use super::tables::{discovery, table, wants_table};
use super::watch::watch;

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
    // A review (may I? who am I?) is a POST that stores nothing.
    let review = path == super::access::PATH || path == super::access::WHO_AM_I_PATH;
    shared.count(&method, &path, !review);
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
        Some(FaultAction::WriteFirst { patch }) => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            if let Some(route) = route(&segments)
                && let Some(name) = &route.name
            {
                let body = Bytes::from(patch.to_string());
                let merge = "application/merge-patch+json";
                if let Err(error) = patch_object(&shared, &route, name, merge, &body) {
                    return error_response(&error);
                }
            }
        }
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
        return respond(super::access::review(shared, headers, body));
    }
    if *method == Method::POST && path == super::access::WHO_AM_I_PATH {
        return respond(super::access::who_am_i(shared, headers));
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
    if shared.rbac {
        let fields = query.get("fieldSelector").map_or("", String::as_str);
        let attributes = Attributes::of(method, &route, is_true(query.get("watch")), fields);
        let user = match identify(shared, headers) {
            Ok(user) => user,
            Err(error) => return error_response(&error),
        };
        if !allows(&shared.store(), &user, &attributes) {
            return error_response(&forbidden(&user, &attributes));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // kube-sim speaks JSON only: a protobuf body (kubectl's typed `create`) is 415, as an API
    // server answers a media type it does not serve.
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        return error_response(&ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json (got `{content_type}`)"
            ),
        });
    }
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
