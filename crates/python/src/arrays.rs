//! NumPy arrays from Rust buffers, without the NumPy C API (so the wheel is abi3 and needs
//! nothing at build time): the values are copied once into a `bytearray`, and
//! `numpy.frombuffer` views it. The array owns its bytes through the `bytearray`, is writable,
//! and is C-contiguous, like the arrays sentence-transformers returns.

use pyo3::prelude::*;
use pyo3::types::PyByteArray;

/// A `float32` array of `shape` holding `data` (`data.len()` = product of `shape`).
pub fn f32_array<'py>(
    py: Python<'py>,
    data: &[f32],
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    array(py, bytemuck::cast_slice(data), "float32", shape)
}

/// An `int64` array of `shape` holding `data`.
pub fn i64_array<'py>(
    py: Python<'py>,
    data: &[i64],
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    array(py, bytemuck::cast_slice(data), "int64", shape)
}

fn array<'py>(
    py: Python<'py>,
    bytes: &[u8],
    dtype: &str,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let np = py.import("numpy")?;
    let buf = PyByteArray::new(py, bytes);
    // Native byte order: the bytes are this machine's f32/i64 values as they sit in memory.
    let flat = np.call_method1("frombuffer", (buf, np.getattr(dtype)?))?;
    flat.call_method1("reshape", (shape.to_vec(),))
}
