//! Arbitrary shapes, strides, lengths, α/β and ISAs into `gemm`, `gemm_packed`,
//! `softmax_rows`, `layer_norm`, `add_layer_norm`, activations and `attention`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qkv_fuzz::kernels(data));
