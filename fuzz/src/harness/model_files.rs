//! The `load_model_files` target: a config file and a safetensors file from the fuzz bytes,
//! through `BertConfig`, `Weights` (every accessor) and, when both load, a forward pass.

use super::reached;
use qkv_encoder::{BertConfig, BertModel, TokenSeq, Weights, Workspace};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory for this process (files are rewritten per input).
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let n = N.fetch_add(1, Ordering::Relaxed);
    base.join(format!("qkv-fuzz-{}-{n}-{name}", std::process::id()))
}

/// `[u16 LE n][n bytes of config.json][rest: model.safetensors]` through `BertConfig`,
/// `Weights` and, when both load, `BertModel::load` and a forward pass.
pub fn load_model_files(data: &[u8]) {
    let n = match data {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as usize,
        _ => 0,
    };
    let rest = data.get(2..).unwrap_or(&[]);
    let (cfg_bytes, st_bytes) = rest.split_at(n.min(rest.len()));

    let cfg_path = scratch("config.json");
    let st_path = scratch("model.safetensors");
    std::fs::write(&cfg_path, cfg_bytes).expect("write scratch config");
    std::fs::write(&st_path, st_bytes).expect("write scratch weights");

    let cfg = BertConfig::from_file(&cfg_path);
    // The file loader and the in-memory parse agree.
    let direct = serde_json::from_slice::<BertConfig>(cfg_bytes)
        .ok()
        .filter(|c| c.validate().is_ok());
    assert_eq!(
        cfg.as_ref().ok(),
        direct.as_ref(),
        "from_file vs parse+validate"
    );
    if let Ok(c) = &cfg {
        assert!(c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads == 0);
        assert!(c.parameter_count().is_some());
    }

    let w = Weights::open(&st_path);
    if let Ok(w) = &w {
        let names: Vec<String> = w.names().map(str::to_string).collect();
        for name in &names {
            let shape = w.shape(name).expect("listed name has a shape").to_vec();
            assert!(w.dtype(name).is_some());
            let elems = shape.iter().product::<usize>();
            match w.tensor(name, &shape) {
                Ok(v) => {
                    assert_eq!(v.len(), elems);
                    assert!(v.iter().all(|x| x.is_finite()));
                }
                Err(e) => assert!(matches!(
                    e,
                    qkv_encoder::Error::Dtype { .. } | qkv_encoder::Error::NonFinite { .. }
                )),
            }
            if let Ok((v, s)) = w.tensor_i64(name) {
                assert_eq!((v.len(), s), (elems, shape.clone()));
            }
            let mut wrong = shape.clone();
            wrong.push(1);
            assert!(w.tensor(name, &wrong).is_err());
        }
        assert!(w.tensor("no such tensor", &[1]).is_err());
    }

    if let (Ok(cfg), Ok(w)) = (&cfg, &w) {
        if let Ok(model) = BertModel::load(w, cfg) {
            let len = cfg.max_position_embeddings.min(5);
            let ids: Vec<u32> = (0..len as u32).map(|i| i % cfg.vocab_size as u32).collect();
            let seqs = [
                TokenSeq {
                    ids: &ids,
                    type_ids: None,
                },
                TokenSeq {
                    ids: &[],
                    type_ids: None,
                },
            ];
            let (mut ws, mut out) = (Workspace::default(), Vec::new());
            model
                .forward_with(&seqs, &mut ws, &mut out, None)
                .expect("a loaded model runs on valid ids");
            assert_eq!(out.len(), len * cfg.hidden_size);
            reached::hit(&reached::MODEL_FORWARD);
            let bad = [TokenSeq {
                ids: &[cfg.vocab_size as u32],
                type_ids: None,
            }];
            assert!(model.forward_with(&bad, &mut ws, &mut out, None).is_err());
        }
    }
    std::fs::remove_file(&cfg_path).ok();
    std::fs::remove_file(&st_path).ok();
}
