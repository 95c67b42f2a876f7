//! Memory-mapped `.safetensors` weights, validated on open and converted to `f32` on demand.
//!
//! Files are untrusted input: the header is checked (`io/header.rs`) before a byte of data
//! is read, so a hostile file gives [`Error::Safetensors`], never a panic or an out-of-bounds
//! read.

use crate::error::{Error, Result};
use crate::io::header::{read_header, st_err, Entry};
use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::Dtype;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A `.safetensors` file opened read-only and memory-mapped, with its header validated.
///
/// Tensors are copied out as `f32` (from F32, F16 or BF16) by [`Weights::tensor`], which also
/// checks the shape and rejects NaN/±Inf.
#[derive(Debug)]
pub struct Weights {
    path: PathBuf,
    map: Mmap,
    /// Sorted by name, so [`Weights::names`] is deterministic.
    entries: BTreeMap<String, Entry>,
}

impl Weights {
    /// Opens and validates `path`: header length within the file and at most
    /// [`MAX_HEADER_BYTES`](crate::io::MAX_HEADER_BYTES), UTF-8 JSON, offsets in bounds and not overlapping, and each
    /// tensor's byte length equal to its element count times its dtype size.
    ///
    /// # Model files while mapped
    /// The file stays memory-mapped while the `Weights` lives. The header is copied out of the
    /// map before it is checked and parsed, so its checks hold for what is used; the tensor
    /// data is read from the map on each [`Weights::tensor`] call. Replace model files by
    /// renaming a new file over the old path (`mv new model.safetensors`), never by rewriting
    /// or truncating them in place while a process uses them: a rewrite can change the values
    /// read, and a truncation kills the reading process with `SIGBUS` (see
    /// `docs/hardening.md`).
    pub fn open(path: impl AsRef<Path>) -> Result<Weights> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < 8 {
            return Err(st_err(
                path,
                format!("file is {len} bytes, too short for the 8-byte header length"),
            ));
        }
        // SAFETY: the map is read-only and private to this process. The one hazard is another
        // process truncating or rewriting the file while it is mapped (SIGBUS or changed
        // bytes), which no memory-mapped reader can exclude; the bytes themselves are treated
        // as untrusted and every access below is bounds-checked against the map's length.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let entries = read_header(path, &map)?;
        Ok(Weights {
            path: path.to_path_buf(),
            map,
            entries,
        })
    }

    /// The file these weights were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Names of all tensors in the file, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.entries.get(name).map(|e| e.shape.as_slice())
    }

    /// The dtype of tensor `name` as safetensors spells it (`"F32"`, `"I64"`, …), if present.
    pub fn dtype(&self, name: &str) -> Option<String> {
        self.entries.get(name).map(|e| format!("{:?}", e.dtype))
    }

    /// Whether the file holds a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Tensor `name` as row-major `f32`, checked to have exactly `expected_shape` and only
    /// finite values. F16 and BF16 are widened exactly.
    pub fn tensor(&self, name: &str, expected_shape: &[usize]) -> Result<Vec<f32>> {
        let entry = self.entry(name)?;
        if entry.shape != expected_shape {
            return Err(Error::TensorShape {
                name: name.to_string(),
                expected: expected_shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        let bytes = &self.map[entry.bytes.clone()];
        let values: Vec<f32> = match entry.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::Dtype {
                    name: name.to_string(),
                    dtype: format!("{other:?}"),
                })
            }
        };
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                name: name.to_string(),
                index,
                value,
            });
        }
        Ok(values)
    }

    /// Tensor `name` as row-major `i8` (dtype I8 only: int8 weights saved by `qkv quantize`),
    /// checked to have exactly `expected_shape`.
    pub fn tensor_i8(&self, name: &str, expected_shape: &[usize]) -> Result<Vec<i8>> {
        let entry = self.entry(name)?;
        if entry.shape != expected_shape {
            return Err(Error::TensorShape {
                name: name.to_string(),
                expected: expected_shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        if entry.dtype != Dtype::I8 {
            return Err(Error::Config(format!(
                "tensor `{name}` has dtype {:?}, expected I8",
                entry.dtype
            )));
        }
        Ok(self.map[entry.bytes.clone()]
            .iter()
            .map(|&b| b as i8)
            .collect())
    }

    /// The raw little-endian bytes of tensor `name` with its dtype and shape (for copying a
    /// tensor unchanged into another file).
    pub fn raw(&self, name: &str) -> Result<(Dtype, &[usize], &[u8])> {
        let entry = self.entry(name)?;
        Ok((entry.dtype, &entry.shape, &self.map[entry.bytes.clone()]))
    }

    /// Like [`Weights::tensor`] for the first of `names` present in the file: checkpoints name
    /// the same tensor with or without a prefix (`bert.embeddings…` vs `embeddings…`).
    /// If none is present, [`Error::MissingTensor`] names the first candidate.
    pub fn tensor_any(&self, names: &[&str], expected_shape: &[usize]) -> Result<Vec<f32>> {
        match names.iter().find(|n| self.contains(n)) {
            Some(name) => self.tensor(name, expected_shape),
            None => Err(self.missing(names.first().copied().unwrap_or(""))),
        }
    }

    /// Integer tensor `name` (I64, or I32/U32/I16/U16/I8/U8/BOOL widened) with its shape, as
    /// golden files store token ids and masks.
    pub fn tensor_i64(&self, name: &str) -> Result<(Vec<i64>, Vec<usize>)> {
        let entry = self.entry(name)?;
        let b = &self.map[entry.bytes.clone()];
        let values: Vec<i64> = match entry.dtype {
            Dtype::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            Dtype::I32 => b
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::U32 => b
                .chunks_exact(4)
                .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            Dtype::I16 => b
                .chunks_exact(2)
                .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
                .collect(),
            Dtype::U16 => b
                .chunks_exact(2)
                .map(|c| i64::from(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            Dtype::I8 => b.iter().map(|&c| i64::from(c as i8)).collect(),
            Dtype::U8 | Dtype::BOOL => b.iter().map(|&c| i64::from(c)).collect(),
            other => {
                return Err(st_err(
                    &self.path,
                    format!("tensor `{name}` has dtype {other:?}, expected an integer dtype"),
                ))
            }
        };
        Ok((values, entry.shape.clone()))
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries.get(name).ok_or_else(|| self.missing(name))
    }

    fn missing(&self, name: &str) -> Error {
        Error::MissingTensor {
            path: self.path.clone(),
            name: name.to_string(),
        }
    }
}

#[cfg(test)]
#[path = "weights_tests.rs"]
mod tests;
