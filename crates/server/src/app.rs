//! The router: every route, the JSON 404/405 fallbacks, and the middleware (outermost first:
//! access log, API key).

use crate::api_error::ApiError;
use crate::middleware::{access_log, require_key};
use crate::openapi::openapi_json;
use crate::state::AppState;
use crate::{routes_meta, routes_openai, routes_tei};
use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// All routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/embeddings", post(routes_openai::embeddings))
        .route("/embed", post(routes_tei::embed_route))
        .route("/rerank", post(routes_tei::rerank))
        .route("/health", get(routes_meta::health))
        .route("/info", get(routes_meta::info))
        .route("/metrics", get(routes_meta::metrics))
        .route("/openapi.json", get(openapi_json))
        .fallback(|uri: Uri| async move { ApiError::not_found(uri.path()) })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(from_fn_with_state(Arc::clone(&state), require_key))
        .layer(from_fn_with_state(Arc::clone(&state), access_log))
        .with_state(state)
}
