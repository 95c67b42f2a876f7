//! The batching queue's data: one request's [`Job`] (its task, its rows as they come in, its
//! reply), the queued inputs ([`Queue`]: admission by a token limit, cutting by a token
//! budget), and the state the handlers and the worker share ([`Shared`]).
//!
//! A request's inputs enter the queue together (or not at all: [`SubmitError::Full`] when the
//! queue's token limit would be passed). A request whose client went away (its receiver
//! dropped) or that was already answered is skipped when its inputs reach the front, so a
//! disconnect cancels the work still queued.

use crate::metrics::Metrics;
use crate::model::{Seq, Task};
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The rows of one request (`[n, width]`), or why the model failed.
pub type JobResult = Result<Vec<f32>, String>;

/// Why a request was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue holds too many tokens already.
    Full,
    /// The server is shutting down, or the worker died.
    Closed,
}

/// A mutex whose data stays consistent even if a holder panicked (every critical section
/// here leaves it whole), so poisoning is ignored.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One request: what its inputs run as, and its results as they come in.
pub struct Job {
    /// The library options of every input of the request.
    pub task: Task,
    /// Values per row.
    pub width: usize,
    state: Mutex<JobState>,
}

struct JobState {
    out: Vec<f32>,
    remaining: usize,
    reply: Option<oneshot::Sender<JobResult>>,
}

impl Job {
    /// A job of `n` rows of `width` values, answered on `reply` once all are in.
    pub fn new(task: Task, width: usize, n: usize, reply: oneshot::Sender<JobResult>) -> Arc<Job> {
        let job = Arc::new(Job {
            task,
            width,
            state: Mutex::new(JobState {
                out: vec![0.0; n * width],
                remaining: n,
                reply: Some(reply),
            }),
        });
        if n == 0 {
            let _ = lock(&job.state)
                .reply
                .take()
                .map(|r| r.send(Ok(Vec::new())));
        }
        job
    }

    /// The request was answered (with an error) or its client went away.
    pub fn cancelled(&self) -> bool {
        lock(&self.state)
            .reply
            .as_ref()
            .is_none_or(oneshot::Sender::is_closed)
    }

    /// Writes row `row` and answers the request when it is complete.
    pub fn deliver(&self, row: usize, data: &[f32]) {
        let w = self.width;
        let mut j = lock(&self.state);
        if j.reply.is_none() {
            return;
        }
        if let Some(dst) = j.out.get_mut(row * w..(row + 1) * w) {
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

    /// Answers the request with an error (once; later rows are ignored).
    pub fn fail(&self, msg: &str) {
        if let Some(r) = lock(&self.state).reply.take() {
            let _ = r.send(Err(msg.to_string()));
        }
    }
}

/// One input in the queue: which request, which row.
pub struct Entry {
    /// The tokenized input.
    pub seq: Seq,
    /// Its request.
    pub job: Arc<Job>,
    /// Its row in the request.
    pub row: usize,
}

/// The queued inputs, oldest first.
#[derive(Default)]
pub struct Queue {
    entries: VecDeque<Entry>,
    tokens: usize,
    /// No more requests are taken.
    pub closed: bool,
}

impl Queue {
    /// Queues the inputs of `job` unless that would pass `max_tokens` (an empty queue takes
    /// any request: its inputs are within the input limit).
    pub fn push(
        &mut self,
        job: &Arc<Job>,
        seqs: Vec<Seq>,
        max_tokens: usize,
    ) -> Result<(), SubmitError> {
        if self.closed {
            return Err(SubmitError::Closed);
        }
        let tokens: usize = seqs.iter().map(Seq::len).sum();
        if !self.entries.is_empty() && self.tokens + tokens > max_tokens {
            return Err(SubmitError::Full);
        }
        self.entries
            .extend(seqs.into_iter().enumerate().map(|(row, seq)| Entry {
                seq,
                job: Arc::clone(job),
                row,
            }));
        self.tokens += tokens;
        Ok(())
    }

    /// Takes the longest prefix within `budget` tokens (the first input always fits), dropping
    /// cancelled inputs on the way; returns it and how many were dropped.
    pub fn take(&mut self, budget: usize) -> (Vec<Entry>, u64) {
        let mut batch = Vec::new();
        let mut tokens = 0;
        let mut dropped = 0;
        while let Some(e) = self.entries.front() {
            let len = e.seq.len();
            if e.job.cancelled() {
                self.entries.pop_front();
                self.tokens -= len;
                dropped += 1;
                continue;
            }
            if !batch.is_empty() && tokens + len > budget {
                break;
            }
            tokens += len;
            self.tokens -= len;
            batch.extend(self.entries.pop_front());
        }
        (batch, dropped)
    }

    /// Empties the queue (its requests' replies are dropped: their clients see the server
    /// going away).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.tokens = 0;
    }

    /// Inputs queued.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Tokens queued.
    #[cfg(test)]
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// Publishes the queue's depth.
    pub fn report(&self, m: &Metrics) {
        m.queue_sequences.set(self.entries.len() as i64);
        m.queue_tokens.set(self.tokens as i64);
    }
}

/// What the handlers and the worker share.
pub struct Shared {
    /// The queue.
    pub queue: Mutex<Queue>,
    /// Wakes the worker when inputs arrive or the queue closes.
    pub wake: Condvar,
    /// False once the worker has stopped.
    pub healthy: AtomicBool,
    /// Queue depth, pass sizes, tokens.
    pub metrics: Arc<Metrics>,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
    /// Most tokens queued.
    pub max_queue_tokens: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use qkv_encoder::LoadOptions;
    use std::path::Path;

    fn embed() -> Task {
        Task::Embed {
            prompt_name: None,
            prompt: None,
            dimensions: None,
            normalize: true,
        }
    }

    #[test]
    fn take_cuts_by_budget_and_skips_cancelled_jobs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert");
        let m = Model::open(&dir, &LoadOptions::default(), Ok).unwrap();
        let seqs = |texts: &[&str]| m.tokenize(texts, &embed(), true).unwrap();
        let mut q = Queue::default();
        let first = seqs(&["one two three", "four", "five six"]);
        let lens: Vec<usize> = first.iter().map(Seq::len).collect();
        let (tx, _keep) = oneshot::channel();
        let a = Job::new(embed(), 32, 3, tx);
        q.push(&a, first, 100).unwrap();
        let (tx, gone) = oneshot::channel();
        let b = Job::new(embed(), 32, 1, tx);
        let last = seqs(&["seven"]);
        let last_len = last[0].len();
        q.push(&b, last, 100).unwrap();
        let total = lens.iter().sum::<usize>() + last_len;
        assert_eq!((q.len(), q.tokens()), (4, total));
        // Over the limit once the queue holds some.
        let (tx, _) = oneshot::channel();
        let c = Job::new(embed(), 32, 1, tx);
        assert_eq!(q.push(&c, seqs(&["w"]), total), Err(SubmitError::Full));
        // A budget of the first two inputs.
        let (batch, dropped) = q.take(lens[0] + lens[1]);
        assert_eq!((batch.len(), dropped), (2, 0));
        // A budget smaller than the next input: it is taken alone.
        let (batch, _) = q.take(1);
        assert_eq!(batch.len(), 1);
        drop(gone); // b's client went away
        let (batch, dropped) = q.take(100);
        assert_eq!((batch.len(), dropped, q.tokens()), (0, 1, 0));
        q.closed = true;
        let (tx, _) = oneshot::channel();
        let d = Job::new(embed(), 32, 1, tx);
        assert_eq!(q.push(&d, seqs(&["x"]), 100), Err(SubmitError::Closed));
    }

    #[test]
    fn a_job_answers_once_with_its_rows_in_order() {
        let (tx, mut rx) = oneshot::channel();
        let j = Job::new(embed(), 2, 2, tx);
        j.deliver(1, &[3.0, 4.0]);
        assert!(rx.try_recv().is_err(), "not complete yet");
        j.deliver(0, &[1.0, 2.0]);
        assert_eq!(rx.try_recv().unwrap().unwrap(), [1.0, 2.0, 3.0, 4.0]);
        let (tx, mut rx) = oneshot::channel();
        let j = Job::new(Task::Score { raw: true }, 1, 2, tx);
        j.fail("boom");
        j.deliver(0, &[1.0]);
        assert_eq!(rx.try_recv().unwrap().unwrap_err(), "boom");
        assert!(j.cancelled());
        let (tx, mut rx) = oneshot::channel();
        let _ = Job::new(embed(), 4, 0, tx);
        assert_eq!(rx.try_recv().unwrap().unwrap(), Vec::<f32>::new());
    }
}
