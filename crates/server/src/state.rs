//! What every handler shares: the model, the batching queue, the metrics, the concurrency
//! permits and the limits. Nothing here outlives a request but counters: the server is
//! stateless, so replicas behind a load balancer need no coordination.

use crate::api_error::ApiError;
use crate::batch_queue::SubmitError;
use crate::batcher::Batcher;
use crate::metrics::Metrics;
use crate::model::{Model, Seq, Task};
use prometheus::IntGauge;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits requests are checked against.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most inputs per request.
    pub max_client_batch_size: usize,
    /// Most embedding/rerank requests in flight.
    pub max_concurrent_requests: usize,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
    /// Most tokens queued.
    pub max_queue_tokens: usize,
    /// Largest body, in bytes.
    pub body_limit: usize,
    /// Time to receive a body.
    pub read_timeout: Duration,
}

/// Shared by all handlers.
pub struct AppState {
    /// The model (tokenizer and forward pass).
    pub model: Arc<Model>,
    /// The batching queue in front of the model.
    pub batcher: Batcher,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// One permit per request in flight.
    pub permits: Arc<Semaphore>,
    /// Request limits.
    pub limits: Limits,
    /// The API key, when one is required.
    pub api_key: Option<String>,
    /// The model's name, echoed when a request names none.
    pub model_name: String,
}

/// A request's place among those in flight; dropping it frees the place.
pub struct InFlight {
    _permit: OwnedSemaphorePermit,
    gauge: IntGauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

impl AppState {
    /// Takes a place among the requests in flight, or answers 429 at once.
    pub fn admit(&self) -> Result<InFlight, ApiError> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            ApiError::overloaded(format!(
                "the server has {} requests in flight (--max-concurrent-requests): retry later",
                self.limits.max_concurrent_requests
            ))
        })?;
        self.metrics.in_flight.inc();
        Ok(InFlight {
            _permit: permit,
            gauge: self.metrics.in_flight.clone(),
        })
    }

    /// Runs a request's inputs through the batching queue as `task`: its rows `[n, width]`,
    /// 429 when the queue is full, 503 when the server is shutting down. Dropping the future
    /// (the client went away) cancels the inputs still queued.
    pub async fn run(&self, seqs: Vec<Seq>, task: Task) -> Result<Vec<f32>, ApiError> {
        let rx = self.batcher.submit(seqs, task).map_err(|e| match e {
            SubmitError::Full => ApiError::overloaded(format!(
                "the queue holds {} tokens (--max-queue-tokens): retry later",
                self.limits.max_queue_tokens
            )),
            SubmitError::Closed => ApiError::unavailable("the server is shutting down"),
        })?;
        match rx.await {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(msg)) => Err(ApiError::internal(format!("the model failed: {msg}"))),
            Err(_) => Err(ApiError::unavailable("the server is shutting down")),
        }
    }
}
