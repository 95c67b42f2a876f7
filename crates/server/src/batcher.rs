//! Dynamic batching: one FIFO queue of tokenized inputs from every request (embeddings and
//! rerank pairs alike), and one worker thread that cuts it into forward passes by a token
//! budget. [`Batcher`] is the handlers' side: start the worker, submit a request, shut down.
//!
//! The worker ([`crate::batch_worker`]) takes inputs from the front while the pass stays
//! within `max_batch_tokens` (the first input always fits: the input limit is at most the
//! budget), runs packed forward passes — no padding, so a pass costs the tokens it holds — and
//! writes each row into its request's result; a request is answered when its last row is in.
//! The queue ([`crate::batch_queue`]) admits a request whole or answers 429, and drops the
//! inputs of requests whose client went away.

use crate::batch_queue::{lock, Job, JobResult, Queue, Shared, SubmitError};
use crate::batch_worker::{work, Backend};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::model::{with_threads, Seq, Task};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The queue and its worker thread.
pub struct Batcher {
    shared: Arc<Shared>,
    backend: Arc<dyn Backend>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Batcher {
    /// Starts the worker on `backend`, running forward passes on `threads` threads.
    pub fn start(
        backend: Arc<dyn Backend>,
        max_batch_tokens: usize,
        max_queue_tokens: usize,
        threads: Option<usize>,
        metrics: Arc<Metrics>,
    ) -> Result<Batcher, Error> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            healthy: AtomicBool::new(true),
            metrics,
            max_batch_tokens,
            max_queue_tokens,
        });
        let s = Arc::clone(&shared);
        let b = Arc::clone(&backend);
        let worker = std::thread::Builder::new()
            .name("qkv-batcher".into())
            .spawn(move || {
                if let Err(e) = with_threads(threads, || work(&s, &*b)) {
                    tracing::error!(error = %e, "batching worker could not start");
                }
                // However the worker ends, nothing more is taken: fail what is left.
                s.healthy.store(false, Ordering::SeqCst);
                let mut q = lock(&s.queue);
                q.closed = true;
                q.clear();
                q.report(&s.metrics);
            })
            .map_err(|e| Error::Worker(e.to_string()))?;
        Ok(Batcher {
            shared,
            backend,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues a request's inputs, all run as `task`; the receiver gets its rows
    /// `[seqs.len(), width]`. Dropping the receiver cancels the inputs still queued.
    pub fn submit(
        &self,
        seqs: Vec<Seq>,
        task: Task,
    ) -> Result<oneshot::Receiver<JobResult>, SubmitError> {
        let (tx, rx) = oneshot::channel();
        let width = self.backend.width(&task);
        let n = seqs.len();
        let job = Job::new(task, width, n, tx);
        if n == 0 {
            return Ok(rx);
        }
        let mut q = lock(&self.shared.queue);
        q.push(&job, seqs, self.shared.max_queue_tokens)?;
        q.report(&self.shared.metrics);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use qkv_encoder::LoadOptions;
    use std::path::Path;
    use std::sync::mpsc;

    fn tiny() -> Model {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert");
        Model::open(&dir, &LoadOptions::default(), Ok).unwrap()
    }

    fn embed(dimensions: Option<usize>) -> Task {
        Task::Embed {
            prompt_name: None,
            prompt: None,
            dimensions,
            normalize: true,
        }
    }

    /// The tiny model behind a gate: each pass reports its sizes, then waits for the test
    /// to open the gate (dropping the gate's sender opens it for good).
    struct Gated {
        model: Model,
        entered: Mutex<mpsc::Sender<Vec<usize>>>,
        gate: Mutex<mpsc::Receiver<()>>,
    }

    impl Backend for Gated {
        fn width(&self, task: &Task) -> usize {
            self.model.width(task)
        }
        fn run(&self, task: &Task, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
            let _ = lock(&self.entered).send(seqs.iter().map(Seq::len).collect());
            let _ = lock(&self.gate).recv();
            self.model.run(task, seqs)
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
        m.tokenize(texts, &embed(None), true).unwrap()
    }

    /// Rows of `texts` embedded one at a time, as `task`.
    fn alone(m: &Model, task: &Task, texts: &[&str]) -> Vec<f32> {
        texts
            .iter()
            .flat_map(|t| m.run(task, seqs(m, &[t])).unwrap())
            .collect()
    }

    const SECOND: std::time::Duration = std::time::Duration::from_secs(10);

    #[test]
    fn passes_respect_the_token_budget_and_rows_match_unbatched_embeddings() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(g.clone(), 20, 1000, Some(1), Arc::clone(&metrics)).unwrap();
        // The first request occupies the worker, so the next ones queue up behind it.
        let first = b.submit(seqs(&g.model, &["hold"]), embed(None)).unwrap();
        assert_eq!(entered.recv_timeout(SECOND).unwrap().len(), 1);
        let texts_a = ["the cat sat on the mat", "a dog", "x"];
        let texts_b = ["another longer sentence with several words in it", "y"];
        let ra = b.submit(seqs(&g.model, &texts_a), embed(None)).unwrap();
        let rb = b.submit(seqs(&g.model, &texts_b), embed(None)).unwrap();
        drop(gate);
        let mut passes = Vec::new();
        while let Ok(p) = entered.recv_timeout(std::time::Duration::from_millis(500)) {
            passes.push(p);
        }
        for p in &passes {
            assert!(p.len() == 1 || p.iter().sum::<usize>() <= 20, "{passes:?}");
        }
        assert_eq!(passes.iter().map(Vec::len).sum::<usize>(), 5, "{passes:?}");
        for (rx, texts) in [(ra, &texts_a[..]), (rb, &texts_b[..])] {
            let got = rx.blocking_recv().unwrap().unwrap();
            assert_eq!(got, alone(&g.model, &embed(None), texts), "{texts:?}");
        }
        assert!(first.blocking_recv().unwrap().is_ok());
        let all: Vec<&str> = ["hold"]
            .iter()
            .chain(&texts_a)
            .chain(&texts_b)
            .copied()
            .collect();
        let tokens: usize = seqs(&g.model, &all).iter().map(Seq::len).sum();
        assert_eq!(metrics.tokens.get() as usize, tokens);
    }

    #[test]
    fn requests_of_different_tasks_in_one_cut_run_as_one_pass_per_task() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(g.clone(), 1000, 1000, None, Arc::clone(&metrics)).unwrap();
        let first = b.submit(seqs(&g.model, &["hold"]), embed(None)).unwrap();
        entered.recv_timeout(SECOND).unwrap();
        let cut = embed(Some(8));
        let ra = b
            .submit(seqs(&g.model, &["a dog", "x"]), embed(None))
            .unwrap();
        let rb = b.submit(seqs(&g.model, &["the mat"]), cut.clone()).unwrap();
        let rc = b.submit(seqs(&g.model, &["y"]), embed(None)).unwrap();
        drop(gate);
        let mut passes = Vec::new();
        while let Ok(p) = entered.recv_timeout(std::time::Duration::from_millis(500)) {
            passes.push(p.len());
        }
        // a and c share one pass, b has its own.
        assert_eq!(passes, [3, 1]);
        let m = &g.model;
        assert_eq!(
            ra.blocking_recv().unwrap().unwrap(),
            alone(m, &embed(None), &["a dog", "x"])
        );
        let got = rb.blocking_recv().unwrap().unwrap();
        assert_eq!((got.len(), &got), (8, &alone(m, &cut, &["the mat"])));
        assert_eq!(
            rc.blocking_recv().unwrap().unwrap(),
            alone(m, &embed(None), &["y"])
        );
        assert!(first.blocking_recv().unwrap().is_ok());
        assert_eq!(metrics.batch_size.get_sample_count(), 3);
    }

    #[test]
    fn a_dropped_receiver_cancels_queued_inputs() {
        let (g, entered, gate) = gated();
        let metrics = Arc::new(Metrics::new().unwrap());
        let b = Batcher::start(g.clone(), 1000, 1000, None, Arc::clone(&metrics)).unwrap();
        let first = b.submit(seqs(&g.model, &["hold"]), embed(None)).unwrap();
        entered.recv_timeout(SECOND).unwrap();
        let gone = b
            .submit(seqs(&g.model, &["a", "b", "c"]), embed(None))
            .unwrap();
        let kept = b.submit(seqs(&g.model, &["d"]), embed(None)).unwrap();
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
        let m = &g.model;
        let b = Batcher::start(g.clone(), 1000, 8, None, metrics).unwrap();
        // An empty queue takes a request over the limit.
        let first = b
            .submit(seqs(m, &["one two three four five six seven"]), embed(None))
            .unwrap();
        entered.recv_timeout(SECOND).unwrap();
        let queued = b.submit(seqs(m, &["a b c"]), embed(None)).unwrap(); // 5 tokens
        assert_eq!(
            b.submit(seqs(m, &["d e f"]), embed(None)).unwrap_err(),
            SubmitError::Full
        );
        lock(&b.shared.queue).closed = true;
        assert_eq!(
            b.submit(seqs(m, &["g"]), embed(None)).unwrap_err(),
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
