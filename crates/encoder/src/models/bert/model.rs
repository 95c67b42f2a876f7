//! [`BertModel`]: the embeddings and a post-norm encoder stack of the BERT-shaped families
//! (BERT, RoBERTa, XLM-R, CamemBERT, MPNet, DistilBERT), loaded from Hugging Face safetensors
//! names with or without the base model's prefix (`bert.`, `roberta.`, `mpnet.`,
//! `distilbert.`, as classification checkpoints store them).

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::io::weights::Weights;
use crate::models::bert::config::{BertConfig, Flavor};
use crate::models::bert::embeddings::{BertEmbeddings, EmbeddingSizes, Positions};
use crate::models::bert::layer::{load_encoder_layer, LayerNames};
use crate::models::bert::relative::RelativeBias;
use crate::models::distilbert::DistilBertConfig;
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::layer::{EncoderLayer, LayerConfig};
use crate::nn::linear::Linear;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::PrecisionPlan;
use crate::nn::stack::{Encoder, Workspace};

/// A loaded BERT-shaped encoder. Weights are packed for the GEMM once, at load.
#[derive(Clone, Debug)]
pub struct BertModel {
    cfg: BertConfig,
    embeddings: BertEmbeddings,
    encoder: Encoder,
    relative: Option<RelativeBias>,
    plan: PrecisionPlan,
}

/// `root` when the base model's tensors sit there, else `root.pp(prefix)` for the first prefix
/// whose word embeddings exist (a classification checkpoint's `bert.` / `roberta.` / …).
pub(crate) fn base_view<'w>(w: &'w Weights, prefixes: &[&str], probe: &str) -> WeightsView<'w> {
    if w.contains(probe) {
        return w.root();
    }
    prefixes
        .iter()
        .map(|p| w.pp(*p))
        .find(|v| v.contains(probe))
        .unwrap_or_else(|| w.root())
}

impl BertModel {
    /// Loads every tensor named by `cfg` from `w` (names with or without the base prefix), in
    /// f32; a missing or mis-shaped tensor is an error naming it with both shapes.
    pub fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        BertModel::load_with(w, cfg, &PrecisionPlan::default())
    }

    /// [`BertModel::load`] with the projections prepared as `plan` says (int8 weights saved by
    /// `qkv quantize` load as they are when the plan asks for int8).
    pub fn load_with(w: &Weights, cfg: &BertConfig, plan: &PrecisionPlan) -> Result<Self> {
        cfg.validate()?;
        let flavor = cfg.flavor()?;
        let root = base_view(
            w,
            &["bert", "roberta", "mpnet"],
            "embeddings.word_embeddings.weight",
        );
        let layer_cfg = LayerConfig {
            d_model: cfg.hidden_size,
            heads: cfg.num_attention_heads,
            d_ff: cfg.intermediate_size,
            activation: cfg.hidden_act.activation(),
            norm_first: false,
            eps: cfg.layer_norm_eps as f32,
        };
        let names = match flavor {
            Flavor::MPNet => LayerNames::MPNet,
            _ => LayerNames::Bert,
        };
        let enc = root.pp("encoder");
        let emb_norm = input_norm(&root, cfg.hidden_size, layer_cfg.eps, plan)?;
        let layers = load_layers(
            &enc.pp("layer"),
            cfg.num_hidden_layers,
            &layer_cfg,
            names,
            plan,
            emb_norm.as_ref(),
        )?;
        let relative = match flavor {
            Flavor::MPNet => Some(RelativeBias::load(
                &enc,
                cfg.relative_attention_num_buckets,
                cfg.num_attention_heads,
            )?),
            _ => None,
        };
        let positions = match flavor {
            Flavor::Bert => Positions::FromZero,
            _ => Positions::AfterPad(cfg.pad_token_id as u32),
        };
        let sizes = EmbeddingSizes {
            vocab: cfg.vocab_size,
            positions: cfg.max_position_embeddings,
            types: cfg.has_token_types().then_some(cfg.type_vocab_size),
            d: cfg.hidden_size,
            eps: cfg.layer_norm_eps as f32,
        };
        Ok(BertModel {
            embeddings: BertEmbeddings::load(&root.pp("embeddings"), sizes, positions)?,
            encoder: Encoder::new(layers, None)?,
            relative,
            cfg: cfg.clone(),
            plan: *plan,
        })
    }

    /// Loads a DistilBERT checkpoint (`transformer.layer.{i}` names, no token types), in f32.
    pub fn load_distilbert(w: &Weights, cfg: &DistilBertConfig) -> Result<Self> {
        BertModel::load_distilbert_with(w, cfg, &PrecisionPlan::default())
    }

    /// [`BertModel::load_distilbert`] with the projections prepared as `plan` says.
    pub fn load_distilbert_with(
        w: &Weights,
        cfg: &DistilBertConfig,
        plan: &PrecisionPlan,
    ) -> Result<Self> {
        let bert = cfg.as_bert();
        bert.validate()?;
        let root = base_view(w, &["distilbert"], "embeddings.word_embeddings.weight");
        let layer_cfg = LayerConfig {
            d_model: cfg.dim,
            heads: cfg.n_heads,
            d_ff: cfg.hidden_dim,
            activation: cfg.activation.activation(),
            norm_first: false,
            eps: DistilBertConfig::EPS,
        };
        let emb_norm = input_norm(&root, cfg.dim, layer_cfg.eps, plan)?;
        let layers = load_layers(
            &root.pp("transformer").pp("layer"),
            cfg.n_layers,
            &layer_cfg,
            LayerNames::DistilBert,
            plan,
            emb_norm.as_ref(),
        )?;
        let sizes = EmbeddingSizes {
            vocab: cfg.vocab_size,
            positions: cfg.max_position_embeddings,
            types: None,
            d: cfg.dim,
            eps: DistilBertConfig::EPS,
        };
        Ok(BertModel {
            embeddings: BertEmbeddings::load(&root.pp("embeddings"), sizes, Positions::FromZero)?,
            encoder: Encoder::new(layers, None)?,
            relative: None,
            cfg: bert,
            plan: *plan,
        })
    }

    /// The precision plan the projections were prepared with.
    pub fn precision_plan(&self) -> &PrecisionPlan {
        &self.plan
    }

    /// Every projection, layer by layer (for `qkv quantize`).
    pub fn linears(&self) -> Vec<&Linear> {
        self.encoder
            .layers()
            .iter()
            .flat_map(|l| l.linears())
            .collect()
    }

    /// The configuration (DistilBERT's translated to BERT's field names).
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// The longest input, special tokens included.
    pub fn max_len(&self) -> usize {
        self.embeddings.max_len()
    }

    /// The embedding layer.
    pub fn embeddings(&self) -> &BertEmbeddings {
        &self.embeddings
    }

    /// The encoder stack.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Embedding layer on packed tokens.
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
        match &self.relative {
            None => self.encoder.forward_with(out, &batch, ws, probs),
            Some(rel) => {
                let mut table = Vec::new();
                let mask = rel.mask(batch.max_len(), &mut table);
                let batch = batch.with_mask(mask)?;
                self.encoder.forward_with(out, &batch, ws, probs)
            }
        }
    }
}

/// The embeddings' LayerNorm (under `root.embeddings`) when the plan smooths the first
/// layer's QKV projection with it; read only then, so an f32 load meets the layers' tensors
/// first, as before.
fn input_norm(
    root: &WeightsView,
    d: usize,
    eps: f32,
    plan: &PrecisionPlan,
) -> Result<Option<LayerNorm>> {
    if !plan.smooths() {
        return Ok(None);
    }
    LayerNorm::load(&root.pp("embeddings").pp("LayerNorm"), d, eps).map(Some)
}

/// `n` post-norm layers under `layers.{i}`, each fed by the previous one's output norm (the
/// first by the embeddings' norm).
fn load_layers(
    layers: &WeightsView,
    n: usize,
    cfg: &LayerConfig,
    names: LayerNames,
    plan: &PrecisionPlan,
    emb_norm: Option<&LayerNorm>,
) -> Result<Vec<EncoderLayer>> {
    let mut out: Vec<EncoderLayer> = Vec::with_capacity(n);
    for i in 0..n {
        let input = out.last().map(|l| l.norms().1).or(emb_norm);
        let layer = load_encoder_layer(&layers.pp(i), cfg, names, plan, input)?;
        out.push(layer);
    }
    Ok(out)
}
