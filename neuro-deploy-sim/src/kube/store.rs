//! Objects, resource versions, the watch log and the simulated deployment controller.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::clock::now_rfc3339;
use super::deployment::{
    ControllerOptions, Rollout, complete_status, default_deployment, replicas,
};

/// The kinds the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// `v1` Namespaces (cluster-scoped).
    Namespace,
    /// `apps/v1` Deployments.
    Deployment,
    /// `apps/v1` ReplicaSets (listed empty; kubectl asks for them in some commands).
    ReplicaSet,
    /// `coordination.k8s.io/v1` Leases.
    Lease,
    /// `v1` ConfigMaps.
    ConfigMap,
    /// `rbac.authorization.k8s.io/v1` Roles.
    Role,
    /// `rbac.authorization.k8s.io/v1` RoleBindings.
    RoleBinding,
    /// `rbac.authorization.k8s.io/v1` ClusterRoles (cluster-scoped).
    ClusterRole,
    /// `rbac.authorization.k8s.io/v1` ClusterRoleBindings (cluster-scoped).
    ClusterRoleBinding,
}

impl Resource {
    /// `(apiVersion, kind, plural, group)`.
    pub fn info(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Resource::Namespace => ("v1", "Namespace", "namespaces", ""),
            Resource::Deployment => ("apps/v1", "Deployment", "deployments", "apps"),
            Resource::ReplicaSet => ("apps/v1", "ReplicaSet", "replicasets", "apps"),
            Resource::ConfigMap => ("v1", "ConfigMap", "configmaps", ""),
            Resource::Lease => (
                "coordination.k8s.io/v1",
                "Lease",
                "leases",
                "coordination.k8s.io",
            ),
            Resource::Role => (RBAC_V1, "Role", "roles", RBAC),
            Resource::RoleBinding => (RBAC_V1, "RoleBinding", "rolebindings", RBAC),
            Resource::ClusterRole => (RBAC_V1, "ClusterRole", "clusterroles", RBAC),
            Resource::ClusterRoleBinding => {
                (RBAC_V1, "ClusterRoleBinding", "clusterrolebindings", RBAC)
            }
        }
    }

    /// Whether its objects live in a namespace (Namespaces and the cluster's RBAC do not).
    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            Resource::Namespace | Resource::ClusterRole | Resource::ClusterRoleBinding
        )
    }

    /// From a `kind` field.
    pub fn from_kind(kind: &str) -> Option<Resource> {
        match kind {
            "Namespace" => Some(Resource::Namespace),
            "Deployment" => Some(Resource::Deployment),
            "ReplicaSet" => Some(Resource::ReplicaSet),
            "Lease" => Some(Resource::Lease),
            "ConfigMap" => Some(Resource::ConfigMap),
            "Role" => Some(Resource::Role),
            "RoleBinding" => Some(Resource::RoleBinding),
            "ClusterRole" => Some(Resource::ClusterRole),
            "ClusterRoleBinding" => Some(Resource::ClusterRoleBinding),
            _ => None,
        }
    }

    /// The `group.resource` name used in Status messages (`deployments.apps`).
    pub fn qualified(self) -> String {
        let (_, _, plural, group) = self.info();
        if group.is_empty() {
            plural.to_owned()
        } else {
            format!("{plural}.{group}")
        }
    }
}

/// The RBAC API group.
const RBAC: &str = "rbac.authorization.k8s.io";

/// Its version.
const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";

/// Identity of a stored object.
pub type Key = (Resource, String, String);

/// A change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resource version after the change.
    pub rv: u64,
    /// Kind.
    pub resource: Resource,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// The object after (or, for DELETED, before) the change.
    pub object: Value,
}

/// Why a write was refused, as a Kubernetes Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub code: u16,
    /// Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`).
    pub reason: &'static str,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// The Status object.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        })
    }
}

pub(crate) fn not_found(resource: Resource, name: &str) -> ApiError {
    ApiError {
        code: 404,
        reason: "NotFound",
        message: format!("{} \"{name}\" not found", resource.qualified()),
    }
}

/// Everything the server holds.
pub struct Store {
    pub(crate) rv: u64,
    pub(crate) objects: BTreeMap<Key, Value>,
    pub(crate) log: VecDeque<Change>,
    pub(crate) rollouts: HashMap<(String, String), Rollout>,
    pub(crate) options: ControllerOptions,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) uid: u64,
}

const LOG_LIMIT: usize = 20_000;

impl Store {
    /// An empty store.
    pub fn new(options: ControllerOptions) -> Store {
        let (changes, _) = broadcast::channel(4096);
        Store {
            rv: 1,
            objects: BTreeMap::new(),
            log: VecDeque::new(),
            rollouts: HashMap::new(),
            options,
            changes,
            uid: 0,
        }
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Receives every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Changes after `rv` still in the log; `None` when `rv` is older than the log (410 Gone).
    pub fn changes_since(&self, rv: u64) -> Option<Vec<Change>> {
        if let Some(first) = self.log.front()
            && rv + 1 < first.rv
            && rv != 0
        {
            return None;
        }
        Some(self.log.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// One object.
    pub fn get(&self, resource: Resource, namespace: &str, name: &str) -> Result<Value, ApiError> {
        self.objects
            .get(&(resource, namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| not_found(resource, name))
    }

    /// Objects of a kind, in a namespace or (empty) all namespaces.
    pub fn list(&self, resource: Resource, namespace: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((r, ns, _), _)| *r == resource && (namespace.is_empty() || ns == namespace))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn record(&mut self, resource: Resource, kind: &'static str, object: Value) {
        let change = Change {
            rv: self.rv,
            resource,
            kind,
            object,
        };
        self.log.push_back(change.clone());
        if self.log.len() > LOG_LIMIT {
            self.log.pop_front();
        }
        let _ = self.changes.send(change);
    }

    pub(crate) fn stamp(&mut self, object: &mut Value) {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
    }

    fn check_namespace(&self, resource: Resource, namespace: &str) -> Result<(), ApiError> {
        if !resource.namespaced()
            || self.objects.contains_key(&(
                Resource::Namespace,
                String::new(),
                namespace.to_owned(),
            ))
        {
            Ok(())
        } else {
            Err(ApiError {
                code: 404,
                reason: "NotFound",
                message: format!("namespaces \"{namespace}\" not found"),
            })
        }
    }

    /// Creates an object. `seeded` Deployments start with a complete rollout.
    pub fn create(
        &mut self,
        resource: Resource,
        namespace: &str,
        mut object: Value,
        seeded: bool,
    ) -> Result<Value, ApiError> {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            return Err(ApiError {
                code: 422,
                reason: "Invalid",
                message: format!(
                    "{} is invalid: metadata.name: Required value: name is required",
                    resource.qualified()
                ),
            });
        }
        self.check_namespace(resource, namespace)?;
        let key = (resource, namespace.to_owned(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError {
                code: 409,
                reason: "AlreadyExists",
                message: format!("{} \"{name}\" already exists", resource.qualified()),
            });
        }
        let (api_version, kind, _, _) = resource.info();
        object["apiVersion"] = json!(api_version);
        object["kind"] = json!(kind);
        if resource.namespaced() {
            object["metadata"]["namespace"] = json!(namespace);
        }
        self.uid += 1;
        object["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{:012}", self.uid));
        object["metadata"]["creationTimestamp"] = json!(now_rfc3339());
        if resource == Resource::Deployment {
            object["metadata"]["generation"] = json!(1);
            default_deployment(&mut object);
            if seeded {
                let desired = replicas(&object);
                object["status"] = complete_status(1, desired);
            } else {
                object["status"] = json!({ "observedGeneration": 0 });
                self.start_rollout(namespace, &name, &object);
            }
        }
        if resource == Resource::Namespace {
            object["status"] = json!({ "phase": "Active" });
        }
        self.stamp(&mut object);
        self.objects.insert(key, object.clone());
        self.record(resource, "ADDED", object.clone());
        Ok(object)
    }

    /// Replaces an object; a `resourceVersion` in it must match (optimistic concurrency).
    pub fn replace(
        &mut self,
        resource: Resource,
        namespace: &str,
        name: &str,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        let current = self.get(resource, namespace, name)?;
        if let Some(rv) = object["metadata"]["resourceVersion"].as_str()
            && rv
                != current["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
        {
            return Err(conflict(resource, name));
        }
        for field in ["uid", "creationTimestamp", "namespace", "name"] {
            object["metadata"][field] = current["metadata"][field].clone();
        }
        object["apiVersion"] = current["apiVersion"].clone();
        object["kind"] = current["kind"].clone();
        self.write(resource, namespace, name, current, object)
    }

    /// Replaces an object after a patch was applied to `updated`.
    pub fn write(
        &mut self,
        resource: Resource,
        namespace: &str,
        name: &str,
        current: Value,
        mut updated: Value,
    ) -> Result<Value, ApiError> {
        if resource == Resource::Deployment {
            default_deployment(&mut updated);
            // Status is the controller's; a spec write never changes it.
            updated["status"] = current["status"].clone();
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
            let spec_changed = updated["spec"] != current["spec"];
            updated["metadata"]["generation"] = json!(if spec_changed {
                generation + 1
            } else {
                generation
            });
            if updated["spec"]["template"] != current["spec"]["template"]
                || updated["spec"]["replicas"] != current["spec"]["replicas"]
            {
                self.start_rollout(namespace, name, &updated);
            }
        }
        if updated == current {
            return Ok(current);
        }
        self.stamp(&mut updated);
        self.objects.insert(
            (resource, namespace.to_owned(), name.to_owned()),
            updated.clone(),
        );
        self.record(resource, "MODIFIED", updated.clone());
        Ok(updated)
    }

    /// Deletes an object.
    pub fn delete(
        &mut self,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let mut object = self
            .objects
            .remove(&(resource, namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| not_found(resource, name))?;
        self.rollouts
            .remove(&(namespace.to_owned(), name.to_owned()));
        self.stamp(&mut object);
        self.record(resource, "DELETED", object.clone());
        Ok(object)
    }
}

pub(crate) fn conflict(resource: Resource, name: &str) -> ApiError {
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            resource.qualified()
        ),
    }
}

#[cfg(test)]
mod tests {}
