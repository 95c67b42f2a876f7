//! layernorm
