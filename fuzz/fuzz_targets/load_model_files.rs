//! `[u16 LE n][n bytes config.json][model.safetensors]` through `BertConfig::from_file`,
//! `Weights::open`, every tensor accessor, and `BertModel::load` + a forward pass.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qkv_fuzz::load_model_files(data));
