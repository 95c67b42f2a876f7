//! Packing buffers reused across calls, one pair per thread: a product of 128 × 384 × 1536
//! packed into fresh `vec![0.0; …]` buffers paid for zeroing (and, above the allocator's mmap
//! threshold, for page faults) on every call, which at small M cost as much as the arithmetic.
//!
//! A call *takes* the buffers out of its thread's slot and puts them back when done, so a
//! nested call on the same thread (rayon may run another product while this one waits) finds
//! the slot empty and allocates its own: nothing is shared, nothing can be borrowed twice.
//! Buffers larger than [`KEEP_MAX`] are dropped instead of kept, so a one-off huge product
//! does not pin its memory to the thread for good.

use super::blocking::{KC, NC};
use std::cell::Cell;

/// Largest buffer (in f32) a thread keeps between calls: one whole B̃ block (`KC·NC`, 4.5 MiB),
/// so products up to N = 3072 never fault in a fresh buffer (a 4.7 MB one took 128×384×3072
/// from 1.0× to 0.86× matrixmultiply), and an Ã of up to 3072 rows at full depth.
const KEEP_MAX: usize = KC * NC;

thread_local! {
    static SLOT: Cell<(Vec<f32>, Vec<f32>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// The packed-A and packed-B buffers of one call, returned to the thread on drop.
pub(crate) struct PackBuffers {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
}

impl PackBuffers {
    /// Buffers of at least `a_len` and `b_len` values (contents unspecified: the packing
    /// routines write every value they later read, padding included).
    pub fn take(a_len: usize, b_len: usize) -> PackBuffers {
        let (mut a, mut b) = SLOT.with(Cell::take);
        grow(&mut a, a_len);
        grow(&mut b, b_len);
        PackBuffers { a, b }
    }
}

impl Drop for PackBuffers {
    fn drop(&mut self) {
        let keep = |v: &mut Vec<f32>| {
            if v.len() <= KEEP_MAX {
                std::mem::take(v)
            } else {
                Vec::new()
            }
        };
        let pair = (keep(&mut self.a), keep(&mut self.b));
        // A slot refilled by a nested call meanwhile keeps the larger pair.
        SLOT.with(|s| {
            let old = s.take();
            s.set(if old.0.len() + old.1.len() > pair.0.len() + pair.1.len() {
                old
            } else {
                pair
            });
        });
    }
}

/// Grows `v` to at least `n` values (new values 0; never shrinks).
fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_to_the_thread_and_nested_takes_get_their_own() {
        let ptr = {
            let p = PackBuffers::take(100, 10);
            assert!(p.a.len() >= 100 && p.b.len() >= 10);
            p.a.as_ptr()
        };
        let outer = PackBuffers::take(50, 5);
        assert_eq!(outer.a.as_ptr(), ptr, "the kept buffer is reused");
        let inner = PackBuffers::take(50, 5);
        assert_ne!(
            inner.a.as_ptr(),
            outer.a.as_ptr(),
            "a nested call gets its own"
        );
        drop(inner);
        drop(outer);
        let huge = PackBuffers::take(KEEP_MAX + 1, 0);
        drop(huge);
        let after = PackBuffers::take(0, 0);
        assert!(after.a.len() <= KEEP_MAX, "a huge buffer is not kept");
    }
}
