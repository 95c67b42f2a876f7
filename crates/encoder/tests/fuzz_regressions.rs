//! Replays every input in `fuzz/regressions/<target>/` through the fuzz harnesses (the same
//! code `cargo +nightly fuzz run <target>` drives), so `cargo test` on stable guards each bug
//! the fuzzers found, plus a few seeds that reach deep paths. A failure names the file.

#[path = "../../../fuzz/src/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::{MatRef, PackedMatrix};
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
}

/// Runs every input of `target`, each on its own thread with a time limit (one input hung
/// before its bug was fixed), and fails naming every input that panics or hangs.
fn replay(target: &str, run: fn(&[u8])) {
    let mut failed = Vec::new();
    let files = inputs(target);
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if let Err(why) = within(60, move || run(&data)) {
            failed.push(format!("{}: {why}", path.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail: {failed:#?}",
        failed.len(),
        files.len()
    );
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn kernels() {
    let fixed = inputs("kernels")
        .iter()
        .filter(|p| p.to_string_lossy().contains("fixed-"))
        .count();
    assert_eq!(fixed, 7, "the inputs of the seven fixed fuzzing bugs");
    replay("kernels", harness::kernels);
}

#[test]
fn load_model_files() {
    replay("load_model_files", harness::load_model_files);
}

/// Short pseudo-random runs of both harnesses on stable, so a broken harness (or a regression
/// in an API it drives) shows up without the fuzzer. Seeded: the same inputs every run. The
/// counters make sure the runs get past argument validation into the checked results.
#[test]
fn seeded_smoke() {
    use harness::reached;
    use std::sync::atomic::Ordering;
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..3000 {
        let len = 16 + i % 240;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect();
        harness::kernels(&data);
        if i % 10 == 0 {
            harness::load_model_files(&data);
        }
    }
    for (name, counter) in [
        ("gemm", &reached::GEMM_EXACT),
        ("softmax", &reached::SOFTMAX_ROW),
        ("layer_norm", &reached::LAYER_NORM),
        ("activation", &reached::ACTIVATION),
        ("attention", &reached::ATTENTION_REF),
    ] {
        assert!(
            counter.load(Ordering::Relaxed) > 0,
            "{name}: no result checked"
        );
    }
}

/// The miniature-BERT seeds load and run a forward pass (random bytes rarely get that far).
#[test]
fn seeds_reach_a_loaded_model() {
    use std::sync::atomic::Ordering;
    let before = harness::reached::MODEL_FORWARD.load(Ordering::Relaxed);
    let seeds: Vec<PathBuf> = inputs("load_model_files")
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("seed-mini"))
        .collect();
    assert_eq!(seeds.len(), 2);
    for path in &seeds {
        harness::load_model_files(&std::fs::read(path).unwrap());
    }
    let after = harness::reached::MODEL_FORWARD.load(Ordering::Relaxed);
    assert!(after >= before + 2, "{} forward passes", after - before);
}

// ---------------------------------------------------------------------------------------------
// Bugs found by fuzzing (unchecked size arithmetic in attention(), QkvView::packed and
// PackedMatrix::from_kn_for; a K loop over an empty N), fixed since. Their inputs are in
// `fuzz/regressions/kernels/fixed-*` (replayed by `kernels` above, the harness no longer
// steering around them); the tests below pin each fix directly.
// ---------------------------------------------------------------------------------------------

/// Runs `f` on a thread: its result, or why not (it panicked, or was still running after
/// `secs` seconds).
fn within<T: Send + 'static>(
    secs: u64,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        tx.send(r).ok();
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err("panicked".into()),
        Err(_) => Err(format!("still running after {secs} s")),
    }
}

/// [`within`], failing the test on a panic or a hang.
fn finishes<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    within(secs, f).unwrap_or_else(|why| panic!("{why}"))
}

#[test]
fn attention_huge_row_stride_is_an_error() {
    let qkv = [1.0f32; 4];
    let mut out = [0.0f32; 8];
    let r = finishes(10, move || {
        let view = QkvView {
            q: &qkv,
            k: &qkv,
            v: &qkv,
            row_stride: 1 << 63,
        };
        attention(
            view,
            &[Seq { start: 0, len: 3 }],
            &AttentionParams::new(1, 1),
            Mask::None,
            &mut out,
            1,
            None,
        )
        .is_err()
    });
    assert!(
        r,
        "accepted a 3-row view with row stride 2^63 over 4 elements"
    );
}

#[test]
fn attention_huge_mask_stride_is_an_error() {
    let r = finishes(10, || {
        let qkv = [1.0f32; 6];
        let mask = [0.0f32; 4];
        let mut out = [0.0f32; 2];
        attention(
            QkvView::packed(&qkv, 1),
            &[Seq { start: 0, len: 1 }, Seq { start: 1, len: 1 }],
            &AttentionParams::new(1, 1),
            Mask::Additive {
                data: &mask,
                row_stride: 1,
                batch_stride: usize::MAX,
            },
            &mut out,
            1,
            None,
        )
        .is_err()
    });
    assert!(r);
}

#[test]
fn attention_probs_length_overflow_is_an_error() {
    let r = finishes(10, || {
        let mut probs: [f32; 0] = [];
        attention(
            QkvView::packed(&[], 0),
            &[Seq {
                start: 0,
                len: 1 << 40,
            }],
            &AttentionParams::new(1, 0),
            Mask::None,
            &mut [],
            0,
            Some(&mut probs),
        )
        .is_err()
    });
    assert!(r);
}

#[test]
fn qkv_view_packed_with_huge_width_does_not_panic() {
    finishes(10, || {
        let v = QkvView::packed(&[0.0; 3], usize::MAX / 2);
        assert!(v.q.len() <= 3 && v.k.is_empty() && v.v.is_empty());
    });
}

#[test]
fn packing_nothing_returns_at_once() {
    finishes(10, || {
        let b = MatRef::with_strides(&[0.0], 1 << 62, 0, 0, 0).unwrap();
        assert_eq!(PackedMatrix::from_kn(b).unwrap().n(), 0);
    });
}

#[test]
fn packing_huge_n_does_not_panic() {
    finishes(10, || {
        // K = 0, N = usize::MAX: an empty view, valid, spanning nothing.
        let b = MatRef::with_strides(&[], 0, usize::MAX, 0, 0).unwrap();
        let _ = PackedMatrix::from_kn(b);
    });
}
