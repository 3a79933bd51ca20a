//! `SelfSubjectAccessReview`: "may I do VERB on RESOURCE in NAMESPACE?" — RBAC's answer when
//! it is on; otherwise everything is allowed unless a test denied it ([`super::KubeSim::deny`]),
//! so `neuro-deploy doctor` can be shown a missing RBAC verb. And `SelfSubjectReview`: "who am
//! I?", answered from the bearer token by the seed's users (`kind: User`), so tests and the
//! playground can act as several people.

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::rbac::{Attributes, allows, identify};
use super::shared::Shared;
use super::store::ApiError;

/// The path the review is posted to.
pub(crate) const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// The path "who am I?" is posted to.
pub(crate) const WHO_AM_I_PATH: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/// Answers `SelfSubjectReview` as a real API server does: an impersonated user
/// (`Impersonate-User`, kubectl's `--as`) is who they act as; else the user of the bearer token
/// (a token nobody has is 401); with no credentials at all (kubectl sends none over plain HTTP),
/// `system:anonymous`.
pub(crate) fn who_am_i(shared: &Shared, headers: &HeaderMap) -> Result<(u16, Value), ApiError> {
    let user = identify(shared, headers)?;
    Ok((
        201,
        json!({
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": { "creationTimestamp": null },
            "status": { "userInfo": { "username": user.name, "groups": user.groups } },
        }),
    ))
}

/// Answers a review: the request echoed with `status.allowed` — by RBAC for the requester when
/// it is on (the same evaluator that then authorizes the request), else everything but what a
/// test denied.
pub(crate) fn review(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    // kubectl's `auth can-i` posts it as protobuf; kube-rs as JSON.
    let mut review: Value = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(e) => super::protobuf::access_review(body).ok_or_else(|| ApiError {
            code: 400,
            reason: "BadRequest",
            message: format!("the request body is neither JSON nor a protobuf review: {e}"),
        })?,
    };
    let attributes = Attributes::from_review(&review["spec"]["resourceAttributes"]);
    let denied = shared
        .denied
        .lock()
        .map(|d| {
            d.iter()
                .any(|(v, r)| *v == attributes.verb && *r == attributes.resource)
        })
        .unwrap_or(false);
    review["status"] = if denied {
        json!({ "allowed": false, "denied": true, "reason": "kube-sim: denied by the test" })
    } else if shared.rbac {
        let user = identify(shared, headers)?;
        if allows(&shared.store(), &user, &attributes) {
            json!({ "allowed": true, "reason": "RBAC: allowed by a binding" })
        } else {
            json!({ "allowed": false })
        }
    } else {
        json!({ "allowed": true, "reason": "kube-sim allows everything not denied" })
    };
    Ok((201, review))
}
