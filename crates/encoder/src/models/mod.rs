//! Model families, one folder (or file) each, built from the layers of [`crate::nn`] and
//! loaded from safetensors through prefixed [`WeightsView`](crate::io::WeightsView)s:
//!
//! - [`bert`]: the BERT-shaped encoders (BERT, MiniLM, RoBERTa, XLM-R, CamemBERT, MPNet and,
//!   through [`distilbert`]'s config, DistilBERT);
//! - [`modernbert`]: the ModernBERT family;
//! - [`heads`]: sequence-classification heads (cross-encoder rerankers, classifiers);
//! - [`config`]: `config.json` → the family ([`ModelConfig`]), and [`Model`], any family.

pub mod bert;
pub mod config;
pub mod distilbert;
pub mod heads;
pub mod modernbert;

pub use config::{Family, ModelConfig};

use crate::error::Result;
use crate::io::weights::Weights;
use crate::nn::batch::TokenSeq;
use crate::nn::linear::Linear;
use crate::nn::precision::PrecisionPlan;
use crate::nn::stack::Workspace;
use bert::BertModel;
use modernbert::ModernBertModel;

/// A loaded encoder of any supported family.
#[derive(Clone, Debug)]
pub enum Model {
    /// BERT, RoBERTa, XLM-R, CamemBERT, MPNet, DistilBERT.
    Bert(BertModel),
    /// ModernBERT.
    ModernBert(ModernBertModel),
}

impl Model {
    /// Loads the family `cfg` names from `w`, in f32.
    pub fn load(w: &Weights, cfg: &ModelConfig) -> Result<Self> {
        Model::load_with(w, cfg, &PrecisionPlan::default())
    }

    /// [`Model::load`] with every projection prepared as `plan` says.
    pub fn load_with(w: &Weights, cfg: &ModelConfig, plan: &PrecisionPlan) -> Result<Self> {
        Ok(match &cfg.family {
            Family::Bert(c) => Model::Bert(BertModel::load_with(w, c, plan)?),
            Family::DistilBert(c) => Model::Bert(BertModel::load_distilbert_with(w, c, plan)?),
            Family::ModernBert(c) => Model::ModernBert(ModernBertModel::load_with(w, c, plan)?),
        })
    }

    /// The precision plan the projections were prepared with.
    pub fn precision_plan(&self) -> &PrecisionPlan {
        match self {
            Model::Bert(m) => m.precision_plan(),
            Model::ModernBert(m) => m.precision_plan(),
        }
    }

    /// Every projection of the encoder, layer by layer.
    pub fn linears(&self) -> Vec<&Linear> {
        match self {
            Model::Bert(m) => m.linears(),
            Model::ModernBert(m) => m.linears(),
        }
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        match self {
            Model::Bert(m) => m.hidden_size(),
            Model::ModernBert(m) => m.hidden_size(),
        }
    }

    /// The longest input, special tokens included.
    pub fn max_len(&self) -> usize {
        match self {
            Model::Bert(m) => m.max_len(),
            Model::ModernBert(m) => m.max_len(),
        }
    }

    /// The BERT-shaped model, if this is one (attention figures need its layers).
    pub fn bert(&self) -> Option<&BertModel> {
        match self {
            Model::Bert(m) => Some(m),
            Model::ModernBert(_) => None,
        }
    }

    /// Last hidden states of packed sequences, `[Σ len, d]`.
    pub fn forward(&self, seqs: &[TokenSeq]) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.forward_with(seqs, &mut Workspace::default(), &mut out)?;
        Ok(out)
    }

    /// [`Model::forward`] into `out` with a reused workspace.
    pub fn forward_with(
        &self,
        seqs: &[TokenSeq],
        ws: &mut Workspace,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        match self {
            Model::Bert(m) => m.forward_with(seqs, ws, out, None),
            Model::ModernBert(m) => m.forward_into(seqs, out),
        }
    }
}
