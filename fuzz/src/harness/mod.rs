//! Fuzz harnesses, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the stable
//! test that replays `fuzz/regressions/` (`crates/encoder/tests/fuzz_regressions.rs`, which
//! includes this file by path so `cargo test` needs neither nightly nor libFuzzer).
//!
//! Each harness takes arbitrary bytes and drives a public API with them. A panic is a finding:
//! the APIs must answer hostile arguments with `Err`, and where they answer `Ok` the result is
//! checked (exactly for integer GEMMs, against the f64 reference for attention, by invariants
//! for softmax and LayerNorm), and memory outside the output view must be left untouched.
//!
//! Files: `input` (the fuzz bytes read as decisions: sizes, values, buffers, strided views),
//! `gemm`, `rowwise` (softmax, LayerNorm, activations) and `attention` (the `kernels` target's
//! families, each with its checks), `model_files` (the `load_model_files` target).

mod attention;
mod gemm;
mod input;
mod model_files;
mod rowwise;

pub use input::Input;
pub use model_files::load_model_files;

use attention::fuzz_attention;
use gemm::fuzz_gemm;
use rowwise::{fuzz_activation, fuzz_layer_norm, fuzz_softmax};

/// Largest buffer (elements) a harness allocates; shapes may claim far more.
const MAX_BUF: usize = 1 << 14;
/// Largest amount of multiply-adds a harness lets one call do (valid but huge work is not a bug).
const MAX_WORK: usize = 1 << 22;

/// How often each kind of result check ran (for tests that want to know a run reached deep
/// paths, not just argument validation).
pub mod reached {
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// An integer GEMM (plain or packed B) checked exactly.
    pub static GEMM_EXACT: AtomicUsize = AtomicUsize::new(0);
    /// A softmax row checked for sum 1 or zeros.
    pub static SOFTMAX_ROW: AtomicUsize = AtomicUsize::new(0);
    /// A LayerNorm call that succeeded on finite data.
    pub static LAYER_NORM: AtomicUsize = AtomicUsize::new(0);
    /// An activation call that succeeded.
    pub static ACTIVATION: AtomicUsize = AtomicUsize::new(0);
    /// An attention call compared with the f64 reference.
    pub static ATTENTION_REF: AtomicUsize = AtomicUsize::new(0);
    /// A model that loaded and ran a forward pass.
    pub static MODEL_FORWARD: AtomicUsize = AtomicUsize::new(0);

    pub(crate) fn hit(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Arbitrary shapes, strides, lengths, α/β and ISAs into the kernels' public APIs. No input is
/// steered around: the bugs fuzzing found are fixed (docs/hardening.md), and their inputs are
/// replayed from `fuzz/regressions/kernels/`.
pub fn kernels(data: &[u8]) {
    let mut u = Input::new(data);
    for _ in 0..4 {
        match u.byte() % 6 {
            0 => fuzz_gemm(&mut u, false),
            1 => fuzz_gemm(&mut u, true),
            2 => fuzz_softmax(&mut u),
            3 => fuzz_layer_norm(&mut u),
            4 => fuzz_attention(&mut u),
            _ => fuzz_activation(&mut u),
        }
        if u.is_empty() {
            break;
        }
    }
}
