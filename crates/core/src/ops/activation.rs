//! Activations: ReLU, GELU (exact, erf) and GELU (tanh approximation), with bias-add fused.

/// An elementwise activation, as transformer configs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    /// `max(0, x)`.
    Relu,
    /// Exact GELU, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` (BERT, PyTorch `gelu`).
    Gelu,
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
}
