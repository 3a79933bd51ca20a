//! What `kubectl get` asks for: `Table` output (`application/json;as=Table`) and API discovery.

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::clock::{now_rfc3339, parse_rfc3339};
use super::store::Resource;

/// kubectl asks for server-side printing with `Accept: application/json;as=Table;…`.
pub(crate) fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("as=Table"))
}

pub(crate) fn age(object: &Value) -> String {
    let Some(created) = object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(parse_rfc3339)
    else {
        return "<unknown>".to_owned();
    };
    let now = parse_rfc3339(&now_rfc3339()).unwrap_or(created);
    let secs = now.saturating_sub(created);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Computes one Table row's cells from an object.
pub(crate) type RowCells = Box<dyn Fn(&Value) -> Vec<Value>>;

/// A `meta.k8s.io/v1` Table with kubectl's usual columns.
pub(crate) fn table(resource: Resource, list: &Value) -> Value {
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
        Resource::ConfigMap => (
            vec![
                column("Name", "string", 0),
                column("Data", "integer", 0),
                column("Age", "string", 0),
            ],
            Box::new(|o: &Value| {
                vec![
                    o["metadata"]["name"].clone(),
                    json!(o["data"].as_object().map_or(0, |d| d.len())),
                    json!(age(o)),
                ]
            }),
        ),
        Resource::Role
        | Resource::RoleBinding
        | Resource::ClusterRole
        | Resource::ClusterRoleBinding => (
            vec![column("Name", "string", 0), column("Age", "string", 0)],
            Box::new(|o: &Value| vec![o["metadata"]["name"].clone(), json!(age(o))]),
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

pub(crate) fn resource_entry(
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

pub(crate) fn discovery(segments: &[&str], address: &str) -> Option<Value> {
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
            "resources": [
                resource_entry("namespaces", "namespace", "Namespace", false, &["ns"]),
                resource_entry("configmaps", "configmap", "ConfigMap", true, &["cm"]),
            ]
        }),
        ["apis"] => {
            let group = |name: &str| {
                json!({
                    "name": name,
                    "versions": [{ "groupVersion": format!("{name}/v1"), "version": "v1" }],
                    "preferredVersion": { "groupVersion": format!("{name}/v1"), "version": "v1" }
                })
            };
            json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": [group("apps"), group("coordination.k8s.io"), group("rbac.authorization.k8s.io")] })
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
        ["apis", "rbac.authorization.k8s.io", "v1"] => json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "rbac.authorization.k8s.io/v1",
            "resources": [
                resource_entry("roles", "role", "Role", true, &[]),
                resource_entry("rolebindings", "rolebinding", "RoleBinding", true, &[]),
                resource_entry("clusterroles", "clusterrole", "ClusterRole", false, &[]),
                resource_entry("clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, &[]),
            ]
        }),
        _ => return None,
    })
}
