//! `GET /health`, `GET /info` and `GET /metrics`.

use crate::api_error::{ApiError, ErrorResponse};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// `/health`'s answer.
#[derive(Serialize, ToSchema, Debug)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// 200 once the model is loaded and warmed up (the server listens only then) and while the
/// batching worker runs; 503 otherwise. Needs no API key.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not serving", body = ErrorResponse),
    )
)]
pub async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    if state.batcher.is_healthy() {
        Ok(Json(Health { status: "ok" }))
    } else {
        Err(ApiError::unavailable("the batching worker has stopped"))
    }
}

/// `/info`'s answer: the model and the server's limits.
#[derive(Serialize, ToSchema, Debug)]
pub struct Info {
    /// The model's name.
    pub model_id: String,
    /// `embedding` (`/embed`, `/v1/embeddings`) or `reranker` (a cross-encoder: `/rerank`).
    pub model_type: &'static str,
    /// Precision of the linear layers as loaded: `f32`, `bf16` or `int8`.
    pub model_dtype: &'static str,
    /// Embedding width (a reranker's: the encoder's hidden size).
    pub dim: usize,
    /// Pooling mode (`null` for a reranker).
    pub pooling: Option<&'static str>,
    /// Whether the model directory normalizes its embeddings.
    pub normalize: bool,
    /// Prompt names the model defines.
    pub prompts: Vec<String>,
    /// The model's own input limit, in tokens.
    pub max_seq_length: usize,
    /// Longest input the server takes, in tokens.
    pub max_input_length: usize,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
    /// Most inputs per request.
    pub max_client_batch_size: usize,
    /// Most requests in flight.
    pub max_concurrent_requests: usize,
    /// Most tokens queued.
    pub max_queue_tokens: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// qkv's version.
    pub version: &'static str,
}

/// The model, its precision and the server's limits.
#[utoipa::path(
    get,
    path = "/info",
    tag = "meta",
    responses(
        (status = 200, description = "Model and limits", body = Info),
        (status = 401, description = "Missing or wrong API key", body = ErrorResponse),
    ),
    security((), ("api_key" = []))
)]
pub async fn info(State(state): State<Arc<AppState>>) -> Json<Info> {
    let m = state.model.info();
    let l = &state.limits;
    Json(Info {
        model_id: state.model_name.clone(),
        model_type: m.kind.as_str(),
        model_dtype: m.precision.name(),
        dim: m.dim,
        pooling: m.pooling,
        normalize: m.normalize,
        prompts: m.prompts.clone(),
        max_seq_length: m.max_seq_length,
        max_input_length: m.max_input_tokens,
        max_batch_tokens: l.max_batch_tokens,
        max_client_batch_size: l.max_client_batch_size,
        max_concurrent_requests: l.max_concurrent_requests,
        max_queue_tokens: l.max_queue_tokens,
        max_body_bytes: l.body_limit,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "Missing or wrong API key", body = ErrorResponse),
    ),
    security((), ("api_key" = []))
)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
