//! A team of helper threads that spin between parallel loops, for the short loops of small
//! passes. Rayon's idle workers go to sleep after a few dozen microseconds and waking one
//! costs 25–40 µs on the 2-vCPU Zen 4 VM (a 4-task loop of 25 µs tasks after 50 µs of serial
//! work: 126–140 µs per loop instead of 100); a 15-token MiniLM pass runs 24 such loops. Here
//! a finished helper spins on an atomic epoch for [`SPIN`] before it parks, so the next loop
//! of the same pass starts on it within a microsecond.
//!
//! One loop runs at a time per team (a `try_lock`); a second caller gets `None` and runs its
//! loop elsewhere. Tasks are claimed from a shared counter by the helpers and the caller.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a helper stays awake after its last task: pure spinning for the first part, then
/// yielding the core to anything else runnable.
const SPIN: Duration = Duration::from_micros(60);
const SPIN_YIELD: Duration = Duration::from_micros(300);

/// The loop body, its lifetime erased: valid while the epoch that published it is open.
type Body = *const (dyn Fn(usize) + Sync + 'static);

/// The state the caller and the helpers share.
struct Shared {
    /// Odd while a loop is open; bumped to open and again to close it.
    epoch: AtomicUsize,
    /// Helpers between "saw an open epoch" and "done with its body".
    active: AtomicUsize,
    /// The next task index to claim, and the number of tasks finished.
    next: AtomicUsize,
    done: AtomicUsize,
    tasks: AtomicUsize,
    /// The body, as its data and vtable words (written while the epoch is even).
    body: Mutex<Option<SendBody>>,
    /// Per helper: whether it is parked (or about to park) and must be unparked.
    sleeping: Vec<AtomicBool>,
    /// Set when a helper's task panicked: the caller panics too instead of returning a
    /// half-computed result.
    panicked: AtomicBool,
    /// More threads than cores: waiting threads yield at once instead of spinning, so they do
    /// not take a core from one that still has a task (rayon's pools behave so, too).
    crowded: bool,
}

#[derive(Clone, Copy)]
struct SendBody(Body);
// SAFETY: the pointee is `Sync` (the body is `dyn Fn + Sync`), and the submitter keeps it alive
// until every helper has left it (`active == 0` after the epoch closes).
unsafe impl Send for SendBody {}

/// A team of `helpers` threads plus the caller.
pub(super) struct Team {
    shared: Arc<Shared>,
    threads: Vec<Thread>,
    submit: Mutex<()>,
    pid: u32,
}

impl Team {
    /// Spawns `helpers` threads; `None` if the OS refuses a thread.
    pub(super) fn new(helpers: usize) -> Option<Team> {
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            body: Mutex::new(None),
            sleeping: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            panicked: AtomicBool::new(false),
            crowded: std::thread::available_parallelism().map_or(true, |c| helpers >= c.get()),
        });
        let mut threads = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let sh = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("qkv-team-{i}"))
                .spawn(move || helper(&sh, i))
                .ok()?;
            threads.push(handle.thread().clone());
        }
        Some(Team {
            shared,
            threads,
            submit: Mutex::new(()),
            pid: std::process::id(),
        })
    }

    /// The process that spawned the helpers (a forked child has none of them).
    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// Runs `f(0..n)` on the helpers and the calling thread; `false` (nothing run) when another
    /// loop holds the team.
    pub(super) fn run(&self, n: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
        let _guard: MutexGuard<()> = match self.submit.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => return false,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        let sh = &*self.shared;
        // A helper that saw the last epoch may still be on its way out.
        wait_until(sh, || sh.active.load(SeqCst) == 0);
        // SAFETY: only the lifetime is erased. The body is published while the epoch is odd,
        // and this function returns only after the epoch is closed and no helper is active,
        // so no helper dereferences it after `f`'s borrow ends.
        let body: Body = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Body>(f) };
        *lock(&sh.body) = Some(SendBody(body));
        sh.tasks.store(n, SeqCst);
        sh.next.store(0, SeqCst);
        sh.done.store(0, SeqCst);
        sh.panicked.store(false, SeqCst);
        sh.epoch.fetch_add(1, SeqCst); // open
        for (flag, t) in sh.sleeping.iter().zip(&self.threads) {
            if flag.swap(false, SeqCst) {
                t.unpark();
            }
        }
        // A panic in the body must still close the loop before `f` goes away: run the caller's
        // share under catch_unwind and resume the panic after closing.
        let caller = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| claim(sh, f)));
        wait_until(sh, || sh.done.load(SeqCst) >= n);
        sh.epoch.fetch_add(1, SeqCst); // close
        wait_until(sh, || sh.active.load(SeqCst) == 0);
        *lock(&sh.body) = None;
        if let Err(p) = caller {
            std::panic::resume_unwind(p);
        }
        if sh.panicked.load(SeqCst) {
            panic!("a qkv-team helper panicked in a parallel task");
        }
        true
    }
}

/// Claims and runs tasks until none are left.
fn claim(sh: &Shared, f: &(dyn Fn(usize) + Sync)) {
    let n = sh.tasks.load(SeqCst);
    loop {
        let i = sh.next.fetch_add(1, SeqCst);
        if i >= n {
            return;
        }
        // A task that panics still counts as done, so the loop closes; the panic goes on to
        // the caller (a helper's through `panicked`).
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i)));
        sh.done.fetch_add(1, SeqCst);
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    }
}

/// A helper's life: wait for an open epoch it has not served, serve it, repeat.
fn helper(sh: &Shared, me: usize) {
    let mut served = 0usize;
    loop {
        let e = wait_for_epoch(sh, me, served);
        sh.active.fetch_add(1, SeqCst);
        // Re-check after announcing: the caller may have closed this epoch (and may be about to
        // publish the next body) between our load and the increment.
        if sh.epoch.load(SeqCst) == e {
            let body = *lock(&sh.body);
            if let Some(SendBody(b)) = body {
                // SAFETY: the epoch is open and we are counted in `active`, so the submitter
                // has not returned and the body it published is alive.
                let f = unsafe { &*b };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| claim(sh, f)));
                if r.is_err() {
                    sh.panicked.store(true, SeqCst);
                }
            }
        }
        sh.active.fetch_sub(1, SeqCst);
        served = e;
    }
}

/// Spins, then yields, then parks until the epoch is odd and differs from `served`.
fn wait_for_epoch(sh: &Shared, me: usize, served: usize) -> usize {
    let fresh = |e: usize| !e.is_multiple_of(2) && e != served;
    let mut start = Instant::now();
    let mut spins = 0u32;
    loop {
        let e = sh.epoch.load(SeqCst);
        if fresh(e) {
            return e;
        }
        spins = spins.wrapping_add(1);
        if !spins.is_multiple_of(64) {
            std::hint::spin_loop();
            continue;
        }
        let waited = start.elapsed();
        if waited < SPIN && !sh.crowded {
            std::hint::spin_loop();
        } else if waited < SPIN_YIELD {
            std::thread::yield_now();
        } else {
            // Announce, re-check (the submitter swaps the flag after opening), then park.
            sh.sleeping[me].store(true, SeqCst);
            if !fresh(sh.epoch.load(SeqCst)) {
                std::thread::park();
            }
            sh.sleeping[me].store(false, SeqCst);
            start = Instant::now();
        }
    }
}

/// Spins until `cond` holds (the waits here are for work already running on other threads).
fn wait_until(sh: &Shared, cond: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !cond() {
        spins = spins.wrapping_add(1);
        if sh.crowded || spins.is_multiple_of(1024) {
            // A helper was descheduled mid-task: let it have the core.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
