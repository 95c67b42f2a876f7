//! BERT-family encoders (BERT, MiniLM, …): embeddings (word + position + token type,
//! LayerNorm) and a post-norm encoder stack, loaded from Hugging Face safetensors names with or
//! without the `bert.` prefix.

use crate::config::BertConfig;
use crate::encoder::{packed_seqs, Encoder, Workspace};
use crate::error::{input_err, Result};
use crate::layer::{EncoderLayer, LayerConfig, LayerNorm, LayerWeights};
use crate::mask::AttentionMask;
use crate::weights::Weights;

/// One input sequence as token ids (and segment ids; `None` = all 0).
#[derive(Clone, Copy, Debug)]
pub struct TokenSeq<'a> {
    /// Token ids, special tokens included.
    pub ids: &'a [u32],
    /// Segment ids, one per token.
    pub type_ids: Option<&'a [u32]>,
}

/// A loaded BERT encoder. Weights are packed for the GEMM once, at load.
#[derive(Clone, Debug)]
pub struct BertModel {
    cfg: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: LayerNorm,
    encoder: Encoder,
}

impl BertModel {
    /// Loads every tensor named by `cfg` from `w` (names with or without `bert.`); a missing or
    /// mis-shaped tensor is an error naming it with both shapes.
    pub fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        cfg.validate()?;
        let p = if w.contains("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let d = cfg.hidden_size;
        let f = cfg.intermediate_size;
        let t = |name: &str, shape: &[usize]| w.tensor(&format!("{p}{name}"), shape);
        let layer_cfg = LayerConfig {
            d_model: d,
            heads: cfg.num_attention_heads,
            d_ff: f,
            activation: cfg.hidden_act.activation(),
            norm_first: false,
            eps: cfg.layer_norm_eps as f32,
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = |name: &str, shape: &[usize]| t(&format!("encoder.layer.{i}.{name}"), shape);
            let mut in_w = l("attention.self.query.weight", &[d, d])?;
            in_w.extend(l("attention.self.key.weight", &[d, d])?);
            in_w.extend(l("attention.self.value.weight", &[d, d])?);
            let mut in_b = l("attention.self.query.bias", &[d])?;
            in_b.extend(l("attention.self.key.bias", &[d])?);
            in_b.extend(l("attention.self.value.bias", &[d])?);
            let lw = LayerWeights {
                in_proj_weight: in_w,
                in_proj_bias: in_b,
                out_proj_weight: l("attention.output.dense.weight", &[d, d])?,
                out_proj_bias: l("attention.output.dense.bias", &[d])?,
                norm1_weight: l("attention.output.LayerNorm.weight", &[d])?,
                norm1_bias: l("attention.output.LayerNorm.bias", &[d])?,
                linear1_weight: l("intermediate.dense.weight", &[f, d])?,
                linear1_bias: l("intermediate.dense.bias", &[f])?,
                linear2_weight: l("output.dense.weight", &[d, f])?,
                linear2_bias: l("output.dense.bias", &[d])?,
                norm2_weight: l("output.LayerNorm.weight", &[d])?,
                norm2_bias: l("output.LayerNorm.bias", &[d])?,
            };
            layers.push(EncoderLayer::new(layer_cfg, &lw)?);
        }
        Ok(BertModel {
            word: t("embeddings.word_embeddings.weight", &[cfg.vocab_size, d])?,
            position: t(
                "embeddings.position_embeddings.weight",
                &[cfg.max_position_embeddings, d],
            )?,
            token_type: t(
                "embeddings.token_type_embeddings.weight",
                &[cfg.type_vocab_size, d],
            )?,
            emb_norm: LayerNorm {
                gamma: t("embeddings.LayerNorm.weight", &[d])?,
                beta: t("embeddings.LayerNorm.bias", &[d])?,
                eps: cfg.layer_norm_eps as f32,
            },
            encoder: Encoder::new(layers, None)?,
            cfg: cfg.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// The encoder stack.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Embedding layer on packed tokens: `x[t] = LN(word[id] + position[pos] + type[tt])`.
    pub fn embed(&self, seqs: &[TokenSeq], x: &mut Vec<f32>) -> Result<()> {
        let d = self.cfg.hidden_size;
        let tokens: usize = seqs.iter().map(|s| s.ids.len()).sum();
        x.clear();
        x.resize(tokens * d, 0.0);
        let mut row = 0;
        for (b, s) in seqs.iter().enumerate() {
            if s.ids.len() > self.cfg.max_position_embeddings {
                return Err(input_err(
                    "BertModel::embed",
                    format!(
                        "sequence {b} has {} tokens, the model takes at most {}",
                        s.ids.len(),
                        self.cfg.max_position_embeddings
                    ),
                ));
            }
            if let Some(tt) = s.type_ids {
                if tt.len() != s.ids.len() {
                    return Err(input_err(
                        "BertModel::embed",
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
                if id >= self.cfg.vocab_size || tt >= self.cfg.type_vocab_size {
                    return Err(input_err("BertModel::embed", format!("sequence {b} token {pos}: id {id} / type {tt} out of range (vocab {}, types {})", self.cfg.vocab_size, self.cfg.type_vocab_size)));
                }
                let out = &mut x[row * d..(row + 1) * d];
                let (w, p, t) = (
                    &self.word[id * d..][..d],
                    &self.position[pos * d..][..d],
                    &self.token_type[tt * d..][..d],
                );
                for j in 0..d {
                    out[j] = w[j] + p[j] + t[j];
                }
                row += 1;
            }
        }
        self.emb_norm.apply(x, tokens)
    }

    /// Last hidden states of packed sequences: `[Σ len, d]` in `out`. With `probs`, one buffer
    /// per layer receives its attention weights `[n_seqs, heads, S, S]`.
    pub fn forward(
        &self,
        seqs: &[TokenSeq],
        ws: &mut Workspace,
        out: &mut Vec<f32>,
        probs: Option<&mut [Vec<f32>]>,
    ) -> Result<()> {
        self.embed(seqs, out)?;
        let lengths: Vec<usize> = seqs.iter().map(|s| s.ids.len()).collect();
        self.encoder
            .forward_packed(out, &lengths, &AttentionMask::None, ws, probs)
    }

    /// Offsets of the packed rows of each sequence (`n + 1` values).
    pub fn offsets(seqs: &[TokenSeq]) -> Vec<usize> {
        let mut o = vec![0];
        o.extend(
            packed_seqs(&seqs.iter().map(|s| s.ids.len()).collect::<Vec<_>>())
                .iter()
                .map(|s| s.start + s.len),
        );
        o
    }
}
