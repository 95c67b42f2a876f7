//! Naive references for softmax, LayerNorm and activations, in f64.
