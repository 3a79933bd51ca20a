//! The three patch types the API server accepts: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and strategic merge patch (lists of known fields merged by their key).

use serde_json::{Map, Value};

/// Which patch a `Content-Type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
}

impl PatchKind {
    /// From a `Content-Type` header value.
    pub fn from_content_type(content_type: &str) -> Option<PatchKind> {
        let base = content_type.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            _ => None,
        }
    }
}

/// Applies a patch to `target`.
pub fn apply(kind: PatchKind, target: &mut Value, patch: &Value) -> Result<(), String> {
    match kind {
        PatchKind::Merge => {
            json_patch::merge(target, patch);
            Ok(())
        }
        PatchKind::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| format!("invalid JSON patch: {e}"))?;
            json_patch::patch(target, &operations).map_err(|e| format!("JSON patch failed: {e}"))
        }
        PatchKind::Strategic => {
            strategic_merge(target, patch, "");
            Ok(())
        }
    }
}

/// The merge key of lists the strategic merge patch merges element-wise (Kubernetes' patchMergeKey).
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        "conditions" => Some("type"),
        _ => None,
    }
}

fn strategic_merge(target: &mut Value, patch: &Value, field: &str) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => merge_objects(target, patch),
        (Value::Array(target), Value::Array(patch)) if merge_key(field).is_some() => {
            let key = merge_key(field).unwrap_or("name");
            for item in patch {
                let id = item.get(key).cloned();
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match target
                    .iter()
                    .position(|t| id.is_some() && t.get(key) == id.as_ref())
                {
                    Some(i) if delete => {
                        target.remove(i);
                    }
                    Some(i) => strategic_merge(&mut target[i], item, ""),
                    None if delete => {}
                    None => target.push(item.clone()),
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn merge_objects(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if key.starts_with("$setElementOrder/") || key == "$retainKeys" {
            continue;
        }
        if value.is_null() {
            target.remove(key);
            continue;
        }
        match target.get_mut(key) {
            Some(existing)
                if (existing.is_object() && value.is_object())
                    || (existing.is_array() && value.is_array()) =>
            {
                strategic_merge(existing, value, key);
            }
            _ => {
                // A new object keeps none of the patch's nulls: deleting what is absent is a
                // no-op, as on a real API server.
                let mut fresh = value.clone();
                if let (Value::Object(fresh), Value::Object(patch)) = (&mut fresh, value) {
                    fresh.clear();
                    merge_objects(fresh, patch);
                }
                target.insert(key.clone(), fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_null_in_a_patch_deletes_a_key_and_adds_none_where_there_was_nothing() {
        let mut deployment = json!({ "metadata": { "name": "neuro-ui" } });
        let patch = json!({ "metadata": { "annotations": { "a": "1", "b": null } } });
        apply(PatchKind::Strategic, &mut deployment, &patch).unwrap();
        assert_eq!(deployment["metadata"]["annotations"], json!({ "a": "1" }));
        let patch = json!({ "metadata": { "annotations": { "a": null } } });
        apply(PatchKind::Strategic, &mut deployment, &patch).unwrap();
        assert_eq!(deployment["metadata"]["annotations"], json!({}));
    }

    #[test]
    fn set_image_merges_containers_by_name() {
        let mut deployment = json!({ "spec": { "template": { "spec": { "containers": [
            { "name": "web", "image": "r/neuro-ui:v1", "ports": [{ "containerPort": 80 }] },
            { "name": "envoy", "image": "envoy:1" }
        ] } } } });
        let patch = json!({ "spec": { "template": { "spec": { "containers": [{ "name": "web", "image": "r/neuro-ui:v2" }] } } } });
        apply(PatchKind::Strategic, &mut deployment, &patch).unwrap();
        let containers = &deployment["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "r/neuro-ui:v2");
        assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
        assert_eq!(containers[1]["image"], "envoy:1");
    }

    #[test]
    fn merge_and_json_patch() {
        let mut doc = json!({ "metadata": { "annotations": { "a": "1", "b": "2" } } });
        apply(
            PatchKind::Merge,
            &mut doc,
            &json!({ "metadata": { "annotations": { "a": null, "c": "3" } } }),
        )
        .unwrap();
        assert_eq!(
            doc["metadata"]["annotations"],
            json!({ "b": "2", "c": "3" })
        );
        apply(
            PatchKind::Json,
            &mut doc,
            &json!([{ "op": "replace", "path": "/metadata/annotations/b", "value": "9" }]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["annotations"]["b"], "9");
        assert!(
            apply(
                PatchKind::Json,
                &mut doc,
                &json!([{ "op": "remove", "path": "/nope" }])
            )
            .is_err()
        );
    }
}
