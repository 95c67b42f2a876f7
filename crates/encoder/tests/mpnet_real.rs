//! all-mpnet-base-v2, the real checkpoint, against sentence-transformers on 24 sentences (unicode,
//! CJK, emoji, empty, long). Optional: runs when `QKV_MPNET_DIR` names the model directory
//! (`scripts/fetch_model.sh mpnet`); the reference comes from `scripts/make_mpnet_fixture.py`.
//! Pass: token ids equal; every embedding cos ≥ 0.999999 and max abs ≤ 1e-5 (docs/numerics.md).

mod common;

use common::{cos_and_max_abs, f32s, fixtures, i64s};
use qkv_encoder::{EmbedOptions, SentenceEncoder};
use safetensors::SafeTensors;

#[test]
fn all_mpnet_base_v2_matches_sentence_transformers() {
    let Some(dir) = std::env::var_os("QKV_MPNET_DIR") else {
        eprintln!("QKV_MPNET_DIR not set: skipping the all-mpnet-base-v2 check");
        return;
    };
    let model = SentenceEncoder::open(&dir).unwrap();
    assert_eq!(model.dim(), 768);
    let sentences: Vec<String> =
        serde_json::from_slice(&std::fs::read(fixtures().join("minilm/sentences.json")).unwrap())
            .unwrap();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let golden = std::fs::read(fixtures().join("mpnet/mpnet_st.safetensors")).unwrap();
    let golden = SafeTensors::deserialize(&golden).unwrap();
    let want_ids = i64s(&golden, "input_ids");
    let lengths = i64s(&golden, "lengths");
    let want = f32s(&golden, "sentence_embedding");

    let enc = model.tokenize(&texts, &EmbedOptions::default()).unwrap();
    let mut at = 0;
    for (i, e) in enc.iter().enumerate() {
        let n = lengths[i] as usize;
        let got: Vec<i64> = e.ids.iter().map(|&t| t as i64).collect();
        assert_eq!(got, want_ids[at..at + n], "sentence {i}: token ids");
        at += n;
    }
    assert_eq!(at, want_ids.len());

    let d = 768;
    for batch_size in [0, 5] {
        let opts = EmbedOptions {
            batch_size,
            ..Default::default()
        };
        let e = model.embed_with(&texts, &opts).unwrap();
        let (mut worst_cos, mut max_abs) = (1.0f64, 0.0f32);
        for i in 0..texts.len() {
            let (a, b) = (e.row(i), &want[i * d..(i + 1) * d]);
            let (cos, m) = cos_and_max_abs(a, b);
            assert!(cos >= 0.999999, "sentence {i} {:?}: cos {cos}", texts[i]);
            assert!(m <= 1e-5, "sentence {i} {:?}: max abs {m:e}", texts[i]);
            worst_cos = worst_cos.min(cos);
            max_abs = max_abs.max(m);
        }
        eprintln!("batch size {batch_size}: worst cos {worst_cos:.9}, max abs {max_abs:e}");
    }
}
