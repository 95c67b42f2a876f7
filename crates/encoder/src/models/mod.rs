//! Model families, one folder each, built from the layers of [`crate::nn`] and loaded from
//! safetensors through prefixed [`WeightsView`](crate::io::WeightsView)s. Today: [`bert`]
//! (BERT, MiniLM and other `BertModel` checkpoints). The next families (RoBERTa, MPNet,
//! ModernBERT, classification heads) are siblings: a `config.rs`, the weight names, the
//! embeddings and a forward that reuses `nn`.

pub mod bert;
