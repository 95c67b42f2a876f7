//! bf16 and int8 on every model family (the committed tiny checkpoints of
//! `tests/fixtures/families`: BERT, RoBERTa, XLM-R, CamemBERT, MPNet, DistilBERT, ModernBERT,
//! sentence encoders and rerankers): each loads at each precision, stays near its f32 result,
//! and `quantize_dir` saves a directory that loads to the same bits as quantizing at load.

use qkv_encoder::{
    quantize_dir, CrossEncoder, LoadOptions, Precision, QuantizeOptions, SentenceEncoder,
};
use qkv_testkit::bits::same_bits;
use qkv_testkit::dirs::TempDir;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Inputs {
    texts: Option<Vec<String>>,
    pairs: Option<Vec<(String, String)>>,
}

fn families() -> Vec<PathBuf> {
    let root = qkv_testkit::dirs::encoder_fixtures().join("families");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("inputs.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// The outputs of `dir` loaded with `opts`: embeddings (rows of `dim`) or logits.
fn outputs(dir: &Path, inputs: &Inputs, opts: &LoadOptions) -> (Vec<f32>, usize, Precision) {
    if let Some(texts) = &inputs.texts {
        let m = SentenceEncoder::open_with(dir, opts).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let e = m.embed(&refs).unwrap();
        (e.data, e.dim, m.precision())
    } else {
        let m = CrossEncoder::open_with(dir, opts).unwrap();
        let pairs = inputs.pairs.as_ref().unwrap();
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(q, d)| (q.as_str(), d.as_str()))
            .collect();
        let s = m.score(&refs).unwrap();
        let labels = m.labels();
        let flat = (0..s.len()).flat_map(|i| s.row(i).to_vec()).collect();
        (flat, labels, m.precision())
    }
}

#[test]
fn every_family_runs_at_every_precision_and_saves_bit_identically() {
    let tmp = TempDir::new("precision-families");
    let dirs = families();
    assert!(dirs.len() >= 8, "{} family fixtures", dirs.len());
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let inputs: Inputs =
            serde_json::from_slice(&std::fs::read(dir.join("inputs.json")).unwrap()).unwrap();
        let (f32_out, width, _) = outputs(&dir, &inputs, &LoadOptions::default());
        for p in [Precision::Bf16, Precision::Int8] {
            let (got, _, loaded) = outputs(&dir, &inputs, &LoadOptions::precision(p));
            assert_eq!(loaded, p, "{name}");
            // Random tiny weights, no outlier structure: agreement with f32 per output row.
            // Embeddings: worst cosine per row. One-label logits: 1 − max |Δ| / max(1, max |f32|).
            let worst = if width > 1 {
                got.chunks(width)
                    .zip(f32_out.chunks(width))
                    .map(|(a, b)| cos(a, b))
                    .fold(1.0f64, f64::min)
            } else {
                let scale = f32_out.iter().fold(1.0f32, |m, x| m.max(x.abs())) as f64;
                let d = got
                    .iter()
                    .zip(&f32_out)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                1.0 - d as f64 / scale
            };
            let floor = match (p, width > 1) {
                (Precision::Bf16, true) => 0.9995,
                (Precision::Bf16, false) => 0.99,
                (_, true) => 0.995,
                (_, false) => 0.95,
            };
            eprintln!("{name} {p}: worst agreement with f32 {worst:.6}");
            assert!(worst >= floor, "{name} {p}: {worst}");
            let out = tmp.path(&format!("{name}-{p}"));
            quantize_dir(
                &dir,
                &out,
                &QuantizeOptions {
                    precision: p,
                    force: false,
                },
            )
            .unwrap_or_else(|e| panic!("{name} {p}: {e}"));
            let (saved, _, saved_p) = outputs(&out, &inputs, &LoadOptions::default());
            assert_eq!(saved_p, p, "{name}");
            assert!(
                same_bits(&saved, &got),
                "{name} {p}: saved ≠ quantized at load"
            );
        }
    }
}
