//! Determinism: the same input gives bit-identical output
//! - for 1, 2 and 4 threads (`qkv_core::with_threads`), on the tiny BERT model and on a
//!   synthetic multi-layer encoder big enough that every kernel takes its parallel path
//!   (GEMMs above 2 Mflop, attention above 1 Mflop, row-wise ops above 32 Ki elements, and
//!   one sequence longer than the single-block limit so the online softmax runs);
//! - for a sequence alone and inside batches of several compositions (neighbours before and
//!   after it, longer and shorter ones, different batch sizes).
//!
//! Why this holds is written down in `docs/hardening.md`: no reduction is split across
//! threads, and a row's arithmetic never depends on the other rows of its batch.

use qkv_core::with_threads;
use qkv_encoder::{Activation, Batch, EmbedOptions, Encoder, Mask, TokenSeq, Workspace};
use qkv_testkit::bits::first_diff;
use qkv_testkit::layers::{
    layer_config, layer_input as input, random_encoder, tiny_bert as tiny, Norms,
};
use qkv_testkit::rng::TestRng;
use rand::{Rng, SeedableRng};

const THREADS: [usize; 3] = [1, 2, 4];

/// A random encoder with random LayerNorms (a final one for pre-norm).
fn encoder(d: usize, heads: usize, f: usize, layers: usize, norm_first: bool) -> Encoder {
    let cfg = layer_config(d, heads, f, Activation::Gelu, norm_first);
    random_encoder(cfg, layers, Norms::Random, norm_first, 11).unwrap()
}

/// `enc.forward_with` on packed sequences of `lengths` under `mask`.
fn forward(enc: &Encoder, x: &mut [f32], lengths: &[usize], mask: Mask, ws: &mut Workspace) {
    let batch = Batch::from_lengths(lengths)
        .unwrap()
        .with_mask(mask)
        .unwrap();
    enc.forward_with(x, &batch, ws, None).unwrap();
}

/// Sentences of 1 to ~30 words (the longest are truncated at 24 tokens).
fn sentences(n: usize) -> Vec<String> {
    let words = [
        "the", "cat", "dog", "sat", "on", "mat", "quick", "brown", "fox", "jump", "over", "lazy",
        "hello", "world", "model", "token", "red", "blue", "cafe", "running", "jumped",
    ];
    let mut rng = TestRng::seed_from_u64(5);
    (0..n)
        .map(|_| {
            let k = rng.gen_range(1..30);
            (0..k)
                .map(|_| words[rng.gen_range(0..words.len())])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn tiny_bert_is_bit_identical_for_1_2_4_threads() {
    let model = tiny();
    let texts = sentences(60);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let enc = model.tokenizer().encode_batch(&refs).unwrap();
    let seqs: Vec<TokenSeq> = enc
        .iter()
        .map(|e| TokenSeq {
            ids: &e.ids,
            type_ids: Some(&e.type_ids),
        })
        .collect();
    let run = |threads: usize| {
        with_threads(threads, || {
            let mut hidden = Vec::new();
            model
                .model()
                .forward_with(&seqs, &mut Workspace::default(), &mut hidden)
                .unwrap();
            let emb = model.embed(&refs).unwrap();
            (hidden, emb.data)
        })
        .unwrap()
    };
    let (h1, e1) = run(1);
    for t in &THREADS[1..] {
        let (h, e) = run(*t);
        assert_eq!(first_diff(&h1, &h), None, "hidden states, {t} threads");
        assert_eq!(first_diff(&e1, &e), None, "embeddings, {t} threads");
    }
}

#[test]
fn synthetic_encoder_is_bit_identical_for_1_2_4_threads() {
    // d 128, 3 layers, 432 tokens: every GEMM, LayerNorm and GELU pass and the attention of the
    // long sequences run in parallel with more than one thread.
    for norm_first in [false, true] {
        let d = 128;
        let enc = encoder(d, 4, 512, 3, norm_first);
        let lengths = [200, 37, 64, 1, 130];
        let t: usize = lengths.iter().sum();
        let x = input(t * d, 1);
        let run = |threads: usize| {
            with_threads(threads, || {
                let mut y = x.clone();
                forward(
                    &enc,
                    &mut y,
                    &lengths,
                    Mask::Causal,
                    &mut Workspace::default(),
                );
                y
            })
            .unwrap()
        };
        let y1 = run(1);
        assert!(y1.iter().all(|v| v.is_finite()));
        for threads in &THREADS[1..] {
            assert_eq!(
                first_diff(&y1, &run(*threads)),
                None,
                "norm_first {norm_first}, {threads} threads"
            );
        }
    }
    // One sequence past the single-block limit (1024 keys): the flash-style key blocks with
    // the online softmax, split over query blocks between threads.
    let d = 64;
    let enc = encoder(d, 2, 128, 1, false);
    let lengths = [1100, 3];
    let x = input(1103 * d, 2);
    let run = |threads: usize| {
        with_threads(threads, || {
            let mut y = x.clone();
            forward(
                &enc,
                &mut y,
                &lengths,
                Mask::None,
                &mut Workspace::default(),
            );
            y
        })
        .unwrap()
    };
    let y1 = run(1);
    for threads in &THREADS[1..] {
        assert_eq!(
            first_diff(&y1, &run(*threads)),
            None,
            "long, {threads} threads"
        );
    }
}

#[test]
fn synthetic_sequence_alone_equals_inside_any_batch() {
    let d = 96;
    let enc = encoder(d, 4, 256, 2, false);
    let s_len = 50;
    let s = input(s_len * d, 3);
    let alone = {
        let mut y = s.clone();
        enc.forward(&mut y, &Batch::single(s_len)).unwrap();
        y
    };
    // (lengths of the neighbours before, after) the sequence.
    let compositions: [(&[usize], &[usize]); 5] = [
        (&[], &[7]),
        (&[1], &[]),
        (&[300], &[1, 2]),
        (&[5, 49, 51], &[200]),
        (&[13; 9], &[50; 3]),
    ];
    let mut ws = Workspace::default();
    for threads in [1, 4] {
        for (k, (before, after)) in compositions.iter().enumerate() {
            let lengths: Vec<usize> = before
                .iter()
                .chain([s_len].iter())
                .chain(after.iter())
                .copied()
                .collect();
            let pre: usize = before.iter().sum();
            let post: usize = after.iter().sum();
            let mut x = input(pre * d, 100 + k as u64);
            x.extend_from_slice(&s);
            x.extend(input(post * d, 200 + k as u64));
            with_threads(threads, || {
                forward(&enc, &mut x, &lengths, Mask::None, &mut ws)
            })
            .unwrap();
            assert_eq!(
                first_diff(&alone, &x[pre * d..(pre + s_len) * d]),
                None,
                "composition {k} ({before:?} | {after:?}), {threads} threads"
            );
        }
    }
}

#[test]
fn tiny_bert_sentence_alone_equals_inside_any_batch() {
    let model = tiny();
    let target = "the quick brown fox jumped over the lazy dog";
    let alone = model.embed(&[target]).unwrap();
    let others = sentences(40);
    let o: Vec<&str> = others.iter().map(String::as_str).collect();
    let batches: Vec<Vec<&str>> = vec![
        vec![target, o[0]],
        vec![o[1], o[2], target],
        [&o[..20], &[target][..], &o[20..]].concat(),
        vec![o[3], target, target, o[4]],
        vec!["", target, "x"],
    ];
    for (k, texts) in batches.iter().enumerate() {
        for batch_size in [0, 1, 2, 7, 64] {
            let opts = EmbedOptions {
                batch_size,
                ..Default::default()
            };
            let e = model.embed_with(texts, &opts).unwrap();
            for (i, t) in texts.iter().enumerate() {
                if *t == target {
                    assert_eq!(
                        first_diff(alone.row(0), e.row(i)),
                        None,
                        "batch {k}, position {i}, batch size {batch_size}"
                    );
                }
            }
        }
    }
}

#[test]
fn concurrent_callers_share_one_encoder_and_get_the_same_bits() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let model = tiny();
    shareable(&model);
    let texts = sentences(24);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let want = model.embed(&refs).unwrap();
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..4)
            .map(|k| {
                let (model, refs) = (&model, &refs);
                s.spawn(move || {
                    (0..3)
                        .map(|_| model.embed(&refs[k..]).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (k, call) in calls.into_iter().enumerate() {
            for e in call.join().unwrap() {
                assert_eq!(
                    first_diff(&want.data[k * want.dim..], &e.data),
                    None,
                    "caller {k}"
                );
            }
        }
    });
}
