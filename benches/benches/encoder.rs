//! criterion group `encoder`: one PyTorch-default encoder layer (post-norm, ReLU) on packed
//! batches, on the cases of `qkv_testkit::shapes::ENCODER` (those `qkv bench encoder`
//! measures, with the layers built the same way). Throughput is tokens.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_encoder::{Batch, Workspace};
use qkv_testkit::layers::bench_encoder;
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;

fn bench_encoder_layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("encoder");
    g.sample_size(10);
    for (i, case) in shapes::ENCODER.iter().enumerate() {
        let d = case.d_model;
        let enc = bench_encoder(case, i as u64).unwrap();
        let t = case.tokens();
        let x = rand_vec(t * d, 100 + i as u64);
        let mut y = x.clone();
        let mut ws = Workspace::default();
        let batch = Batch::from_lengths(case.lengths).unwrap();
        g.throughput(Throughput::Elements(t as u64));
        let id = format!("d{d}_b{}_t{t}", case.batch());
        g.bench_function(BenchmarkId::new("qkv_layer", &id), |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                enc.forward_with(&mut y, &batch, &mut ws, None).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_encoder_layer);
criterion_main!(benches);
