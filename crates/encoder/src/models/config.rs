//! `config.json` → which family to build: `model_type` picks the family (BERT-shaped types,
//! `distilbert`, `modernbert`), `architectures` says whether a classification head follows,
//! `id2label` (or `num_labels`) how many labels it has.

use crate::error::{Error, Result};
use crate::models::bert::config::BertConfig;
use crate::models::distilbert::DistilBertConfig;
use crate::models::modernbert::config::ModernBertConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The family's own config.
#[derive(Clone, Debug, PartialEq)]
pub enum Family {
    /// BERT, RoBERTa, XLM-R, CamemBERT, MPNet.
    Bert(BertConfig),
    /// DistilBERT.
    DistilBert(DistilBertConfig),
    /// ModernBERT.
    ModernBert(ModernBertConfig),
}

/// A parsed and validated `config.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// The family and its fields.
    pub family: Family,
    /// `architectures` (e.g. `["XLMRobertaForSequenceClassification"]`).
    pub architectures: Vec<String>,
    /// Labels of a classification head.
    pub num_labels: usize,
}

#[derive(Deserialize)]
struct Common {
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    id2label: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    num_labels: Option<usize>,
}

/// `model_type`s qkv runs.
pub const SUPPORTED: &str = "bert, roberta, xlm-roberta, camembert, mpnet, distilbert, modernbert";

impl ModelConfig {
    /// Reads, parses and validates `config.json`; errors name the file and the field.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Json { source, .. } => Error::Json {
                path: path.to_path_buf(),
                source,
            },
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses `config.json` text (errors carry no path).
    pub fn from_json(text: &[u8]) -> Result<Self> {
        let json = |source| Error::Json {
            path: "config.json".into(),
            source,
        };
        let common: Common = serde_json::from_slice(text).map_err(json)?;
        let family = match common.model_type.as_deref() {
            Some("distilbert") => {
                let c = DistilBertConfig::from_json(text).map_err(json)?;
                c.validate()?;
                Family::DistilBert(c)
            }
            Some("modernbert") => {
                let c: ModernBertConfig = serde_json::from_slice(text).map_err(json)?;
                c.validate()?;
                Family::ModernBert(c)
            }
            None | Some("bert" | "roberta" | "xlm-roberta" | "camembert" | "mpnet") => {
                let c: BertConfig = serde_json::from_slice(text).map_err(json)?;
                c.validate()?;
                Family::Bert(c)
            }
            Some(t) => {
                return Err(Error::Config(format!(
                    "model_type = {t:?} is not supported (supported: {SUPPORTED})"
                )))
            }
        };
        let num_labels = match (&common.id2label, common.num_labels) {
            (Some(m), _) if !m.is_empty() => m.len(),
            (_, Some(n)) => n,
            _ => 2,
        };
        if num_labels == 0 || num_labels > 1 << 16 {
            return Err(Error::Config(format!(
                "num_labels = {num_labels} must be in 1..=65536"
            )));
        }
        Ok(ModelConfig {
            family,
            architectures: common.architectures.unwrap_or_default(),
            num_labels,
        })
    }

    /// The BERT-shaped config, when the family is one (DistilBERT's translated).
    pub fn bert(&self) -> Option<BertConfig> {
        match &self.family {
            Family::Bert(c) => Some(c.clone()),
            Family::DistilBert(c) => Some(c.as_bert()),
            Family::ModernBert(_) => None,
        }
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        match &self.family {
            Family::Bert(c) => c.hidden_size,
            Family::DistilBert(c) => c.dim,
            Family::ModernBert(c) => c.hidden_size,
        }
    }

    /// Rows of the word table: every token id must be below it.
    pub fn vocab_size(&self) -> usize {
        match &self.family {
            Family::Bert(c) => c.vocab_size,
            Family::DistilBert(c) => c.vocab_size,
            Family::ModernBert(c) => c.vocab_size,
        }
    }

    /// The longest input the model takes, special tokens included (RoBERTa-style position
    /// offsets subtracted).
    pub fn max_tokens(&self) -> usize {
        match &self.family {
            Family::Bert(c) => c.max_tokens(),
            Family::DistilBert(c) => c.max_position_embeddings,
            Family::ModernBert(c) => c.max_position_embeddings,
        }
    }

    /// Whether `architectures` names a sequence-classification model.
    pub fn is_classifier(&self) -> bool {
        self.architectures
            .iter()
            .any(|a| a.ends_with("ForSequenceClassification"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        ModelConfig::from_json(json.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn families_and_bad_configs() {
        let bert = r#"{"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,
            "intermediate_size":16,"hidden_act":"gelu","max_position_embeddings":64,
            "vocab_size":10,"model_type":"xlm-roberta","pad_token_id":1,
            "architectures":["XLMRobertaForSequenceClassification"],"id2label":{"0":"a"}}"#;
        let c = ModelConfig::from_json(bert.as_bytes()).unwrap();
        assert!(c.is_classifier());
        assert_eq!((c.num_labels, c.max_tokens(), c.hidden_size()), (1, 62, 8));
        let m = err(r#"{"model_type":"gpt2","hidden_size":8}"#);
        assert!(m.contains("gpt2") && m.contains("modernbert"), "{m}");
        // A field the family needs is missing: the parser names it.
        let m = err(r#"{"model_type":"modernbert","hidden_size":8}"#);
        assert!(m.contains("num_hidden_layers"), "{m}");
        let m = err(r#"{"model_type":"distilbert","dim":8}"#);
        assert!(m.contains("n_layers"), "{m}");
        let m = err(&bert.replace("\"num_attention_heads\":2", "\"num_attention_heads\":3"));
        assert!(m.contains("divisible"), "{m}");
    }
}
