//! # qkv-server
//!
//! `qkv serve`: a sentence-embedding and reranking server over `qkv-encoder`, with the routes
//! users of OpenAI's API and of Hugging Face's text-embeddings-inference already know.
//!
//! The model directory decides what is served: an embedding model (`SentenceEncoder`:
//! `/embed`, `/v1/embeddings`) or, when `config.json`'s `architectures` names a one-label
//! `*ForSequenceClassification` model, a cross-encoder (`CrossEncoder`: `/rerank`); the other
//! kind's routes answer 424. [`ServerConfig::precision`] loads the linear layers at f32, bf16
//! or int8 (a directory written by `qkv quantize` loads at its saved precision).
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/embeddings` | OpenAI's embeddings API (`input`, `model`, `encoding_format`, `dimensions`) |
//! | `POST /embed` | text-embeddings-inference's (`inputs`, `normalize`, `truncate`, `prompt_name`, `dimensions`) |
//! | `POST /rerank` | text-embeddings-inference's (`query`, `texts`, `raw_scores`, `return_text`, `truncate`) |
//! | `GET /health` | 200 once the model is loaded and warmed up |
//! | `GET /info` | model, kind, dimension, precision, limits, version |
//! | `GET /metrics` | Prometheus text |
//! | `GET /openapi.json` | the OpenAPI 3.1 document of all of it |
//!
//! **Batching.** Requests from every client (texts or rerank pairs) wait in one queue; one
//! worker cuts it into forward passes by a token budget (`max_batch_tokens`), packed without
//! padding, and hands each request its rows in order. A row never depends on its batch
//! neighbours, so a served embedding equals `SentenceEncoder::embed_with`'s and a served score
//! `CrossEncoder::score_with`'s bit for bit. A client that disconnects cancels its queued
//! inputs.
//!
//! **Limits.** 429 with `Retry-After` beyond `max_concurrent_requests` or at a full queue, 413
//! over the body limit, 408 for a body that does not arrive in time, 400/422 with OpenAI's
//! `{"error": {...}}` for bad JSON or fields, 401 without the API key. No client mistake gives a
//! 5xx. On SIGTERM or SIGINT the server stops accepting, finishes what is in flight and returns.
//! The server keeps no state between requests: scale out with replicas behind a load balancer.
//!
//! ```no_run
//! use qkv_server::{Server, ServerConfig};
//!
//! # async fn run() -> Result<(), qkv_server::Error> {
//! let mut config = ServerConfig::new("all-MiniLM-L6-v2");
//! config.port = 0; // any free port
//! config.max_batch_tokens = 8192;
//! let server = Server::bind(config).await?; // loads and warms up the model
//! println!("listening on http://{}", server.local_addr());
//! server.run(qkv_server::shutdown_signal()).await // until SIGTERM or Ctrl-C
//! # }
//! ```
//!
//! From a synchronous `main`, [`run_until_signal`] builds the runtime, sets up logging and
//! does the above (it is what `qkv serve` calls).

mod api_error;
mod app;
mod batch_queue;
mod batch_worker;
mod batcher;
mod body;
mod config;
mod embed;
mod error;
mod input_cut;
mod metrics;
mod middleware;
mod model;
mod model_path;
mod openapi;
mod routes_meta;
mod routes_openai;
mod routes_tei;
mod server;
mod state;

pub use config::{
    ServerConfig, DEFAULT_BODY_LIMIT, DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_CLIENT_BATCH_SIZE,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
};
pub use error::Error;
pub use qkv_encoder::Precision;
pub use server::{shutdown_signal, Server, GRACE};

use std::io::IsTerminal;

/// The OpenAPI document the server serves at `/openapi.json`, as JSON text.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    openapi::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Logs to stderr: one line per request and the startup lines, at `info` unless `RUST_LOG`
/// says otherwise. Does nothing when a global subscriber is already set.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Sets up logging, builds a multi-threaded tokio runtime, starts the server and serves until
/// SIGTERM or SIGINT; returns once the requests in flight are finished.
pub fn run_until_signal(config: ServerConfig) -> Result<(), Error> {
    init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("qkv-http")
        .build()
        .map_err(|e| Error::Worker(format!("cannot start the tokio runtime: {e}")))?;
    rt.block_on(async {
        let shutdown = shutdown_signal();
        Server::bind(config).await?.run(shutdown).await
    })
}
