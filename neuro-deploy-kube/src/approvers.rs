//! `approvers add` and `approvers remove` (an administrator's): creating or deleting, with the
//! administrator's own credentials, the objects that let one person approve in one
//! environment ([`crate::rbac::approver_objects`]: their record, Role and RoleBinding).

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use neuro_deploy_core::AdapterError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{FIELD_MANAGER, KubeCluster, SERVICE};

/// One object `approvers add` or `remove` touched: `Kind/name in namespace`, and whether it
/// changed anything (created, deleted) or was already so.
pub type Touched = (String, bool);

impl KubeCluster {
    /// Creates each of `objects` (ConfigMaps, Roles, RoleBindings) in its namespace; one that
    /// exists already is left as it is.
    pub async fn create_objects(&self, objects: &[Value]) -> Result<Vec<Touched>, AdapterError> {
        let mut touched = Vec::new();
        for object in objects {
            let created = match object["kind"].as_str().unwrap_or_default() {
                "ConfigMap" => self.create_one::<ConfigMap>(object).await?,
                "Role" => self.create_one::<Role>(object).await?,
                "RoleBinding" => self.create_one::<RoleBinding>(object).await?,
                kind => return Err(unsupported(kind)),
            };
            touched.push((object_shown(object), created));
        }
        Ok(touched)
    }

    /// Deletes each of `objects`; one already gone is fine.
    pub async fn delete_objects(&self, objects: &[Value]) -> Result<Vec<Touched>, AdapterError> {
        let mut touched = Vec::new();
        for object in objects {
            let deleted = match object["kind"].as_str().unwrap_or_default() {
                "ConfigMap" => self.delete_one::<ConfigMap>(object).await?,
                "Role" => self.delete_one::<Role>(object).await?,
                "RoleBinding" => self.delete_one::<RoleBinding>(object).await?,
                kind => return Err(unsupported(kind)),
            };
            touched.push((object_shown(object), deleted));
        }
        Ok(touched)
    }

    fn api_of<K>(&self, object: &Value) -> Api<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default");
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates one object; `false` when it existed.
    async fn create_one<K>(&self, object: &Value) -> Result<bool, AdapterError>
    where
        K: kube::Resource<Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let typed: K = serde_json::from_value(object.clone()).map_err(|e| {
            AdapterError::failed(
                SERVICE,
                format!("creating {}", object_shown(object)),
                e.to_string(),
            )
        })?;
        let api = self.api_of::<K>(object);
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        let operation = format!("creating {}", object_shown(object));
        match self.call(&operation, || api.create(&params, &typed)).await {
            Ok(_) => Ok(true),
            Err(AdapterError::Conflict { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Deletes one object; `false` when it was gone.
    async fn delete_one<K>(&self, object: &Value) -> Result<bool, AdapterError>
    where
        K: kube::Resource<Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        let api = self.api_of::<K>(object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let operation = format!("deleting {}", object_shown(object));
        let params = DeleteParams::default();
        match self.call(&operation, || api.delete(name, &params)).await {
            Ok(_) => Ok(true),
            Err(AdapterError::NotFound { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// `Kind/name in `namespace``, as messages name an object.
pub fn object_shown(object: &Value) -> String {
    format!(
        "{}/{} in `{}`",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or_default()
    )
}

fn unsupported(kind: &str) -> AdapterError {
    AdapterError::failed(
        SERVICE,
        "creating an approver's objects",
        format!("`{kind}` is not a kind neuro-deploy creates (ConfigMap, Role, RoleBinding)"),
    )
}
