//! Answers in the API server's shapes: JSON bodies, `Status` errors, injected error statuses.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::store::ApiError;

pub(crate) fn json_response(code: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

pub(crate) fn status_error(code: u16) -> ApiError {
    let reason = match code {
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
    ApiError {
        code,
        reason,
        message: format!("kube-sim injected fault: {code} {reason}"),
    }
}

pub(crate) fn bad_request(message: String) -> ApiError {
    ApiError {
        code: 400,
        reason: "BadRequest",
        message,
    }
}

pub(crate) fn respond(result: Result<(u16, Value), ApiError>) -> Response {
    match result {
        Ok((code, object)) => json_response(code, &object),
        Err(error) => error_response(&error),
    }
}

pub(crate) fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the request body is not JSON: {e}")))
}
