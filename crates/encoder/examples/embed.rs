//! Embed a few sentences from Rust and compare them.
//!
//! `cargo run --release -p qkv-encoder --example embed -- "$(scripts/fetch_model.sh | tail -n1)"`

use qkv_encoder::SentenceEncoder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: embed MODEL_DIR")?;
    let model = SentenceEncoder::open(dir)?;
    let sentences = [
        "The cat sits on the mat.",
        "A feline rests on a rug.",
        "Stock markets fell sharply today.",
    ];
    let emb = model.embed(&sentences)?;
    for i in 1..sentences.len() {
        // Embeddings are L2-normalized, so the dot product is the cosine similarity.
        let cos: f32 = emb.row(0).iter().zip(emb.row(i)).map(|(a, b)| a * b).sum();
        println!("cos({:?}, {:?}) = {cos:.3}", sentences[0], sentences[i]);
    }
    Ok(())
}
