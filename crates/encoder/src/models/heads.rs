//! Sequence-classification heads on top of an encoder's last hidden states, as transformers'
//! `*ForSequenceClassification` compute them (dropout is the identity at inference):
//!
//! | family | pooled input | head |
//! |---|---|---|
//! | BERT | first token | `bert.pooler.dense` → tanh → `classifier` |
//! | RoBERTa, XLM-R, CamemBERT, MPNet | first token | `classifier.dense` → tanh → `classifier.out_proj` |
//! | DistilBERT | first token | `pre_classifier` → ReLU → `classifier` |
//! | ModernBERT | first token or mean (`classifier_pooling`) | `head.dense` → act → `head.norm` → `classifier` |

use crate::error::{input_err, Result};
use crate::io::view::WeightsView;
use crate::io::weights::Weights;
use crate::models::bert::config::Flavor;
use crate::models::config::{Family, ModelConfig};
use crate::models::modernbert::model::norm;
use crate::nn::norm::LayerNorm;
use qkv_core::Activation;

/// A dense layer `y = W·x (+ b)` on single rows.
#[derive(Clone, Debug)]
struct Dense {
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    rows: usize,
    cols: usize,
}

impl Dense {
    fn load(w: &WeightsView, rows: usize, cols: usize, bias: bool) -> Result<Self> {
        Ok(Dense {
            w: w.tensor("weight", &[rows, cols])?,
            b: if bias {
                Some(w.tensor("bias", &[rows])?)
            } else {
                None
            },
            rows,
            cols,
        })
    }

    fn apply(&self, x: &[f32]) -> Vec<f32> {
        (0..self.rows)
            .map(|r| {
                let dot: f32 = self.w[r * self.cols..(r + 1) * self.cols]
                    .iter()
                    .zip(x)
                    .map(|(a, b)| a * b)
                    .sum();
                dot + self.b.as_ref().map_or(0.0, |b| b[r])
            })
            .collect()
    }
}

/// The head's nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HeadAct {
    Tanh,
    Kernel(Activation),
}

impl HeadAct {
    fn apply(self, x: f32) -> f32 {
        match self {
            HeadAct::Tanh => x.tanh(),
            HeadAct::Kernel(a) => a.apply_scalar(x),
        }
    }
}

/// How the head pools the sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pool {
    First,
    Mean,
}

/// A loaded classification head.
#[derive(Clone, Debug)]
pub struct ClassifierHead {
    pool: Pool,
    dense: Dense,
    act: HeadAct,
    norm: Option<LayerNorm>,
    out: Dense,
}

impl ClassifierHead {
    /// Loads the head `cfg`'s family uses from `w`.
    pub fn load(w: &Weights, cfg: &ModelConfig) -> Result<Self> {
        let d = cfg.hidden_size();
        let n = cfg.num_labels;
        Ok(match &cfg.family {
            Family::Bert(c) if c.flavor()? == Flavor::Bert => ClassifierHead {
                pool: Pool::First,
                dense: Dense::load(&w.pp("bert").pp("pooler").pp("dense"), d, d, true)?,
                act: HeadAct::Tanh,
                norm: None,
                out: Dense::load(&w.pp("classifier"), n, d, true)?,
            },
            Family::Bert(_) => ClassifierHead {
                pool: Pool::First,
                dense: Dense::load(&w.pp("classifier").pp("dense"), d, d, true)?,
                act: HeadAct::Tanh,
                norm: None,
                out: Dense::load(&w.pp("classifier").pp("out_proj"), n, d, true)?,
            },
            Family::DistilBert(_) => ClassifierHead {
                pool: Pool::First,
                dense: Dense::load(&w.pp("pre_classifier"), d, d, true)?,
                act: HeadAct::Kernel(Activation::Relu),
                norm: None,
                out: Dense::load(&w.pp("classifier"), n, d, true)?,
            },
            Family::ModernBert(c) => ClassifierHead {
                pool: if c.classifier_pooling == "mean" {
                    Pool::Mean
                } else {
                    Pool::First
                },
                dense: Dense::load(&w.pp("head").pp("dense"), d, d, c.classifier_bias)?,
                act: HeadAct::Kernel(c.classifier_activation.activation()),
                norm: Some(norm(&w.pp("head").pp("norm"), d, c.norm_eps, c.norm_bias)?),
                out: Dense::load(&w.pp("classifier"), n, d, true)?,
            },
        })
    }

    /// Number of labels.
    pub fn labels(&self) -> usize {
        self.out.rows
    }

    /// Logits `[n, labels]` of the packed sequences of `hidden` (`[T, d]`, sequence `i` =
    /// rows `offsets[i]..offsets[i + 1]`).
    pub fn logits(&self, hidden: &[f32], offsets: &[usize]) -> Result<Vec<f32>> {
        let d = self.dense.cols;
        let mut out = Vec::with_capacity(offsets.len().saturating_sub(1) * self.labels());
        for (i, w) in offsets.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            if b <= a || b * d > hidden.len() {
                return Err(input_err(
                    "ClassifierHead::logits",
                    format!("sequence {i} is empty or outside the hidden states"),
                ));
            }
            let pooled: Vec<f32> = match self.pool {
                Pool::First => hidden[a * d..(a + 1) * d].to_vec(),
                Pool::Mean => {
                    let mut s = vec![0.0f32; d];
                    for row in hidden[a * d..b * d].chunks_exact(d) {
                        s.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                    }
                    let n = (b - a) as f32;
                    s.iter().map(|x| x / n).collect()
                }
            };
            let mut h = self.dense.apply(&pooled);
            for x in &mut h {
                *x = self.act.apply(*x);
            }
            if let Some(nrm) = &self.norm {
                nrm.apply(&mut h, 1)?;
            }
            out.extend(self.out.apply(&h));
        }
        Ok(out)
    }
}
