//! Per-call scratch buffers for [`SentenceEncoder`](crate::sentence::encoder::SentenceEncoder),
//! kept in a small pool: a call takes a set (or makes one), runs without holding any lock, and
//! gives it back, so concurrent callers never wait for each other and a steady stream of calls
//! allocates nothing.

use crate::nn::stack::Workspace;
use std::sync::Mutex;

/// What one forward pass writes besides its output: the encoder's workspace and the hidden
/// states `[tokens, d]`.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) ws: Workspace,
    pub(crate) hidden: Vec<f32>,
}

/// Free scratch sets, at most `cap` of them (the most callers ever seen at once, capped).
#[derive(Debug)]
pub(crate) struct ScratchPool {
    free: Mutex<Vec<Scratch>>,
    cap: usize,
}

impl ScratchPool {
    /// A pool keeping up to `cap` free sets.
    pub(crate) fn new(cap: usize) -> Self {
        ScratchPool {
            free: Mutex::new(Vec::new()),
            cap,
        }
    }

    /// A free set, or a new empty one when every set is in use. The lock is held only for the
    /// pop; a set lost to a panicking call is simply not returned.
    pub(crate) fn take(&self) -> Scratch {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.pop().unwrap_or_default()
    }

    /// Returns a set for the next call (dropped when `cap` sets are already free).
    pub(crate) fn give(&self, s: Scratch) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.cap {
            free.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_reused_up_to_the_cap() {
        let pool = ScratchPool::new(2);
        let mut a = pool.take();
        a.hidden.resize(10, 1.0);
        pool.give(a);
        // The same buffers come back (capacity kept).
        assert_eq!(pool.take().hidden.len(), 10);
        let (x, y, z) = (pool.take(), pool.take(), pool.take());
        pool.give(x);
        pool.give(y);
        pool.give(z);
        assert_eq!(pool.free.lock().unwrap().len(), 2);
    }
}
