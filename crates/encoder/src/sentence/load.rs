//! How a model directory is loaded: the precision asked for ([`LoadOptions`]) and the one a
//! directory written by `qkv quantize` was saved at (`qkv_quantization.json`).

use crate::error::{Error, Result};
use crate::nn::precision::{Precision, PrecisionPlan};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file `qkv quantize` records a directory's precision and plan in.
pub const QUANTIZATION_FILE: &str = "qkv_quantization.json";

/// How a model is loaded (`SentenceEncoder::open_with`, `CrossEncoder::open_with`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// Precision of the linear layers; `None`: the directory's (f32 for a plain checkpoint,
    /// the saved precision for a directory written by `qkv quantize`, which loads only at it).
    pub precision: Option<Precision>,
    /// A plan to use instead of [`PrecisionPlan::recommended`] (for measuring choices); it
    /// wins over `precision`. Ignored for a quantized directory, which loads with its own.
    pub plan: Option<PrecisionPlan>,
}

impl LoadOptions {
    /// Load at `p`.
    pub fn precision(p: Precision) -> Self {
        LoadOptions::with_precision(Some(p))
    }

    /// Load at `p`, or at the directory's precision when `None`.
    pub fn with_precision(p: Option<Precision>) -> Self {
        LoadOptions {
            precision: p,
            plan: None,
        }
    }

    /// The plan to load the directory `root` with, given the plan it was saved with (if any):
    /// an error when a quantized directory is asked for another precision.
    pub fn plan_for(&self, root: &Path, saved: Option<&PrecisionPlan>) -> Result<PrecisionPlan> {
        match (saved, self.precision) {
            (Some(saved), Some(p)) if p != saved.precision => Err(Error::Config(format!(
                "{} holds {} weights ({QUANTIZATION_FILE}) and loads only at {}, not {p}; load \
                 the original checkpoint for {p}",
                root.display(),
                saved.precision,
                saved.precision
            ))),
            (Some(saved), _) => Ok(*saved),
            (None, p) => Ok(self
                .plan
                .unwrap_or_else(|| PrecisionPlan::recommended(p.unwrap_or_default()))),
        }
    }
}

/// `qkv_quantization.json`.
#[derive(Deserialize, Serialize)]
pub(crate) struct QuantizationRecord {
    format: String,
    version: u32,
    precision: String,
    qkv: String,
    attn_out: String,
    ffn_in: String,
    ffn_out: String,
    smooth_alpha: Option<f32>,
}

impl QuantizationRecord {
    const FORMAT: &'static str = "qkv-quantization";

    pub(crate) fn from_plan(plan: &PrecisionPlan) -> Self {
        QuantizationRecord {
            format: Self::FORMAT.into(),
            version: 1,
            precision: plan.precision.name().into(),
            qkv: plan.qkv.name().into(),
            attn_out: plan.attn_out.name().into(),
            ffn_in: plan.ffn_in.name().into(),
            ffn_out: plan.ffn_out.name().into(),
            smooth_alpha: plan.smooth_alpha,
        }
    }

    /// The plan, or an error naming the file and the field.
    fn plan(&self, path: &Path) -> Result<PrecisionPlan> {
        let bad = |what: String| Error::Config(format!("{}: {what}", path.display()));
        if self.format != Self::FORMAT || self.version != 1 {
            return Err(bad(format!(
                "format {:?} version {} (expected {:?} version 1)",
                self.format,
                self.version,
                Self::FORMAT
            )));
        }
        let p = |field: &str, v: &str| {
            v.parse::<Precision>()
                .map_err(|_| bad(format!("unknown precision {v:?} in `{field}`")))
        };
        Ok(PrecisionPlan {
            precision: p("precision", &self.precision)?,
            qkv: p("qkv", &self.qkv)?,
            attn_out: p("attn_out", &self.attn_out)?,
            ffn_in: p("ffn_in", &self.ffn_in)?,
            ffn_out: p("ffn_out", &self.ffn_out)?,
            smooth_alpha: self.smooth_alpha,
        })
    }
}

/// The plan `dir` was saved with by `qkv quantize`, or `None` for a plain checkpoint.
pub fn saved_plan(dir: &Path) -> Result<Option<PrecisionPlan>> {
    let path = dir.join(QUANTIZATION_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path, source }),
    };
    let record: QuantizationRecord =
        serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
    record.plan(&path).map(Some)
}
