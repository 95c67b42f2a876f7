//! Reading a JSON request body within a size limit and a time limit, with a status that says
//! which was passed: 413 over the limit (at once when `Content-Length` says so, before reading
//! anything), 408 when the body does not arrive in time (a slow or stalled client), 400 when it
//! is not JSON (or not UTF-8), 422 when it is JSON of the wrong shape.

use crate::api_error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Reads and parses `body` as JSON.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<T, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let read = Limited::new(body, limit).collect();
    let bytes = match tokio::time::timeout(timeout, read).await {
        Err(_) => return Err(ApiError::timeout(timeout.as_secs_f64())),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(ApiError::too_large(limit))
        }
        Ok(Err(e)) => return Err(ApiError::bad_request(format!("cannot read the body: {e}"))),
        Ok(Ok(c)) => c.to_bytes(),
    };
    parse(&bytes)
}

/// Parses JSON: invalid UTF-8 (anywhere, even in a field that would be ignored) and syntax
/// errors are 400, shape errors 422.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::invalid(format!("invalid request: {e}")),
        _ => ApiError::bad_request(format!("the body is not valid JSON: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn syntax_is_400_and_shape_is_422() {
        assert_eq!(
            parse::<T>(b"{\"a\": 1").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(parse::<T>(b"").unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(
            parse::<T>(b"\"\xff\"").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let ignored_field = b"{\"a\": 1, \"b\": \"\xff\"}";
        assert_eq!(
            parse::<T>(ignored_field).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse::<T>(b"{\"a\": -1}").unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            parse::<T>(b"{}").unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(parse::<T>(b"{\"a\": 7}").unwrap().a, 7);
    }

    #[tokio::test]
    async fn declared_length_over_the_limit_is_413_before_reading() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, "100000000".parse().unwrap());
        let e = read_json::<T>(&h, Body::empty(), 1000, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = read_json::<T>(
            &HeaderMap::new(),
            Body::from(vec![b' '; 2000]),
            1000,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
