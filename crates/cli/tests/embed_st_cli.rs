//! `qkv embed`'s sentence-transformers flags, run as a user would: the real binary on the tiny
//! BERT family fixtures, checked against sentence-transformers 6.2's outputs
//! (`scripts/make_st_options_golden.py`):
//!
//! - `--prompt-name`, `--prompt`, the model's default prompt, and an unknown prompt name;
//! - `--dimensions N` (Matryoshka), and 0 or more than the width;
//! - `--no-truncate` naming the input (counted over the whole run) and its token count,
//!   `--truncate` counting cuts in the summary;
//! - `--model` as a Hugging Face id in a fake local cache, and the offline miss.
//!
//! Every failure leaves no output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures")
}

fn family(case: &str) -> PathBuf {
    fixtures().join("families").join(case)
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("qkv-stcli-{}-{n}-{tag}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The case's inputs, one per line (none contains a newline).
fn input_file(s: &Scratch, case: &str) -> (PathBuf, usize) {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(family(case).join("inputs.json")).unwrap()).unwrap();
    let texts: Vec<&str> = v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let p = s.0.join(format!("{case}.txt"));
    std::fs::write(&p, texts.join("\n") + "\n").unwrap();
    (p, texts.len())
}

/// `qkv embed --model MODEL --input INPUT --output OUT --format jsonl EXTRA…` with `env`.
fn embed(model: &str, input: &Path, out: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qkv"));
    c.args(["embed", "--model", model, "--input"])
        .arg(input)
        .arg("--output")
        .arg(out)
        .args(["--format", "jsonl"])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_jsonl(p: &Path) -> (Vec<f32>, usize) {
    let text = std::fs::read_to_string(p).unwrap();
    let (mut data, mut dim) = (Vec::new(), 0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let e = v["embedding"].as_array().unwrap();
        dim = e.len();
        data.extend(e.iter().map(|x| x.as_f64().unwrap() as f32));
    }
    (data, dim)
}

/// `name` from the options golden file, `[n, dim]`.
fn golden(name: &str) -> (Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(fixtures().join("st_options/golden.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    let data = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (data, t.shape().to_vec())
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let err = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    // JSONL prints shortest round-trip floats, so the file adds no error.
    assert!(err <= 1e-5, "{what}: differs by {err}");
}

/// Runs a command expected to fail, and checks it names every needle and wrote nothing.
fn fails(o: &Output, out: &Path, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "expected a failure, got success: {e}");
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
    assert!(!out.exists(), "an output file was left behind");
    let parent = std::fs::read_dir(out.parent().unwrap()).unwrap();
    let partial = parent
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .any(|n| n.contains("partial"));
    assert!(!partial, "a partial file was left behind");
}

#[test]
fn prompts() {
    let s = Scratch::new("prompts");
    let (input, n) = input_file(&s, "bert_cls_prompts");
    let model = family("bert_cls_prompts");
    let model = model.to_str().unwrap();
    let out = s.0.join("out.jsonl");
    for (flags, name) in [
        (&["--prompt-name", "passage"][..], "prompt_passage"),
        (&["--prompt", "search: "][..], "prompt_text"),
        (&["--prompt", ""][..], "prompt_none"),
    ] {
        let o = embed(model, &input, &out, flags, &[]);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        let (got, dim) = read_jsonl(&out);
        let (want, shape) = golden(name);
        assert_eq!(shape, [n, dim]);
        assert_close(&got, &want, name);
    }
    // The default prompt ("query: ") applies when none is named: the family golden.
    let o = embed(model, &input, &out, &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(family("bert_cls_prompts").join("golden.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let want: Vec<f32> = st
        .tensor("sentence_embedding")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_close(&read_jsonl(&out).0, &want, "default prompt");

    std::fs::remove_file(&out).unwrap();
    let o = embed(model, &input, &out, &["--prompt-name", "doc"], &[]);
    fails(
        &o,
        &out,
        &["unknown prompt name \"doc\"", "\"passage\", \"query\""],
    );
    let o = embed(
        model,
        &input,
        &out,
        &["--prompt-name", "query", "--prompt", "x"],
        &[],
    );
    fails(&o, &out, &["--prompt"]);
}

#[test]
fn dimensions() {
    let s = Scratch::new("dims");
    let (input, n) = input_file(&s, "bert_max_st6");
    let model = family("bert_max_st6");
    let model = model.to_str().unwrap();
    let out = s.0.join("out.jsonl");
    let o = embed(model, &input, &out, &["--dimensions", "8"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (got, dim) = read_jsonl(&out);
    assert_eq!((got.len(), dim), (n * 8, 8));
    assert_close(&got, &golden("st6_truncate8").0, "--dimensions 8");
    std::fs::remove_file(&out).unwrap();
    for (n, needle) in [
        ("0", "at least 1"),
        ("33", "larger than the model's embedding width 32"),
    ] {
        let o = embed(model, &input, &out, &["--dimensions", n], &[]);
        fails(&o, &out, &["--dimensions", needle]);
    }
}

#[test]
fn truncation() {
    let s = Scratch::new("trunc");
    let (input, _) = input_file(&s, "bert_cls_prompts");
    let model = family("bert_cls_prompts");
    let model = model.to_str().unwrap();
    let out = s.0.join("out.jsonl");
    for flags in [
        &[][..],
        &["--truncate"][..],
        &["--no-truncate", "--truncate"][..],
    ] {
        let o = embed(model, &input, &out, flags, &[]);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("1 truncated at 40 tokens"),
            "{}",
            stderr(&o)
        );
    }
    std::fs::remove_file(&out).unwrap();
    // The long input is the 8th: index 7 whatever the batch it falls in.
    for bs in ["64", "3"] {
        let o = embed(
            model,
            &input,
            &out,
            &["--no-truncate", "--batch-size", bs],
            &[],
        );
        fails(
            &o,
            &out,
            &["input 7 ", "206 tokens", "limit of 40", "--no-truncate"],
        );
    }
}

/// A Hugging Face cache holding `case` as `models--{org}--{name}`, laid out as the hub
/// client writes it: blobs, a snapshot of relative symlinks, `refs/main`.
#[cfg(unix)]
fn fake_cache(s: &Scratch, case: &str, org: &str, name: &str) -> PathBuf {
    let root = s.0.join("hub");
    let repo = root.join(format!("models--{org}--{name}"));
    let rev = "7dbbc90392e2f80f3d3c277d6e90027e55de9125";
    let snap = repo.join("snapshots").join(rev);
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), rev).unwrap();
    let src = family(case);
    let mut k = 0;
    for sub in ["", "1_Pooling", "2_Normalize"] {
        if !src.join(sub).is_dir() {
            continue;
        }
        std::fs::create_dir_all(snap.join(sub)).unwrap();
        for f in std::fs::read_dir(src.join(sub)).unwrap() {
            let f = f.unwrap();
            if !f.file_type().unwrap().is_file() {
                continue;
            }
            k += 1;
            let blob = format!("blob{k:03}");
            std::fs::copy(f.path(), repo.join("blobs").join(&blob)).unwrap();
            let up = if sub.is_empty() {
                "../../"
            } else {
                "../../../"
            };
            std::os::unix::fs::symlink(
                format!("{up}blobs/{blob}"),
                snap.join(sub).join(f.file_name()),
            )
            .unwrap();
        }
    }
    root
}

#[cfg(unix)]
#[test]
fn hugging_face_ids() {
    let s = Scratch::new("hub");
    let (input, _) = input_file(&s, "bert_max_st6");
    let cache = fake_cache(&s, "bert_max_st6", "tiny-org", "bert-max");
    let out = s.0.join("out.jsonl");
    let env = [
        ("HF_HUB_CACHE", cache.as_path()),
        ("HF_HUB_OFFLINE", Path::new("1")),
    ];
    let o = embed("tiny-org/bert-max", &input, &out, &[], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let direct = s.0.join("direct.jsonl");
    let o = embed(
        family("bert_max_st6").to_str().unwrap(),
        &input,
        &direct,
        &[],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_jsonl(&out), read_jsonl(&direct));
    std::fs::remove_file(&out).unwrap();

    // HF_HOME/hub is the cache when HF_HUB_CACHE is unset.
    let home = s.0.join("hf-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::rename(&cache, home.join("hub")).unwrap();
    let env = [
        ("HF_HOME", home.as_path()),
        ("HF_HUB_OFFLINE", Path::new("1")),
    ];
    let o = embed("tiny-org/bert-max", &input, &out, &[], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();

    // A miss, offline: the cache folder and the command that fills it.
    let o = embed(
        "sentence-transformers/all-MiniLM-L6-v2",
        &input,
        &out,
        &[],
        &env,
    );
    let folder = home.join("hub/models--sentence-transformers--all-MiniLM-L6-v2");
    fails(
        &o,
        &out,
        &[
            &folder.display().to_string(),
            "huggingface-cli download sentence-transformers/all-MiniLM-L6-v2",
        ],
    );
    let o = embed("no/such/dir", &input, &out, &[], &env);
    fails(&o, &out, &["no/such/dir/config.json"]);
}
