//! `POST /v1/embeddings`, OpenAI's embeddings API: the official `openai` client works
//! unchanged. One model per server: any `model` value is accepted and echoed back. Rows are
//! normalized as the model directory says (as `qkv embed` and sentence-transformers do), and
//! renormalized after a `dimensions` cut.

use crate::api_error::{ApiError, ErrorResponse};
use crate::body::read_json;
use crate::embed::{embed, Input, Params};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// `float` (JSON numbers) or `base64` (little-endian f32 bytes, as OpenAI sends them).
#[derive(Deserialize, ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// JSON numbers.
    #[default]
    Float,
    /// Base64 of the little-endian f32 bytes.
    Base64,
}

/// An OpenAI embeddings request (`truncate` and `prompt_name` are qkv extensions).
#[derive(Deserialize, ToSchema, Debug)]
pub struct EmbeddingRequest {
    /// The texts or token ids to embed.
    pub input: Input,
    /// Echoed back; the server has one model.
    #[serde(default)]
    pub model: Option<String>,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<EncodingFormat>,
    /// Keep the first `dimensions` values, then L2-normalize (Matryoshka).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub dimensions: Option<u64>,
    /// An end-user id (accepted for OpenAI compatibility, not used).
    #[serde(default)]
    #[allow(dead_code)]
    pub user: Option<String>,
    /// Cut inputs over `--max-input-tokens` instead of refusing them (default false).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// A prompt from the model directory's `config_sentence_transformers.json`.
    #[serde(default)]
    pub prompt_name: Option<String>,
}

/// One embedding: numbers, or a base64 string of little-endian f32.
#[derive(Serialize, ToSchema, Debug)]
#[serde(untagged)]
pub enum EmbeddingValue {
    /// `encoding_format: float`.
    Float(Vec<f32>),
    /// `encoding_format: base64`.
    Base64(String),
}

/// One row of the response.
#[derive(Serialize, ToSchema, Debug)]
pub struct EmbeddingData {
    /// Always `embedding`.
    pub object: &'static str,
    /// Position of the input in the request.
    pub index: usize,
    /// The embedding.
    pub embedding: EmbeddingValue,
}

/// Tokens the request cost.
#[derive(Serialize, ToSchema, Debug)]
pub struct Usage {
    /// Tokens processed, special tokens included.
    pub prompt_tokens: usize,
    /// Same as `prompt_tokens`.
    pub total_tokens: usize,
}

/// An OpenAI embeddings response.
#[derive(Serialize, ToSchema, Debug)]
pub struct EmbeddingResponse {
    /// Always `list`.
    pub object: &'static str,
    /// One entry per input, in input order.
    pub data: Vec<EmbeddingData>,
    /// The request's `model`, or the server's model name.
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
}

/// OpenAI-compatible embeddings.
#[utoipa::path(
    post,
    path = "/v1/embeddings",
    tag = "openai",
    request_body = EmbeddingRequest,
    responses(
        (status = 200, description = "Embeddings in input order", body = EmbeddingResponse),
        (status = 400, description = "The body is not JSON", body = ErrorResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorResponse),
        (status = 408, description = "The body was not received in time", body = ErrorResponse),
        (status = 413, description = "The body is over the limit", body = ErrorResponse),
        (status = 422, description = "A field is wrong", body = ErrorResponse),
        (status = 424, description = "The model is a cross-encoder, not an embedding model", body = ErrorResponse),
        (status = 429, description = "Too many requests in flight, or the queue is full", body = ErrorResponse,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "Shutting down", body = ErrorResponse),
    ),
    security((), ("api_key" = []))
)]
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<EmbeddingResponse>, ApiError> {
    let _in_flight = state.admit()?;
    let (parts, body) = req.into_parts();
    let r: EmbeddingRequest = read_json(
        &parts.headers,
        body,
        state.limits.body_limit,
        state.limits.read_timeout,
    )
    .await?;
    let params = Params {
        truncate: r.truncate.unwrap_or(false),
        prompt_name: r.prompt_name,
        dimensions: r.dimensions,
        normalize: state.model.info().normalize || r.dimensions.is_some(),
        field: "input",
    };
    let out = embed(&state, r.input, params).await?;
    let base64 = r.encoding_format == Some(EncodingFormat::Base64);
    let data = out
        .rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| EmbeddingData {
            object: "embedding",
            index,
            embedding: if base64 {
                EmbeddingValue::Base64(to_base64(&row))
            } else {
                EmbeddingValue::Float(row)
            },
        })
        .collect();
    Ok(Json(EmbeddingResponse {
        object: "list",
        data,
        model: r.model.unwrap_or_else(|| state.model_name.clone()),
        usage: Usage {
            prompt_tokens: out.tokens,
            total_tokens: out.tokens,
        },
    }))
}

/// Base64 of the little-endian bytes of `row`.
pub fn to_base64(row: &[f32]) -> String {
    let bytes: Vec<u8> = row.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(to_base64(&[1.0]), "AACAPw==");
        let r: EmbeddingRequest =
            serde_json::from_str(r#"{"input": [[1, 2], [3]], "encoding_format": "base64"}"#)
                .unwrap();
        assert!(matches!(r.input, Input::IdsBatch(ref b) if b.len() == 2));
        assert_eq!(r.encoding_format, Some(EncodingFormat::Base64));
        assert!(serde_json::from_str::<EmbeddingRequest>(
            r#"{"input": "a", "encoding_format": "hex"}"#
        )
        .is_err());
    }
}
