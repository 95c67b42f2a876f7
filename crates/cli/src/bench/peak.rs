//! `qkv bench peak`: the measured multiply-add peak of every probe this CPU runs, one row
//! each: f32 FMA per ISA (with its chain count, `qkv_core::perf::fma_probe_chains`), int8
//! (`vpdpbusd` / `vpmaddwd`) per int8 kernel, and bf16 (`vdpbf16ps`). The percentages other
//! benches print are of these numbers, so each probe must run enough independent chains to
//! fill the FMA pipes of the CPU it runs on; this table shows whether it does (on a CPU whose
//! 256- and 512-bit FMAs have the same throughput, as Zen 4, AVX2 and AVX-512 must read alike).

use super::options::Common;
use super::report::{self, r3, Row};
use qkv_core::bf16::bf16_peak_gmacs;
use qkv_core::perf::{fma_peak_gflops_threads, fma_probe_chains};
use qkv_core::quant::{int8_peak_gmacs_threads, int8_probe_chains, Int8Isa};
use qkv_core::Isa;
use serde_json::Value;

/// Measures every probe and prints one row each.
pub fn run(c: &Common) -> anyhow::Result<()> {
    report::print(&measure(c), c.json);
    Ok(())
}

/// One row per probe available here (`gflops`: 2 flops per multiply-add).
pub fn measure(c: &Common) -> Vec<Row> {
    let threads = c.threads();
    let row = |probe: &str, isa: &str, chains: Value, gflops: f64| {
        Row(vec![
            ("probe", Value::from(probe)),
            ("isa", Value::from(isa)),
            ("threads", Value::from(threads)),
            ("chains", chains),
            ("gflops", r3(gflops)),
        ])
    };
    let mut rows = Vec::new();
    for isa in Isa::available() {
        let g = fma_peak_gflops_threads(isa, threads);
        rows.push(row("f32_fma", isa.name(), fma_probe_chains(isa).into(), g));
    }
    for isa in Int8Isa::available() {
        if let Some(g) = int8_peak_gmacs_threads(isa, threads) {
            rows.push(row(
                "int8",
                isa.name(),
                int8_probe_chains(isa).into(),
                2.0 * g,
            ));
        }
    }
    if let Some(g) = bf16_peak_gmacs(threads) {
        rows.push(row("bf16_dot", "avx512bf16", Value::from(16), 2.0 * g));
    }
    rows
}
