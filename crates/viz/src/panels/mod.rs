//! The figures, one file per kind; `heatmap` and `lines` are the shared drawing engines.

pub mod attention;
pub(crate) mod heatmap;
pub(crate) mod lines;
pub mod pe;
pub mod softmax;
