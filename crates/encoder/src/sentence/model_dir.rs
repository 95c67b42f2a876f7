//! A sentence-transformers model directory: which files hold the weights and tokenizer, and
//! the pooling, normalization, prompts and sequence limit that turn text into embeddings.
//!
//! Layout (as saved by sentence-transformers and found on the Hugging Face hub):
//! `config.json`, `model.safetensors`, `tokenizer.json` (required); `modules.json`,
//! `1_Pooling/config.json`, `sentence_bert_config.json`, `tokenizer_config.json`,
//! `config_sentence_transformers.json` (optional, with the defaults of a plain transformers
//! checkpoint: mean pooling, no normalization, no prompt, the model's position limit). Both
//! the classic layout and the one sentence-transformers 6 writes are read
//! ([`st_config`](crate::sentence::st_config)).
//!
//! The sequence limit is chosen as sentence-transformers chooses it: `max_seq_length` of
//! `sentence_bert_config.json` when set (it must fit the position limit), else
//! `tokenizer_config.json`'s `model_max_length` capped at the position limit, else the
//! position limit.

use crate::error::{Error, Result};
use crate::io::tokenizer::Tokenizer;
use crate::io::weights::Weights;
use crate::models::config::ModelConfig;
use crate::nn::precision::PrecisionPlan;
use crate::sentence::load::saved_plan;
use crate::sentence::pooling::Pooling;
use crate::sentence::prompts::Prompts;
use crate::sentence::st_config::{
    field_err, tokenizer_max_length, Modules, PoolingConfig, SbertConfig,
};
use std::path::{Path, PathBuf};

/// The files and settings of a model directory, validated but not yet loaded.
#[derive(Clone, Debug)]
pub struct ModelDir {
    /// The directory.
    pub root: PathBuf,
    /// The parsed and validated `config.json` (the family and its fields).
    pub config: ModelConfig,
    /// `model.safetensors`.
    pub weights_path: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer_path: PathBuf,
    /// Pooling mode from the pooling module's config (mean when absent).
    pub pooling: Pooling,
    /// Whether the prompt's tokens are pooled (the pooling config's `include_prompt`).
    pub include_prompt: bool,
    /// Whether `modules.json` ends in a `Normalize` module (L2-normalized embeddings).
    pub normalize: bool,
    /// Truncation length in tokens, special tokens included.
    pub max_seq_length: usize,
    /// Whether inputs are lowercased first (`sentence_bert_config.json`'s `do_lower_case`).
    pub do_lower_case: bool,
    /// The prompts of `config_sentence_transformers.json`.
    pub prompts: Prompts,
    /// The plan the weights were saved with, for a directory written by `qkv quantize`
    /// (`qkv_quantization.json`); `None` for a plain checkpoint.
    pub quantized: Option<PrecisionPlan>,
}

/// The longest sequence the model's position table allows.
fn position_limit(config: &ModelConfig) -> usize {
    config.max_tokens()
}

/// The width of the model's token vectors.
fn hidden_width(config: &ModelConfig) -> usize {
    config.hidden_size()
}

impl ModelDir {
    /// Reads the directory's configs and checks the required files exist and agree.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = ModelConfig::from_file(required(dir, "config.json")?)?;
        let weights_path = required(dir, "model.safetensors")?;
        let tokenizer_path = required(dir, "tokenizer.json")?;

        let modules = Modules::from_file(&dir.join("modules.json"))?.unwrap_or_default();
        let pooling_dir = modules.pooling_dir.as_deref().unwrap_or("1_Pooling");
        let pooling_cfg = dir.join(pooling_dir).join("config.json");
        let pooling = if pooling_cfg.is_file() {
            let p = PoolingConfig::from_file(&pooling_cfg)?;
            let width = hidden_width(&config);
            if let Some(w) = p.dim.filter(|&w| w != width) {
                return Err(field_err(
                    &pooling_cfg,
                    "embedding_dimension",
                    format!("{w}, but config.json has hidden_size = {width}"),
                ));
            }
            p
        } else {
            PoolingConfig {
                mode: Pooling::Mean,
                include_prompt: true,
                dim: None,
            }
        };

        let sbert_path = dir.join("sentence_bert_config.json");
        let sbert = SbertConfig::from_file(&sbert_path)?;
        let positions = position_limit(&config);
        let max_seq_length = match sbert.max_seq_length {
            Some(n) if n > positions => {
                return Err(field_err(
                    &sbert_path,
                    "max_seq_length",
                    format!("{n} exceeds the model's position limit {positions}"),
                ))
            }
            Some(n) => n,
            None => tokenizer_max_length(&dir.join("tokenizer_config.json"))?
                .map_or(positions, |n| n.min(positions)),
        };
        let prompts = Prompts::from_file(dir.join("config_sentence_transformers.json"))?;
        let quantized = saved_plan(dir)?;

        Ok(ModelDir {
            root: dir.to_path_buf(),
            config,
            weights_path,
            tokenizer_path,
            pooling: pooling.mode,
            include_prompt: pooling.include_prompt,
            normalize: modules.normalize,
            max_seq_length,
            do_lower_case: sbert.do_lower_case,
            prompts,
            quantized,
        })
    }

    /// Memory-maps `model.safetensors`.
    pub fn weights(&self) -> Result<Weights> {
        Weights::open(&self.weights_path)
    }

    /// Loads `tokenizer.json` with truncation at `max_seq_length` and padding off, and checks
    /// its vocabulary fits the model's embedding table (so no id can index past it).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let tok = Tokenizer::from_file(&self.tokenizer_path, self.max_seq_length)?;
        if tok.vocab_size() > self.config.vocab_size() {
            return Err(Error::Config(format!(
                "{}: {} tokens, but config.json has vocab_size = {}",
                self.tokenizer_path.display(),
                tok.vocab_size(),
                self.config.vocab_size()
            )));
        }
        // The count can fit while single ids do not (a vocabulary with gaps or a corrupt entry).
        if let Some(id) = tok
            .max_id()
            .filter(|&id| id as usize >= self.config.vocab_size())
        {
            return Err(Error::Config(format!(
                "{}: token id {id} is not below config.json's vocab_size = {}",
                self.tokenizer_path.display(),
                self.config.vocab_size()
            )));
        }
        Ok(tok)
    }
}

/// `dir/name`, or an [`Error::Io`] naming it when it is not a file.
fn required(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(Error::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        }),
        Err(source) => Err(Error::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
        "intermediate_size":16,"hidden_act":"gelu","max_position_embeddings":64,"vocab_size":10}"#;

    /// A fresh directory with `files` (relative path, contents).
    fn make_dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qkv-modeldir-{}-{tag}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    const BASE: [(&str, &str); 3] = [
        ("config.json", CONFIG),
        ("model.safetensors", "x"),
        ("tokenizer.json", "{}"),
    ];

    #[test]
    fn plain_checkpoint_defaults() {
        let dir = make_dir("plain", &BASE);
        let m = ModelDir::open(&dir).unwrap();
        assert_eq!(
            (m.pooling, m.normalize, m.max_seq_length),
            (Pooling::Mean, false, 64)
        );
        assert_eq!(m.weights_path, dir.join("model.safetensors"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sentence_transformers_layout() {
        let modules = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"pool","type":"sentence_transformers.models.Pooling"},
            {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;
        let mut files = BASE.to_vec();
        files.extend([
            ("modules.json", modules),
            (
                "pool/config.json",
                r#"{"word_embedding_dimension":8,"pooling_mode_cls_token":true}"#,
            ),
            (
                "sentence_bert_config.json",
                r#"{"max_seq_length":32,"do_lower_case":false}"#,
            ),
        ]);
        let dir = make_dir("st", &files);
        let m = ModelDir::open(&dir).unwrap();
        assert_eq!(
            (m.pooling, m.normalize, m.max_seq_length),
            (Pooling::Cls, true, 32)
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_and_inconsistent_files() {
        for skip in ["config.json", "model.safetensors", "tokenizer.json"] {
            let files: Vec<_> = BASE.iter().copied().filter(|(n, _)| *n != skip).collect();
            let dir = make_dir("missing", &files);
            match ModelDir::open(&dir) {
                Err(Error::Io { path, .. }) => assert_eq!(path, dir.join(skip)),
                other => panic!("{skip}: {other:?}"),
            }
            std::fs::remove_dir_all(&dir).ok();
        }
        let mut files = BASE.to_vec();
        files.push(("sentence_bert_config.json", r#"{"max_seq_length":65}"#));
        let dir = make_dir("too-long", &files);
        assert!(
            matches!(ModelDir::open(&dir), Err(Error::Config(m)) if m.contains("max_seq_length"))
        );
        let mut files = BASE.to_vec();
        files.push((
            "1_Pooling/config.json",
            r#"{"word_embedding_dimension":9,"pooling_mode_mean_tokens":true}"#,
        ));
        let dir = make_dir("width", &files);
        assert!(
            matches!(ModelDir::open(&dir), Err(Error::Config(m)) if m.contains("embedding_dimension") && m.contains("1_Pooling"))
        );
        let mut files = BASE.to_vec();
        files.push(("modules.json", "[{"));
        let dir = make_dir("modules", &files);
        assert!(
            matches!(ModelDir::open(&dir), Err(Error::Json { path, .. }) if path.ends_with("modules.json"))
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sentence_transformers_6_layout() {
        let modules = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},
            {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
            {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.base.modules.normalize.Normalize"}]"#;
        let mut files = BASE.to_vec();
        files.extend([
            ("modules.json", modules),
            (
                "1_Pooling/config.json",
                r#"{"embedding_dimension":8,"pooling_mode":"lasttoken","include_prompt":false}"#,
            ),
            (
                "sentence_bert_config.json",
                r#"{"transformer_task":"feature-extraction","module_output_name":"token_embeddings"}"#,
            ),
            ("tokenizer_config.json", r#"{"model_max_length":40}"#),
            (
                "config_sentence_transformers.json",
                r#"{"prompts":{"query":"q: ","document":""},"default_prompt_name":"query"}"#,
            ),
        ]);
        let dir = make_dir("st6", &files);
        let m = ModelDir::open(&dir).unwrap();
        assert_eq!(
            (m.pooling, m.include_prompt, m.normalize, m.max_seq_length),
            (Pooling::LastToken, false, true, 40)
        );
        assert_eq!(m.prompts.resolve(None, None).unwrap(), Some("q: "));
        // model_max_length is capped at the position limit (64); a classic max_seq_length wins
        // over it.
        let mut files = BASE.to_vec();
        files.push(("tokenizer_config.json", r#"{"model_max_length":512}"#));
        let dir2 = make_dir("st6-cap", &files);
        assert_eq!(ModelDir::open(&dir2).unwrap().max_seq_length, 64);
        files.push((
            "sentence_bert_config.json",
            r#"{"max_seq_length":20,"do_lower_case":true}"#,
        ));
        let dir2 = make_dir("st6-cap", &files);
        let m = ModelDir::open(&dir2).unwrap();
        assert_eq!((m.max_seq_length, m.do_lower_case), (20, true));
        for d in [dir, dir2] {
            std::fs::remove_dir_all(&d).ok();
        }
    }

    #[test]
    fn bad_sentence_transformers_files_name_file_and_field() {
        for (tag, name, text, needle) in [
            (
                "tokcfg",
                "tokenizer_config.json",
                r#"{"model_max_length":0}"#,
                "model_max_length",
            ),
            (
                "prompts",
                "config_sentence_transformers.json",
                r#"{"prompts":{},"default_prompt_name":"query"}"#,
                "default_prompt_name",
            ),
            (
                "pool",
                "1_Pooling/config.json",
                r#"{"pooling_mode":"median"}"#,
                "pooling_mode",
            ),
            (
                "dense",
                "modules.json",
                r#"[{"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#,
                "Dense",
            ),
        ] {
            let mut files = BASE.to_vec();
            files.push((name, text));
            let dir = make_dir(tag, &files);
            match ModelDir::open(&dir) {
                Err(Error::Config(m)) => {
                    let file = dir.join(name);
                    assert!(
                        m.contains(&file.display().to_string()) && m.contains(needle),
                        "{m}"
                    )
                }
                other => panic!("{tag}: {other:?}"),
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
