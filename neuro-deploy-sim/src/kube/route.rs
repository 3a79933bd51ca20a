//! Which resource a Kubernetes path names, and the selectors and flags of its query.

use std::collections::HashMap;

use super::respond::bad_request;
use super::select::{FieldSelector, LabelSelector};
use super::store::{ApiError, Resource};

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
            (["api", "v1"], "configmaps") => Some(Resource::ConfigMap),
            (["apis", "rbac.authorization.k8s.io", "v1"], "roles") => Some(Resource::Role),
            (["apis", "rbac.authorization.k8s.io", "v1"], "rolebindings") => {
                Some(Resource::RoleBinding)
            }
            (["apis", "rbac.authorization.k8s.io", "v1"], "clusterroles") => {
                Some(Resource::ClusterRole)
            }
            (["apis", "rbac.authorization.k8s.io", "v1"], "clusterrolebindings") => {
                Some(Resource::ClusterRoleBinding)
            }
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
        [plural, name] => {
            let resource = resource_of(group_version, plural)?;
            (!resource.namespaced()).then(|| Route {
                resource,
                namespace: String::new(),
                name: Some((*name).to_owned()),
            })
        }
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

pub(crate) fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "true" || v == "1")
}
