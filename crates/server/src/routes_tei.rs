//! text-embeddings-inference's routes: `POST /embed` (rows as JSON arrays, normalized unless
//! `normalize: false`) and `POST /rerank` (a cross-encoder's scores of `(query, text)` pairs,
//! best first). Each answers 424 when the model is of the other kind: `/rerank` on an
//! embedding model (as text-embeddings-inference does), `/embed` on a cross-encoder. Rerank
//! pairs go through the same batching queue as embeddings.

use crate::api_error::{ApiError, ErrorResponse};
use crate::body::read_json;
use crate::embed::{embed, Input, Params};
use crate::model::{Kind, Task};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

fn yes() -> bool {
    true
}

/// A text-embeddings-inference `/embed` request.
#[derive(Deserialize, ToSchema, Debug)]
pub struct EmbedRequest {
    /// The texts or token ids to embed.
    pub inputs: Input,
    /// L2-normalize each row (default true).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub normalize: bool,
    /// Cut inputs over `--max-input-tokens` instead of refusing them (default false).
    #[serde(default)]
    pub truncate: Option<bool>,
    /// A prompt from the model directory's `config_sentence_transformers.json`.
    #[serde(default)]
    pub prompt_name: Option<String>,
    /// Keep the first `dimensions` values (then normalize, when `normalize`).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub dimensions: Option<u64>,
}

/// Embeddings, one array per input.
#[utoipa::path(
    post,
    path = "/embed",
    tag = "tei",
    request_body = EmbedRequest,
    responses(
        (status = 200, description = "One embedding per input, in input order", body = Vec<Vec<f32>>),
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
pub async fn embed_route(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<Vec<Vec<f32>>>, ApiError> {
    let _in_flight = state.admit()?;
    let (parts, body) = req.into_parts();
    let r: EmbedRequest = read_json(
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
        normalize: r.normalize,
        field: "inputs",
    };
    Ok(Json(embed(&state, r.inputs, params).await?.rows))
}

/// A text-embeddings-inference `/rerank` request.
#[derive(Deserialize, ToSchema, Debug)]
pub struct RerankRequest {
    /// The query.
    pub query: String,
    /// The texts to score against the query.
    #[schema(min_items = 1)]
    pub texts: Vec<String>,
    /// Raw logits instead of sigmoid scores.
    #[serde(default)]
    pub raw_scores: bool,
    /// Echo each text beside its score.
    #[serde(default)]
    pub return_text: bool,
    /// Cut pairs over `--max-input-tokens` instead of refusing them (default false).
    #[serde(default)]
    pub truncate: Option<bool>,
}

/// One scored text.
#[derive(Serialize, ToSchema, Debug)]
pub struct Rank {
    /// Position of the text in the request.
    pub index: usize,
    /// Relevance: sigmoid of the logit, or the logit with `raw_scores`.
    pub score: f32,
    /// The text, with `return_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Texts ranked by a cross-encoder's relevance to the query, best first.
#[utoipa::path(
    post,
    path = "/rerank",
    tag = "tei",
    request_body = RerankRequest,
    responses(
        (status = 200, description = "Texts ranked best first", body = Vec<Rank>),
        (status = 400, description = "The body is not JSON", body = ErrorResponse),
        (status = 401, description = "Missing or wrong API key", body = ErrorResponse),
        (status = 408, description = "The body was not received in time", body = ErrorResponse),
        (status = 413, description = "The body is over the limit", body = ErrorResponse),
        (status = 422, description = "A field is wrong", body = ErrorResponse),
        (status = 424, description = "The model is not a cross-encoder", body = ErrorResponse),
        (status = 429, description = "Too many requests in flight, or the queue is full", body = ErrorResponse,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "Shutting down", body = ErrorResponse),
    ),
    security((), ("api_key" = []))
)]
pub async fn rerank(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<Vec<Rank>>, ApiError> {
    let _in_flight = state.admit()?;
    let (parts, body) = req.into_parts();
    let r: RerankRequest = read_json(
        &parts.headers,
        body,
        state.limits.body_limit,
        state.limits.read_timeout,
    )
    .await?;
    let max = state.limits.max_client_batch_size;
    if r.texts.is_empty() || r.texts.len() > max {
        return Err(ApiError::invalid_param(
            "texts",
            format!(
                "{} texts: give 1..={max} (--max-client-batch-size)",
                r.texts.len()
            ),
        ));
    }
    if state.model.info().kind != Kind::Reranker {
        return Err(ApiError::model_cannot(
            "the model is an embedding model, not a cross-encoder (re-ranker): /rerank needs one",
        ));
    }
    let RerankRequest {
        query,
        texts,
        raw_scores,
        return_text,
        truncate,
    } = r;
    let model = Arc::clone(&state.model);
    let truncate = truncate.unwrap_or(false);
    let (seqs, texts) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        (model.tokenize_pairs(&query, &refs, truncate), texts)
    })
    .await
    .map_err(|e| ApiError::internal(format!("tokenizer task failed: {e}")))?;
    let seqs = seqs.map_err(|e| ApiError::invalid_param("texts", e.msg))?;
    let scores = state.run(seqs, Task::Score { raw: raw_scores }).await?;
    Ok(Json(rank(scores, texts, return_text)))
}

/// Orders the scores best first (ties by index), with the texts when asked.
pub fn rank(scores: Vec<f32>, texts: Vec<String>, return_text: bool) -> Vec<Rank> {
    let mut out: Vec<Rank> = scores
        .into_iter()
        .zip(texts)
        .enumerate()
        .map(|(index, (score, t))| Rank {
            index,
            score,
            text: return_text.then_some(t),
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_sorts_best_first_ties_by_index() {
        let r = rank(
            vec![-1.0, 2.0, 2.0],
            vec!["a".into(), "b".into(), "c".into()],
            true,
        );
        assert_eq!(r.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(r[0].score, 2.0);
        assert_eq!(r[2].text.as_deref(), Some("a"));
        let plain = rank(vec![0.5], vec!["a".into()], false);
        assert!(plain[0].text.is_none());
    }

    #[test]
    fn embed_request_defaults_to_normalize() {
        let r: EmbedRequest = serde_json::from_str(r#"{"inputs": "x"}"#).unwrap();
        assert!(r.normalize && r.truncate.is_none());
    }
}
