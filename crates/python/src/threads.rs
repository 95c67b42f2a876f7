//! How many threads an encoder computes with, and the thread pool that holds them.
//!
//! The default follows what distributed engines expect: `OMP_NUM_THREADS` when it is set (Ray
//! sets it to a task's `num_cpus`, and Spark deployments commonly set it per executor), else
//! the CPUs this process may run on. `std::thread::available_parallelism` already honours
//! the scheduler affinity mask (`taskset`, `os.sched_setaffinity`) and the cgroup CPU quota
//! (containers, `cpu.max`), so a worker pinned to 2 of 64 cores gets 2 threads, not 64.

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The thread count: `threads` when the caller gave it, else `OMP_NUM_THREADS` (its first
/// entry, as OpenMP reads a nested list such as `4,2`), else the CPUs this process may use.
pub fn threads_or_default(threads: Option<usize>) -> Result<usize, String> {
    let omp = std::env::var("OMP_NUM_THREADS").ok();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    choose(threads, omp.as_deref(), cpus)
}

/// [`threads_or_default`] given the environment's values.
fn choose(threads: Option<usize>, omp: Option<&str>, cpus: usize) -> Result<usize, String> {
    match (threads, omp) {
        (Some(0), _) => Err("threads must be at least 1, got 0".into()),
        (Some(n), _) => Ok(n),
        (None, Some(v)) if !v.trim().is_empty() => parse_omp(v),
        (None, _) => Ok(cpus.max(1)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_omp_then_cpus() {
        assert_eq!(choose(Some(3), Some("5"), 8), Ok(3));
        assert!(choose(Some(0), None, 8).is_err());
        assert_eq!(choose(None, Some("5"), 8), Ok(5));
        assert_eq!(choose(None, Some(" 4,2 "), 8), Ok(4));
        assert_eq!(choose(None, Some(""), 8), Ok(8));
        assert_eq!(choose(None, Some("  "), 8), Ok(8));
        assert_eq!(choose(None, None, 8), Ok(8));
        assert_eq!(choose(None, None, 0), Ok(1));
        for bad in ["0", "-1", "lots", "2.5", ",4", "99999999999999999999999"] {
            let e = choose(None, Some(bad), 8).unwrap_err();
            assert!(e.contains("OMP_NUM_THREADS"), "{bad}: {e}");
        }
    }

    #[test]
    fn pool_runs_on_its_threads() {
        let pool = Pool::new(3).unwrap();
        assert_eq!(pool.install(rayon::current_num_threads), 3);
        let names = pool.install(|| {
            use rayon::prelude::*;
            (0..64)
                .into_par_iter()
                .map(|_| std::thread::current().name().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        });
        assert!(names.iter().all(|n| n.starts_with("qkv-")), "{names:?}");
        assert!(Pool::new(0).is_err());
    }

    #[test]
    fn pool_rebuilt_when_the_pid_changes() {
        let mut pool = Pool::new(2).unwrap();
        pool.refresh_after_fork().unwrap();
        assert_eq!(pool.pid, std::process::id());
        pool.pid = pool.pid.wrapping_add(1); // as a forked child sees it
        pool.refresh_after_fork().unwrap();
        assert_eq!(pool.pid, std::process::id());
        assert_eq!(pool.install(rayon::current_num_threads), 2);
    }
}
