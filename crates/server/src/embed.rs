//! The embedding pipeline both embedding routes share: validate the inputs, tokenize them with
//! the library (off the async threads), and run them through the batching queue as one
//! [`Task`] (prompt, `dimensions`, normalization: the library's options, so a served row equals
//! `SentenceEncoder`'s bit for bit).

use crate::api_error::ApiError;
use crate::model::{InputError, Kind, Model, Seq, Task};
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
    let no_tokens = match &input {
        Input::Ids(ids) => ids.is_empty(),
        Input::IdsBatch(batch) => batch.iter().any(Vec::is_empty),
        Input::Text(_) | Input::Texts(_) => false,
    };
    if no_tokens {
        return Err(ApiError::invalid_param(p.field, "an input has no tokens"));
    }
    let info = state.model.info();
    let dim = info.dim;
    let dimensions = match p.dimensions {
        None => None,
        Some(k) if k >= 1 && k <= dim as u64 => Some(k as usize),
        Some(k) => {
            return Err(ApiError::invalid_param(
                "dimensions",
                format!("dimensions = {k}: must be in 1..={dim}"),
            ))
        }
    };
    // After every check of the request itself: an invalid request is a 422 on any model.
    if info.kind != Kind::Embedding {
        return Err(ApiError::model_cannot(
            "the model is a cross-encoder (re-ranker), not an embedding model: use /rerank",
        ));
    }
    let model = Arc::clone(&state.model);
    let (prompt_name, truncate, normalize) = (p.prompt_name, p.truncate, p.normalize);
    let (seqs, task) = tokio::task::spawn_blocking(move || {
        tokenize(&model, input, prompt_name, dimensions, normalize, truncate)
    })
    .await
    .map_err(|e| ApiError::internal(format!("tokenizer task failed: {e}")))??;
    let tokens = seqs.iter().map(Seq::len).sum();
    let width = dimensions.unwrap_or(dim);
    let data = state.run(seqs, task).await?;
    let rows = data.chunks_exact(width).map(<[f32]>::to_vec).collect();
    Ok(Embedded { rows, tokens })
}

/// Tokenizes every input (texts with the prompt; ids as they are, with no prompt) and says
/// which task they run as.
fn tokenize(
    model: &Model,
    input: Input,
    prompt_name: Option<String>,
    dimensions: Option<usize>,
    normalize: bool,
    truncate: bool,
) -> Result<(Vec<Seq>, Task), ApiError> {
    let bad = |e: InputError| match e.param {
        Some(param) => ApiError::invalid_param(param, e.msg),
        None => ApiError::invalid(e.msg),
    };
    let texts = |texts: Vec<String>| {
        let task = Task::Embed {
            prompt_name: prompt_name.clone(),
            prompt: None,
            dimensions,
            normalize,
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let seqs = model.tokenize(&refs, &task, truncate).map_err(bad)?;
        Ok((seqs, task))
    };
    let ids = |batch: Vec<Vec<u32>>| {
        if prompt_name.is_some() {
            return Err(ApiError::invalid_param(
                "prompt_name",
                "prompt_name applies to texts, not to token ids",
            ));
        }
        let task = Task::Embed {
            prompt_name: None,
            prompt: Some(String::new()),
            dimensions,
            normalize,
        };
        let seqs = batch
            .into_iter()
            .map(|ids| model.seq_from_ids(ids, truncate).map_err(bad))
            .collect::<Result<_, _>>()?;
        Ok((seqs, task))
    };
    match input {
        Input::Text(t) => texts(vec![t]),
        Input::Texts(t) => texts(t),
        Input::Ids(i) => ids(vec![i]),
        Input::IdsBatch(b) => ids(b),
    }
}
