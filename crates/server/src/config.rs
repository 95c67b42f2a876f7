//! The server's settings: where to listen, which model, and every limit, with defaults close to
//! text-embeddings-inference's. Validated once, against the loaded model, at startup.

use crate::error::Error;
use qkv_encoder::Precision;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Everything `serve` needs. Build it with [`ServerConfig::new`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Model directory (sentence-transformers layout) or a Hugging Face id already present in
    /// the local Hugging Face cache (`org/name`).
    pub model: PathBuf,
    /// Name reported by `/info` and echoed when a request names no model (default: the
    /// directory's or id's last component).
    pub model_name: Option<String>,
    /// Address to bind.
    pub host: IpAddr,
    /// Port to bind (0: an ephemeral port, see [`crate::Server::local_addr`]).
    pub port: u16,
    /// Precision of the model's linear layers (`f32`, `bf16`, `int8`); `None`: the
    /// directory's (f32 for a plain checkpoint, the saved one for a directory written by
    /// `qkv quantize`, which loads only at it).
    pub precision: Option<Precision>,
    /// Threads for the forward passes (default: all cores).
    pub threads: Option<usize>,
    /// Token budget of one forward pass: queued inputs are packed until the next one would
    /// pass it.
    pub max_batch_tokens: usize,
    /// Most inputs in one request.
    pub max_client_batch_size: usize,
    /// Most embedding/rerank requests in flight; the next one gets 429.
    pub max_concurrent_requests: usize,
    /// Most tokens (special tokens included) of one input; longer ones are cut or refused as
    /// the request's `truncate` asks (default: the model's `max_seq_length`).
    pub max_input_tokens: Option<usize>,
    /// Most tokens waiting in the queue; a request that would pass it gets 429
    /// (default: 4 × `max_batch_tokens`: a few seconds of work, so an accepted request is not
    /// kept waiting long).
    pub max_queue_tokens: Option<usize>,
    /// Required as `Authorization: Bearer KEY` on every route but `/health`.
    pub api_key: Option<String>,
    /// Largest request body in bytes (413 beyond).
    pub body_limit: usize,
    /// Time allowed to receive a request's headers, and then its body (408 for a slow body).
    pub read_timeout: Duration,
}

/// Default token budget of one forward pass (text-embeddings-inference's).
pub const DEFAULT_MAX_BATCH_TOKENS: usize = 16384;
/// Default most inputs per request (text-embeddings-inference's).
pub const DEFAULT_MAX_CLIENT_BATCH_SIZE: usize = 32;
/// Default most requests in flight (text-embeddings-inference's).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;
/// Default queue limit, in forward passes' worth of tokens (`max_queue_tokens` =
/// `QUEUE_BATCHES × max_batch_tokens`).
pub const QUEUE_BATCHES: usize = 4;
/// Default body limit: 2 MB (text-embeddings-inference's `--payload-limit`).
pub const DEFAULT_BODY_LIMIT: usize = 2_000_000;

impl ServerConfig {
    /// Defaults for a model: 127.0.0.1:8080, the directory's precision, all cores, and the
    /// limits above.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        ServerConfig {
            model: model.into(),
            model_name: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            precision: None,
            threads: None,
            max_batch_tokens: DEFAULT_MAX_BATCH_TOKENS,
            max_client_batch_size: DEFAULT_MAX_CLIENT_BATCH_SIZE,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_input_tokens: None,
            max_queue_tokens: None,
            api_key: None,
            body_limit: DEFAULT_BODY_LIMIT,
            read_timeout: Duration::from_secs(10),
        }
    }

    /// Checks the settings that do not depend on the model.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Config(m));
        for (name, v) in [
            ("--max-batch-tokens", Some(self.max_batch_tokens)),
            ("--max-client-batch-size", Some(self.max_client_batch_size)),
            (
                "--max-concurrent-requests",
                Some(self.max_concurrent_requests),
            ),
            ("--threads", self.threads),
            ("--max-input-tokens", self.max_input_tokens),
            ("--max-queue-tokens", self.max_queue_tokens),
            ("body limit", Some(self.body_limit)),
        ] {
            if v == Some(0) {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.read_timeout.is_zero() {
            return bad("the read timeout must be positive".into());
        }
        if matches!(&self.api_key, Some(k) if k.is_empty()) {
            return bad("--api-key must not be empty".into());
        }
        Ok(())
    }

    /// The limits that depend on the model's longest input `model_max`: the input limit
    /// (`max_input_tokens`, at most `model_max` and `max_batch_tokens`) and the queue limit.
    pub(crate) fn resolve_limits(&self, model_max: usize) -> Result<(usize, usize), Error> {
        let max_input = self.max_input_tokens.unwrap_or(model_max);
        if max_input > model_max {
            return Err(Error::Config(format!(
                "--max-input-tokens {max_input} is more than the model takes ({model_max})"
            )));
        }
        let max_input = if self.max_input_tokens.is_none() {
            max_input.min(self.max_batch_tokens)
        } else {
            max_input
        };
        if max_input > self.max_batch_tokens {
            return Err(Error::Config(format!(
                "--max-input-tokens {max_input} is more than --max-batch-tokens {}: such an input could never be batched",
                self.max_batch_tokens
            )));
        }
        let queue = self
            .max_queue_tokens
            .unwrap_or(self.max_batch_tokens.saturating_mul(QUEUE_BATCHES));
        if queue < max_input {
            return Err(Error::Config(format!(
                "--max-queue-tokens {queue} is less than one input's {max_input} tokens"
            )));
        }
        Ok((max_input, queue))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_are_refused() {
        let mut c = ServerConfig::new("m");
        c.max_batch_tokens = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--max-batch-tokens"));
        let mut c = ServerConfig::new("m");
        c.api_key = Some(String::new());
        assert!(c.validate().is_err());
    }

    #[test]
    fn limits_resolve_against_the_model() {
        let mut c = ServerConfig::new("m");
        assert_eq!(c.resolve_limits(256).unwrap(), (256, 4 * 16384));
        c.max_input_tokens = Some(300);
        assert!(c.resolve_limits(256).is_err());
        c.max_input_tokens = Some(128);
        c.max_batch_tokens = 64;
        assert!(c.resolve_limits(256).is_err());
        c.max_input_tokens = None;
        assert_eq!(c.resolve_limits(256).unwrap(), (64, 256));
        c.max_queue_tokens = Some(10);
        assert!(c.resolve_limits(256).is_err());
    }
}
