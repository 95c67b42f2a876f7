//! Typed errors of the compute core.

use thiserror::Error;

/// Everything that can go wrong when calling a `qkv-core` kernel.
///
/// Each variant names the operation and the shapes involved so that a caller several layers up
/// can print a message that is useful without a debugger.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// Two operands do not fit together.
    #[error("{op}: shape mismatch: expected {expected}, found {found}")]
    ShapeMismatch {
        /// The operation that rejected its inputs (e.g. `gemm`).
        op: &'static str,
        /// What the operation needed, written as a shape.
        expected: String,
        /// What it got.
        found: String,
    },
    /// A buffer is too small for the shape and strides that describe it.
    #[error("{op}: buffer of {len} elements is too small for {what} (needs {needed})")]
    BufferTooSmall {
        /// The operation that checked the buffer.
        op: &'static str,
        /// Which operand.
        what: &'static str,
        /// Elements needed by shape and strides.
        needed: usize,
        /// Elements present.
        len: usize,
    },
    /// An argument is out of its valid range.
    #[error("{op}: invalid argument: {msg}")]
    InvalidArgument {
        /// The operation that rejected the argument.
        op: &'static str,
        /// What is wrong with it.
        msg: String,
    },
    /// The requested instruction set is not available on this CPU or not known.
    #[error("instruction set `{0}` is not available on this CPU (or not a known name)")]
    IsaUnavailable(String),
}

/// Result alias used throughout `qkv-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a [`Error::ShapeMismatch`].
pub(crate) fn shape_mismatch(op: &'static str, expected: String, found: String) -> Error {
    Error::ShapeMismatch {
        op,
        expected,
        found,
    }
}

/// Shorthand for an [`Error::InvalidArgument`].
pub(crate) fn invalid(op: &'static str, msg: impl Into<String>) -> Error {
    Error::InvalidArgument {
        op,
        msg: msg.into(),
    }
}
