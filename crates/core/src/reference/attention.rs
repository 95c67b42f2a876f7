//! Naive attention reference (S materialized in f64).
