//! How many threads an encoder computes with, and the thread pool that holds them.
//!
//! The default follows what distributed engines expect: `OMP_NUM_THREADS` when it is set (Ray
//! sets it to a task's `num_cpus`, and Spark deployments commonly set it per executor), else
//! the CPUs this process may run on. `std::thread::available_parallelism` already honours
//! the scheduler affinity mask (`taskset`, `os.sched_setaffinity`) and the cgroup CPU quota
//! (containers, `cpu.max`), so a worker pinned to 2 of 64 cores gets 2 threads, not 64.

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The thread count when the caller gave none: `OMP_NUM_THREADS` (its first entry, as OpenMP
/// reads a nested list such as `4,2`), else the CPUs this process may use.
pub fn default_threads() -> Result<usize, String> {
    match std::env::var("OMP_NUM_THREADS") {
        Ok(v) if !v.trim().is_empty() => parse_omp(&v),
        _ => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Parses an `OMP_NUM_THREADS` value: a positive integer, optionally followed by more
/// comma-separated levels.
fn parse_omp(v: &str) -> Result<usize, String> {
    let first = v.split(',').next().unwrap_or("").trim();
    match first.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "OMP_NUM_THREADS={v:?} is not a positive thread count; unset it or pass threads="
        )),
    }
}

/// A rayon pool of a fixed size, rebuilt after `fork()` (a forked child has none of its
/// parent's threads, so the parent's pool would wait forever on workers that do not exist).
pub struct Pool {
    threads: usize,
    pid: u32,
    pool: ThreadPool,
}

impl Pool {
    /// A pool of `threads` threads (at least 1).
    pub fn new(threads: usize) -> Result<Self, String> {
        Ok(Pool {
            threads,
            pid: std::process::id(),
            pool: build(threads)?,
        })
    }

    /// Rebuilds the pool when this process is a fork of the one that built it.
    pub fn refresh_after_fork(&mut self) -> Result<(), String> {
        let pid = std::process::id();
        if pid != self.pid {
            self.pool = build(self.threads)?;
            self.pid = pid;
        }
        Ok(())
    }

    /// Runs `f` on the pool: rayon's parallel loops inside use these threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}

fn build(threads: usize) -> Result<ThreadPool, String> {
    if threads == 0 {
        return Err("threads must be at least 1".into());
    }
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("qkv-{i}"))
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))
}
