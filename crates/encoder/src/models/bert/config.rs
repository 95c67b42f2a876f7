//! `config.json` of a BERT-family checkpoint (Hugging Face `BertConfig`), parsed and validated
//! before anything is allocated from it.

use crate::error::{Error, Result};
use qkv_core::ops::activation::Activation;
use serde::Deserialize;
use std::path::Path;

/// Largest `hidden_size` accepted; bigger is a corrupt or hostile config.
pub const MAX_HIDDEN: usize = 65_536;
/// Largest `intermediate_size` accepted.
pub const MAX_INTERMEDIATE: usize = 1 << 20;
/// Largest `vocab_size` accepted.
pub const MAX_VOCAB: usize = 10_000_000;
/// Largest `num_hidden_layers` accepted.
pub const MAX_LAYERS: usize = 1000;
/// Largest `max_position_embeddings` / `type_vocab_size` accepted.
pub const MAX_POSITIONS: usize = 1 << 20;
/// Largest total weight size (as f32) accepted: 64 GiB.
pub const MAX_WEIGHT_BYTES: u128 = 64 << 30;

/// The feed-forward activation, as `hidden_act` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum HiddenAct {
    /// Exact GELU, `x·Φ(x)` with erf (`"gelu"`, `"gelu_python"`): BERT's.
    #[serde(rename = "gelu", alias = "gelu_python")]
    Gelu,
    /// The tanh approximation of GELU (`"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`:
    /// the same formula, written differently in transformers).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// `max(0, x)`.
    #[serde(rename = "relu")]
    Relu,
}

impl HiddenAct {
    /// The kernel-level activation this names.
    pub fn activation(&self) -> Activation {
        match self {
            HiddenAct::Gelu => Activation::Gelu,
            HiddenAct::GeluTanh => Activation::GeluTanh,
            HiddenAct::Relu => Activation::Relu,
        }
    }
}

/// The fields of a Hugging Face `BertConfig` that inference needs; unknown fields are ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BertConfig {
    /// Model width d.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Feed-forward inner width.
    pub intermediate_size: usize,
    /// Feed-forward activation.
    pub hidden_act: HiddenAct,
    /// LayerNorm ε.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Rows of the learned position table: the longest input.
    pub max_position_embeddings: usize,
    /// Rows of the token-type (segment) table.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Id of `[PAD]`.
    #[serde(default)]
    pub pad_token_id: usize,
    /// `model_type`: `"bert"` (or absent), the RoBERTa family (`"roberta"`, `"xlm-roberta"`,
    /// `"camembert"`: position ids offset from `pad_token_id`) or `"mpnet"` (relative-position
    /// attention bias); anything else is refused, since it would silently compute something
    /// else.
    #[serde(default)]
    pub model_type: Option<String>,
    /// MPNet's number of relative-position buckets.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// `position_embedding_type` when given; only `"absolute"` is supported.
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_type_vocab() -> usize {
    2
}

fn default_buckets() -> usize {
    32
}

/// How a BERT-shaped checkpoint numbers positions and biases its attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// BERT: positions `0..len`, token types.
    Bert,
    /// RoBERTa, XLM-RoBERTa, CamemBERT: positions `pad + 1 + i` (transformers'
    /// `create_position_ids_from_input_ids`), `pad` for a padding id.
    Roberta,
    /// MPNet: RoBERTa's positions, no token types, a relative-position bucket bias per head.
    MPNet,
}

impl BertConfig {
    /// Reads, parses and [validates](BertConfig::validate) a `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config: BertConfig = serde_json::from_slice(&text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        config
            .validate()
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), config_msg(e))))?;
        Ok(config)
    }

    /// Width of one attention head, `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Checks sizes are non-zero, consistent and sane, and that the weights they imply fit in
    /// [`MAX_WEIGHT_BYTES`] as f32, before anything is allocated from them.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let limits = [
            ("hidden_size", self.hidden_size, MAX_HIDDEN),
            ("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS),
            ("num_attention_heads", self.num_attention_heads, MAX_HIDDEN),
            (
                "intermediate_size",
                self.intermediate_size,
                MAX_INTERMEDIATE,
            ),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                MAX_POSITIONS,
            ),
            ("type_vocab_size", self.type_vocab_size, MAX_POSITIONS),
            ("vocab_size", self.vocab_size, MAX_VOCAB),
        ];
        for (field, value, max) in limits {
            if value == 0 {
                return bad(format!("{field} must be positive, got 0"));
            }
            if value > max {
                return bad(format!("{field} = {value} exceeds the limit {max}"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size = {} is not divisible by num_attention_heads = {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return bad(format!(
                "layer_norm_eps must be positive and finite, got {}",
                self.layer_norm_eps
            ));
        }
        if self.pad_token_id >= self.vocab_size {
            return bad(format!(
                "pad_token_id = {} is not below vocab_size = {}",
                self.pad_token_id, self.vocab_size
            ));
        }
        self.flavor()?;
        if self.max_tokens() == 0 {
            return bad(format!(
                "max_position_embeddings = {} leaves no position after the offset {}",
                self.max_position_embeddings,
                self.position_offset()
            ));
        }
        if self.flavor()? == Flavor::MPNet && self.relative_attention_num_buckets < 4 {
            return bad(format!(
                "relative_attention_num_buckets = {} must be at least 4",
                self.relative_attention_num_buckets
            ));
        }
        if let Some(t) = self
            .position_embedding_type
            .as_deref()
            .filter(|t| *t != "absolute")
        {
            return bad(format!(
                "position_embedding_type = {t:?} is not supported (expected \"absolute\")"
            ));
        }
        match self.parameter_count() {
            Some(n) if n * 4 <= MAX_WEIGHT_BYTES => Ok(()),
            _ => bad(format!(
                "the weights this config implies exceed {} GiB as f32",
                MAX_WEIGHT_BYTES >> 30
            )),
        }
    }

    /// The flavor `model_type` names (an error for a type this config cannot describe).
    pub fn flavor(&self) -> Result<Flavor> {
        match self.model_type.as_deref() {
            None | Some("bert") => Ok(Flavor::Bert),
            Some("roberta" | "xlm-roberta" | "camembert") => Ok(Flavor::Roberta),
            Some("mpnet") => Ok(Flavor::MPNet),
            Some(t) => Err(Error::Config(format!(
                "model_type = {t:?} is not a BERT-shaped model (bert, roberta, xlm-roberta, \
                 camembert, mpnet)"
            ))),
        }
    }

    /// Position id of the first token: 0 for BERT, `pad_token_id + 1` for RoBERTa and MPNet.
    pub fn position_offset(&self) -> usize {
        match self.flavor() {
            Ok(Flavor::Roberta | Flavor::MPNet) => self.pad_token_id + 1,
            _ => 0,
        }
    }

    /// The longest input the position table covers, special tokens included.
    pub fn max_tokens(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }

    /// Whether the checkpoint has a token-type table (MPNet has none).
    pub fn has_token_types(&self) -> bool {
        !matches!(self.flavor(), Ok(Flavor::MPNet))
    }

    /// Number of weights of a `BertModel` with this config (embeddings, layers, pooler), or
    /// `None` on overflow.
    pub fn parameter_count(&self) -> Option<u128> {
        let h = self.hidden_size as u128;
        let i = self.intermediate_size as u128;
        let l = self.num_hidden_layers as u128;
        let table_rows = (self.vocab_size as u128)
            .checked_add(self.max_position_embeddings as u128)?
            .checked_add(self.type_vocab_size as u128)?;
        // word + position + type tables, then the embedding LayerNorm.
        let embeddings = table_rows.checked_mul(h)?.checked_add(2 * h)?;
        // Q, K, V, O (weight + bias), two LayerNorms, FFN up and down.
        let per_layer = (4 * (h * h + h))
            .checked_add(4 * h)?
            .checked_add(h.checked_mul(i)?.checked_add(i)?)?
            .checked_add(i.checked_mul(h)?.checked_add(h)?)?;
        let pooler = h * h + h;
        embeddings
            .checked_add(l.checked_mul(per_layer)?)?
            .checked_add(pooler)
    }
}

fn config_msg(e: Error) -> String {
    match e {
        Error::Config(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{
      "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
      "hidden_act": "gelu", "hidden_size": 384, "intermediate_size": 1536,
      "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
      "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0,
      "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": 30522
    }"#;

    fn parse(s: &str) -> BertConfig {
        serde_json::from_str(s).unwrap()
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(MINILM).unwrap();
        v[field] = value;
        v
    }

    fn err_of(v: serde_json::Value) -> String {
        let c: BertConfig = serde_json::from_value(v).unwrap();
        match c.validate() {
            Err(Error::Config(m)) => m,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn minilm_parses_and_validates() {
        let c = parse(MINILM);
        c.validate().unwrap();
        assert_eq!((c.hidden_size, c.head_dim()), (384, 32));
        assert_eq!(c.hidden_act.activation(), Activation::Gelu);
        // 22.7M parameters, as published for all-MiniLM-L6-v2.
        assert_eq!(c.parameter_count(), Some(22_713_216));
    }

    #[test]
    fn defaults_apply() {
        let c = parse(
            r#"{"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
                "intermediate_size":16,"hidden_act":"relu","max_position_embeddings":4,
                "vocab_size":10}"#,
        );
        assert_eq!(
            (c.layer_norm_eps, c.type_vocab_size, c.pad_token_id),
            (1e-12, 2, 0)
        );
        c.validate().unwrap();
    }

    #[test]
    fn activations() {
        for (name, act) in [
            ("gelu", Activation::Gelu),
            ("gelu_python", Activation::Gelu),
            ("gelu_new", Activation::GeluTanh),
            ("gelu_pytorch_tanh", Activation::GeluTanh),
            ("gelu_fast", Activation::GeluTanh),
            ("relu", Activation::Relu),
        ] {
            let c: BertConfig = serde_json::from_value(with("hidden_act", name.into())).unwrap();
            assert_eq!(c.hidden_act.activation(), act, "{name}");
        }
        let e = serde_json::from_value::<BertConfig>(with("hidden_act", "swish".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("swish"), "{e}");
    }

    #[test]
    fn rejects_bad_sizes_naming_the_field() {
        for (field, value) in [
            ("hidden_size", 0),
            ("num_hidden_layers", 0),
            ("num_attention_heads", 0),
            ("intermediate_size", 0),
            ("vocab_size", 0),
            ("max_position_embeddings", 0),
            ("type_vocab_size", 0),
            ("hidden_size", 65_536 * 2),
            ("vocab_size", 10_000_001),
            ("num_hidden_layers", 1001),
        ] {
            let m = err_of(with(field, value.into()));
            assert!(m.contains(field), "{field}: {m}");
        }
        let m = err_of(with("num_attention_heads", 5.into()));
        assert!(m.contains("divisible"), "{m}");
        let m = err_of(with("pad_token_id", 30522.into()));
        assert!(m.contains("pad_token_id"), "{m}");
        let m = err_of(with("layer_norm_eps", (-1.0).into()));
        assert!(m.contains("layer_norm_eps"), "{m}");
        let m = err_of(with("model_type", "gpt2".into()));
        assert!(m.contains("gpt2") && m.contains("model_type"), "{m}");
        let m = err_of(with("position_embedding_type", "relative_key".into()));
        assert!(m.contains("relative_key"), "{m}");
    }

    #[test]
    fn rejects_configs_too_big_to_allocate() {
        // Each size within its own limit, the product far beyond 64 GiB.
        let mut v = with("hidden_size", 65_536.into());
        v["num_attention_heads"] = 64.into();
        v["num_hidden_layers"] = 1000.into();
        v["intermediate_size"] = (1 << 20).into();
        let m = err_of(v);
        assert!(m.contains("GiB"), "{m}");
        // usize::MAX sizes hit the per-field limit before any arithmetic.
        let m = err_of(with("vocab_size", u64::MAX.into()));
        assert!(m.contains("vocab_size"), "{m}");
    }

    #[test]
    fn from_file_reports_path() {
        let dir = std::env::temp_dir();
        let p = dir.join(format!("qkv-config-{}-bad.json", std::process::id()));
        std::fs::write(&p, "{ not json").unwrap();
        match BertConfig::from_file(&p) {
            Err(Error::Json { path, .. }) => assert_eq!(path, p),
            other => panic!("{other:?}"),
        }
        std::fs::write(&p, with("hidden_size", 0.into()).to_string()).unwrap();
        match BertConfig::from_file(&p) {
            Err(Error::Config(m)) => assert!(m.contains("hidden_size") && m.contains("qkv-config")),
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(&p).ok();
        assert!(matches!(BertConfig::from_file(&p), Err(Error::Io { .. })));
    }
}
