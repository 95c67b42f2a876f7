//! Vector math on top of [`Simd`]: exp, erf, tanh. Filled in by the attention/numerics work.
