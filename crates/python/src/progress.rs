//! `show_progress_bar=True`: one line on `sys.stderr` (so notebooks and log collectors see
//! it), rewritten in place as chunks finish: `qkv: 4096/10000 sentences (41%)`.

use pyo3::prelude::*;

/// A progress line, or nothing when progress is off.
pub struct Progress {
    on: bool,
    done: usize,
    total: usize,
}

impl Progress {
    /// Starts a progress line for `total` sentences when `on`.
    pub fn new(py: Python<'_>, on: bool, total: usize) -> PyResult<Self> {
        let p = Progress { on, done: 0, total };
        p.draw(py, "")?;
        Ok(p)
    }

    /// Records `n` more sentences done.
    pub fn advance(&mut self, py: Python<'_>, n: usize) -> PyResult<()> {
        self.done += n;
        self.draw(py, "")
    }

    /// Ends the line.
    pub fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.draw(py, "\n")
    }

    fn draw(&self, py: Python<'_>, end: &str) -> PyResult<()> {
        if !self.on {
            return Ok(());
        }
        let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
        let line = format!(
            "\rqkv: {}/{} sentences ({pct}%){end}",
            self.done, self.total
        );
        let err = py.import("sys")?.getattr("stderr")?;
        err.call_method1("write", (line,))?;
        err.call_method0("flush")?;
        Ok(())
    }
}
