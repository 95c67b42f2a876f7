//! Request errors, answered in OpenAI's shape on every route:
//! `{"error": {"message": "...", "type": "...", "param": null, "code": "..."}}`.
//!
//! Status codes: 400 unreadable body (not JSON, invalid UTF-8), 401 missing or wrong API key,
//! 404/405 unknown route or method, 408 body not received in time, 413 body over the limit,
//! 422 well-formed JSON with a wrong field (type, range, empty input, too many inputs, too
//! long an input without `truncate`), 424 `/rerank` on a model that is not a cross-encoder
//! (as text-embeddings-inference answers), 429 too many requests in flight or a full queue
//! (with `Retry-After`), 503 not serving (shutting down), 500 only for a failure of the
//! server itself.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Serialize, ToSchema, Debug)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// OpenAI's error object.
#[derive(Serialize, ToSchema, Debug)]
pub struct ErrorDetail {
    /// A sentence for a person.
    pub message: String,
    /// The error class, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request field at fault, when there is one.
    pub param: Option<String>,
    /// A stable machine-readable code, e.g. `too_many_requests`.
    pub code: Option<String>,
}

/// An HTTP error: status, message, and the fields of [`ErrorDetail`].
#[derive(Debug)]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    message: String,
    param: Option<&'static str>,
    retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }
    /// 400: the body cannot be read as JSON.
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, m)
    }
    /// 401: missing or wrong API key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing or invalid API key: send `Authorization: Bearer KEY`",
        )
    }
    /// 404: no such route.
    pub fn not_found(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no route {path}"))
    }
    /// 405: the route exists with another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
    }
    /// 408: the body did not arrive in time.
    pub fn timeout(secs: f64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body was not received within {secs} s"),
        )
    }
    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
    }
    /// 422: a field is wrong.
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, m)
    }
    /// 422 naming the field at fault.
    pub fn invalid_param(param: &'static str, m: impl Into<String>) -> Self {
        let mut e = Self::invalid(m);
        e.param = Some(param);
        e
    }
    /// 424: the model cannot do this.
    pub fn model_cannot(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FAILED_DEPENDENCY, m)
    }
    /// 429 with `Retry-After: 1`.
    pub fn overloaded(m: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, m);
        e.retry_after = Some(1);
        e
    }
    /// 503: not serving.
    pub fn unavailable(m: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, m);
        e.retry_after = Some(1);
        e
    }
    /// 500: the server failed (never a client mistake).
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }

    fn kind_and_code(&self) -> (&'static str, &'static str) {
        match self.status {
            StatusCode::BAD_REQUEST => ("invalid_request_error", "invalid_json"),
            StatusCode::UNAUTHORIZED => ("authentication_error", "invalid_api_key"),
            StatusCode::NOT_FOUND => ("invalid_request_error", "not_found"),
            StatusCode::METHOD_NOT_ALLOWED => ("invalid_request_error", "method_not_allowed"),
            StatusCode::REQUEST_TIMEOUT => ("invalid_request_error", "body_timeout"),
            StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request_error", "payload_too_large"),
            StatusCode::UNPROCESSABLE_ENTITY => ("invalid_request_error", "invalid_field"),
            StatusCode::FAILED_DEPENDENCY => ("invalid_request_error", "unsupported_by_model"),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limit_error", "too_many_requests"),
            StatusCode::SERVICE_UNAVAILABLE => ("server_error", "unavailable"),
            _ => ("server_error", "internal_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (kind, code) = self.kind_and_code();
        let body = ErrorResponse {
            error: ErrorDetail {
                message: self.message,
                kind: kind.into(),
                param: self.param.map(str::to_string),
                code: Some(code.into()),
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overloaded_carries_retry_after_and_openai_shape() {
        let r = ApiError::overloaded("busy").into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let e = ApiError::invalid_param("dimensions", "too big");
        assert_eq!(
            e.kind_and_code(),
            ("invalid_request_error", "invalid_field")
        );
        assert_eq!(e.param, Some("dimensions"));
    }
}
