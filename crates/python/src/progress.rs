//! `show_progress_bar=True`: one line on `sys.stderr` (so notebooks and log collectors see
//! it), rewritten in place as chunks finish: `qkv: 4096/10000 sentences (41%)`.

use pyo3::prelude::*;

/// A progress line, or nothing when progress is off.
pub struct Progress {
    unit: Option<&'static str>,
    done: usize,
    total: usize,
}

impl Progress {
    /// Starts a progress line for `total` items named `unit` ("sentences", "pairs"); no line
    /// when `unit` is `None`.
    pub fn new(py: Python<'_>, unit: Option<&'static str>, total: usize) -> PyResult<Self> {
        let p = Progress {
            unit,
            done: 0,
            total,
        };
        p.draw(py, "")?;
        Ok(p)
    }

    /// Records `n` more items done.
    pub fn advance(&mut self, py: Python<'_>, n: usize) -> PyResult<()> {
        self.done += n;
        self.draw(py, "")
    }

    /// Ends the line.
    pub fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.draw(py, "\n")
    }

    fn draw(&self, py: Python<'_>, end: &str) -> PyResult<()> {
        let Some(unit) = self.unit else {
            return Ok(());
        };
        let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
        let line = format!("\rqkv: {}/{} {unit} ({pct}%){end}", self.done, self.total);
        let err = py.import("sys")?.getattr("stderr")?;
        err.call_method1("write", (line,))?;
        err.call_method0("flush")?;
        Ok(())
    }
}
