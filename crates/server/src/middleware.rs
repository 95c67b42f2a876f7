//! Middleware of every route: the access log (one structured tracing line per request, and the
//! request metrics) and the API-key check.

use crate::api_error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// The routes, as metric labels; anything else is `other` (labels stay few).
const ROUTES: [&str; 7] = [
    "/v1/embeddings",
    "/embed",
    "/rerank",
    "/health",
    "/info",
    "/metrics",
    "/openapi.json",
];

fn route_label(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other")
}

/// Logs and counts a request when it ends, or as status 499 when its client went away first
/// (the handler's future is dropped).
struct Finish {
    state: Arc<AppState>,
    method: Method,
    route: &'static str,
    start: Instant,
    status: Option<u16>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let status = self.status.unwrap_or(499);
        let secs = self.start.elapsed().as_secs_f64();
        let m = &self.state.metrics;
        m.requests
            .with_label_values(&[self.route, &status.to_string()])
            .inc();
        m.latency.with_label_values(&[self.route]).observe(secs);
        tracing::info!(
            method = %self.method,
            route = self.route,
            status,
            latency_ms = (secs * 1e4).round() / 10.0,
            "request"
        );
    }
}

/// The access log.
pub async fn access_log(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut finish = Finish {
        state,
        method: req.method().clone(),
        route: route_label(req.uri().path()),
        start: Instant::now(),
        status: None,
    };
    let resp = next.run(req).await;
    finish.status = Some(resp.status().as_u16());
    resp
}

/// 401 unless `Authorization: Bearer KEY` matches (when the server has a key); `/health`
/// stays open for load balancers.
pub async fn require_key(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(key) = &state.api_key {
        if req.uri().path() != "/health" && !authorized(req.headers(), key) {
            return ApiError::unauthorized().into_response();
        }
    }
    next.run(req).await
}

fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Compare every byte, whatever the first difference (no early exit to time).
    given.len() == key.len()
        && given
            .bytes()
            .zip(key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_key_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "k1"));
        h.insert(header::AUTHORIZATION, "Bearer k1".parse().unwrap());
        assert!(authorized(&h, "k1"));
        assert!(!authorized(&h, "k2"));
        assert!(!authorized(&h, "k12"));
        h.insert(header::AUTHORIZATION, "Basic k1".parse().unwrap());
        assert!(!authorized(&h, "k1"));
        assert_eq!(route_label("/embed"), "/embed");
        assert_eq!(route_label("/embed/x"), "other");
    }
}
