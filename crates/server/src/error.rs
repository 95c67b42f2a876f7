//! Startup and shutdown errors of the server (request errors are [`crate::api_error`]'s).

use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Why the server could not start or stop cleanly.
#[derive(Debug, Error)]
pub enum Error {
    /// A setting is out of range or not available.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The model could not be found, loaded or warmed up.
    #[error("cannot load model {path}: {source}")]
    Model {
        /// The directory or id given.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The batching thread could not start, or panicked.
    #[error("batching worker: {0}")]
    Worker(String),
}
