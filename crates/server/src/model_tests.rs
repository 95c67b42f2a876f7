//! Unit tests of `model.rs` (kept beside it, out of the module's file).

use super::*;
use qkv_encoder::Tokenizer;

fn tiny() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert")
}

/// An input cut at the server's limit equals the tokenizer's own truncation at that limit.
#[test]
fn a_cut_at_the_server_limit_equals_the_tokenizers_truncation() {
    let m = Model::open(&tiny(), &LoadOptions::default(), |_| Ok(6)).unwrap();
    let task = Task::Embed {
        prompt_name: None,
        prompt: None,
        dimensions: None,
        normalize: true,
    };
    let text = "the cat sat on the mat and the dog sat on the rug";
    let tok = Tokenizer::from_file(tiny().join("tokenizer.json"), 6).unwrap();
    let want = tok.encode(text).unwrap();
    let got = m.tokenize(&[text], &task, true).unwrap().remove(0).0;
    assert_eq!(
        (got.ids, got.type_ids, got.truncated),
        (want.ids, want.type_ids, true)
    );
    let e = m.tokenize(&[text], &task, false).unwrap_err();
    assert!(
        e.msg.contains("input 0 is longer than 6 tokens"),
        "{}",
        e.msg
    );
    // Within the limit: the library's encoding as it is.
    let short = m.tokenize(&["a dog"], &task, false).unwrap().remove(0).0;
    assert_eq!(short.ids, tok.encode("a dog").unwrap().ids);
}
