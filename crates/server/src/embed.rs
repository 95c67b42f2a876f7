//! The embedding pipeline both embedding routes share: validate the inputs, tokenize them
//! (off the async threads), queue them for the batcher, wait for the rows, and finish each row
//! (`dimensions`, normalization).

use crate::api_error::ApiError;
use crate::batcher::SubmitError;
use crate::model::{Model, Seq};
use crate::state::AppState;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// The inputs of one request: one text, several texts, one token-id sequence or several.
/// Token ids are used as they are: include the model's special tokens (`[CLS]`, `[SEP]`).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum Input {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One sequence of token ids.
    Ids(Vec<u32>),
    /// Several sequences of token ids.
    IdsBatch(Vec<Vec<u32>>),
}

/// `oneOf` the four forms, arrays non-empty (written by hand: the derive cannot put
/// `minItems` on a variant).
impl utoipa::PartialSchema for Input {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let id = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(0))
                .maximum(Some(u32::MAX))
        };
        let ids = || ArrayBuilder::new().items(id()).min_items(Some(1));
        OneOfBuilder::new()
            .item(text())
            .item(ArrayBuilder::new().items(text()).min_items(Some(1)))
            .item(ids())
            .item(ArrayBuilder::new().items(ids()).min_items(Some(1)))
            .description(Some(
                "A text, an array of texts, an array of token ids, or an array of arrays of \
                 token ids (used as given: include the special tokens).",
            ))
            .into()
    }
}

impl ToSchema for Input {}

impl Input {
    /// How many inputs.
    pub fn len(&self) -> usize {
        match self {
            Input::Text(_) | Input::Ids(_) => 1,
            Input::Texts(t) => t.len(),
            Input::IdsBatch(b) => b.len(),
        }
    }
}

/// How to embed.
#[derive(Debug, Clone)]
pub struct Params {
    /// Cut inputs over the limit instead of refusing them.
    pub truncate: bool,
    /// A prompt the model directory defines, prepended to every text.
    pub prompt_name: Option<String>,
    /// Keep only the first `dimensions` values (Matryoshka), then normalize.
    pub dimensions: Option<u64>,
    /// L2-normalize each row.
    pub normalize: bool,
    /// The request field that holds the inputs (for error messages).
    pub field: &'static str,
}

/// The finished rows and the tokens they cost.
pub struct Embedded {
    /// One row per input, in input order.
    pub rows: Vec<Vec<f32>>,
    /// Tokens processed, special tokens included.
    pub tokens: usize,
}

/// Embeds a request's inputs through the batcher.
pub async fn embed(state: &Arc<AppState>, input: Input, p: Params) -> Result<Embedded, ApiError> {
    let n = input.len();
    if n == 0 {
        return Err(ApiError::invalid_param(
            p.field,
            format!("`{}` is empty", p.field),
        ));
    }
    let max = state.limits.max_client_batch_size;
    if n > max {
        return Err(ApiError::invalid_param(
            p.field,
            format!("{n} inputs in one request: the limit is {max} (--max-client-batch-size)"),
        ));
    }
    let dim = state.model.info().dim;
    let dims = match p.dimensions {
        None => dim,
        Some(k) if k >= 1 && k <= dim as u64 => k as usize,
        Some(k) => {
            return Err(ApiError::invalid_param(
                "dimensions",
                format!("dimensions = {k}: must be in 1..={dim}"),
            ))
        }
    };
    let model = Arc::clone(&state.model);
    let prompt_name = p.prompt_name.clone();
    let truncate = p.truncate;
    let seqs = tokio::task::spawn_blocking(move || tokenize(&model, input, prompt_name, truncate))
        .await
        .map_err(|e| ApiError::internal(format!("tokenizer task failed: {e}")))??;
    let tokens = seqs.iter().map(Seq::len).sum();
    let rx = state.batcher.submit(seqs).map_err(|e| match e {
        SubmitError::Full => ApiError::overloaded(format!(
            "the queue holds {} tokens (--max-queue-tokens): retry later",
            state.limits.max_queue_tokens
        )),
        SubmitError::Closed => ApiError::unavailable("the server is shutting down"),
    })?;
    let data = match rx.await {
        Ok(Ok(data)) => data,
        Ok(Err(msg)) => return Err(ApiError::internal(format!("the model failed: {msg}"))),
        Err(_) => return Err(ApiError::unavailable("the server is shutting down")),
    };
    let rows = data
        .chunks_exact(dim)
        .map(|r| {
            let mut row = r.to_vec();
            Model::finish_row(&mut row, dims, p.normalize);
            row
        })
        .collect();
    Ok(Embedded { rows, tokens })
}

/// Tokenizes every input (texts with the prompt; ids as they are).
fn tokenize(
    model: &Model,
    input: Input,
    prompt_name: Option<String>,
    truncate: bool,
) -> Result<Vec<Seq>, ApiError> {
    let bad = |e: crate::model::InputError| ApiError::invalid(e.0);
    let texts = |texts: Vec<String>| -> Result<Vec<Seq>, ApiError> {
        let prompt = model
            .prompt(prompt_name.as_deref())
            .map_err(|e| ApiError::invalid_param("prompt_name", e.0))?;
        texts
            .iter()
            .map(|t| model.tokenize(t, prompt, truncate).map_err(bad))
            .collect()
    };
    let ids = |batch: Vec<Vec<u32>>| -> Result<Vec<Seq>, ApiError> {
        if prompt_name.is_some() {
            return Err(ApiError::invalid_param(
                "prompt_name",
                "prompt_name applies to texts, not to token ids",
            ));
        }
        batch
            .into_iter()
            .map(|ids| model.seq_from_ids(ids, truncate).map_err(bad))
            .collect()
    };
    match input {
        Input::Text(t) => texts(vec![t]),
        Input::Texts(t) => texts(t),
        Input::Ids(i) => ids(vec![i]),
        Input::IdsBatch(b) => ids(b),
    }
}
