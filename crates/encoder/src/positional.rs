//! positional
