//! The environments' shared guardrail state as the ConfigMap `neuro-deploy` in each namespace:
//! one key a concern (`freeze`, `unfrozen`, `quarantine`, `approvals`), each value JSON. Writes
//! carry the `resourceVersion` read, so a concurrent writer makes this one a conflict (read
//! again, re-apply: `neuro_deploy_core::guard`). Who changes it is asked of the API server
//! (`SelfSubjectReview`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use neuro_deploy_core::model::guard::{
    APPROVALS_KEY, FREEZE_KEY, QUARANTINE_KEY, STATE_NAME, UNFROZEN_KEY,
};
use neuro_deploy_core::{AdapterError, GuardState, SharedState, VersionedState};

use crate::{KubeCluster, SERVICE};

impl KubeCluster {
    fn config_maps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

/// A value of the ConfigMap that is not the JSON neuro-deploy writes: named, with the fix.
fn unreadable(namespace: &str, key: &str, error: &serde_json::Error) -> AdapterError {
    AdapterError::failed(
        SERVICE,
        format!("reading `{key}` of the ConfigMap `{STATE_NAME}` in `{namespace}`"),
        format!(
            "{error}; fix the value with `kubectl edit configmap {STATE_NAME} -n {namespace}` or delete the key"
        ),
    )
}

#[async_trait]
impl SharedState for KubeCluster {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        let api = self.config_maps(namespace);
        let operation = format!("reading the ConfigMap `{STATE_NAME}` in `{namespace}`");
        let Some(map) = self.call(&operation, || api.get_opt(STATE_NAME)).await? else {
            return Ok(VersionedState::default());
        };
        let data = map.data.unwrap_or_default();
        let freeze = read_key(&data, namespace, FREEZE_KEY)?;
        let unfrozen = read_key(&data, namespace, UNFROZEN_KEY)?;
        let quarantine = read_key(&data, namespace, QUARANTINE_KEY)?.unwrap_or_default();
        let approvals = read_key(&data, namespace, APPROVALS_KEY)?.unwrap_or_default();
        Ok(VersionedState {
            state: GuardState {
                freeze,
                unfrozen,
                quarantine,
                approvals,
            },
            version: map.metadata.resource_version,
        })
    }

    async fn write_state(
        &self,
        namespace: &str,
        state: &GuardState,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        let mut data = BTreeMap::new();
        if let Some(freeze) = &state.freeze {
            data.insert(FREEZE_KEY.to_owned(), to_json(freeze)?);
        }
        if let Some(unfrozen) = &state.unfrozen {
            data.insert(UNFROZEN_KEY.to_owned(), to_json(unfrozen)?);
        }
        if !state.quarantine.is_empty() {
            data.insert(QUARANTINE_KEY.to_owned(), to_json(&state.quarantine)?);
        }
        if !state.approvals.is_empty() {
            data.insert(APPROVALS_KEY.to_owned(), to_json(&state.approvals)?);
        }
        let creating = version.is_none();
        let map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(STATE_NAME.to_owned()),
                namespace: Some(namespace.to_owned()),
                resource_version: version,
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        };
        let api = self.config_maps(namespace);
        let params = PostParams::default();
        let operation = format!("writing the ConfigMap `{STATE_NAME}` in `{namespace}`");
        // A replace with a stale resourceVersion, or a create that finds one, is a 409:
        // `Conflict`, which the caller answers by reading again.
        if creating {
            self.call(&operation, || api.create(&params, &map)).await?;
        } else {
            self.call(&operation, || api.replace(STATE_NAME, &params, &map))
                .await?;
        }
        Ok(())
    }

    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let operation = format!("asking who this run is on the cluster of `{namespace}`");
        let post = PostParams::default();
        let review = SelfSubjectReview::default();
        let answer = self.call(&operation, || api.create(&post, &review)).await?;
        answer
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                AdapterError::failed(
                    SERVICE,
                    operation,
                    "the API server named no user (SelfSubjectReview needs Kubernetes 1.28 or later)",
                )
            })
    }
}

/// The value of `key`, when the ConfigMap has it.
fn read_key<T: serde::de::DeserializeOwned>(
    data: &BTreeMap<String, String>,
    namespace: &str,
    key: &str,
) -> Result<Option<T>, AdapterError> {
    data.get(key)
        .map(|text| serde_json::from_str(text).map_err(|e| unreadable(namespace, key, &e)))
        .transpose()
}

/// A value as the ConfigMap keeps it: JSON.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AdapterError> {
    serde_json::to_string(value)
        .map_err(|e| AdapterError::failed(SERVICE, "writing the shared state", e.to_string()))
}
