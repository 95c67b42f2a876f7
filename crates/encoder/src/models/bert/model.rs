//! [`BertModel`]: the embeddings and a post-norm encoder stack, loaded from Hugging Face
//! safetensors names with or without the `bert.` prefix.

use crate::error::Result;
use crate::io::weights::Weights;
use crate::models::bert::config::BertConfig;
use crate::models::bert::embeddings::BertEmbeddings;
use crate::models::bert::layer::load_encoder_layer;
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::layer::{EncoderLayer, LayerConfig};
use crate::nn::precision::PrecisionPlan;
use crate::nn::stack::{Encoder, Workspace};

/// A loaded BERT encoder. Weights are prepared for the GEMM once, at load.
#[derive(Clone, Debug)]
pub struct BertModel {
    cfg: BertConfig,
    embeddings: BertEmbeddings,
    encoder: Encoder,
    plan: PrecisionPlan,
}

impl BertModel {
    /// Loads every tensor named by `cfg` from `w` (names with or without `bert.`) in f32; a
    /// missing or mis-shaped tensor is an error naming it with both shapes.
    pub fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        BertModel::load_with(w, cfg, &PrecisionPlan::default())
    }

    /// [`BertModel::load`] with the projections prepared as `plan` says (int8 weights saved by
    /// `qkv quantize` load as they are when the plan asks for int8).
    pub fn load_with(w: &Weights, cfg: &BertConfig, plan: &PrecisionPlan) -> Result<Self> {
        cfg.validate()?;
        let root = if w.contains("bert.embeddings.word_embeddings.weight") {
            w.pp("bert")
        } else {
            w.root()
        };
        let layer_cfg = LayerConfig {
            d_model: cfg.hidden_size,
            heads: cfg.num_attention_heads,
            d_ff: cfg.intermediate_size,
            activation: cfg.hidden_act.activation(),
            norm_first: false,
            eps: cfg.layer_norm_eps as f32,
        };
        let embeddings = BertEmbeddings::load(&root.pp("embeddings"), cfg)?;
        let views = root.pp("encoder").pp("layer");
        let mut layers: Vec<EncoderLayer> = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let input_norm = match layers.last() {
                Some(l) => l.norms().1,
                None => embeddings.norm(),
            };
            let layer = load_encoder_layer(&views.pp(i), &layer_cfg, plan, Some(input_norm))?;
            layers.push(layer);
        }
        Ok(BertModel {
            embeddings,
            encoder: Encoder::new(layers, None)?,
            cfg: cfg.clone(),
            plan: *plan,
        })
    }

    /// The precision plan the projections were prepared with.
    pub fn precision_plan(&self) -> &PrecisionPlan {
        &self.plan
    }

    /// The configuration.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// The embedding layer.
    pub fn embeddings(&self) -> &BertEmbeddings {
        &self.embeddings
    }

    /// The encoder stack.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Embedding layer on packed tokens: `x[t] = LN(word[id] + position[pos] + type[tt])`.
    pub fn embed(&self, seqs: &[TokenSeq], x: &mut Vec<f32>) -> Result<()> {
        self.embeddings.forward(seqs, x)
    }

    /// Last hidden states of packed sequences, `[Σ len, d]`.
    pub fn forward(&self, seqs: &[TokenSeq]) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.forward_with(seqs, &mut Workspace::default(), &mut out, None)?;
        Ok(out)
    }

    /// [`BertModel::forward`] into `out` with a reused workspace. With `probs`, one buffer per
    /// layer receives its attention weights `[n_seqs, heads, S, S]`.
    pub fn forward_with(
        &self,
        seqs: &[TokenSeq],
        ws: &mut Workspace,
        out: &mut Vec<f32>,
        probs: Option<&mut [Vec<f32>]>,
    ) -> Result<()> {
        let batch = Batch::from_tokens(seqs)?;
        self.embed(seqs, out)?;
        self.encoder.forward_with(out, &batch, ws, probs)
    }
}
