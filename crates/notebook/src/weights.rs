//! The notebook's modules in qkv's layouts: its per-head `W_Q`, `W_K`, `W_V`, `W_O` and FFN
//! matrices, drawn in its order and laid out as PyTorch's `nn.TransformerEncoderLayer` keeps
//! them.

use crate::random::NumpyRandom;
use qkv_encoder::LayerWeights;

/// The notebook's `MultiHeadAttention.__init__`: per-head `W_Q`, `W_K`, `W_V` (`d_model × d_k`,
/// drawn in that order, all heads of one kind first) and `W_O` (`d_model × d_model`), each
/// `randn·0.1`, no biases; returned in PyTorch's layout as `(in_proj_weight [3d, d],
/// out_proj_weight [d, d])`. The notebook computes `X·W`; PyTorch `x·Wᵀ`: head `h`'s column `j`
/// of `W_Q` becomes row `h·d_k + j` of the q block.
pub fn draw_attention_weights(
    rng: &mut NumpyRandom,
    d_model: usize,
    heads: usize,
) -> (Vec<f32>, Vec<f32>) {
    let d = d_model;
    let dk = d / heads.max(1);
    let mut in_proj = vec![0.0f32; 3 * d * d];
    for block in 0..3 {
        for h in 0..heads {
            let w = rng.randn_f32(d, dk, 0.1, 0.0); // [d_model, d_k]
            for i in 0..d {
                for j in 0..dk {
                    in_proj[(block * d + h * dk + j) * d + i] = w[i * dk + j];
                }
            }
        }
    }
    let w_o = rng.randn_f32(d, d, 0.1, 0.0);
    (in_proj, transpose(&w_o, d, d))
}

/// The notebook's `TransformerEncoderLayer.__init__`: attention weights as
/// [`draw_attention_weights`], then `W1` (`d_model × d_ff`) and `W2` (`d_ff × d_model`), each
/// `randn·0.1`; zero biases, γ = 1, β = 0. Returned with PyTorch names and layouts.
pub fn draw_layer_weights(
    rng: &mut NumpyRandom,
    d_model: usize,
    heads: usize,
    d_ff: usize,
) -> LayerWeights {
    let d = d_model;
    let (in_proj_weight, out_proj_weight) = draw_attention_weights(rng, d, heads);
    let w1 = rng.randn_f32(d, d_ff, 0.1, 0.0);
    let w2 = rng.randn_f32(d_ff, d, 0.1, 0.0);
    LayerWeights {
        in_proj_weight,
        in_proj_bias: vec![0.0; 3 * d],
        out_proj_weight,
        out_proj_bias: vec![0.0; d],
        linear1_weight: transpose(&w1, d, d_ff),
        linear1_bias: vec![0.0; d_ff],
        linear2_weight: transpose(&w2, d_ff, d),
        linear2_bias: vec![0.0; d],
        norm1_weight: vec![1.0; d],
        norm1_bias: vec![0.0; d],
        norm2_weight: vec![1.0; d],
        norm2_bias: vec![0.0; d],
    }
}

/// `[rows, cols]` → `[cols, rows]`.
fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_round_trips() {
        let a: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let t = transpose(&a, 2, 3);
        assert_eq!(t, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(transpose(&t, 3, 2), a);
    }
}
