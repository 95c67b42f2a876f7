//! `--precision f32|bf16|int8`: the value parser, and the one line on stderr when this CPU runs
//! a precision on a slower kernel.

use qkv_encoder::Precision;
use std::collections::HashSet;
use std::sync::Mutex;

/// Parses `f32`, `bf16` or `int8` (for clap's `value_parser`).
pub fn parse(s: &str) -> Result<Precision, String> {
    s.parse().map_err(|e: qkv_encoder::Error| e.to_string())
}

/// Says once per precision and process, on stderr, when `p` runs here without its fast
/// instructions (the results are as exact, only slower).
pub fn warn_if_slow(p: Precision) {
    static SAID: Mutex<Option<HashSet<Precision>>> = Mutex::new(None);
    if p.is_fast_here() {
        return;
    }
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if said.get_or_insert_with(HashSet::new).insert(p) {
        let fast = match p {
            Precision::Bf16 => "AVX-512 BF16 (vdpbf16ps)",
            _ => "AVX-512 VNNI or AVX-VNNI (vpdpbusd)",
        };
        eprintln!(
            "qkv: this CPU lacks {fast}: {p} runs on the {} kernel (same results, slower)",
            p.kernel()
        );
    }
}
