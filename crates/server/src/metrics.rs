//! Prometheus metrics, served as text by `GET /metrics`: requests by route and status, request
//! latency, requests in flight, queue depth, forward-pass sizes (sequences and tokens), tokens
//! embedded (`rate(qkv_tokens_total[1m])` is tokens/s; the last pass's rate is a gauge too), and
//! queued sequences dropped because their client went away, and the model's kind and precision
//! (`qkv_model_info`).

use prometheus::{
    exponential_buckets, Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The server's metrics and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route and status code.
    pub requests: IntCounterVec,
    /// Request latency in seconds, by route.
    pub latency: HistogramVec,
    /// Embedding and rerank requests holding a concurrency permit.
    pub in_flight: IntGauge,
    /// Sequences waiting in the batching queue.
    pub queue_sequences: IntGauge,
    /// Tokens waiting in the batching queue.
    pub queue_tokens: IntGauge,
    /// Sequences per forward pass.
    pub batch_size: Histogram,
    /// Tokens per forward pass.
    pub batch_tokens: Histogram,
    /// Tokens embedded, special tokens included.
    pub tokens: IntCounter,
    /// Tokens per second of the last forward pass.
    pub tokens_per_second: Gauge,
    /// Queued sequences dropped because their request was cancelled or failed.
    pub cancelled: IntCounter,
    /// 1, labelled with the model's kind and precision.
    pub model: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "qkv_requests_total",
                "Requests answered, by route and status",
            ),
            &["route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "qkv_request_duration_seconds",
                "Request latency, from headers received to response ready",
            )
            .buckets(exponential_buckets(0.001, 2.0, 16)?),
            &["route"],
        )?;
        let in_flight = IntGauge::new(
            "qkv_requests_in_flight",
            "Embedding and rerank requests in flight",
        )?;
        let queue_sequences = IntGauge::new(
            "qkv_queue_sequences",
            "Sequences waiting in the batching queue",
        )?;
        let queue_tokens =
            IntGauge::new("qkv_queue_tokens", "Tokens waiting in the batching queue")?;
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("qkv_batch_size", "Sequences per forward pass")
                .buckets(exponential_buckets(1.0, 2.0, 12)?),
        )?;
        let batch_tokens = Histogram::with_opts(
            HistogramOpts::new("qkv_batch_tokens", "Tokens per forward pass")
                .buckets(exponential_buckets(16.0, 2.0, 12)?),
        )?;
        let tokens = IntCounter::new("qkv_tokens_total", "Tokens embedded")?;
        let tokens_per_second = Gauge::new(
            "qkv_tokens_per_second",
            "Tokens per second of the last forward pass",
        )?;
        let cancelled = IntCounter::new(
            "qkv_cancelled_sequences_total",
            "Queued sequences dropped because their request was cancelled or failed",
        )?;
        let model = IntGaugeVec::new(
            Opts::new(
                "qkv_model_info",
                "The model served: 1, labelled with its kind and precision",
            ),
            &["kind", "precision"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(queue_sequences.clone()))?;
        registry.register(Box::new(queue_tokens.clone()))?;
        registry.register(Box::new(batch_size.clone()))?;
        registry.register(Box::new(batch_tokens.clone()))?;
        registry.register(Box::new(tokens.clone()))?;
        registry.register(Box::new(tokens_per_second.clone()))?;
        registry.register(Box::new(cancelled.clone()))?;
        registry.register(Box::new(model.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            in_flight,
            queue_sequences,
            queue_tokens,
            batch_size,
            batch_tokens,
            tokens,
            tokens_per_second,
            cancelled,
            model,
        })
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding to a Vec<u8> cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_metrics() {
        let m = Metrics::new().unwrap();
        m.requests.with_label_values(&["/embed", "200"]).inc();
        m.batch_size.observe(3.0);
        let text = m.render();
        assert!(
            text.contains("qkv_requests_total{route=\"/embed\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("qkv_batch_size_count 1"), "{text}");
        assert!(text.contains("# TYPE qkv_queue_sequences gauge"), "{text}");
    }
}
