//! `--model DIR|HF_ID`: a directory is used as it is; an id `org/name` is looked up where
//! models already sit on this machine (the server never downloads anything): the Hugging Face
//! hub cache (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`) and qkv's own cache
//! (`$QKV_CACHE` or `~/.cache/qkv`, where `scripts/fetch_model.sh` puts all-MiniLM-L6-v2).

use crate::error::Error;
use std::path::{Path, PathBuf};

/// The model directory `model` names.
pub fn resolve(model: &Path) -> Result<PathBuf, Error> {
    if model.is_dir() {
        return Ok(model.to_path_buf());
    }
    let not_found = |msg: String| Error::Model {
        path: model.to_path_buf(),
        source: msg.into(),
    };
    let text = model.to_string_lossy();
    let Some((org, name)) = text
        .split_once('/')
        .filter(|(o, n)| is_id_part(o) && is_id_part(n))
    else {
        return Err(not_found("no such directory".into()));
    };
    let candidates = candidates(org, name, |k| std::env::var_os(k).map(PathBuf::from));
    for dir in &candidates {
        if let Some(found) = snapshot(dir) {
            return Ok(found);
        }
    }
    Err(not_found(format!(
        "not a directory, and the id is in none of the local caches ({}); the server never \
         downloads: fetch the model first (scripts/fetch_model.sh fetches all-MiniLM-L6-v2)",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// One part of a hub id: letters, digits, `-`, `_`, `.`, not empty, not `.` or `..`.
fn is_id_part(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Where `org/name` may be, in the order looked at.
fn candidates(org: &str, name: &str, env: impl Fn(&str) -> Option<PathBuf>) -> Vec<PathBuf> {
    let home = env("HOME");
    let mut hubs = Vec::new();
    if let Some(p) = env("HF_HUB_CACHE") {
        hubs.push(p);
    }
    if let Some(p) = env("HF_HOME") {
        hubs.push(p.join("hub"));
    }
    if let Some(h) = &home {
        hubs.push(h.join(".cache/huggingface/hub"));
    }
    let mut out: Vec<PathBuf> = hubs
        .into_iter()
        .map(|h| h.join(format!("models--{org}--{name}")))
        .collect();
    match (env("QKV_CACHE"), &home) {
        (Some(q), _) => out.push(q.join(name)),
        (None, Some(h)) => out.push(h.join(".cache/qkv").join(name)),
        (None, None) => {}
    }
    out
}

/// A model directory inside `dir`: `dir` itself when it holds `config.json`, or the snapshot
/// of a hub cache entry that `refs/main` names (the only snapshot when there is no ref).
fn snapshot(dir: &Path) -> Option<PathBuf> {
    if dir.join("config.json").is_file() {
        return Some(dir.to_path_buf());
    }
    let snaps = dir.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(dir.join("refs/main")) {
        let p = snaps.join(rev.trim());
        if p.join("config.json").is_file() {
            return Some(p);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(&snaps)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").is_file())
        .collect();
    (found.len() == 1).then(|| found.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(is_id_part("all-MiniLM-L6-v2"));
        assert!(!is_id_part(".."));
        assert!(!is_id_part("a b"));
        let e = resolve(Path::new("../etc")).unwrap_err().to_string();
        assert!(e.contains("no such directory"), "{e}");
    }

    #[test]
    fn caches_are_searched_in_order() {
        let env = |k: &str| match k {
            "HOME" => Some(PathBuf::from("/h")),
            "HF_HOME" => Some(PathBuf::from("/hf")),
            _ => None,
        };
        let c = candidates("org", "m", env);
        assert_eq!(
            c,
            [
                PathBuf::from("/hf/hub/models--org--m"),
                PathBuf::from("/h/.cache/huggingface/hub/models--org--m"),
                PathBuf::from("/h/.cache/qkv/m"),
            ]
        );
    }

    #[test]
    fn hub_snapshots_follow_refs_main() {
        let root = std::env::temp_dir().join(format!("qkv-server-hub-{}", std::process::id()));
        let snap = root.join("snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(root.join("refs")).unwrap();
        assert_eq!(snapshot(&root), None);
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        assert_eq!(snapshot(&root), Some(snap.clone()));
        std::fs::write(root.join("refs/main"), "abc\n").unwrap();
        assert_eq!(snapshot(&root), Some(snap));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
