//! all-MiniLM-L6-v2 against PyTorch / sentence-transformers on 24 sentences (unicode, CJK,
//! emoji, empty, one truncated at 256 tokens). Pass: last hidden state max abs ≤ 1e-4 on valid
//! tokens; every embedding cos ≥ 0.999999 and max abs ≤ 1e-5.

mod common;

use common::{cos_and_max_abs, f32s, fixtures, i64s};
use qkv_encoder::{EmbedOptions, SentenceEncoder, TokenSeq};
use qkv_testkit::dirs::model_dir;
use safetensors::SafeTensors;

#[test]
fn hidden_states_and_embeddings_match_pytorch() {
    let Some(dir) = model_dir() else { return };
    let model = SentenceEncoder::open(&dir).unwrap();
    let sentences: Vec<String> =
        serde_json::from_slice(&std::fs::read(fixtures().join("minilm/sentences.json")).unwrap())
            .unwrap();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();

    let public = std::fs::read(fixtures().join("minilm/minilm_public.safetensors")).unwrap();
    let public = SafeTensors::deserialize(&public).unwrap();
    let want_emb = f32s(&public, "sentence_embedding");
    let packed =
        std::fs::read(fixtures().join("minilm/minilm_public_last_hidden_state_packed.safetensors"))
            .unwrap();
    let packed = SafeTensors::deserialize(&packed).unwrap();
    let want_h = f32s(&packed, "last_hidden_state_packed");
    let offsets = i64s(&packed, "offsets");

    // Token ids from qkv's tokenizer (checked identical in tokenizer_golden.rs), run in one batch.
    let enc = model.tokenizer().encode_batch(&texts).unwrap();
    let seqs: Vec<TokenSeq> = enc
        .iter()
        .map(|e| TokenSeq {
            ids: &e.ids,
            type_ids: Some(&e.type_ids),
        })
        .collect();
    let hidden = model.model().forward(&seqs).unwrap();
    let d = 384;
    assert_eq!(hidden.len(), want_h.len(), "token counts differ");
    let mut max_h = 0.0f32;
    for (i, w) in offsets.windows(2).enumerate() {
        for r in w[0] as usize * d..w[1] as usize * d {
            let diff = (hidden[r] - want_h[r]).abs();
            assert!(diff <= 1e-4, "sentence {i}: hidden diff {diff:e}");
            max_h = max_h.max(diff);
        }
    }

    // Embeddings, also through smaller batches (must not change the numbers).
    for batch_size in [0, 5] {
        let e = model
            .embed_with(
                &texts,
                &EmbedOptions {
                    batch_size,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            e.truncated, 1,
            "exactly one golden sentence exceeds 256 tokens"
        );
        let mut worst_cos = 1.0f64;
        let mut max_e = 0.0f32;
        for i in 0..texts.len() {
            let (a, b) = (e.row(i), &want_emb[i * d..(i + 1) * d]);
            let (cos, m) = cos_and_max_abs(a, b);
            assert!(cos >= 0.999999, "sentence {i} {:?}: cos {cos}", texts[i]);
            assert!(m <= 1e-5, "sentence {i}: max abs {m:e}");
            worst_cos = worst_cos.min(cos);
            max_e = max_e.max(m);
        }
        eprintln!("batch_size {batch_size}: hidden max abs {max_h:e}, embeddings worst cos {worst_cos}, max abs {max_e:e}");
    }
}
