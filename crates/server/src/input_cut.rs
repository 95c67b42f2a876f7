//! Cutting a tokenized input at the server's input limit (`--max-input-tokens`, below the
//! model's own) the way the tokenizer's truncation cuts it: the text's tokens are cut, the
//! special tokens the template puts after the text (`[SEP]`, `</s>`) are kept.
//!
//! The library tokenizes at the model's limit; re-tokenizing at a lower one would need the
//! library's private text preparation (prompt, lowercasing), so the server cuts the encoding
//! instead. How many special tokens follow the text is read off the tokenizer once, from the
//! empty text's encoding and a probe's; the test checks the cut against the tokenizer's own
//! truncation.

use qkv_encoder::{Encoding, Tokenizer};

/// The tokenizer's template, as far as a cut needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutter {
    /// Special tokens around a single text.
    pub specials: usize,
    /// Of those, how many follow the text (`None`: a probe could not tell).
    pub trailing: Option<usize>,
}

impl Cutter {
    /// Reads the template off `tok`.
    pub fn probe(tok: &Tokenizer) -> Cutter {
        let specials = tok.encode("").map(|e| e.ids).unwrap_or_default();
        Cutter {
            specials: specials.len(),
            trailing: trailing(tok, &specials),
        }
    }

    /// Whether inputs can be cut at `max` tokens, given the model's own limit `model_max`.
    pub fn check(&self, max: usize, model_max: usize) -> Result<(), String> {
        if max <= self.specials {
            return Err(format!(
                "an input limit of {max} tokens leaves no room besides the {} special tokens",
                self.specials
            ));
        }
        if max < model_max && self.trailing.is_none() {
            return Err(format!(
                "an input limit of {max} tokens, below the model's {model_max}, needs a \
                 tokenizer whose special tokens can be told apart; leave --max-input-tokens \
                 unset and --max-batch-tokens at least {model_max}"
            ));
        }
        Ok(())
    }

    /// Cuts `e` to `max` tokens (when longer), keeping its trailing special tokens; marks it
    /// truncated. `max` must have passed [`Cutter::check`].
    pub fn cut(&self, e: &mut Encoding, max: usize) {
        if e.ids.len() <= max {
            return;
        }
        let tail = self.trailing.unwrap_or(0).min(max);
        let end = e.ids.len() - tail;
        e.ids.drain(max - tail..end);
        e.type_ids.drain(max - tail..end);
        e.tokens.clear();
        e.truncated = true;
    }
}

/// The empty text's special tokens that do not lead a real text's encoding.
fn trailing(tok: &Tokenizer, specials: &[u32]) -> Option<usize> {
    let probe = tok.encode("hello world").ok()?.ids;
    if probe.len() <= specials.len() {
        return None;
    }
    let leading = specials
        .iter()
        .zip(&probe)
        .take_while(|(a, b)| a == b)
        .count();
    probe
        .ends_with(&specials[leading..])
        .then_some(specials.len() - leading)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The cut equals the tokenizer's own truncation at every limit, on BERT's and RoBERTa's
    /// templates.
    #[test]
    fn a_cut_equals_the_tokenizers_truncation() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures");
        let text = "the cat sat on the mat and the dog sat on the rug, a quick brown fox";
        for dir in ["tiny_bert", "families/roberta_mean"] {
            let path = fixtures.join(dir).join("tokenizer.json");
            let full = Tokenizer::from_file(&path, 512).unwrap();
            let c = Cutter::probe(&full);
            assert_eq!((c.specials, c.trailing), (2, Some(1)), "{dir}");
            let whole = full.encode(text).unwrap();
            for max in 3..whole.ids.len() + 2 {
                c.check(max, 512).unwrap();
                let want = Tokenizer::from_file(&path, max)
                    .unwrap()
                    .encode(text)
                    .unwrap();
                let mut got = whole.clone();
                c.cut(&mut got, max);
                assert_eq!(
                    (&got.ids, &got.type_ids),
                    (&want.ids, &want.type_ids),
                    "{dir} {max}"
                );
                assert_eq!(got.truncated, want.truncated, "{dir} {max}");
            }
            assert!(c.check(2, 512).is_err());
        }
    }
}
