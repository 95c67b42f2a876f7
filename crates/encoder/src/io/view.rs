//! A prefixed view of [`Weights`], so that a module loads its tensors by their local names:
//! `w.pp("encoder").pp("layer").pp(3).tensor("output.dense.bias", &[d])` reads
//! `encoder.layer.3.output.dense.bias` (candle's `VarBuilder::pp`).

use crate::error::Result;
use crate::io::weights::Weights;
use std::fmt::Display;

/// [`Weights`] seen from under a name prefix. Cheap to clone; names join with `.`.
#[derive(Clone, Debug)]
pub struct WeightsView<'w> {
    weights: &'w Weights,
    prefix: String,
}

impl Weights {
    /// The whole file, with no prefix.
    pub fn root(&self) -> WeightsView<'_> {
        WeightsView {
            weights: self,
            prefix: String::new(),
        }
    }

    /// The tensors under `name.` (`w.pp("bert")` reads `bert.embeddings…` as `embeddings…`).
    pub fn pp(&self, name: impl Display) -> WeightsView<'_> {
        self.root().pp(name)
    }
}

impl<'w> WeightsView<'w> {
    /// The tensors under `name.` below this view's prefix.
    pub fn pp(&self, name: impl Display) -> WeightsView<'w> {
        WeightsView {
            weights: self.weights,
            prefix: format!("{}{name}.", self.prefix),
        }
    }

    /// The prefix, with its trailing `.` (empty at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The weights file.
    pub fn weights(&self) -> &'w Weights {
        self.weights
    }

    /// The full tensor name of `name` under this view.
    pub fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether the file holds `name` under this view.
    pub fn contains(&self, name: &str) -> bool {
        self.weights.contains(&self.full(name))
    }

    /// [`Weights::tensor`] of `name` under this view.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.weights.tensor(&self.full(name), shape)
    }

    /// [`Weights::tensor_i8`] of `name` under this view.
    pub fn tensor_i8(&self, name: &str, shape: &[usize]) -> Result<Vec<i8>> {
        self.weights.tensor_i8(&self.full(name), shape)
    }

    /// [`Weights::dtype`] of `name` under this view.
    pub fn dtype(&self, name: &str) -> Option<String> {
        self.weights.dtype(&self.full(name))
    }

    /// [`Weights::tensor_any`] of the first of `names` present under this view.
    pub fn tensor_any(&self, names: &[&str], shape: &[usize]) -> Result<Vec<f32>> {
        let full: Vec<String> = names.iter().map(|n| self.full(n)).collect();
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        self.weights.tensor_any(&refs, shape)
    }
}
