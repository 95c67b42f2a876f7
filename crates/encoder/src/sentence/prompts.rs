//! Prompts: the text sentence-transformers puts before each input (`"query: "`,
//! `"Represent this sentence for searching relevant passages: "`), read from
//! `config_sentence_transformers.json`'s `prompts` and `default_prompt_name`, and chosen per
//! call as `SentenceTransformer.encode(prompt=…, prompt_name=…)` chooses it.

use crate::error::{Error, Result};
use crate::sentence::st_config::{field_err, read_object_opt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The prompts a model directory declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompts {
    /// Prompt texts by name (a null text reads as `""`, as in sentence-transformers).
    pub prompts: BTreeMap<String, String>,
    /// The prompt applied when a call names none (`default_prompt_name`).
    pub default_name: Option<String>,
}

impl Prompts {
    /// Reads `config_sentence_transformers.json` (no prompts when the file is absent). A
    /// `default_prompt_name` that is not among `prompts` is an error, as in sentence-transformers.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let Some(obj) = read_object_opt(path)? else {
            return Ok(Prompts::default());
        };
        let mut prompts = BTreeMap::new();
        match obj.get("prompts") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, text) in map {
                    let text = match text {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => {
                            return Err(field_err(
                                path,
                                "prompts",
                                format!("prompt {name:?} is {other}, not a string"),
                            ))
                        }
                    };
                    prompts.insert(name.clone(), text);
                }
            }
            Some(other) => {
                return Err(field_err(
                    path,
                    "prompts",
                    format!("{other} is not an object of name → text"),
                ))
            }
        }
        let default_name = match obj.get("default_prompt_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) if prompts.contains_key(name) => Some(name.clone()),
            Some(Value::String(name)) => {
                return Err(field_err(
                    path,
                    "default_prompt_name",
                    format!("{name:?} is not among the prompts {:?}", names(&prompts)),
                ))
            }
            Some(other) => {
                return Err(field_err(
                    path,
                    "default_prompt_name",
                    format!("{other} is not a string"),
                ))
            }
        };
        Ok(Prompts {
            prompts,
            default_name,
        })
    }

    /// The prompt text for a call: `prompt` itself when given, else the prompt named
    /// `prompt_name`, else the default prompt, else none. Giving both is an error, and so is a
    /// name the model does not declare (the message lists the names it does).
    pub fn resolve<'a>(
        &'a self,
        prompt_name: Option<&str>,
        prompt: Option<&'a str>,
    ) -> Result<Option<&'a str>> {
        match (prompt_name, prompt) {
            (Some(_), Some(_)) => Err(Error::Input {
                op: "embed",
                msg: "give a prompt or a prompt name, not both".into(),
            }),
            (None, Some(p)) => Ok(Some(p)),
            (Some(name), None) => match self.prompts.get(name) {
                Some(p) => Ok(Some(p)),
                None => Err(Error::Input {
                    op: "embed",
                    msg: format!(
                        "unknown prompt name {name:?}: the model's prompts are {:?}",
                        names(&self.prompts)
                    ),
                }),
            },
            (None, None) => Ok(self
                .default_name
                .as_ref()
                .and_then(|n| self.prompts.get(n))
                .map(String::as_str)),
        }
    }
}

fn names(prompts: &BTreeMap<String, String>) -> Vec<&str> {
    prompts.keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tag: &str, text: &str) -> Result<Prompts> {
        let p = std::env::temp_dir().join(format!("qkv-prompts-{}-{tag}.json", std::process::id()));
        std::fs::write(&p, text).unwrap();
        let r = Prompts::from_file(&p);
        std::fs::remove_file(&p).ok();
        r
    }

    #[test]
    fn reads_and_resolves() {
        let p = parse(
            "ok",
            r#"{"__version__":{"sentence_transformers":"2.7.0"},
                "prompts":{"query":"query: ","passage":"passage: ","none":null},
                "default_prompt_name":"query","similarity_fn_name":"cosine"}"#,
        )
        .unwrap();
        assert_eq!(p.default_name.as_deref(), Some("query"));
        assert_eq!(p.resolve(None, None).unwrap(), Some("query: "));
        assert_eq!(p.resolve(Some("passage"), None).unwrap(), Some("passage: "));
        assert_eq!(p.resolve(Some("none"), None).unwrap(), Some(""));
        assert_eq!(p.resolve(None, Some("q: ")).unwrap(), Some("q: "));
        let e = p.resolve(Some("doc"), None).unwrap_err().to_string();
        assert!(
            e.contains("\"doc\"") && e.contains("[\"none\", \"passage\", \"query\"]"),
            "{e}"
        );
        assert!(p.resolve(Some("query"), Some("x")).is_err());

        // The sentence-transformers 6 file: empty placeholder prompts, no default.
        let p = parse(
            "st6",
            r#"{"default_prompt_name":null,"model_type":"SentenceTransformer",
                "prompts":{"document":"","query":""}}"#,
        )
        .unwrap();
        assert_eq!(p.resolve(None, None).unwrap(), None);
        assert_eq!(p.resolve(Some("query"), None).unwrap(), Some(""));
        let missing = std::env::temp_dir().join("qkv-prompts-no-such-file.json");
        assert_eq!(Prompts::from_file(missing).unwrap(), Prompts::default());
    }

    #[test]
    fn bad_values_name_the_field() {
        for (tag, text, field) in [
            (
                "dflt",
                r#"{"prompts":{"a":"x"},"default_prompt_name":"b"}"#,
                "default_prompt_name",
            ),
            (
                "dflt-type",
                r#"{"prompts":{},"default_prompt_name":3}"#,
                "default_prompt_name",
            ),
            ("text", r#"{"prompts":{"a":1}}"#, "prompts"),
            ("map", r#"{"prompts":["a"]}"#, "prompts"),
        ] {
            match parse(tag, text) {
                Err(Error::Config(m)) => {
                    assert!(
                        m.contains(&format!("`{field}`")) && m.contains("qkv-prompts"),
                        "{m}"
                    )
                }
                other => panic!("{tag}: {other:?}"),
            }
        }
        assert!(matches!(parse("json", "{"), Err(Error::Json { .. })));
    }
}
