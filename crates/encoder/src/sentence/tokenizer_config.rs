//! `tokenizer_config.json`: the settings transformers' tokenizer classes add to
//! `tokenizer.json` — the maximum length (`model_max_length`) and whether token-type ids are
//! model inputs (`model_input_names`, else the class's default).

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// Tokenizer classes whose default `model_input_names` include `token_type_ids`.
const CLASSES_WITH_TYPES: &[&str] = &[
    "BertTokenizer",
    "BertTokenizerFast",
    "ElectraTokenizer",
    "ElectraTokenizerFast",
    "BertJapaneseTokenizer",
    "FunnelTokenizer",
    "FunnelTokenizerFast",
];

/// The fields qkv reads; absent file or fields give `None`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TokenizerConfig {
    /// The longest input the tokenizer produces (huge placeholders mean "none").
    #[serde(default, deserialize_with = "lenient_len")]
    pub model_max_length: Option<usize>,
    /// The tokenizer class.
    #[serde(default)]
    pub tokenizer_class: Option<String>,
    /// The model inputs the tokenizer returns.
    #[serde(default)]
    pub model_input_names: Option<Vec<String>>,
}

/// `model_max_length` as a usize; floats and the `1e30` placeholder become `None`.
fn lenient_len<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(v.and_then(|v| v.as_u64())
        .filter(|&n| n > 0 && n < 1 << 24)
        .map(|n| n as usize))
}

impl TokenizerConfig {
    /// Reads `dir/tokenizer_config.json`; the default when the file is absent.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer_config.json");
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| Error::Json { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Whether transformers would feed token-type ids to the model. Without a
    /// `tokenizer_config.json`, the ids of `tokenizer.json`'s template are used.
    pub fn uses_token_types(&self) -> bool {
        if let Some(names) = &self.model_input_names {
            return names.iter().any(|n| n == "token_type_ids");
        }
        match &self.tokenizer_class {
            Some(c) => CLASSES_WITH_TYPES.contains(&c.as_str()),
            None => true,
        }
    }
}
