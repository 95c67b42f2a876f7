//! The sinusoidal table against a float64 reference (NumPy, rounded once to f32), and the
//! values the notebook printed for `PE[1, :8]`.

use safetensors::SafeTensors;
use std::path::Path;

fn f32s(st: &SafeTensors, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn sinusoidal_table_matches_float64_reference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sinusoidal_pe_64x64.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let want = f32s(&st, "pe_f32");
    let got = qkv_notebook::sinusoidal(64, 64);
    let max = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max <= 1e-7, "max diff {max:e}");
    let seed: [f64; 8] = [
        0.84147098, 0.54030231, 0.68156135, 0.73176098, 0.53316844, 0.84600911, 0.40930892,
        0.91239586,
    ];
    for (a, b) in got[64..72].iter().zip(seed) {
        assert!((*a as f64 - b).abs() < 1e-7, "PE[1, :8]: {a} vs {b}");
    }
    assert_eq!(&got[..8], &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
}
