//! The environments' shared guardrail state as ConfigMaps in each namespace, one record a part
//! and each written by whom the API server lets write it (see `records`): the operators'
//! decisions, each approver's approvals, quarantine entries, the approvals deploys spent. One
//! list reads them all; every write carries the `resourceVersion` read (or creates), so a
//! concurrent writer makes it a conflict (read again, re-apply). Who changes them is asked of
//! the API server (`SelfSubjectReview`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use neuro_deploy_core::guard::ATTEMPTS;
use neuro_deploy_core::model::guard::{
    APPROVALS_KEY, CLEARANCES_KEY, FREEZE_KEY, QUARANTINE_KEY, SPENT_NAME, STATE_NAME, UNFROZEN_KEY,
};
use neuro_deploy_core::model::{Approval, Decisions, Quarantined, Spent};
use neuro_deploy_core::{AdapterError, GuardState, SharedState, VersionedState};
use serde_json::json;

use crate::records::{
    APPROVAL, APPROVALS_DATA, APPROVER_ANNOTATION, DECISIONS, ENTRY_DATA, QUARANTINE, RECORD_LABEL,
    SPENT, SPENT_DATA, approval_record, quarantine_record, record,
};
use crate::{FIELD_MANAGER, KubeCluster, SERVICE};

/// How many spent approvals the record keeps (older ones have long expired).
const SPENT_KEPT: usize = 500;

impl KubeCluster {
    fn config_maps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Creates `map`, or replaces it at the `resourceVersion` it carries.
    async fn put(
        &self,
        namespace: &str,
        map: ConfigMap,
        operation: &str,
    ) -> Result<(), AdapterError> {
        let api = self.config_maps(namespace);
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        match map.metadata.name.clone() {
            Some(name) if map.metadata.resource_version.is_some() => {
                self.call(operation, || api.replace(&name, &params, &map))
                    .await?;
            }
            _ => {
                self.call(operation, || api.create(&params, &map)).await?;
            }
        }
        Ok(())
    }

    /// Reads the record `name`, changes its data with `change`, and writes it at the version
    /// read (creating it, labelled `kind`, when there is none), again on a lost race.
    async fn change_record(
        &self,
        namespace: &str,
        name: &str,
        kind: &str,
        annotations: Option<BTreeMap<String, String>>,
        change: impl Fn(&mut BTreeMap<String, String>) -> Result<(), AdapterError>,
    ) -> Result<(), AdapterError> {
        let api = self.config_maps(namespace);
        let operation = format!("writing the ConfigMap `{name}` in `{namespace}`");
        for _ in 0..ATTEMPTS {
            let current = self.call(&operation, || api.get_opt(name)).await?;
            let map = match current {
                Some(mut map) => {
                    let mut data = map.data.take().unwrap_or_default();
                    change(&mut data)?;
                    map.data = Some(data);
                    map
                }
                None => {
                    let mut data = BTreeMap::new();
                    change(&mut data)?;
                    record(namespace, name, kind, data, annotations.clone())
                }
            };
            match self.put(namespace, map, &operation).await {
                Err(AdapterError::Conflict { .. }) => continue,
                other => return other,
            }
        }
        Err(AdapterError::Conflict {
            service: SERVICE,
            operation: format!(
                "{operation} ({ATTEMPTS} writes lost a race to other writers; run it again)"
            ),
        })
    }
}

/// A value of a record that is not the JSON neuro-deploy writes: named, with the fix.
fn unreadable(namespace: &str, name: &str, key: &str, error: &serde_json::Error) -> AdapterError {
    AdapterError::failed(
        SERVICE,
        format!("reading `{key}` of the ConfigMap `{name}` in `{namespace}`"),
        format!(
            "{error}; fix the value with `kubectl edit configmap {name} -n {namespace}` or delete the key"
        ),
    )
}

#[async_trait]
impl SharedState for KubeCluster {
    async fn read_state(&self, namespace: &str) -> Result<VersionedState, AdapterError> {
        let api = self.config_maps(namespace);
        let operation = format!("reading neuro-deploy's records in `{namespace}`");
        let params = ListParams::default().labels(RECORD_LABEL);
        let records = self.call(&operation, || api.list(&params)).await?.items;
        // Read in place: a record's data is not copied to be parsed.
        let no_data = BTreeMap::new();
        let named = |name: &str| {
            records
                .iter()
                .find(|m| m.metadata.name.as_deref() == Some(name))
                .cloned()
        };
        // The decisions record may predate the label.
        let decisions_map = match named(STATE_NAME) {
            Some(map) => Some(map),
            None => self.call(&operation, || api.get_opt(STATE_NAME)).await?,
        };
        let (mut decisions, mut quarantine, mut legacy_approvals, version) = (
            Decisions::default(),
            Vec::<Quarantined>::new(),
            Vec::<Approval>::new(),
            decisions_map
                .as_ref()
                .and_then(|m| m.metadata.resource_version.clone()),
        );
        if let Some(map) = &decisions_map {
            let data = map.data.as_ref().unwrap_or(&no_data);
            decisions.freeze = read_key(data, namespace, STATE_NAME, FREEZE_KEY)?;
            decisions.unfrozen = read_key(data, namespace, STATE_NAME, UNFROZEN_KEY)?;
            decisions.clearances =
                read_key(data, namespace, STATE_NAME, CLEARANCES_KEY)?.unwrap_or_default();
            // Kept the old way: entries still hold; approvals no longer count.
            quarantine = read_key(data, namespace, STATE_NAME, QUARANTINE_KEY)?.unwrap_or_default();
            legacy_approvals =
                read_key(data, namespace, STATE_NAME, APPROVALS_KEY)?.unwrap_or_default();
        }
        let mut approvals = Vec::new();
        let mut spent: Vec<Spent> = Vec::new();
        for map in &records {
            let name = map.metadata.name.clone().unwrap_or_default();
            let data = map.data.as_ref().unwrap_or(&no_data);
            let kind = map
                .metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get(RECORD_LABEL))
                .map(String::as_str);
            match kind {
                // Only the approvals in its approver's own record count.
                Some(APPROVAL) => {
                    let listed: Vec<Approval> =
                        read_key(data, namespace, &name, APPROVALS_DATA)?.unwrap_or_default();
                    approvals.extend(
                        listed
                            .into_iter()
                            .filter(|a| approval_record(&a.by) == name),
                    );
                }
                Some(QUARANTINE) => {
                    if let Some(mut entry) =
                        read_key::<Quarantined>(data, namespace, &name, ENTRY_DATA)?
                    {
                        // Only an operator's clearance ends an entry.
                        entry.cleared = None;
                        quarantine.push(entry);
                    }
                }
                Some(SPENT) if name == SPENT_NAME => {
                    spent = read_key(data, namespace, &name, SPENT_DATA)?.unwrap_or_default();
                }
                _ => {}
            }
        }
        Ok(VersionedState {
            state: GuardState::assemble(decisions, quarantine, approvals, &spent, legacy_approvals),
            version,
        })
    }

    async fn write_decisions(
        &self,
        namespace: &str,
        decisions: &Decisions,
        version: Option<String>,
    ) -> Result<(), AdapterError> {
        let operation = format!("writing the ConfigMap `{STATE_NAME}` in `{namespace}`");
        let value = |present: bool,
                     text: Result<String, AdapterError>|
         -> Result<serde_json::Value, AdapterError> {
            Ok(if present {
                json!(text?)
            } else {
                serde_json::Value::Null
            })
        };
        let freeze = value(decisions.freeze.is_some(), to_json(&decisions.freeze))?;
        let unfrozen = value(decisions.unfrozen.is_some(), to_json(&decisions.unfrozen))?;
        let clearances = value(
            !decisions.clearances.is_empty(),
            to_json(&decisions.clearances),
        )?;
        let Some(version) = version else {
            let mut data = BTreeMap::new();
            for (key, value) in [
                (FREEZE_KEY, &freeze),
                (UNFROZEN_KEY, &unfrozen),
                (CLEARANCES_KEY, &clearances),
            ] {
                if let Some(text) = value.as_str() {
                    data.insert(key.to_owned(), text.to_owned());
                }
            }
            let map = record(namespace, STATE_NAME, DECISIONS, data, None);
            return self.put(namespace, map, &operation).await;
        };
        // A merge patch at the version read: keys kept the old way stay as they are.
        let patch = json!({
            "metadata": { "resourceVersion": version, "labels": { RECORD_LABEL: DECISIONS } },
            "data": { FREEZE_KEY: freeze, UNFROZEN_KEY: unfrozen, CLEARANCES_KEY: clearances },
        });
        let api = self.config_maps(namespace);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let merge = Patch::Merge(&patch);
        self.call(&operation, || api.patch(STATE_NAME, &params, &merge))
            .await?;
        Ok(())
    }

    async fn record_approval(
        &self,
        namespace: &str,
        approval: &Approval,
    ) -> Result<(), AdapterError> {
        let name = approval_record(&approval.by);
        let annotations = BTreeMap::from([(APPROVER_ANNOTATION.to_owned(), approval.by.clone())]);
        let written = self
            .change_record(namespace, &name, APPROVAL, Some(annotations), |data| {
                let mut listed: Vec<Approval> =
                    read_key(data, namespace, &name, APPROVALS_DATA)?.unwrap_or_default();
                // One approval a person and version: approving again renews it.
                listed.retain(|a| a.by == approval.by && a.version != approval.version);
                listed.push(approval.clone());
                data.insert(APPROVALS_DATA.to_owned(), to_json(&listed)?);
                Ok(())
            })
            .await;
        match written {
            Err(AdapterError::Unauthorized { .. }) => Err(AdapterError::failed(
                SERVICE,
                format!(
                    "recording the approval of {} by {}",
                    approval.version, approval.by
                ),
                format!(
                    "{} may not write the ConfigMap `{name}` in `{namespace}`, where their approvals are kept; an administrator creates it and grants it to them: `neuro-deploy rbac --env ENV` prints both",
                    approval.by
                ),
            )),
            other => other,
        }
    }

    async fn spend_approvals(
        &self,
        namespace: &str,
        approvals: &[Spent],
    ) -> Result<(), AdapterError> {
        if approvals.is_empty() {
            return Ok(());
        }
        self.change_record(namespace, SPENT_NAME, SPENT, None, |data| {
            let mut spent: Vec<Spent> =
                read_key(data, namespace, SPENT_NAME, SPENT_DATA)?.unwrap_or_default();
            for used in approvals {
                if !spent.contains(used) {
                    spent.push(used.clone());
                }
            }
            let excess = spent.len().saturating_sub(SPENT_KEPT);
            spent.drain(..excess);
            data.insert(SPENT_DATA.to_owned(), to_json(&spent)?);
            Ok(())
        })
        .await
    }

    async fn add_quarantine(
        &self,
        namespace: &str,
        entry: &Quarantined,
    ) -> Result<(), AdapterError> {
        let unique = format!("{}\n{}\n{}", entry.at.timestamp(), entry.by, entry.detail);
        let name = quarantine_record(&entry.version, &unique);
        let data = BTreeMap::from([(ENTRY_DATA.to_owned(), to_json(entry)?)]);
        let map = record(namespace, &name, QUARANTINE, data, None);
        let operation = format!(
            "recording the quarantine of {} in `{namespace}`",
            entry.version
        );
        match self.put(namespace, map, &operation).await {
            // The same entry, written by an earlier attempt whose answer was lost.
            Err(AdapterError::Conflict { .. }) => Ok(()),
            other => other,
        }
    }

    async fn authenticated_user(&self, namespace: &str) -> Result<String, AdapterError> {
        let user = self
            .authenticated_as
            .get_or_try_init(|| self.ask_who_this_is(namespace))
            .await?;
        Ok(user.clone())
    }
}

impl KubeCluster {
    /// Asks the API server who these credentials are (`SelfSubjectReview`).
    async fn ask_who_this_is(&self, namespace: &str) -> Result<String, AdapterError> {
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

/// The value of `key` of the ConfigMap `name`, when it has it.
fn read_key<T: serde::de::DeserializeOwned>(
    data: &BTreeMap<String, String>,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Option<T>, AdapterError> {
    data.get(key)
        .map(|text| serde_json::from_str(text).map_err(|e| unreadable(namespace, name, key, &e)))
        .transpose()
}

/// A value as the ConfigMap keeps it: JSON.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AdapterError> {
    serde_json::to_string(value)
        .map_err(|e| AdapterError::failed(SERVICE, "writing the shared state", e.to_string()))
}
