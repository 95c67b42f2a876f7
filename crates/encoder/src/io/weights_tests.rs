//! Unit tests of `weights.rs` (kept beside it, out of the module's file).

use super::*;
use crate::io::header::MAX_HEADER_BYTES;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `bytes` to a fresh file in the temp dir (unique per process and call).
fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!(
        "qkv-weights-{}-{n}-{tag}.safetensors",
        std::process::id()
    ));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A file from a raw header string and data bytes.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn open_err(tag: &str, bytes: &[u8]) -> String {
    let p = temp_file(tag, bytes);
    let r = Weights::open(&p);
    std::fs::remove_file(&p).ok();
    match r {
        Err(e @ Error::Safetensors { .. }) => e.to_string(),
        other => panic!("{tag}: expected a Safetensors error, got {other:?}"),
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn reads_f32_f16_bf16_and_i64() {
    let mut data = f32_bytes(&[1.0, -2.5, 3.0, 0.25, 5.0, 6.0]);
    let f16s: Vec<u8> = [1.5f32, -0.125]
        .iter()
        .flat_map(|&x| f16::from_f32(x).to_le_bytes())
        .collect();
    let bf16s: Vec<u8> = [2.0f32, -3.0]
        .iter()
        .flat_map(|&x| bf16::from_f32(x).to_le_bytes())
        .collect();
    data.extend(&f16s);
    data.extend(&bf16s);
    data.extend([7i64, -1].iter().flat_map(|x| x.to_le_bytes()));
    let header = r#"{"__metadata__":{"format":"pt"},
        "bert.w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},
        "h":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},
        "b":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]},
        "ids":{"dtype":"I64","shape":[1,2],"data_offsets":[32,48]}}"#;
    let p = temp_file("ok", &raw(header, &data));
    let w = Weights::open(&p).unwrap();
    assert_eq!(w.path(), p.as_path());
    assert_eq!(w.names().collect::<Vec<_>>(), ["b", "bert.w", "h", "ids"]);
    assert_eq!(w.shape("bert.w"), Some(&[2usize, 3][..]));
    assert!(w.contains("h") && !w.contains("w"));
    assert_eq!(w.dtype("ids").as_deref(), Some("I64"));
    assert_eq!(
        w.tensor("bert.w", &[2, 3]).unwrap(),
        [1.0, -2.5, 3.0, 0.25, 5.0, 6.0]
    );
    assert_eq!(w.tensor("h", &[2]).unwrap(), [1.5, -0.125]);
    assert_eq!(w.tensor("b", &[2]).unwrap(), [2.0, -3.0]);
    assert_eq!(w.tensor_any(&["w", "bert.w"], &[2, 3]).unwrap()[1], -2.5);
    assert_eq!(w.tensor_i64("ids").unwrap(), (vec![7, -1], vec![1, 2]));
    // Prefixed views compose names with `.`.
    let bert = w.pp("bert");
    assert_eq!(bert.tensor("w", &[2, 3]).unwrap()[1], -2.5);
    assert!(bert.contains("w") && !bert.contains("h"));
    assert_eq!(w.root().pp("x").pp(3).full("y.z"), "x.3.y.z");
    assert_eq!(bert.tensor_any(&["v", "w"], &[2, 3]).unwrap()[0], 1.0);

    match w.tensor("bert.w", &[3, 2]) {
        Err(Error::TensorShape {
            name,
            expected,
            found,
        }) => {
            assert_eq!(
                (name.as_str(), expected, found),
                ("bert.w", vec![3, 2], vec![2, 3])
            )
        }
        other => panic!("{other:?}"),
    }
    match w.tensor_any(&["w", "x.w"], &[2, 3]) {
        Err(Error::MissingTensor { name, path }) => {
            assert_eq!((name.as_str(), path), ("w", p.clone()))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(w.tensor("ids", &[1, 2]), Err(Error::Dtype { .. })));
    assert!(matches!(w.tensor_i64("h"), Err(Error::Safetensors { .. })));
    assert!(matches!(
        w.tensor_i64("nope"),
        Err(Error::MissingTensor { .. })
    ));
    drop(w);
    std::fs::remove_file(&p).ok();
}

#[test]
fn nan_and_inf_are_rejected_with_index() {
    for (bad, tag) in [(f32::NAN, "nan"), (f32::NEG_INFINITY, "inf")] {
        let data = f32_bytes(&[0.0, 1.0, bad, 2.0]);
        let header = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let p = temp_file(tag, &raw(header, &data));
        let w = Weights::open(&p).unwrap();
        match w.tensor("w", &[4]) {
            Err(Error::NonFinite { name, index, .. }) => {
                assert_eq!((name.as_str(), index), ("w", 2))
            }
            other => panic!("{other:?}"),
        }
        drop(w);
        std::fs::remove_file(&p).ok();
    }
}

#[test]
fn missing_file_is_io_error() {
    let p = std::env::temp_dir().join("qkv-weights-does-not-exist.safetensors");
    assert!(matches!(Weights::open(&p), Err(Error::Io { .. })));
}

#[test]
fn empty_and_short_files() {
    assert!(open_err("empty", b"").contains("too short"));
    assert!(open_err("short", b"\x05\x00\x00").contains("too short"));
}

#[test]
fn header_length_beyond_file() {
    let mut bytes = raw("{}", b"");
    bytes[..8].copy_from_slice(&1000u64.to_le_bytes());
    assert!(open_err("beyond", &bytes).contains("past the end"));
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(open_err("maxlen", &bytes).contains("limit"));
}

#[test]
fn huge_header_is_rejected_before_reading() {
    let mut bytes = raw("{}", b"");
    bytes[..8].copy_from_slice(&(MAX_HEADER_BYTES + 1).to_le_bytes());
    assert!(open_err("huge", &bytes).contains("limit"));
}

#[test]
fn non_utf8_header() {
    let mut bytes = raw("{\"a\":1}", b"");
    bytes[10] = 0xFF;
    assert!(open_err("utf8", &bytes).contains("UTF-8"));
}

#[test]
fn malformed_json_header() {
    assert!(open_err("json", &raw("{\"w\":", b"")).contains("parse"));
    assert!(open_err("array", &raw("[1,2]", b"")).contains("not an object"));
    let e = open_err(
        "entry",
        &raw(
            r#"{"w":{"dtype":"F32","shape":"x","data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
    );
    assert!(e.contains("`w`"), "{e}");
    let e = open_err(
        "metadata",
        &raw(
            r#"{"__metadata__":{"n":1},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
    );
    assert!(e.contains("__metadata__"), "{e}");
    let e = open_err(
        "dtype",
        &raw(
            r#"{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 4],
        ),
    );
    assert!(e.contains("`w`"), "{e}");
}

#[test]
fn offsets_out_of_bounds() {
    let h = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let e = open_err("oob", &raw(h, &[0; 8]));
    assert!(e.contains("`w`") && e.contains("outside"), "{e}");
    let h = r#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#;
    assert!(open_err("reversed", &raw(h, &[0; 8])).contains("before they begin"));
    let h = r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}}"#;
    assert!(open_err("hugeoff", &raw(h, &[0; 8])).contains("outside"));
}

#[test]
fn overlapping_offsets() {
    let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
    let e = open_err("overlap", &raw(h, &[0; 12]));
    assert!(
        e.contains("overlap") && e.contains("`a`") && e.contains("`b`"),
        "{e}"
    );
}

#[test]
fn gap_or_trailing_bytes() {
    let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    let e = open_err("gap", &raw(h, &[0; 8]));
    assert!(e.contains("`a`"), "{e}");
    let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    assert!(open_err("trailing", &raw(h, &[0; 8])).contains("cover"));
}

#[test]
fn dtype_length_disagreement() {
    let h = r#"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#;
    let e = open_err("dtype-len", &raw(h, &[0; 8]));
    assert!(e.contains("`w`") && e.contains("needs 6 bytes"), "{e}");
    let h = r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#;
    assert!(open_err("overflow", &raw(h, &[0; 8])).contains("overflows"));
}

#[test]
fn header_rewritten_in_place_after_open_changes_nothing() {
    use std::io::{Seek, SeekFrom, Write};
    let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
        "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
    let p = temp_file("rewrite", &raw(header, &f32_bytes(&[1.0, 2.0, 3.0])));
    let w = Weights::open(&p).unwrap();
    // Same length, other names and shapes: what a rewrite in place would leave behind.
    let hostile = header.replace("\"a\"", "\"x\"").replace("[2]", "[9]");
    assert_eq!(hostile.len(), header.len());
    let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.seek(SeekFrom::Start(8)).unwrap();
    f.write_all(hostile.as_bytes()).unwrap();
    f.sync_all().unwrap();
    drop(f);
    // The file on disk is now another (invalid) file ...
    assert!(matches!(Weights::open(&p), Err(Error::Safetensors { .. })));
    // ... while the open `Weights` keeps the header it parsed from its own copy.
    assert_eq!(w.names().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(w.shape("b"), Some(&[2usize][..]));
    assert_eq!(w.tensor("a", &[1]).unwrap(), [1.0]);
    assert_eq!(w.tensor("b", &[2]).unwrap(), [2.0, 3.0]);
    drop(w);
    std::fs::remove_file(&p).ok();
}
