//! Bounded memory, measured with a counting global allocator (this test binary only):
//! - steady state: embedding 10k inputs of varying lengths in batches does not grow the live
//!   heap after a warm-up pass (no per-input leak, buffers reused rather than accumulated);
//! - the peak of one batch stays within the formula of `docs/hardening.md` (printed with
//!   `--nocapture`).
//!
//! One `#[test]` only: the allocator counts the whole process, so a second test running
//! beside it would pollute the numbers.

use qkv_core::with_threads;
use qkv_encoder::{EmbedOptions, Encoding};
use qkv_testkit::alloc::{live, peak, reset_peak, Counting};
use qkv_testkit::layers::tiny_bert as tiny;
use qkv_testkit::rng::TestRng;
use rand::{Rng, SeedableRng};

#[global_allocator]
static ALLOC: Counting = Counting;

/// `n` texts of 0 to 40 words (up to the 24-token limit after tokenization), seeded.
fn texts(n: usize) -> Vec<String> {
    let words = [
        "the", "cat", "dog", "sat", "on", "mat", "quick", "brown", "fox", "jump", "over", "lazy",
        "hello", "world", "model", "token", "red", "blue", "cafe", "running", "jumped", "日本",
    ];
    let mut rng = TestRng::seed_from_u64(9);
    (0..n)
        .map(|_| {
            let k = rng.gen_range(0..40);
            (0..k)
                .map(|_| words[rng.gen_range(0..words.len())])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The batch-memory formula of `docs/hardening.md`, in bytes, for a post-norm BERT of width
/// `d`, FFN width `f` and `heads` heads on a batch of `b` sequences of `t` tokens in all, the
/// longest `l`, with `threads` threads running attention tasks (the caller's `Workspace` and
/// the embedding buffers; the tokenizer's own allocations are not counted here).
fn batch_bytes(
    d: usize,
    f: usize,
    heads: usize,
    b: usize,
    t: usize,
    l: usize,
    threads: usize,
) -> usize {
    let f32s = 4;
    // Persistent workspace: hidden x [T, d], qkv [T, 3d], ctx [T, d], FFN hidden [T, f].
    let workspace = t * (d + 3 * d + d + f) * f32s;
    // Transient packed A of the largest GEMM: ⌈T/MR⌉·MR rows × min(K, KC) (MR ≤ 8).
    let kc = d.max(f).min(qkv_core::gemm::KC);
    let gemm = t.div_ceil(8) * 8 * kc * f32s;
    // Attention scratch per thread (ops/attention.rs `Layout`, one key block for l ≤ 1024;
    // NR ≤ 48, padded query block 48): K̃ and Ṽ panels, Q̃ block, scores and packed P, O.
    let dh = d / heads;
    let (nr, bq) = (48, 48);
    let scratch =
        (l.div_ceil(nr) * nr * dh + dh.div_ceil(nr) * nr * l + bq * dh + 2 * bq * l + bq * dh)
            * f32s;
    // Output rows and pooled rows [B, d], bookkeeping per sequence (order, lengths, offsets,
    // sequence views, attention tasks).
    let rows = 2 * b * d * f32s + b * (8 + 8 + 16 + 8 + 24) + b * heads * l.div_ceil(bq) * 64;
    workspace + gemm + threads * scratch + rows
}

#[test]
fn memory_is_bounded_and_steady() {
    let model = tiny();
    let cfg = model.model().bert().unwrap().config().clone();
    let (d, f, heads) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.num_attention_heads,
    );

    // 1. Peak of one batch against the formula, one thread, fresh workspace, tokens ready.
    let inputs = texts(10_000);
    let batch: Vec<&str> = inputs[..256].iter().map(String::as_str).collect();
    let (enc, tok_peak) = with_threads(1, || {
        let before = reset_peak();
        let enc: Vec<Encoding> = model.tokenizer().encode_batch(&batch).unwrap();
        (enc, peak() - before)
    })
    .unwrap();
    let t: usize = enc.iter().map(|e| e.ids.len()).sum();
    println!(
        "tokenizing {} texts ({t} tokens): peak {tok_peak} B, {} B per token",
        batch.len(),
        tok_peak / t
    );
    let l = enc.iter().map(|e| e.ids.len()).max().unwrap();
    let fresh = tiny();
    let opts = EmbedOptions {
        batch_size: 0,
        ..Default::default()
    };
    let (measured, bound) = with_threads(1, || {
        let before = reset_peak();
        let e = fresh.embed_encodings(&enc, &opts).unwrap();
        let measured = peak() - before;
        drop(e);
        (measured, batch_bytes(d, f, heads, enc.len(), t, l, 1))
    })
    .unwrap();
    println!(
        "batch of {} sequences, {t} tokens, longest {l}: peak {measured} B, formula {bound} B",
        enc.len()
    );
    assert!(
        measured <= bound,
        "peak {measured} B exceeds the formula's {bound} B"
    );
    assert!(
        measured * 2 >= bound,
        "formula {bound} B is far above the measured {measured} B: update it"
    );
    drop(fresh);

    // 2. Steady state: a warm-up pass over 2,000 inputs (every length from 2 to 24 tokens
    // occurs), then all 10,000 inputs in batches of 64 (the CLI's default) on a pool of 2
    // threads kept throughout, reading the live heap after every 1,000 inputs.
    let chunk = 64;
    let opts = EmbedOptions {
        batch_size: chunk,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let (warm, points) = with_threads(2, || {
        let run = |texts: &[String]| {
            for c in texts.chunks(chunk) {
                let refs: Vec<&str> = c.iter().map(String::as_str).collect();
                let e = model.embed_with(&refs, &opts).unwrap();
                assert!(e.data.iter().all(|v| v.is_finite()));
            }
        };
        run(&inputs[..2_000]);
        let warm = live();
        let points: Vec<usize> = inputs
            .chunks(1_000)
            .map(|block| {
                run(block);
                live()
            })
            .collect();
        (warm, points)
    })
    .unwrap();
    println!(
        "live bytes after warm-up {warm}, then every 1,000 inputs: {points:?} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    // A leak of even one byte per input would add 10 kB over the 10k inputs.
    let slack = 8 * 1024;
    for (i, &bytes) in points.iter().enumerate() {
        assert!(
            bytes <= warm + slack,
            "after {} inputs: {bytes} B live vs {warm} B after warm-up: {points:?}",
            (i + 1) * 1_000
        );
    }
}
