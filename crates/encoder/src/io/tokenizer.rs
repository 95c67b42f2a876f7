//! Tokenization through the Hugging Face `tokenizers` crate: the same normalizer, WordPiece
//! model and post-processor (`[CLS] … [SEP]`) as Python, read from `tokenizer.json`.
//!
//! sentence-transformers overrides two settings embedded in `tokenizer.json`: it truncates at
//! its own `max_seq_length` (256 for all-MiniLM-L6-v2, not the file's 128) and pads to the
//! longest sequence in the batch, not to a fixed length. qkv packs sequences without padding,
//! so padding is switched off and truncation set to `max_len`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use tokenizers::{PostProcessor, TruncationDirection, TruncationParams, TruncationStrategy};

/// One tokenized text: real tokens only, no padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// Token ids, `[CLS]` and `[SEP]` included.
    pub ids: Vec<u32>,
    /// Segment (token-type) ids, one per token.
    pub type_ids: Vec<u32>,
    /// The token strings, for display.
    pub tokens: Vec<String>,
    /// Whether the text had more tokens than `max_len` and was cut.
    pub truncated: bool,
}

/// A `tokenizer.json` tokenizer with padding off and truncation at `max_len` tokens.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
    max_len: usize,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("path", &self.path)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// Loads `tokenizer.json`, disables its padding and truncates at `max_len` tokens (special
    /// tokens included). `max_len` must leave room for at least one token besides the special
    /// tokens the post-processor adds.
    pub fn from_file(path: impl AsRef<Path>, max_len: usize) -> Result<Self> {
        let path = path.as_ref();
        let err = |msg: String| Error::Tokenizer {
            path: path.to_path_buf(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut inner: tokenizers::Tokenizer = text.parse().map_err(|e| err(format!("{e}")))?;
        let added = inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        // The crate computes `max_len - added` unchecked: guard it here.
        if max_len <= added {
            return Err(err(format!(
                "max_len {max_len} leaves no room besides the {added} special tokens"
            )));
        }
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| err(format!("cannot set truncation: {e}")))?;
        Ok(Tokenizer {
            inner,
            path: path.to_path_buf(),
            max_len,
        })
    }

    /// The file this tokenizer was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The truncation length, in tokens.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Size of the vocabulary, added tokens included: every id produced is below it.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The largest id in the vocabulary (added tokens included), `None` for an empty one.
    /// A hostile `tokenizer.json` can map a few words to huge ids while keeping
    /// [`Tokenizer::vocab_size`] small; this is what bounds the ids a text can produce (the
    /// post-processor's special-token ids aside, which the model checks per input).
    pub fn max_id(&self) -> Option<u32> {
        self.inner.get_vocab(true).into_values().max()
    }

    /// Tokenizes one text.
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| self.err(format!("cannot encode text: {e}")))?;
        Ok(convert(enc))
    }

    /// Tokenizes a (query, document) pair with the post-processor's pair template
    /// (`[CLS] a [SEP] b [SEP]`, `<s> a </s></s> b </s>`, …), the longer side truncated first
    /// when both exceed `max_len` together (transformers' `longest_first`).
    pub fn encode_pair(&self, a: &str, b: &str) -> Result<Encoding> {
        let enc = self
            .inner
            .encode((a, b), true)
            .map_err(|e| self.err(format!("cannot encode pair: {e}")))?;
        Ok(convert(enc))
    }

    /// Tokenizes a batch of texts (in parallel), with special tokens and without padding.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Encoding>> {
        let encs = self
            .inner
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| self.err(format!("cannot encode batch: {e}")))?;
        Ok(encs.into_iter().map(convert).collect())
    }

    fn err(&self, msg: String) -> Error {
        Error::Tokenizer {
            path: self.path.clone(),
            msg,
        }
    }
}

fn convert(enc: tokenizers::Encoding) -> Encoding {
    // Truncation moves the cut-off tokens into `overflowing`; it is empty iff nothing was cut.
    let truncated = !enc.get_overflowing().is_empty();
    Encoding {
        ids: enc.get_ids().to_vec(),
        type_ids: enc.get_type_ids().to_vec(),
        tokens: enc.get_tokens().to_vec(),
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal BERT-style tokenizer.json: lowercasing normalizer, whitespace/punctuation
    /// pre-tokenizer, WordPiece over a tiny vocabulary, `[CLS] $A [SEP]`, and fixed padding
    /// to 16 (which `from_file` must switch off).
    const TOKENIZER_JSON: &str = r###"{
      "version": "1.0",
      "truncation": {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0},
      "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                  "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
      "added_tokens": [
        {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
      ],
      "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                     "strip_accents": null, "lowercase": true},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
      "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "cat": 5,
                          "sat": 6, "on": 7, "the": 8, "mat": 9, "##s": 10, ".": 11}}
    }"###;

    fn write(tag: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("qkv-tok-{}-{tag}.json", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn overrides_padding_and_truncation() {
        let p = write("ok", TOKENIZER_JSON);
        let tok = Tokenizer::from_file(&p, 6).unwrap();
        assert_eq!((tok.max_len(), tok.vocab_size()), (6, 12));
        let encs = tok
            .encode_batch(&["A cat sat.", "The cats sat on the mat.", "", "dog"])
            .unwrap();
        // No padding: each sequence keeps its own length.
        assert_eq!(encs[0].ids, [2, 4, 5, 6, 11, 3]);
        assert!(!encs[0].truncated);
        assert_eq!(encs[0].type_ids, [0; 6]);
        assert_eq!(encs[0].tokens, ["[CLS]", "a", "cat", "sat", ".", "[SEP]"]);
        // 9 tokens cut to 6, [SEP] kept at the end.
        assert_eq!(encs[1].ids, [2, 8, 5, 10, 6, 3]);
        assert!(encs[1].truncated);
        assert_eq!(encs[2].ids, [2, 3]);
        assert!(!encs[2].truncated);
        assert_eq!(encs[3].ids, [2, 1, 3]);
        assert_eq!(tok.encode("A cat sat.").unwrap(), encs[0]);
        // Exactly max_len tokens is not truncated.
        let tok = Tokenizer::from_file(&p, 5).unwrap();
        assert!(!tok.encode("a cat sat").unwrap().truncated);
        assert!(tok.encode("a cat sat on").unwrap().truncated);
        std::fs::remove_file(&p).ok();
    }

    #[test]
    fn max_len_must_exceed_special_tokens() {
        let p = write("small", TOKENIZER_JSON);
        for n in [0, 1, 2] {
            assert!(matches!(
                Tokenizer::from_file(&p, n),
                Err(Error::Tokenizer { .. })
            ));
        }
        assert!(Tokenizer::from_file(&p, 3).is_ok());
        std::fs::remove_file(&p).ok();
    }

    #[test]
    fn corrupt_file_names_the_path() {
        for (tag, text) in [
            ("trunc", &TOKENIZER_JSON[..200]),
            ("model", r#"{"version":"1.0","model":{"type":"Nope"}}"#),
            ("empty", ""),
        ] {
            let p = write(tag, text);
            match Tokenizer::from_file(&p, 8) {
                Err(Error::Tokenizer { path, .. }) => assert_eq!(path, p),
                other => panic!("{tag}: {other:?}"),
            }
            std::fs::remove_file(&p).ok();
        }
        let missing = std::env::temp_dir().join("qkv-tok-missing.json");
        assert!(matches!(
            Tokenizer::from_file(&missing, 8),
            Err(Error::Io { .. })
        ));
    }
}
