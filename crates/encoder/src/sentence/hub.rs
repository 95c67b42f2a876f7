//! Hugging Face model ids (`sentence-transformers/all-MiniLM-L6-v2`) resolved to a model
//! directory in the local Hugging Face cache, the one `huggingface_hub` and `hf-hub` share:
//!
//! ```text
//! <cache>/models--{org}--{name}/refs/main          the revision `main` points at (a commit hash)
//! <cache>/models--{org}--{name}/snapshots/<rev>/   the files, as symlinks into ../../blobs/
//! ```
//!
//! `<cache>` is `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`. A model
//! missing from the cache is downloaded with the `hf-hub` crate (feature `hub`, on by default)
//! unless `HF_HUB_OFFLINE` is set; when that is impossible, the error names the cache folder
//! and the command that fills it.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The files a sentence-transformers model directory can use, besides the pooling and
/// normalization folders' `config.json`.
#[cfg_attr(not(feature = "hub"), allow(dead_code))]
const MODEL_FILES: [&str; 7] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];

/// Where to look for a Hugging Face id, and whether the network may be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubOptions {
    /// The cache root (`…/huggingface/hub`).
    pub cache: PathBuf,
    /// Never download (`HF_HUB_OFFLINE`).
    pub offline: bool,
}

impl HubOptions {
    /// The cache and offline mode from the environment, as `huggingface_hub` reads them.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let cache = var("HF_HUB_CACHE")
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub")))
            .unwrap_or_else(|| PathBuf::from(".cache/huggingface/hub"));
        let offline = std::env::var("HF_HUB_OFFLINE")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        HubOptions { cache, offline }
    }
}

/// A model directory, or the cached snapshot of a Hugging Face id (downloaded first when
/// missing and allowed), with the cache and offline mode taken from the environment.
///
/// ```no_run
/// let dir = qkv_encoder::resolve_model("sentence-transformers/all-MiniLM-L6-v2")?;
/// let model = qkv_encoder::SentenceEncoder::open(dir)?;
/// # Ok::<(), qkv_encoder::Error>(())
/// ```
pub fn resolve_model(id_or_path: impl AsRef<Path>) -> Result<PathBuf> {
    resolve_model_with(id_or_path, &HubOptions::from_env())
}

/// [`resolve_model`] with an explicit cache and offline mode. An existing path, or one that
/// is not shaped as a Hugging Face id `org/name`, is returned as it is (opening it then names
/// what is missing).
pub fn resolve_model_with(id_or_path: impl AsRef<Path>, hub: &HubOptions) -> Result<PathBuf> {
    let path = id_or_path.as_ref();
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let Some(id) = path.to_str().filter(|s| is_repo_id(s)) else {
        // Not an id: the caller's open names the missing file.
        return Ok(path.to_path_buf());
    };
    let not_found = |msg: String| Error::ModelNotFound {
        model: id.to_string(),
        msg,
    };
    let repo = hub.cache.join(format!("models--{}", id.replace('/', "--")));
    if let Some(dir) = cached_snapshot(&repo)? {
        return Ok(dir);
    }
    let fill = format!(
        "the Hugging Face model is not in the cache {} (HF_HUB_CACHE, else HF_HOME/hub, else \
         ~/.cache/huggingface/hub); fill it with `huggingface-cli download {id}` (or \
         `hf download {id}`) on a machine online and copy the cache here, or pass a model \
         directory",
        repo.display()
    );
    if hub.offline {
        return Err(not_found(format!("{fill} (HF_HUB_OFFLINE is set)")));
    }
    match download(id, &hub.cache) {
        Ok(()) => match cached_snapshot(&repo)? {
            Some(dir) => Ok(dir),
            None => Err(not_found(format!("{fill} (downloaded, but no refs/main)"))),
        },
        Err(why) => Err(not_found(format!("{fill} (download failed: {why})"))),
    }
}

/// `org/name` with the characters the hub allows, and no `.`/`..` segment.
fn is_repo_id(s: &str) -> bool {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.len() <= 96
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(s.split_once('/'), Some((org, name)) if ok_part(org) && ok_part(name))
}

/// The snapshot `refs/main` names under a cached repo folder, `None` when the repo or its
/// ref is absent. A ref naming a missing snapshot is an error (a broken cache).
fn cached_snapshot(repo: &Path) -> Result<Option<PathBuf>> {
    let ref_path = repo.join("refs").join("main");
    let rev = match std::fs::read_to_string(&ref_path) {
        Ok(r) => r.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: ref_path,
                source,
            })
        }
    };
    let bad_rev = rev.is_empty() || !rev.chars().all(|c| c.is_ascii_alphanumeric());
    let dir = repo.join("snapshots").join(&rev);
    if bad_rev || !dir.is_dir() {
        return Err(Error::ModelNotFound {
            model: repo.display().to_string(),
            msg: format!(
                "{} names revision {rev:?}, but there is no snapshot {} (a broken cache: \
                 download the model again)",
                ref_path.display(),
                dir.display()
            ),
        });
    }
    Ok(Some(dir))
}

/// Downloads the model's files into the cache with `hf-hub`.
#[cfg(feature = "hub")]
fn download(id: &str, cache: &Path) -> std::result::Result<(), String> {
    use hf_hub::api::sync::ApiBuilder;
    let api = ApiBuilder::new()
        .with_cache_dir(cache.to_path_buf())
        .with_progress(false)
        .build()
        .map_err(|e| e.to_string())?;
    let repo = api.model(id.to_string());
    let info = repo.info().map_err(|e| e.to_string())?;
    let wanted = |name: &str| {
        MODEL_FILES.contains(&name)
            || matches!(name.split_once('/'), Some((dir, "config.json")) if !dir.contains('/'))
    };
    let names: Vec<&str> = info
        .siblings
        .iter()
        .map(|s| s.rfilename.as_str())
        .filter(|n| wanted(n))
        .collect();
    if !names.contains(&"model.safetensors") {
        return Err(format!("{id} has no model.safetensors"));
    }
    for name in names {
        repo.get(name).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// Without the `hub` feature there is no client: the cache must already hold the model.
#[cfg(not(feature = "hub"))]
fn download(_id: &str, _cache: &Path) -> std::result::Result<(), String> {
    Err("qkv was built without the `hub` feature".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake cache laid out as `huggingface_hub` writes it: blobs, a snapshot of symlinks,
    /// and `refs/main`.
    fn fake_cache(tag: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("qkv-hub-{}-{tag}", std::process::id()));
        std::fs::remove_dir_all(&root).ok();
        let repo = root.join("models--org--tiny-model");
        let rev = "0123456789abcdef0123456789abcdef01234567";
        let snap = repo.join("snapshots").join(rev);
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::create_dir_all(snap.join("1_Pooling")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs").join("main"), format!("{rev}\n")).unwrap();
        for (name, blob) in [("config.json", "b1"), ("1_Pooling/config.json", "b2")] {
            std::fs::write(repo.join("blobs").join(blob), "{}").unwrap();
            let depth = name.matches('/').count();
            let target = format!("{}../../blobs/{blob}", "../".repeat(depth));
            #[cfg(unix)]
            std::os::unix::fs::symlink(target, snap.join(name)).unwrap();
            #[cfg(not(unix))]
            std::fs::write(snap.join(name), "{}").unwrap();
        }
        root
    }

    #[test]
    fn finds_the_snapshot_refs_main_names() {
        let root = fake_cache("ok");
        let hub = HubOptions {
            cache: root.clone(),
            offline: true,
        };
        let dir = resolve_model_with("org/tiny-model", &hub).unwrap();
        assert!(dir.ends_with("snapshots/0123456789abcdef0123456789abcdef01234567"));
        // The symlinks resolve to the blobs.
        assert_eq!(
            std::fs::read_to_string(dir.join("1_Pooling/config.json")).unwrap(),
            "{}"
        );
        // A path that exists is returned as it is, even when it looks like an id.
        assert_eq!(resolve_model_with(&root, &hub).unwrap(), root);
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn offline_miss_names_the_cache_and_the_fix() {
        let root = fake_cache("miss");
        let hub = HubOptions {
            cache: root.clone(),
            offline: true,
        };
        let e = resolve_model_with("sentence-transformers/all-MiniLM-L6-v2", &hub)
            .unwrap_err()
            .to_string();
        let folder = root.join("models--sentence-transformers--all-MiniLM-L6-v2");
        for needle in [
            folder.display().to_string(),
            "huggingface-cli download sentence-transformers/all-MiniLM-L6-v2".into(),
            "HF_HUB_OFFLINE".into(),
        ] {
            assert!(e.contains(&needle), "{needle} not in {e}");
        }
        // Not an id: left to the caller.
        for path in ["no/such/dir", "./x", "../a", "a/..", "justaname", "a b/c"] {
            assert_eq!(resolve_model_with(path, &hub).unwrap(), Path::new(path));
        }
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn broken_ref_is_an_error() {
        let root = fake_cache("broken");
        let refs = root.join("models--org--tiny-model/refs/main");
        std::fs::write(&refs, "feedface").unwrap();
        let hub = HubOptions {
            cache: root.clone(),
            offline: true,
        };
        let e = resolve_model_with("org/tiny-model", &hub)
            .unwrap_err()
            .to_string();
        assert!(e.contains("feedface") && e.contains("broken cache"), "{e}");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn repo_ids() {
        for ok in [
            "a/b",
            "sentence-transformers/all-MiniLM-L6-v2",
            "BAAI/bge-small-en-v1.5",
        ] {
            assert!(is_repo_id(ok), "{ok}");
        }
        for bad in [
            "", "a", "/a", "a/", "a/b/c", "../b", "a/..", "a b/c", "a/b?",
        ] {
            assert!(!is_repo_id(bad), "{bad}");
        }
    }
}
