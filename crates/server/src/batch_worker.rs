//! The batching worker: waits for inputs, cuts the queue's front by the token budget, runs the
//! cut as packed forward passes (one per task in it: inputs of equal tasks share a pass, in
//! queue order) and writes each row into its request.
//!
//! Rows do not depend on what else is in the pass (qkv-encoder's packed forward pass keeps
//! every row's arithmetic independent of its neighbours), so batching never changes a result.
//! The forward pass itself runs on the rayon pool; the model needs no lock of ours.

use crate::batch_queue::{lock, Entry, Shared};
use crate::model::{Model, Seq, Task};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What the worker runs: one packed forward pass of one task.
pub trait Backend: Send + Sync + 'static {
    /// Values per row of `task`'s results.
    fn width(&self, task: &Task) -> usize;
    /// Rows `[seqs.len(), width(task)]` in input order.
    fn run(&self, task: &Task, seqs: Vec<Seq>) -> Result<Vec<f32>, String>;
}

impl Backend for Model {
    fn width(&self, task: &Task) -> usize {
        Model::width(self, task)
    }
    fn run(&self, task: &Task, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
        Model::run(self, task, seqs)
    }
}

/// The worker loop: until the queue is closed and empty.
pub fn work(s: &Shared, backend: &dyn Backend) {
    while let Some(batch) = next_batch(s) {
        for group in by_task(batch) {
            run_pass(s, backend, group);
        }
    }
}

/// Splits a cut into runs of equal tasks, each in queue order (the order of first appearance).
fn by_task(batch: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut groups: Vec<Vec<Entry>> = Vec::new();
    for e in batch {
        match groups.iter_mut().find(|g| g[0].job.task == e.job.task) {
            Some(g) => g.push(e),
            None => groups.push(vec![e]),
        }
    }
    groups
}

/// One forward pass over inputs of one task; rows to their requests, or the error to each.
fn run_pass(s: &Shared, backend: &dyn Backend, group: Vec<Entry>) {
    let task = group[0].job.task.clone();
    let width = backend.width(&task);
    let (seqs, slots): (Vec<Seq>, Vec<_>) =
        group.into_iter().map(|e| (e.seq, (e.job, e.row))).unzip();
    let tokens: usize = seqs.iter().map(Seq::len).sum();
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| backend.run(&task, seqs)))
        .unwrap_or_else(|_| Err("the model panicked".into()));
    let secs = start.elapsed().as_secs_f64();
    let m = &s.metrics;
    m.batch_size.observe(slots.len() as f64);
    m.batch_tokens.observe(tokens as f64);
    match result {
        Ok(rows) if rows.len() == slots.len() * width && width > 0 => {
            m.tokens.inc_by(tokens as u64);
            m.tokens_per_second.set(tokens as f64 / secs.max(1e-9));
            for ((job, row), data) in slots.iter().zip(rows.chunks_exact(width)) {
                job.deliver(*row, data);
            }
        }
        other => {
            let msg = match other {
                Err(e) => e,
                Ok(rows) => format!(
                    "the model returned {} values for {} rows of {width}",
                    rows.len(),
                    slots.len()
                ),
            };
            tracing::error!(error = %msg, "forward pass failed");
            if msg.contains("panicked") {
                s.healthy.store(false, Ordering::SeqCst);
            }
            for (job, _) in &slots {
                job.fail(&msg);
            }
        }
    }
}

/// Blocks until inputs are queued, then takes the longest prefix of the queue within the
/// token budget. `None` once closed and empty.
fn next_batch(s: &Shared) -> Option<Vec<Entry>> {
    let mut q = lock(&s.queue);
    loop {
        let (batch, dropped) = q.take(s.max_batch_tokens);
        s.metrics.cancelled.inc_by(dropped);
        q.report(&s.metrics);
        if !batch.is_empty() {
            return Some(batch);
        }
        if q.closed {
            return None;
        }
        q = s.wake.wait(q).unwrap_or_else(|p| p.into_inner());
    }
}
