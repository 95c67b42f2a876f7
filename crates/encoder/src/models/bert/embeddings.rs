//! BERT's embedding layer on packed tokens:
//! `x[t] = LayerNorm(word[id] + position[pos] + token_type[tt])`, positions counted from 0
//! within each sequence.

use crate::error::{input_err, Result};
use crate::io::view::WeightsView;
use crate::models::bert::config::BertConfig;
use crate::nn::batch::TokenSeq;
use crate::nn::embedding::EmbeddingTable;
use crate::nn::norm::LayerNorm;

/// The three tables and the LayerNorm of `embeddings.*`.
#[derive(Clone, Debug)]
pub struct BertEmbeddings {
    word: EmbeddingTable,
    position: EmbeddingTable,
    token_type: EmbeddingTable,
    norm: LayerNorm,
}

impl BertEmbeddings {
    /// Reads `word_embeddings`, `position_embeddings`, `token_type_embeddings` and
    /// `LayerNorm` from `w` = the view of `embeddings`.
    pub fn load(w: &WeightsView, cfg: &BertConfig) -> Result<Self> {
        let d = cfg.hidden_size;
        Ok(BertEmbeddings {
            word: EmbeddingTable::load(&w.pp("word_embeddings"), cfg.vocab_size, d)?,
            position: EmbeddingTable::load(
                &w.pp("position_embeddings"),
                cfg.max_position_embeddings,
                d,
            )?,
            token_type: EmbeddingTable::load(
                &w.pp("token_type_embeddings"),
                cfg.type_vocab_size,
                d,
            )?,
            norm: LayerNorm::load(&w.pp("LayerNorm"), d, cfg.layer_norm_eps as f32)?,
        })
    }

    /// The LayerNorm applied to the embedding sum.
    pub fn norm(&self) -> &LayerNorm {
        &self.norm
    }

    /// Longest sequence the position table covers.
    pub fn max_len(&self) -> usize {
        self.position.rows()
    }

    /// Embeds packed sequences into `x` (`[Σ len, d]`, resized).
    pub fn forward(&self, seqs: &[TokenSeq], x: &mut Vec<f32>) -> Result<()> {
        const OP: &str = "BertModel::embed";
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
            for (pos, &id) in s.ids.iter().enumerate() {
                let tt = s.type_ids.map_or(0, |t| t[pos]) as usize;
                let id = id as usize;
                let (Some(w), Some(p), Some(t)) = (
                    self.word.row(id),
                    self.position.row(pos),
                    self.token_type.row(tt),
                ) else {
                    return Err(input_err(
                        OP,
                        format!(
                            "sequence {b} token {pos}: id {id} / type {tt} out of range \
                             (vocab {}, types {})",
                            self.word.rows(),
                            self.token_type.rows()
                        ),
                    ));
                };
                let out = &mut x[row * d..(row + 1) * d];
                for j in 0..d {
                    out[j] = w[j] + p[j] + t[j];
                }
                row += 1;
            }
        }
        self.norm.apply(x, tokens)
    }
}
