//! The embedding layer of BERT-shaped models on packed tokens:
//! `x[t] = LayerNorm(word[id] + position[pos(t)] + token_type[tt])`.
//!
//! Positions: BERT and DistilBERT count from 0 within each sequence; RoBERTa, XLM-R, CamemBERT
//! and MPNet from `pad + 1`, and a token equal to the padding id gets position `pad`
//! (transformers' `create_position_ids_from_input_ids`). MPNet and DistilBERT have no
//! token-type table.

use crate::error::{input_err, Result};
use crate::io::view::WeightsView;
use crate::nn::batch::TokenSeq;
use crate::nn::embedding::EmbeddingTable;
use crate::nn::norm::LayerNorm;

/// How position ids are derived from the token ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positions {
    /// `0, 1, 2, …` (BERT, DistilBERT).
    FromZero,
    /// `pad + 1, pad + 2, …`, and `pad` for a padding token (RoBERTa, MPNet).
    AfterPad(u32),
}

/// The tables and the LayerNorm of `embeddings.*`.
#[derive(Clone, Debug)]
pub struct BertEmbeddings {
    word: EmbeddingTable,
    position: EmbeddingTable,
    token_type: Option<EmbeddingTable>,
    positions: Positions,
    norm: LayerNorm,
}

/// Sizes of the tables [`BertEmbeddings::load`] reads.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddingSizes {
    /// Word-piece rows.
    pub vocab: usize,
    /// Position rows.
    pub positions: usize,
    /// Token-type rows (`None`: no table).
    pub types: Option<usize>,
    /// Width.
    pub d: usize,
    /// LayerNorm ε.
    pub eps: f32,
}

impl BertEmbeddings {
    /// Reads `word_embeddings`, `position_embeddings`, `token_type_embeddings` (when
    /// `sizes.types` is set) and `LayerNorm` from `w` = the view of `embeddings`.
    pub fn load(w: &WeightsView, sizes: EmbeddingSizes, positions: Positions) -> Result<Self> {
        let d = sizes.d;
        let token_type = match sizes.types {
            Some(rows) => Some(EmbeddingTable::load(
                &w.pp("token_type_embeddings"),
                rows,
                d,
            )?),
            None => None,
        };
        Ok(BertEmbeddings {
            word: EmbeddingTable::load(&w.pp("word_embeddings"), sizes.vocab, d)?,
            position: EmbeddingTable::load(&w.pp("position_embeddings"), sizes.positions, d)?,
            token_type,
            positions,
            norm: LayerNorm::load(&w.pp("LayerNorm"), d, sizes.eps)?,
        })
    }

    /// The LayerNorm applied to the embedding sum.
    pub fn norm(&self) -> &LayerNorm {
        &self.norm
    }

    /// Longest sequence the position table covers.
    pub fn max_len(&self) -> usize {
        match self.positions {
            Positions::FromZero => self.position.rows(),
            Positions::AfterPad(pad) => self.position.rows().saturating_sub(pad as usize + 1),
        }
    }

    /// Embeds packed sequences into `x` (`[Σ len, d]`, resized).
    pub fn forward(&self, seqs: &[TokenSeq], x: &mut Vec<f32>) -> Result<()> {
        const OP: &str = "embeddings";
        let d = self.word.dim();
        let tokens: usize = seqs.iter().map(|s| s.ids.len()).sum();
        x.clear();
        x.resize(tokens * d, 0.0);
        let mut row = 0;
        for (b, s) in seqs.iter().enumerate() {
            if s.ids.len() > self.max_len() {
                return Err(input_err(
                    OP,
                    format!(
                        "sequence {b} has {} tokens, the model takes at most {}",
                        s.ids.len(),
                        self.max_len()
                    ),
                ));
            }
            if let Some(tt) = s.type_ids {
                if tt.len() != s.ids.len() {
                    return Err(input_err(
                        OP,
                        format!(
                            "sequence {b}: {} type ids for {} tokens",
                            tt.len(),
                            s.ids.len()
                        ),
                    ));
                }
            }
            let mut seen = 0usize;
            for (i, &id) in s.ids.iter().enumerate() {
                let pos = match self.positions {
                    Positions::FromZero => i,
                    Positions::AfterPad(pad) if id == pad => pad as usize,
                    Positions::AfterPad(pad) => {
                        seen += 1;
                        pad as usize + seen
                    }
                };
                let tt = s.type_ids.map_or(0, |t| t[i]) as usize;
                let t = match &self.token_type {
                    Some(table) => table.row(tt),
                    None if tt == 0 => Some(&[][..]),
                    None => None,
                };
                let id = id as usize;
                let (Some(w), Some(p), Some(t)) = (self.word.row(id), self.position.row(pos), t)
                else {
                    return Err(input_err(
                        OP,
                        format!(
                            "sequence {b} token {i}: id {id} / type {tt} out of range \
                             (vocab {}, types {})",
                            self.word.rows(),
                            self.token_type.as_ref().map_or(1, |t| t.rows())
                        ),
                    ));
                };
                let out = &mut x[row * d..(row + 1) * d];
                if t.is_empty() {
                    for j in 0..d {
                        out[j] = w[j] + p[j];
                    }
                } else {
                    for j in 0..d {
                        out[j] = w[j] + p[j] + t[j];
                    }
                }
                row += 1;
            }
        }
        self.norm.apply(x, tokens)
    }
}
