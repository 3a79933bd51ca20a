//! The one protobuf body kube-sim reads: the `SelfSubjectAccessReview` kubectl's `auth can-i`
//! posts (typed clients send `application/vnd.kubernetes.protobuf`). Kubernetes wraps the
//! message in its envelope — the magic `k8s\0`, then `runtime.Unknown` whose field 2 holds the
//! object — and the review's `spec.resourceAttributes` are plain string fields. Everything
//! else stays JSON-only (a protobuf body elsewhere is 415).

use serde_json::{Value, json};

/// The envelope's magic prefix.
const MAGIC: &[u8] = b"k8s\0";

/// The review as the JSON form the handlers read, or `None` when `body` is not a protobuf
/// `SelfSubjectAccessReview` kube-sim can read.
pub(crate) fn access_review(body: &[u8]) -> Option<Value> {
    let unknown = body.strip_prefix(MAGIC)?;
    let raw = field(unknown, 2)?;
    let spec = field(raw, 2)?;
    let attributes = field(spec, 1)?;
    let text = |number: u32| -> Value {
        field(attributes, number)
            .map(|bytes| json!(String::from_utf8_lossy(bytes)))
            .unwrap_or(json!(""))
    };
    Some(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {
            "resourceAttributes": {
                "namespace": text(1),
                "verb": text(2),
                "group": text(3),
                "version": text(4),
                "resource": text(5),
                "subresource": text(6),
                "name": text(7),
            }
        }
    }))
}

/// The bytes of the first length-delimited field `number` of `message`, skipping the others.
fn field(message: &[u8], number: u32) -> Option<&[u8]> {
    let mut at = 0;
    while at < message.len() {
        let key = varint(message, &mut at)?;
        let (found, wire) = (u32::try_from(key >> 3).ok()?, key & 7);
        match wire {
            0 => {
                varint(message, &mut at)?;
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let length = usize::try_from(varint(message, &mut at)?).ok()?;
                let end = at.checked_add(length)?;
                let bytes = message.get(at..end)?;
                if found == number {
                    return Some(bytes);
                }
                at = end;
            }
            _ => return None,
        }
    }
    None
}

/// Reads one base-128 varint at `at`, moving past it.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field.
    fn bytes(number: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, u8::try_from(content.len()).unwrap()];
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn reads_the_attributes_of_a_review_in_kubernetes_envelope() {
        let attributes = [
            bytes(1, b"leaf-neuro-ui"),
            bytes(2, b"update"),
            bytes(5, b"configmaps"),
            bytes(7, b"approval-alice"),
        ]
        .concat();
        let spec = bytes(1, &attributes);
        let review = [bytes(1, b""), bytes(2, &spec)].concat();
        let unknown = [
            bytes(1, b"\x0a\x19authorization.k8s.io/v1"),
            bytes(2, &review),
        ]
        .concat();
        let body = [MAGIC, &unknown].concat();
        let read = access_review(&body).unwrap();
        let attributes = &read["spec"]["resourceAttributes"];
        assert_eq!(attributes["namespace"], "leaf-neuro-ui");
        assert_eq!(attributes["verb"], "update");
        assert_eq!(attributes["resource"], "configmaps");
        assert_eq!(attributes["name"], "approval-alice");
        assert_eq!(attributes["group"], "");
        assert_eq!(
            access_review(b"{\"kind\":\"SelfSubjectAccessReview\"}"),
            None
        );
        assert_eq!(
            access_review(&[MAGIC, &[0x12, 0x40]].concat()),
            None,
            "truncated"
        );
    }
}
