//! Shared test harness: the real server on 127.0.0.1:0 in this process, an HTTP client, a raw
//! TCP client for what HTTP clients will not send (stalled bodies, lying lengths), and the
//! library's own embeddings to compare against (the one place the tests use qkv_encoder).
#![allow(dead_code)]

use qkv_server::{Server, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound of any single wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The tiny BERT fixture (dim 32, max_seq_length 24).
pub fn tiny_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../encoder/tests/fixtures/tiny_bert")
}

/// The real all-MiniLM-L6-v2 when `QKV_MODEL_DIR` is set (required when `QKV_REQUIRE_MODEL=1`).
pub fn real_dir() -> Option<PathBuf> {
    match std::env::var_os("QKV_MODEL_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None if std::env::var("QKV_REQUIRE_MODEL").as_deref() == Ok("1") => {
            panic!("QKV_REQUIRE_MODEL=1 but QKV_MODEL_DIR is not set")
        }
        None => {
            eprintln!("skipped: QKV_MODEL_DIR not set");
            None
        }
    }
}

/// A config for `dir` on an ephemeral loopback port, 1 thread.
pub fn config(dir: PathBuf) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.port = 0;
    c.threads = Some(1);
    c
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), qkv_server::Error>>>,
}

impl TestServer {
    pub async fn start(c: ServerConfig) -> TestServer {
        let server = Server::bind(c).await.expect("server starts");
        let addr = server.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends the shutdown signal (without waiting).
    pub fn signal(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Signals shutdown and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), qkv_server::Error> {
        self.signal();
        let task = self.task.take().expect("running");
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("shutdown within the patience")
            .expect("server task")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.signal();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// POSTs JSON; returns status and parsed body.
pub async fn post(s: &TestServer, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = client().post(s.url(path)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, v)
}

/// The raw response of one request written byte for byte (`Connection: close` is the
/// caller's to add): status code, head, body.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before taking all of a too-large body.
    let _ = s.write_all(request).await;
    read_response(&mut s).await
}

/// Reads one response from `s` until the server closes the connection.
pub async fn read_response(s: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// `SentenceEncoder::embed` of `texts`, rows in order (what a served embedding must equal).
pub fn library_embed(dir: &std::path::Path, texts: &[&str]) -> Vec<Vec<f32>> {
    let m = qkv_encoder::SentenceEncoder::open(dir).unwrap();
    let e = m.embed(texts).unwrap();
    (0..e.len()).map(|i| e.row(i).to_vec()).collect()
}

/// A JSON array of numbers as f32s.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}
