//! Where a call's work runs: on the object's own thread pool (rebuilt after `fork()`), with the
//! GIL released, panics turned into `RuntimeError`; and the chunked loop that `encode` and
//! `predict` share: items sorted by length, computed a chunk of whole batches at a time with
//! the GIL taken back between chunks (Ctrl-C, the progress bar), rows put back in input order.

use crate::batching::{chunk_len, order_by_length, permute, scatter_rows};
use crate::errors::guarded;
use crate::progress::Progress;
use crate::threads::Pool;
use pyo3::exceptions::{PyMemoryError, PyRuntimeError};
use pyo3::prelude::*;
use std::sync::Mutex;

/// A thread pool of a fixed size, shared by the calls of one model object (calls from several
/// Python threads take turns on it: the pool's threads are the CPUs the object was given).
pub struct Compute {
    pool: Mutex<Pool>,
    threads: usize,
}

impl Compute {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> PyResult<Self> {
        Ok(Compute {
            pool: Mutex::new(Pool::new(threads).map_err(PyRuntimeError::new_err)?),
            threads,
        })
    }

    /// The pool's thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool with the GIL released; a panic becomes a `RuntimeError`.
    pub fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce() -> PyResult<T> + Send,
    ) -> PyResult<T> {
        py.allow_threads(|| {
            guarded(|| {
                let mut pool = self
                    .pool
                    .lock()
                    .map_err(|_| PyRuntimeError::new_err("a previous call panicked"))?;
                pool.refresh_after_fork().map_err(PyRuntimeError::new_err)?;
                pool.install(f)
            })
        })
    }

    /// `width` values per item, in input order: `items` sorted by `len` (longest first), then
    /// `f(chunk, out)` on chunks of `batch_size × CHUNK_BATCHES` items, `out` being the chunk's
    /// rows in its (sorted) order. `progress` names the items for a progress line, if any.
    #[allow(clippy::too_many_arguments)]
    pub fn rows<T: Send + Sync>(
        &self,
        py: Python<'_>,
        items: Vec<T>,
        len: impl Fn(&T) -> usize,
        batch_size: usize,
        width: usize,
        progress: Option<&'static str>,
        f: impl Fn(&[T], &mut [f32]) -> PyResult<()> + Sync,
    ) -> PyResult<Vec<f32>> {
        let n = items.len();
        let total = n.checked_mul(width).ok_or_else(|| {
            PyMemoryError::new_err(format!(
                "{n} results of {width} values do not fit in memory"
            ))
        })?;
        let lens: Vec<usize> = items.iter().map(len).collect();
        let order = order_by_length(&lens);
        let sorted = permute(items, &order).map_err(PyRuntimeError::new_err)?;
        let mut out = vec![0.0f32; total];
        let mut bar = Progress::new(py, progress, n)?;
        let step = chunk_len(batch_size);
        let mut buf = Vec::new();
        for (c, chunk) in sorted.chunks(step).enumerate() {
            buf.clear();
            buf.resize(chunk.len() * width, 0.0);
            self.run(py, || f(chunk, &mut buf))?;
            scatter_rows(&buf, &order, c * step, width, &mut out)
                .map_err(PyRuntimeError::new_err)?;
            py.check_signals()?;
            bar.advance(py, chunk.len())?;
        }
        bar.finish(py)?;
        Ok(out)
    }
}
