//! criterion group `encoder`: one PyTorch-default encoder layer (post-norm, ReLU) and the
//! MiniLM-sized stack, on packed batches. Throughput is tokens.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_encoder::{Activation, Batch, Encoder, EncoderLayer, LayerConfig, LayerWeights, Workspace};
use rand::{Rng, SeedableRng};

fn layer(d: usize, heads: usize, f: usize, seed: u64) -> EncoderLayer {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = |n: usize, a: f32| (0..n).map(|_| rng.gen_range(-a..a)).collect::<Vec<f32>>();
    let a = 1.0 / (d as f32).sqrt();
    let w = LayerWeights {
        in_proj_weight: v(3 * d * d, a),
        in_proj_bias: v(3 * d, a),
        out_proj_weight: v(d * d, a),
        out_proj_bias: v(d, a),
        linear1_weight: v(f * d, a),
        linear1_bias: v(f, a),
        linear2_weight: v(d * f, 1.0 / (f as f32).sqrt()),
        linear2_bias: v(d, a),
        norm1_weight: vec![1.0; d],
        norm1_bias: vec![0.0; d],
        norm2_weight: vec![1.0; d],
        norm2_bias: vec![0.0; d],
    };
    let cfg = LayerConfig {
        d_model: d,
        heads,
        d_ff: f,
        activation: Activation::Relu,
        norm_first: false,
        eps: 1e-5,
    };
    EncoderLayer::new(cfg, &w).unwrap()
}

fn bench_encoder(c: &mut Criterion) {
    let mut g = c.benchmark_group("encoder");
    g.sample_size(10);
    // (d_model, heads, d_ff, lengths): the seed, MiniLM-sized at batch 1 and 8, half padded.
    let cases: Vec<(usize, usize, usize, Vec<usize>)> = vec![
        (64, 4, 256, vec![10]),
        (384, 6, 1536, vec![128]),
        (384, 6, 1536, vec![128; 8]),
        (384, 6, 1536, [128, 64].repeat(4)),
    ];
    for (d, h, f, lengths) in cases {
        let enc = Encoder::new(vec![layer(d, h, f, 1)], None).unwrap();
        let t: usize = lengths.iter().sum();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let x: Vec<f32> = (0..t * d).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let mut y = x.clone();
        let mut ws = Workspace::default();
        let batch = Batch::from_lengths(&lengths).unwrap();
        g.throughput(Throughput::Elements(t as u64));
        let id = format!("d{d}_b{}_t{t}", lengths.len());
        g.bench_function(BenchmarkId::new("qkv_layer", &id), |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                enc.forward_with(&mut y, &batch, &mut ws, None).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_encoder);
criterion_main!(benches);
