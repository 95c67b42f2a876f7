//! bert
