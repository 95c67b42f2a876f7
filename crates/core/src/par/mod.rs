//! Parallel loops of the kernels: `for_each(n, f)` runs `f(0..n)` on as many threads as the
//! current rayon pool has ([`crate::with_threads`] sets it), on a spinning [`team`] when one is
//! free and on rayon otherwise. Which thread runs a task never changes what it computes, so
//! results stay bit-identical for any thread count.
//!
//! `QKV_TEAM=0` turns the teams off (every loop on rayon), to measure one against the other.

mod team;

use rayon::prelude::*;
use std::cell::Cell;
use std::sync::{Mutex, OnceLock};
use team::Team;

/// At most this many teams (one per distinct thread count) are ever spawned.
const MAX_TEAMS: usize = 8;

thread_local! {
    /// Set while this thread runs a task: a loop nested inside one runs serially.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f(i)` for every `i < n`, split over the current pool's threads.
pub(crate) fn for_each<F: Fn(usize) + Sync>(n: usize, f: F) {
    let threads = rayon::current_num_threads();
    if n <= 1 || threads <= 1 || IN_TASK.with(Cell::get) {
        return (0..n).for_each(f);
    }
    let task = |i: usize| {
        let _flag = TaskFlag::set();
        f(i)
    };
    if let Some(team) = team_for(threads) {
        if team.run(n, &task) {
            return;
        }
    }
    (0..n).into_par_iter().for_each(task);
}

/// Runs `f(i, chunk)` on the consecutive `chunk`-long pieces of `x` (the last may be shorter),
/// split over the current pool's threads.
pub(crate) fn for_each_chunk_mut<T: Send, F>(x: &mut [T], chunk: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Sync,
{
    if x.is_empty() || chunk == 0 {
        return;
    }
    let (len, ptr) = (x.len(), SendMut(x.as_mut_ptr()));
    for_each(len.div_ceil(chunk), |i| {
        let start = i * chunk;
        let n = chunk.min(len - start);
        // SAFETY: task i alone gets [i·chunk, i·chunk + n), inside `x` (start < len), and `x`
        // is borrowed mutably for the whole loop.
        let piece = unsafe { std::slice::from_raw_parts_mut(ptr.get().add(start), n) };
        f(i, piece)
    });
}

/// `x`'s pointer, shareable by the tasks that each take a disjoint piece of it.
struct SendMut<T>(*mut T);
impl<T> Clone for SendMut<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendMut<T> {}
impl<T> SendMut<T> {
    fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: tasks write disjoint pieces (see `for_each_chunk_mut`) of a `T: Send` slice, and the
// borrow outlives them.
unsafe impl<T: Send> Send for SendMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendMut<T> {}

/// Marks this thread as inside a task until dropped (also on unwinding).
struct TaskFlag(bool);
impl TaskFlag {
    fn set() -> TaskFlag {
        TaskFlag(IN_TASK.with(|c| c.replace(true)))
    }
}
impl Drop for TaskFlag {
    fn drop(&mut self) {
        let was = self.0;
        IN_TASK.with(|c| c.set(was));
    }
}

/// The team for `threads` threads (the caller plus `threads − 1` helpers), spawned on first use.
fn team_for(threads: usize) -> Option<&'static Team> {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    static TEAMS: Mutex<Vec<(usize, &'static Team)>> = Mutex::new(Vec::new());
    if !*ENABLED.get_or_init(|| std::env::var("QKV_TEAM").map_or(true, |v| v != "0")) {
        return None;
    }
    let pid = std::process::id();
    let mut teams = TEAMS.lock().unwrap_or_else(|p| p.into_inner());
    // A forked child inherits the table but not the helper threads.
    teams.retain(|(_, t)| t.pid() == pid);
    if let Some((_, t)) = teams.iter().find(|(n, _)| *n == threads) {
        return Some(t);
    }
    if teams.len() >= MAX_TEAMS {
        return None;
    }
    // Teams live as long as the process: their helpers park when idle.
    let team: &'static Team = Box::leak(Box::new(Team::new(threads - 1)?));
    teams.push((threads, team));
    Some(team)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_once_on_any_thread_count() {
        for threads in 1..=4 {
            for n in [0, 1, 2, 3, 7, 64, 1000] {
                let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                crate::with_threads(threads, || {
                    for_each(n, |i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    })
                })
                .unwrap();
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn back_to_back_loops_never_run_an_old_body() {
        // Each loop's body writes its own number; a helper late from one loop must never run
        // that body in the next (which would also read a dead closure).
        crate::with_threads(2, || {
            for round in 1..=20_000usize {
                let n = 1 + round % 7;
                let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                for_each(n, |i| {
                    seen[i].fetch_add(round, Ordering::Relaxed);
                });
                assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == round));
                if round % 1000 == 0 {
                    // Let the helpers park, then wake them again.
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
        .unwrap();
    }

    #[test]
    fn chunks_cover_the_slice_once() {
        let mut x = vec![0.0f32; 1003];
        crate::with_threads(3, || {
            for_each_chunk_mut(&mut x, 10, |i, c| {
                for (j, v) in c.iter_mut().enumerate() {
                    *v += (i * 10 + j) as f32;
                }
            })
        })
        .unwrap();
        assert!(x.iter().enumerate().all(|(i, v)| *v == i as f32));
    }

    #[test]
    fn nested_loops_and_concurrent_callers_finish() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    crate::with_threads(2, || {
                        for _ in 0..200 {
                            for_each(4, |_| {
                                for_each(3, |_| {
                                    total.fetch_add(1, Ordering::Relaxed);
                                })
                            })
                        }
                    })
                    .unwrap()
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 3 * 200 * 12);
    }

    #[test]
    fn a_panicking_task_reaches_the_caller() {
        for _ in 0..20 {
            let r = std::panic::catch_unwind(|| {
                crate::with_threads(2, || {
                    for_each(8, |i| {
                        if i == 5 {
                            panic!("task 5");
                        }
                    })
                })
            });
            assert!(r.is_err());
        }
        // The team still works afterwards.
        let count = AtomicUsize::new(0);
        crate::with_threads(2, || {
            for_each(16, |_| {
                count.fetch_add(1, Ordering::Relaxed);
            })
        })
        .unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 16);
    }
}
