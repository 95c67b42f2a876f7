//! The model-directory copy the hostile-file tests break one file of at a time
//! (`hostile_files.rs`: the weights; `hostile_configs.rs`: the config, the tokenizer and the
//! sentence-transformers files).

use qkv_encoder::{Error, SentenceEncoder};
use qkv_testkit::dirs::{tiny_bert_dir as fixture, TempDir};
use std::path::{Path, PathBuf};

/// A copy of the tiny BERT directory in the temp dir, removed on drop.
pub struct ModelCopy(TempDir);

impl ModelCopy {
    pub fn new(tag: &str) -> ModelCopy {
        let tmp = TempDir::new(&format!("hostile-{tag}"));
        let dir = tmp.dir();
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        for f in [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "modules.json",
            "sentence_bert_config.json",
            "1_Pooling/config.json",
        ] {
            std::fs::copy(fixture().join(f), dir.join(f)).unwrap();
        }
        ModelCopy(tmp)
    }
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path(name)
    }
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    /// `config.json` with one field replaced.
    pub fn set_config(&self, field: &str, value: serde_json::Value) -> PathBuf {
        let mut cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture().join("config.json")).unwrap()).unwrap();
        cfg[field] = value;
        self.write("config.json", cfg.to_string())
    }
    pub fn open(&self) -> Result<SentenceEncoder, Error> {
        SentenceEncoder::open(self.dir())
    }
}

/// Unwraps the error of a result whose Ok type need not be `Debug`.
pub fn err_of<T>(r: Result<T, Error>, what: &str) -> Error {
    match r {
        Ok(_) => panic!("{what}: loaded, expected an error"),
        Err(e) => e,
    }
}
