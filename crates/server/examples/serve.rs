//! Serves a model directory on 127.0.0.1 until Ctrl-C:
//!
//! ```text
//! cargo run -p qkv-server --example serve -- crates/encoder/tests/fixtures/tiny_bert 8080
//! curl -s localhost:8080/v1/embeddings -H 'content-type: application/json' \
//!      -d '{"input": ["hello", "world"], "model": "tiny"}'
//! ```

use qkv_server::{run_until_signal, ServerConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(model) = args.next() else {
        eprintln!("usage: serve MODEL_DIR [PORT]");
        std::process::exit(2);
    };
    let mut config = ServerConfig::new(model);
    if let Some(port) = args.next() {
        match port.parse() {
            Ok(p) => config.port = p,
            Err(e) => {
                eprintln!("bad port {port}: {e}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run_until_signal(config) {
        eprintln!("serve: {e}");
        std::process::exit(1);
    }
}
