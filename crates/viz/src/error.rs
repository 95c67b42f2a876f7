//! Typed errors of the figure crate. Every variant says which figure input or which file is at fault.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong when checking inputs, drawing or writing a figure.
#[derive(Debug, Error)]
pub enum Error {
    /// An array does not have the length its stated shape implies.
    #[error("{what}: expected {expected} values for shape {shape}, found {found}")]
    Shape {
        /// The input, e.g. `"attention_heatmap weights"`.
        what: &'static str,
        /// The shape as given, e.g. `"[10, 10]"`.
        shape: String,
        /// The number of values the shape implies.
        expected: usize,
        /// The number of values passed.
        found: usize,
    },

    /// An input is empty, inconsistent with another input, or otherwise unusable
    /// (zero rows, a label list of the wrong length, a dimension index out of range).
    #[error("{what}: {reason}")]
    Invalid {
        /// The input.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A value to plot is NaN or infinite (upstream numerics went wrong; we do not draw it silently).
    #[error("{what}: non-finite value {value} at index {index}")]
    NonFinite {
        /// The input.
        what: &'static str,
        /// Flat index of the first offending value.
        index: usize,
        /// The value.
        value: f32,
    },

    /// The output path has no `.png` or `.svg` extension.
    #[error("{path}: unsupported output format (use a .png or .svg extension)")]
    UnsupportedFormat {
        /// The path given.
        path: PathBuf,
    },

    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The PNG encoder failed.
    #[error("cannot encode {path} as PNG: {source}")]
    PngEncode {
        /// The file.
        path: PathBuf,
        /// The encoder's complaint.
        #[source]
        source: png::EncodingError,
    },

    /// The drawing backend failed (plotters reports a message).
    #[error("rendering failed: {0}")]
    Render(String),

    /// The embedded font could not be parsed (a corrupt build; should not happen).
    #[error("the embedded font could not be loaded")]
    Font,
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for Error
{
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        Error::Render(e.to_string())
    }
}
