//! The sentence-transformers files of a model directory, in both layouts they are published in:
//!
//! - **classic** (sentence-transformers ≤ 5, most models on the hub): `modules.json` with types
//!   `sentence_transformers.models.{Transformer,Pooling,Normalize}`, `1_Pooling/config.json`
//!   with one `pooling_mode_*_tokens: true` flag and `word_embedding_dimension`,
//!   `sentence_bert_config.json` with `max_seq_length` and `do_lower_case`;
//! - **sentence-transformers 6**: types such as
//!   `sentence_transformers.sentence_transformer.modules.pooling.Pooling`, a pooling config with
//!   `"pooling_mode": "max"` and `embedding_dimension`, and no `max_seq_length`: the pipeline's
//!   maximum length is `tokenizer_config.json`'s `model_max_length`.
//!
//! Every parser names the file and the field it rejects.

use crate::error::{Error, Result};
use crate::sentence::pooling::Pooling;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::Path;

/// A pooling module's settings (`1_Pooling/config.json`, either layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolingConfig {
    /// The pooling mode.
    pub mode: Pooling,
    /// Whether the prompt's tokens are pooled (`include_prompt`, default true).
    pub include_prompt: bool,
    /// The token-vector width the module declares, if any.
    pub dim: Option<usize>,
}

/// The legacy flags, in sentence-transformers' order (the first one set wins there when
/// several are, as a concatenation, which qkv refuses).
const LEGACY_FLAGS: [(&str, Pooling); 6] = [
    ("pooling_mode_cls_token", Pooling::Cls),
    ("pooling_mode_max_tokens", Pooling::Max),
    ("pooling_mode_mean_tokens", Pooling::Mean),
    ("pooling_mode_mean_sqrt_len_tokens", Pooling::MeanSqrtLen),
    ("pooling_mode_weightedmean_tokens", Pooling::WeightedMean),
    ("pooling_mode_lasttoken", Pooling::LastToken),
];

impl PoolingConfig {
    /// Parses a pooling config in either layout. `pooling_mode` (a name, or a list of one)
    /// wins over the legacy flags, as in sentence-transformers; with neither, the mode is mean.
    /// Several modes (a concatenation of poolings) are refused.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let obj = read_object(path)?;
        let bad = |field: &str, msg: String| field_err(path, field, msg);
        let modes: Vec<Pooling> = match obj.get("pooling_mode") {
            Some(Value::String(name)) => vec![mode_named(path, name)?],
            Some(Value::Array(names)) => names
                .iter()
                .map(|v| match v {
                    Value::String(name) => mode_named(path, name),
                    other => Err(bad("pooling_mode", format!("{other} is not a mode name"))),
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(bad(
                    "pooling_mode",
                    format!("{other} is neither a mode name nor a list of them"),
                ))
            }
            None => {
                let mut set = Vec::new();
                for (flag, mode) in LEGACY_FLAGS {
                    if get_bool(path, &obj, flag)?.unwrap_or(false) {
                        set.push(mode);
                    }
                }
                if set.is_empty() {
                    set.push(Pooling::Mean);
                }
                set
            }
        };
        let mode = match modes.as_slice() {
            [m] => *m,
            [] => return Err(bad("pooling_mode", "the list of modes is empty".into())),
            _ => {
                let names: Vec<_> = modes.iter().map(|m| m.name()).collect();
                return Err(bad(
                    "pooling_mode",
                    format!("several modes {names:?} (a concatenation) are not supported"),
                ));
            }
        };
        let dim = match get_usize(path, &obj, "embedding_dimension")? {
            Some(d) => Some(d),
            None => get_usize(path, &obj, "word_embedding_dimension")?,
        };
        let include_prompt = get_bool(path, &obj, "include_prompt")?.unwrap_or(true);
        Ok(PoolingConfig {
            mode,
            include_prompt,
            dim,
        })
    }
}

fn mode_named(path: &Path, name: &str) -> Result<Pooling> {
    Pooling::from_name(name).ok_or_else(|| {
        field_err(
            path,
            "pooling_mode",
            format!(
                "unknown mode {name:?} (known: cls, max, mean, mean_sqrt_len_tokens, \
                 weightedmean, lasttoken)"
            ),
        )
    })
}

/// What `modules.json` says about the pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Modules {
    /// The pooling module's folder, when there is one.
    pub(crate) pooling_dir: Option<String>,
    /// Whether a `Normalize` module ends the pipeline.
    pub(crate) normalize: bool,
}

/// One entry of `modules.json`.
#[derive(Deserialize)]
struct Module {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

impl Modules {
    /// Reads `modules.json` (`None` when absent). Module types are matched on their last
    /// segment (`Transformer`, `Pooling`, `Normalize`), which both layouts share; any other
    /// module (`Dense`, `LayerNorm`, …) is refused rather than skipped, since skipping it
    /// would change every embedding.
    pub(crate) fn from_file(path: &Path) -> Result<Option<Self>> {
        let Some(list) = read_json_opt::<Vec<Module>>(path)? else {
            return Ok(None);
        };
        let mut m = Modules::default();
        for (i, module) in list.iter().enumerate() {
            match module.kind.rsplit('.').next().unwrap_or_default() {
                "Transformer" => {}
                "Pooling" if m.pooling_dir.is_some() => {
                    return Err(field_err(
                        path,
                        "type",
                        format!("module {i}: a second Pooling"),
                    ))
                }
                "Pooling" => m.pooling_dir = Some(module.path.clone()),
                "Normalize" => m.normalize = true,
                _ => {
                    return Err(field_err(
                        path,
                        "type",
                        format!(
                            "module {i} is `{}`, which qkv does not run (it runs Transformer, \
                             Pooling and Normalize)",
                            module.kind
                        ),
                    ))
                }
            }
        }
        Ok(Some(m))
    }
}

/// `sentence_bert_config.json`: the classic layout's sequence limit and lowercasing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SbertConfig {
    pub(crate) max_seq_length: Option<usize>,
    pub(crate) do_lower_case: bool,
}

impl SbertConfig {
    /// Reads the file (defaults when absent). `max_seq_length` must be a positive integer.
    pub(crate) fn from_file(path: &Path) -> Result<Self> {
        let Some(obj) = read_object_opt(path)? else {
            return Ok(SbertConfig::default());
        };
        let max_seq_length = get_usize(path, &obj, "max_seq_length")?;
        if max_seq_length == Some(0) {
            return Err(field_err(
                path,
                "max_seq_length",
                "must be at least 1".into(),
            ));
        }
        Ok(SbertConfig {
            max_seq_length,
            do_lower_case: get_bool(path, &obj, "do_lower_case")?.unwrap_or(false),
        })
    }
}

/// `tokenizer_config.json`'s `model_max_length`: `None` when the file or field is absent, null,
/// or transformers' "no limit" placeholder (`1e30`, written as a huge float).
pub(crate) fn tokenizer_max_length(path: &Path) -> Result<Option<usize>> {
    let Some(obj) = read_object_opt(path)? else {
        return Ok(None);
    };
    const FIELD: &str = "model_max_length";
    match obj.get(FIELD) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(0), _) => Err(field_err(path, FIELD, "must be at least 1".into())),
            (Some(v), _) => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
            (None, Some(f)) if f >= 1e15 => Ok(None),
            _ => Err(field_err(
                path,
                FIELD,
                format!("{n} is not a positive integer"),
            )),
        },
        Some(other) => Err(field_err(
            path,
            FIELD,
            format!("{other} is not a positive integer"),
        )),
    }
}

/// An [`Error::Config`] naming the file and the field.
pub(crate) fn field_err(path: &Path, field: &str, msg: String) -> Error {
    Error::Config(format!("{}: `{field}`: {msg}", path.display()))
}

/// `obj[key]` as a bool, `None` when absent or null.
pub(crate) fn get_bool(path: &Path, obj: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(field_err(
            path,
            key,
            format!("{other} is not true or false"),
        )),
    }
}

/// `obj[key]` as a non-negative integer, `None` when absent or null.
pub(crate) fn get_usize(path: &Path, obj: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| field_err(path, key, format!("{v} is not a non-negative integer"))),
    }
}

/// The JSON object in `path`.
pub(crate) fn read_object(path: &Path) -> Result<Map<String, Value>> {
    match read_object_opt(path)? {
        Some(obj) => Ok(obj),
        None => Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        }),
    }
}

/// The JSON object in `path`, `None` when the file does not exist.
pub(crate) fn read_object_opt(path: &Path) -> Result<Option<Map<String, Value>>> {
    match read_json_opt::<Value>(path)? {
        None => Ok(None),
        Some(Value::Object(obj)) => Ok(Some(obj)),
        Some(other) => Err(Error::Config(format!(
            "{}: expected a JSON object, found {}",
            path.display(),
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
#[path = "st_config_tests.rs"]
mod tests;
