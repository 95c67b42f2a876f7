//! `qkv bench encoder`: one PyTorch-default encoder layer (post-norm, ReLU) on encoder shapes,
//! including a half-padded batch ([`qkv_testkit::shapes::ENCODER`]). Its comparison (PyTorch's `nn.TransformerEncoderLayer`) is
//! measured by `benches/peers`, interleaved with this command.

use super::options::Common;
use super::report::{self, r3, Row};
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_encoder::{Mask, Workspace};
use qkv_testkit::layers::bench_encoder;
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;
use serde_json::Value;

/// Measures every case.
pub fn run(c: &Common) -> anyhow::Result<()> {
    report::print(&measure(c)?, c.json);
    Ok(())
}

/// The measurements behind `qkv bench encoder`.
pub fn measure(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    let mut rows = Vec::new();
    for (i, case) in shapes::ENCODER.iter().enumerate() {
        let (d, heads, d_ff, seq) = (case.d_model, case.heads, case.d_ff, case.seq);
        let (batch, lengths) = (case.batch(), case.lengths);
        let enc = bench_encoder(case, i as u64)?;
        let x = rand_vec(batch * seq * d, 100 + i as u64);
        let padding: Vec<bool> = lengths
            .iter()
            .flat_map(|&l| (0..seq).map(move |j| j >= l))
            .collect();
        let mut ws = Workspace::default();
        let flops = 2.0 * (batch * seq * d * (4 * d + 2 * d_ff)) as f64;
        let reps = if flops > 1e10 {
            c.reps.max(5)
        } else {
            c.reps.max(5) * 5
        };
        let t = with_threads(threads, || {
            let mut run = || {
                enc.forward_padded(&x, batch, seq, Some(&padding), Mask::None, &mut ws)
                    .expect("shapes were built to fit");
            };
            interleaved(2, reps, &mut [&mut run])
        })?;
        rows.push(Row(vec![
            ("d_model", Value::from(d)),
            ("heads", Value::from(heads)),
            ("d_ff", Value::from(d_ff)),
            ("batch", Value::from(batch)),
            ("seq", Value::from(seq)),
            ("lengths", Value::from(lengths.to_vec())),
            ("threads", Value::from(threads)),
            ("qkv_ms", r3(t[0].median * 1e3)),
        ]));
    }
    Ok(rows)
}
