//! `qkv serve`: the embedding and reranking server of `qkv-server`, configured from the
//! command line.

use anyhow::Result;
use clap::Args;
use qkv_server::{Precision, ServerConfig};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `qkv serve` arguments.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Model directory (a sentence-transformers embedding model, or a one-label
    /// `*ForSequenceClassification` cross-encoder, served on /rerank), or a Hugging Face id
    /// already in the local cache.
    #[arg(long)]
    pub model: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0: any free port; the log line says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Precision of the model's linear layers: f32 (exact), bf16 or int8 (default: the
    /// directory's; a directory written by `qkv quantize` loads only at its own).
    #[arg(long, value_parser = crate::precision::parse)]
    pub precision: Option<Precision>,
    /// Threads for the forward passes (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Token budget of one forward pass.
    #[arg(long, default_value_t = qkv_server::DEFAULT_MAX_BATCH_TOKENS)]
    pub max_batch_tokens: usize,
    /// Most inputs in one request.
    #[arg(long, default_value_t = qkv_server::DEFAULT_MAX_CLIENT_BATCH_SIZE)]
    pub max_client_batch_size: usize,
    /// Most requests in flight; more get 429.
    #[arg(long, default_value_t = qkv_server::DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_requests: usize,
    /// Longest input in tokens (default: the model's max_seq_length).
    #[arg(long)]
    pub max_input_tokens: Option<usize>,
    /// Most tokens waiting in the queue; more get 429 (default: 4 × --max-batch-tokens).
    #[arg(long)]
    pub max_queue_tokens: Option<usize>,
    /// Require `Authorization: Bearer KEY` (every route but /health); the environment
    /// variable QKV_API_KEY is used when this is not given (it stays out of `ps`).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = qkv_server::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Seconds allowed to receive a request's headers, and then its body.
    #[arg(long, default_value_t = 10.0)]
    pub read_timeout: f64,
    /// Name reported by /info and echoed when a request names no model.
    #[arg(long)]
    pub model_name: Option<String>,
}

/// Runs `qkv serve` until SIGTERM or SIGINT.
pub fn run(a: ServeArgs) -> Result<()> {
    if let Some(p) = a.precision {
        crate::precision::warn_if_slow(p);
    }
    let read_timeout = Duration::try_from_secs_f64(a.read_timeout)
        .map_err(|e| anyhow::anyhow!("--read-timeout {}: {e}", a.read_timeout))?;
    let mut c = ServerConfig::new(a.model);
    c.host = a.host;
    c.port = a.port;
    c.precision = a.precision;
    c.threads = a.threads;
    c.max_batch_tokens = a.max_batch_tokens;
    c.max_client_batch_size = a.max_client_batch_size;
    c.max_concurrent_requests = a.max_concurrent_requests;
    c.max_input_tokens = a.max_input_tokens;
    c.max_queue_tokens = a.max_queue_tokens;
    c.api_key = a
        .api_key
        .or_else(|| std::env::var("QKV_API_KEY").ok().filter(|k| !k.is_empty()));
    c.body_limit = a.body_limit;
    c.read_timeout = read_timeout;
    c.model_name = a.model_name;
    qkv_server::run_until_signal(c)?;
    Ok(())
}
