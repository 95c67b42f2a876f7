//! `--precision` and `qkv quantize`, run as a user would: the real binary on the tiny BERT.
//!
//! - `qkv embed --precision int8|bf16` on the original equals `qkv embed` on the directory
//!   `qkv quantize` wrote, byte for byte;
//! - quantizing into an existing directory needs `--force`;
//! - an unknown precision, or a quantized directory asked for another one, is exit 1 with one
//!   line naming it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert")
}

fn qkv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qkv"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "qkv failed: {}", stderr(o));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails_with(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected a failure");
    let e = stderr(o);
    assert!(e.contains(needle), "{needle:?} not in {e}");
}

const TEXTS: [&str; 3] = ["hello world", "the cat sat on the mat", "a"];

fn embed(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["embed", "--model", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&TEXTS);
    qkv(&args)
}

#[test]
fn quantized_directories_embed_like_precision_at_load() {
    let tmp = std::env::temp_dir().join(format!("qkv-cli-precision-{}", std::process::id()));
    std::fs::remove_dir_all(&tmp).ok();
    std::fs::create_dir_all(&tmp).unwrap();
    let f32 = ok(&embed(&model(), &[]));
    assert_eq!(ok(&embed(&model(), &["--precision", "f32"])), f32);
    for p in ["bf16", "int8"] {
        let out = tmp.join(p);
        let o = qkv(&[
            "quantize",
            "--model",
            model().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--precision",
            p,
        ]);
        ok(&o);
        assert!(stderr(&o).contains(p), "{}", stderr(&o));
        let at_load = ok(&embed(&model(), &["--precision", p]));
        assert_ne!(at_load, f32, "{p} rounds something");
        assert_eq!(ok(&embed(&out, &[])), at_load, "{p}: saved ≠ at load");
        assert_eq!(ok(&embed(&out, &["--precision", p])), at_load);
        fails_with(&embed(&out, &["--precision", "f32"]), "loads only at");
        // Again into the same directory: refused without --force, done with it.
        let again = |force: bool| {
            let (m, o) = (model(), out.clone());
            let mut a = vec![
                "quantize",
                "--model",
                m.to_str().unwrap(),
                "--out",
                o.to_str().unwrap(),
                "--precision",
                p,
            ];
            if force {
                a.push("--force");
            }
            qkv(&a)
        };
        fails_with(&again(false), "--force");
        ok(&again(true));
        assert_eq!(ok(&embed(&out, &[])), at_load);
    }
    fails_with(&embed(&model(), &["--precision", "int4"]), "int4");
    std::fs::remove_dir_all(&tmp).ok();
}
