//! Directories tests need: a fresh temp dir removed on drop, the shipped fixtures, and the real
//! model (all-MiniLM-L6-v2) when it has been fetched.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty directory in the system temp dir, unique per process and call, removed on
/// drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `qkv-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("qkv-{tag}-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// `dir/name` (not created).
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `dir/name` and returns the path.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// The names of the directory's entries, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap_or_else(|e| panic!("{}: {e}", self.0.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The encoder's test fixtures (`crates/encoder/tests/fixtures`), shared by the tests of the
/// encoder and the CLI.
pub fn encoder_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures")
}

/// The tiny BERT model directory (generated with transformers; `scripts/make_tiny_bert.py`).
pub fn tiny_bert_dir() -> PathBuf {
    encoder_fixtures().join("tiny_bert")
}

/// The all-MiniLM-L6-v2 directory: `QKV_MODEL_DIR`, else `${QKV_CACHE:-~/.cache/qkv}/…` (where
/// `scripts/fetch_model.sh` puts it); `None` after saying why on stderr when it is absent.
///
/// # Panics
/// When the model is absent and `QKV_REQUIRE_MODEL=1` (CI): a test that needs the model must
/// not pass without it.
pub fn model_dir() -> Option<PathBuf> {
    let found = model_dir_from(|k| std::env::var_os(k).filter(|v| !v.is_empty()));
    match found {
        Ok(dir) => Some(dir),
        Err(msg) if std::env::var("QKV_REQUIRE_MODEL").as_deref() == Ok("1") => {
            panic!("{msg}; QKV_REQUIRE_MODEL=1")
        }
        Err(msg) => {
            eprintln!("skipped: {msg}");
            None
        }
    }
}

/// [`model_dir`]'s lookup with the environment given as a function.
fn model_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, String> {
    let dir = match var("QKV_MODEL_DIR") {
        Some(d) => PathBuf::from(d),
        None => var("QKV_CACHE")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache/qkv")))
            .ok_or("MiniLM model not found: neither QKV_MODEL_DIR, QKV_CACHE nor HOME is set")?
            .join("all-MiniLM-L6-v2"),
    };
    if dir.join("model.safetensors").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "MiniLM model not found at {} (run scripts/fetch_model.sh or set QKV_MODEL_DIR)",
            dir.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn temp_dirs_are_fresh_and_removed() {
        let a = TempDir::new("testkit");
        let b = TempDir::new("testkit");
        assert_ne!(a.dir(), b.dir());
        a.file("x.txt", "hi");
        assert_eq!(a.listing(), ["x.txt"]);
        let kept = a.dir().to_path_buf();
        drop(a);
        assert!(!kept.exists());
    }

    #[test]
    fn model_dir_lookup_order() {
        let t = TempDir::new("testkit-model");
        let env = |pairs: Vec<(&'static str, PathBuf)>| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        // Nothing there: an error naming the place looked at.
        let err = model_dir_from(env(vec![("QKV_MODEL_DIR", t.path("m"))])).unwrap_err();
        assert!(err.contains(&t.path("m").display().to_string()), "{err}");
        // QKV_CACHE/all-MiniLM-L6-v2 with a model file.
        let m = t.path("all-MiniLM-L6-v2");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("model.safetensors"), "x").unwrap();
        let cache = env(vec![("QKV_CACHE", t.dir().to_path_buf())]);
        assert_eq!(model_dir_from(cache).unwrap(), m);
        assert!(model_dir_from(env(vec![])).is_err());
        assert!(tiny_bert_dir().join("model.safetensors").is_file());
    }
}
