//! Watches: the initial state, then changes, as newline-delimited watch events; ended on the
//! server's timeout or by a `DropWatch` fault.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::respond::error_response;
use super::route::{Route, is_true, selectors};
use super::shared::Shared;
use super::store::ApiError;

pub(crate) fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = json!({ "type": kind, "object": object }).to_string();
    line.push('\n');
    Bytes::from(line)
}

pub(crate) fn watch(
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
