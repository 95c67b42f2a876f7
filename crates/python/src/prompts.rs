//! Prompts: named text prefixes such as `"query: "` that some embedding models (E5, BGE,
//! Nomic, …) expect before each input. sentence-transformers keeps them in the model
//! directory's `config_sentence_transformers.json`:
//! `{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null}`.
//!
//! The library has no prompts yet, so the package reads them here; when `qkv_encoder` gains
//! them, this file goes and `encode` passes `prompt_name` through.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A model's prompts and the one used when the caller names none.
#[derive(Clone, Debug, Default)]
pub struct Prompts {
    prompts: BTreeMap<String, String>,
    default: Option<String>,
}

const FILE: &str = "config_sentence_transformers.json";

impl Prompts {
    /// Reads `config_sentence_transformers.json` in `dir`; no file means no prompts.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Prompts::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let bad = |what: &str| format!("{}: {what}", path.display());
        let json: Value =
            serde_json::from_str(&text).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
        let mut prompts = BTreeMap::new();
        match json.get("prompts") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (name, v) in m {
                    let s = v.as_str().ok_or_else(|| {
                        bad(&format!("prompts.{name} must be a string, found {v}"))
                    })?;
                    prompts.insert(name.clone(), s.to_string());
                }
            }
            Some(v) => return Err(bad(&format!("\"prompts\" must be an object, found {v}"))),
        }
        let default = match json.get("default_prompt_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if prompts.contains_key(s) => Some(s.clone()),
            Some(v) => return Err(bad(&format!("default_prompt_name {v} names no prompt"))),
        };
        Ok(Prompts { prompts, default })
    }

    /// The prompt names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.prompts.keys().map(String::as_str).collect()
    }

    /// All prompts, by name.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.prompts
    }

    /// The prefix for `name`, or the default prompt's when `name` is `None`; an error naming
    /// the known prompts when `name` is unknown.
    pub fn prefix(&self, name: Option<&str>) -> Result<Option<&str>, String> {
        match name {
            None => Ok(self
                .default
                .as_deref()
                .and_then(|d| self.prompts.get(d))
                .map(String::as_str)),
            Some(n) => match self.prompts.get(n) {
                Some(p) => Ok(Some(p.as_str())),
                None if self.prompts.is_empty() => Err(format!(
                    "prompt_name={n:?}, but this model has no prompts ({FILE} defines none)"
                )),
                None => Err(format!(
                    "prompt_name={n:?} is not one of this model's prompts: {}",
                    self.names().join(", ")
                )),
            },
        }
    }
}
