//! Dynamic batching: one FIFO queue of tokenized inputs from every request, and one worker
//! thread that cuts it into forward passes by a token budget.
//!
//! A request's inputs enter the queue together (or not at all: 429 when the queue's token
//! limit would be passed). The worker takes inputs from the front while the pass stays within
//! `max_batch_tokens` (the first input always fits: the input limit is at most the budget),
//! runs one packed forward pass — no padding, so a pass costs the tokens it holds — and writes
//! each row into its request's result; a request is answered when its last row is in. A
//! request whose client went away (its receiver dropped) is skipped when its inputs reach the
//! front, so a disconnect cancels the work still queued.
//!
//! Rows do not depend on what else is in the pass (qkv-encoder's packed forward pass keeps
//! every row's arithmetic independent of its neighbours), so batching never changes a result.
//! The forward pass itself runs on the rayon pool; the model needs no lock of ours.

use crate::error::Error;
use crate::metrics::Metrics;
use crate::model::{with_threads, Model, Seq};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::oneshot;

/// What the worker runs: one packed forward pass, rows `[n, dim]` in input order.
pub trait Backend: Send + Sync + 'static {
    /// Embedding width.
    fn dim(&self) -> usize;
    /// Pooled rows of `seqs`.
    fn embed(&self, seqs: Vec<Seq>) -> Result<Vec<f32>, String>;
}

impl Backend for Model {
    fn dim(&self) -> usize {
        self.info().dim
    }
    fn embed(&self, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
        Model::embed(self, seqs)
    }
}

/// The rows of one request (`[n, dim]`), or why the model failed.
pub type JobResult = Result<Vec<f32>, String>;

/// Why a request was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue holds too many tokens already.
    Full,
    /// The server is shutting down, or the worker died.
    Closed,
}

/// One request's results as they come in.
struct JobState {
    out: Vec<f32>,
    remaining: usize,
    reply: Option<oneshot::Sender<JobResult>>,
}

/// Where a row goes: its request and its row there.
type Slot = (Arc<Mutex<JobState>>, usize);

/// One input in the queue: which request, which row.
struct Entry {
    seq: Seq,
    job: Arc<Mutex<JobState>>,
    row: usize,
}

impl Entry {
    /// The request was answered (with an error) or its client went away.
    fn cancelled(&self) -> bool {
        lock(&self.job)
            .reply
            .as_ref()
            .is_none_or(oneshot::Sender::is_closed)
    }
}

struct Queue {
    entries: VecDeque<Entry>,
    tokens: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    healthy: AtomicBool,
    metrics: Arc<Metrics>,
    max_batch_tokens: usize,
    max_queue_tokens: usize,
    dim: usize,
}

/// A mutex whose data stays consistent even if a holder panicked (every critical section
/// here leaves it whole), so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The queue and its worker thread.
pub struct Batcher {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Batcher {
    /// Starts the worker on `backend`, running forward passes on `threads` threads.
    pub fn start<B: Backend>(
        backend: Arc<B>,
        max_batch_tokens: usize,
        max_queue_tokens: usize,
        threads: Option<usize>,
        metrics: Arc<Metrics>,
    ) -> Result<Batcher, Error> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                entries: VecDeque::new(),
                tokens: 0,
                closed: false,
            }),
            wake: Condvar::new(),
            healthy: AtomicBool::new(true),
            metrics,
            max_batch_tokens,
            max_queue_tokens,
            dim: backend.dim(),
        });
        let s = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("qkv-batcher".into())
            .spawn(move || {
                if let Err(e) = with_threads(threads, || work(&s, &*backend)) {
                    tracing::error!(error = %e, "batching worker could not start");
                }
                // However the worker ends, nothing more is taken: fail what is left.
                s.healthy.store(false, Ordering::SeqCst);
                let mut q = lock(&s.queue);
                q.closed = true;
                q.entries.clear();
            })
            .map_err(|e| Error::Worker(e.to_string()))?;
        Ok(Batcher {
            shared,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues a request's inputs; the receiver gets its rows `[seqs.len(), dim]`. Dropping
    /// the receiver cancels the inputs still queued.
    pub fn submit(&self, seqs: Vec<Seq>) -> Result<oneshot::Receiver<JobResult>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        let tokens: usize = seqs.iter().map(Seq::len).sum();
        let n = seqs.len();
        let job = Arc::new(Mutex::new(JobState {
            out: vec![0.0; n * self.shared.dim],
            remaining: n,
            reply: Some(tx),
        }));
        if n == 0 {
            let _ = lock(&job).reply.take().map(|r| r.send(Ok(Vec::new())));
            return Ok(rx);
        }
        let mut q = lock(&self.shared.queue);
        if q.closed {
            return Err(SubmitError::Closed);
        }
        // An empty queue takes any request (its inputs are within the input limit).
        if !q.entries.is_empty() && q.tokens + tokens > self.shared.max_queue_tokens {
            return Err(SubmitError::Full);
        }
        q.entries
            .extend(seqs.into_iter().enumerate().map(|(row, seq)| Entry {
                seq,
                job: Arc::clone(&job),
                row,
            }));
        q.tokens += tokens;
        self.shared
            .metrics
            .queue_sequences
            .set(q.entries.len() as i64);
        self.shared.metrics.queue_tokens.set(q.tokens as i64);
        drop(q);
        self.shared.wake.notify_one();
        Ok(rx)
    }

    /// False once the worker has died (it never does unless the model panics).
    pub fn is_healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::SeqCst)
    }

    /// Stops taking requests, lets the worker finish what is queued, and waits for it.
    pub fn shutdown(&self) -> Result<(), Error> {
        lock(&self.shared.queue).closed = true;
        self.shared.wake.notify_all();
        let handle = lock(&self.worker).take();
        match handle {
            Some(h) => h
                .join()
                .map_err(|_| Error::Worker("the batching thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The worker: wait for inputs, cut a pass, run it, hand out the rows; until closed and empty.
fn work<B: Backend>(s: &Shared, backend: &B) {
    let d = backend.dim();
    while let Some(batch) = next_batch(s) {
        let (seqs, slots): (Vec<Seq>, Vec<Slot>) =
            batch.into_iter().map(|e| (e.seq, (e.job, e.row))).unzip();
        let tokens: usize = seqs.iter().map(Seq::len).sum();
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| backend.embed(seqs)))
            .unwrap_or_else(|_| Err("the model panicked".into()));
        let secs = start.elapsed().as_secs_f64();
        let m = &s.metrics;
        m.batch_size.observe(slots.len() as f64);
        m.batch_tokens.observe(tokens as f64);
        match result {
            Ok(rows) if rows.len() == slots.len() * d => {
                m.tokens.inc_by(tokens as u64);
                m.tokens_per_second.set(tokens as f64 / secs.max(1e-9));
                for ((job, row), data) in slots.iter().zip(rows.chunks_exact(d.max(1))) {
                    deliver(job, *row, data, d);
                }
            }
            other => {
                let msg = match other {
                    Err(e) => e,
                    Ok(rows) => format!(
                        "the model returned {} values for {} rows",
                        rows.len(),
                        slots.len()
                    ),
                };
                tracing::error!(error = %msg, "forward pass failed");
                if msg.contains("panicked") {
                    s.healthy.store(false, Ordering::SeqCst);
                }
                for (job, _) in &slots {
                    if let Some(r) = lock(job).reply.take() {
                        let _ = r.send(Err(msg.clone()));
                    }
                }
            }
        }
    }
}

/// Writes one row into its request and answers the request when it is complete.
fn deliver(job: &Mutex<JobState>, row: usize, data: &[f32], d: usize) {
    let mut j = lock(job);
    if j.reply.is_none() {
        return;
    }
    if let Some(dst) = j.out.get_mut(row * d..(row + 1) * d) {
        dst.copy_from_slice(data);
    }
    j.remaining -= 1;
    if j.remaining == 0 {
        let out = std::mem::take(&mut j.out);
        if let Some(r) = j.reply.take() {
            let _ = r.send(Ok(out));
        }
    }
}

/// Blocks until inputs are queued, then takes the longest prefix of the queue within the
/// token budget (cancelled inputs are dropped on the way). `None` once closed and empty.
fn next_batch(s: &Shared) -> Option<Vec<Entry>> {
    let mut q = lock(&s.queue);
    loop {
        let mut batch = Vec::new();
        let mut tokens = 0;
        while let Some(e) = q.entries.front() {
            let len = e.seq.len();
            if e.cancelled() {
                q.entries.pop_front();
                q.tokens -= len;
                s.metrics.cancelled.inc();
                continue;
            }
            if !batch.is_empty() && tokens + len > s.max_batch_tokens {
                break;
            }
            tokens += len;
            q.tokens -= len;
            batch.extend(q.entries.pop_front());
        }
        s.metrics.queue_sequences.set(q.entries.len() as i64);
        s.metrics.queue_tokens.set(q.tokens as i64);
        if !batch.is_empty() {
            return Some(batch);
        }
        if q.closed {
            return None;
        }
        q = s.wake.wait(q).unwrap_or_else(|p| p.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::mpsc;

    fn tiny() -> Model {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert");
        Model::open(&dir, Ok).unwrap()
    }

    /// The tiny model behind a gate: each pass reports its sizes, then waits for the test
    /// to open the gate (dropping the gate's sender opens it for good).
    struct Gated {
        model: Model,
        entered: Mutex<mpsc::Sender<Vec<usize>>>,
        gate: Mutex<mpsc::Receiver<()>>,
    }

    impl Backend for Gated {
        fn dim(&self) -> usize {
            self.model.info().dim
        }
        fn embed(&self, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
            let _ = lock(&self.entered).send(seqs.iter().map(Seq::len).collect());
            let _ = lock(&self.gate).recv();
            self.model.embed(seqs)
        }
    }

    fn gated() -> (Arc<Gated>, mpsc::Receiver<Vec<usize>>, mpsc::Sender<()>) {
        let (etx, erx) = mpsc::channel();
        let (gtx, grx) = mpsc::channel();
        let g = Gated {
            model: tiny(),
            entered: Mutex::new(etx),
            gate: Mutex::new(grx),
        };
        (Arc::new(g), erx, gtx)
    }

    fn seqs(m: &Model, texts: &[&str]) -> Vec<Seq> {
        texts
            .iter()
            .map(|t| m.tokenize(t, None, true).unwrap())
            .collect()
    }

    const SECOND: std::time::Duration = std::time::Duration::from_secs(10);

    #[test]
    fn passes_respect_the_token_budget_and_rows_match_unbatched_embeddings() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(Arc::clone(&g), 20, 1000, Some(1), Arc::clone(&metrics)).unwrap();
        // The first request occupies the worker, so the next ones queue up behind it.
        let first = b.submit(seqs(&g.model, &["hold"])).unwrap();
        assert_eq!(entered.recv_timeout(SECOND).unwrap().len(), 1);
        let texts_a = ["the cat sat on the mat", "a dog", "x"];
        let texts_b = ["another longer sentence with several words in it", "y"];
        let ra = b.submit(seqs(&g.model, &texts_a)).unwrap();
        let rb = b.submit(seqs(&g.model, &texts_b)).unwrap();
        drop(gate);
        let mut passes = Vec::new();
        while let Ok(p) = entered.recv_timeout(std::time::Duration::from_millis(500)) {
            passes.push(p);
        }
        for p in &passes {
            assert!(p.len() == 1 || p.iter().sum::<usize>() <= 20, "{passes:?}");
        }
        assert_eq!(passes.iter().map(Vec::len).sum::<usize>(), 5, "{passes:?}");
        let d = g.model.info().dim;
        for (rx, texts) in [(ra, &texts_a[..]), (rb, &texts_b[..])] {
            let got = rx.blocking_recv().unwrap().unwrap();
            assert_eq!(got.len(), texts.len() * d);
            for (i, t) in texts.iter().enumerate() {
                let alone = g.model.embed(seqs(&g.model, &[t])).unwrap();
                assert_eq!(&got[i * d..(i + 1) * d], &alone[..], "row {i} of {texts:?}");
            }
        }
        assert!(first.blocking_recv().unwrap().is_ok());
        assert_eq!(metrics.tokens.get() as usize, {
            let all: Vec<&str> = ["hold"]
                .iter()
                .chain(&texts_a)
                .chain(&texts_b)
                .copied()
                .collect();
            seqs(&g.model, &all).iter().map(Seq::len).sum::<usize>()
        });
    }

    #[test]
    fn a_dropped_receiver_cancels_queued_inputs() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(Arc::clone(&g), 1000, 1000, None, Arc::clone(&metrics)).unwrap();
        let first = b.submit(seqs(&g.model, &["hold"])).unwrap();
        entered.recv_timeout(SECOND).unwrap();
        let gone = b.submit(seqs(&g.model, &["a", "b", "c"])).unwrap();
        let kept = b.submit(seqs(&g.model, &["d"])).unwrap();
        drop(gone); // the client went away
        drop(gate);
        assert!(kept.blocking_recv().unwrap().is_ok());
        assert!(first.blocking_recv().unwrap().is_ok());
        // Only "d" reached the model after the first pass; "a", "b", "c" were dropped.
        assert_eq!(entered.recv_timeout(SECOND).unwrap().len(), 1);
        assert_eq!(metrics.cancelled.get(), 3);
        assert_eq!(metrics.queue_sequences.get(), 0);
    }

    #[test]
    fn a_full_queue_refuses_and_shutdown_drains() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(Arc::clone(&g), 1000, 8, None, metrics).unwrap();
        // An empty queue takes a request over the limit.
        let first = b
            .submit(seqs(&g.model, &["one two three four five six seven"]))
            .unwrap();
        entered.recv_timeout(SECOND).unwrap();
        let queued = b.submit(seqs(&g.model, &["a b c"])).unwrap(); // 5 tokens
        assert_eq!(
            b.submit(seqs(&g.model, &["d e f"])).unwrap_err(),
            SubmitError::Full
        );
        lock(&b.shared.queue).closed = true;
        assert_eq!(
            b.submit(seqs(&g.model, &["g"])).unwrap_err(),
            SubmitError::Closed
        );
        drop(gate);
        b.shutdown().unwrap();
        // Shutdown finished what was queued before it returned.
        assert!(first.blocking_recv().unwrap().is_ok());
        assert!(queued.blocking_recv().unwrap().is_ok());
        assert!(!b.is_healthy());
    }
}
