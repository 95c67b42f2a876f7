//! Row-wise numeric kernels: softmax, LayerNorm (plain and fused with a residual), activations,
//! and the fused attention kernel.

pub mod activation;
pub mod attention;
pub mod layernorm;
mod rows;
pub mod softmax;
