//! A sentence-transformers model directory: which files hold the weights and tokenizer, and
//! the pooling, normalization and sequence limit that turn token vectors into embeddings.
//!
//! Layout (as saved by sentence-transformers and found on the Hugging Face hub):
//! `config.json`, `model.safetensors`, `tokenizer.json` (required); `modules.json`,
//! `1_Pooling/config.json`, `sentence_bert_config.json` (optional, with the defaults of a plain
//! transformers checkpoint: mean pooling, no normalization, `min(512, max_position_embeddings)`).
//! A directory written by `qkv quantize` also holds `qkv_quantization.json` (the precision its
//! weights were saved at, and the plan; see [`QUANTIZATION_FILE`]).

use crate::error::{Error, Result};
use crate::io::tokenizer::Tokenizer;
use crate::io::weights::Weights;
use crate::models::bert::config::BertConfig;
use crate::nn::precision::{Precision, PrecisionPlan};
use crate::sentence::pooling::Pooling;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The files and settings of a model directory, validated but not yet loaded.
#[derive(Clone, Debug)]
pub struct ModelDir {
    /// The directory.
    pub root: PathBuf,
    /// The parsed and validated `config.json`.
    pub config: BertConfig,
    /// `model.safetensors`.
    pub weights_path: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer_path: PathBuf,
    /// Pooling mode from the pooling module's config (mean when absent).
    pub pooling: Pooling,
    /// Whether `modules.json` ends in a `Normalize` module (L2-normalized embeddings).
    pub normalize: bool,
    /// Truncation length in tokens, special tokens included.
    pub max_seq_length: usize,
    /// The plan the weights were saved with, for a directory written by `qkv quantize`
    /// (`qkv_quantization.json`); `None` for a plain checkpoint.
    pub quantized: Option<PrecisionPlan>,
}

/// The file `qkv quantize` records a directory's precision in.
pub const QUANTIZATION_FILE: &str = "qkv_quantization.json";

/// `qkv_quantization.json`.
#[derive(Deserialize, serde::Serialize)]
pub(crate) struct QuantizationRecord {
    pub format: String,
    pub version: u32,
    pub precision: String,
    pub qkv: String,
    pub attn_out: String,
    pub ffn_in: String,
    pub ffn_out: String,
    pub smooth_alpha: Option<f32>,
}

impl QuantizationRecord {
    pub(crate) const FORMAT: &'static str = "qkv-quantization";

    pub(crate) fn from_plan(plan: &PrecisionPlan) -> Self {
        QuantizationRecord {
            format: Self::FORMAT.into(),
            version: 1,
            precision: plan.precision.name().into(),
            qkv: plan.qkv.name().into(),
            attn_out: plan.attn_out.name().into(),
            ffn_in: plan.ffn_in.name().into(),
            ffn_out: plan.ffn_out.name().into(),
            smooth_alpha: plan.smooth_alpha,
        }
    }

    /// The plan, or an error naming the file and the field.
    fn plan(&self, path: &Path) -> Result<PrecisionPlan> {
        let bad = |what: String| Error::Config(format!("{}: {what}", path.display()));
        if self.format != Self::FORMAT || self.version != 1 {
            return Err(bad(format!(
                "format {:?} version {} (expected {:?} version 1)",
                self.format,
                self.version,
                Self::FORMAT
            )));
        }
        let p = |field: &str, v: &str| {
            v.parse::<Precision>()
                .map_err(|_| bad(format!("unknown precision {v:?} in `{field}`")))
        };
        Ok(PrecisionPlan {
            precision: p("precision", &self.precision)?,
            qkv: p("qkv", &self.qkv)?,
            attn_out: p("attn_out", &self.attn_out)?,
            ffn_in: p("ffn_in", &self.ffn_in)?,
            ffn_out: p("ffn_out", &self.ffn_out)?,
            smooth_alpha: self.smooth_alpha,
        })
    }
}

/// One entry of `modules.json`.
#[derive(Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

/// `sentence_bert_config.json`.
#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

impl ModelDir {
    /// Reads the directory's configs and checks the required files exist and agree.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config = BertConfig::from_file(&required(dir, "config.json")?)?;
        let weights_path = required(dir, "model.safetensors")?;
        let tokenizer_path = required(dir, "tokenizer.json")?;

        let modules: Option<Vec<Module>> = read_json_opt(&dir.join("modules.json"))?;
        let modules = modules.unwrap_or_default();
        let has = |suffix: &str| modules.iter().find(|m| m.kind.ends_with(suffix));
        let normalize = has(".Normalize").is_some();
        let pooling_dir = has(".Pooling").map_or("1_Pooling", |m| m.path.as_str());
        let pooling_cfg = dir.join(pooling_dir).join("config.json");
        let pooling = if pooling_cfg.is_file() {
            let (pooling, width) = Pooling::from_st_config(&pooling_cfg)?;
            if let Some(w) = width.filter(|&w| w != config.hidden_size) {
                return Err(Error::Config(format!(
                    "{}: word_embedding_dimension = {w} but config.json has hidden_size = {}",
                    pooling_cfg.display(),
                    config.hidden_size
                )));
            }
            pooling
        } else {
            Pooling::Mean
        };

        let sbert_path = dir.join("sentence_bert_config.json");
        let sbert: Option<SentenceBertConfig> = read_json_opt(&sbert_path)?;
        let positions = config.max_position_embeddings;
        let max_seq_length = match sbert.and_then(|s| s.max_seq_length) {
            Some(n) if n == 0 || n > positions => {
                return Err(Error::Config(format!(
                    "{}: max_seq_length = {n} must be in 1..={positions} (max_position_embeddings)",
                    sbert_path.display()
                )))
            }
            Some(n) => n,
            None => positions.min(512),
        };

        let qpath = dir.join(QUANTIZATION_FILE);
        let quantized = match read_json_opt::<QuantizationRecord>(&qpath)? {
            Some(r) => Some(r.plan(&qpath)?),
            None => None,
        };

        Ok(ModelDir {
            root: dir.to_path_buf(),
            config,
            weights_path,
            tokenizer_path,
            pooling,
            normalize,
            max_seq_length,
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
        if tok.vocab_size() > self.config.vocab_size {
            return Err(Error::Config(format!(
                "{}: {} tokens, but config.json has vocab_size = {}",
                self.tokenizer_path.display(),
                tok.vocab_size(),
                self.config.vocab_size
            )));
        }
        // The count can fit while single ids do not (a vocabulary with gaps or a corrupt entry).
        if let Some(id) = tok
            .max_id()
            .filter(|&id| id as usize >= self.config.vocab_size)
        {
            return Err(Error::Config(format!(
                "{}: token id {id} is not below config.json's vocab_size = {}",
                self.tokenizer_path.display(),
                self.config.vocab_size
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

/// Parses `path` if it exists; `None` when it does not.
pub(crate) fn read_json_opt<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })
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
            matches!(ModelDir::open(&dir), Err(Error::Config(m)) if m.contains("word_embedding_dimension"))
        );
        let mut files = BASE.to_vec();
        files.push(("modules.json", "[{"));
        let dir = make_dir("modules", &files);
        assert!(
            matches!(ModelDir::open(&dir), Err(Error::Json { path, .. }) if path.ends_with("modules.json"))
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
