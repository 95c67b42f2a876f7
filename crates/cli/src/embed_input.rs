//! Reading `qkv embed` inputs: plain text (one input per line) or JSONL with a `text` field,
//! streamed in chunks so 100k inputs never sit in memory at once.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read};

/// Where inputs come from.
pub enum Source {
    /// Texts given on the command line.
    Args(std::vec::IntoIter<String>),
    /// A file or stdin, with its display name and the line reached.
    Lines {
        reader: Box<dyn BufRead>,
        name: String,
        line: usize,
        jsonl: Option<bool>,
    },
}

impl Source {
    /// Opens `path` (`-` = stdin).
    pub fn open(path: &str) -> Result<Source> {
        let reader: Box<dyn BufRead> = if path == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let f =
                std::fs::File::open(path).with_context(|| format!("cannot open input {path}"))?;
            Box::new(BufReader::with_capacity(1 << 20, f))
        };
        let name = if path == "-" {
            "<stdin>".to_string()
        } else {
            path.to_string()
        };
        Ok(Source::Lines {
            reader,
            name,
            line: 0,
            jsonl: None,
        })
    }

    /// Up to `n` more inputs; empty when done. Invalid UTF-8 is an error naming the line
    /// (qkv never guesses at bytes: a lossy conversion would silently embed other text).
    pub fn next_chunk(&mut self, n: usize) -> Result<Vec<String>> {
        match self {
            Source::Args(it) => Ok(it.by_ref().take(n).collect()),
            Source::Lines {
                reader,
                name,
                line,
                jsonl,
            } => {
                let mut out = Vec::with_capacity(n);
                let mut buf = Vec::new();
                while out.len() < n {
                    buf.clear();
                    let got = reader
                        .by_ref()
                        .take(u64::MAX)
                        .read_until(b'\n', &mut buf)
                        .with_context(|| format!("{name}: read error after line {line}"))?;
                    if got == 0 {
                        break;
                    }
                    *line += 1;
                    if buf.ends_with(b"\n") {
                        buf.pop();
                        if buf.ends_with(b"\r") {
                            buf.pop();
                        }
                    }
                    let text = match std::str::from_utf8(&buf) {
                        Ok(t) => t,
                        Err(e) => bail!(
                            "{name}:{line}: invalid UTF-8 at byte {} of the line",
                            e.valid_up_to()
                        ),
                    };
                    // The first line decides the format: a JSON object with "text" → JSONL.
                    let is_jsonl = *jsonl.get_or_insert_with(|| {
                        text.trim_start().starts_with('{')
                            && serde_json::from_str::<serde_json::Value>(text)
                                .is_ok_and(|v| v.get("text").is_some())
                    });
                    if is_jsonl {
                        if text.trim().is_empty() {
                            continue; // blank lines between JSON records
                        }
                        let v: serde_json::Value = serde_json::from_str(text)
                            .with_context(|| format!("{name}:{line}: invalid JSON"))?;
                        match v.get("text").and_then(|t| t.as_str()) {
                            Some(t) => out.push(t.to_string()),
                            None => {
                                bail!("{name}:{line}: JSON record without a string field \"text\"")
                            }
                        }
                    } else {
                        out.push(text.to_string());
                    }
                }
                Ok(out)
            }
        }
    }
}
