//! `qkv quantize`: a model directory saved at bf16 or int8, which loads without requantizing
//! and gives the same bits as quantizing the original at load.
//!
//! The model is loaded at the precision (so the saved weights are exactly the ones a load
//! would prepare) and each projection is written under its original tensor names:
//!
//! | precision | `{name}.weight` | beside it |
//! |---|---|---|
//! | bf16 | BF16 `[rows, k]`, the f32 weight rounded to nearest even | |
//! | int8 | I8 `[rows, k]`, symmetric per output channel | `{name}.weight_scale` F32 `[rows]`; `{name}.weight_smooth` F32 `[k]` when smoothed |
//!
//! Every other tensor (embeddings, LayerNorms, biases) is copied unchanged, as are the
//! directory's other files (config, tokenizer, sentence-transformers modules), minus other
//! weight formats. The plan is recorded in `qkv_quantization.json`. Everything is written into
//! a temporary directory beside the destination and renamed into place at the end: an
//! interrupted run leaves no half-written model.

use crate::error::{Error, Result};
use crate::io::weights::Weights;
use crate::models::Model;
use crate::nn::linear::Linear;
use crate::nn::precision::{Precision, PrecisionPlan};
use crate::sentence::load::{QuantizationRecord, QUANTIZATION_FILE};
use crate::sentence::model_dir::ModelDir;
use qkv_core::bf16::to_bf16;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Options of [`quantize_dir`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantizeOptions {
    /// bf16 or int8 (f32 is an error: there is nothing to do).
    pub precision: Precision,
    /// Replace an existing destination.
    pub force: bool,
}

/// What [`quantize_dir`] wrote.
#[derive(Clone, Debug)]
pub struct QuantizeReport {
    /// The destination directory.
    pub out: PathBuf,
    /// The plan recorded.
    pub plan: PrecisionPlan,
    /// Projection weights written at the new precision.
    pub converted: usize,
    /// Other tensors copied unchanged.
    pub copied: usize,
    /// Size of the source and the new `model.safetensors`, in bytes.
    pub bytes_in: u64,
    /// See `bytes_in`.
    pub bytes_out: u64,
}

/// Files not copied: other weight formats, which would disagree with the new weights.
const SKIP_EXT: [&str; 8] = [
    "safetensors",
    "bin",
    "onnx",
    "pt",
    "pth",
    "h5",
    "msgpack",
    "ot",
];
const SKIP_DIRS: [&str; 3] = ["onnx", "openvino", ".git"];

/// Writes `src` at `opts.precision` into `dst` (see the module docs).
pub fn quantize_dir(src: &Path, dst: &Path, opts: &QuantizeOptions) -> Result<QuantizeReport> {
    let cfg_err = |m: String| Err(Error::Config(m));
    if opts.precision == Precision::F32 {
        return cfg_err("quantize to bf16 or int8: f32 is the original".into());
    }
    let dir = ModelDir::open(src)?;
    if let Some(p) = &dir.quantized {
        return cfg_err(format!(
            "{} is already quantized ({}); quantize the original checkpoint",
            src.display(),
            p.precision
        ));
    }
    if dst.exists() {
        if !opts.force {
            return cfg_err(format!(
                "{} exists; pass --force to replace it",
                dst.display()
            ));
        }
        let same = match (src.canonicalize(), dst.canonicalize()) {
            (Ok(a), Ok(b)) => a == b || a.starts_with(&b) || b.starts_with(&a),
            _ => false,
        };
        if same {
            return cfg_err(format!(
                "{} would overwrite its own source {}",
                dst.display(),
                src.display()
            ));
        }
    }
    let plan = PrecisionPlan::recommended(opts.precision);
    let weights = dir.weights()?;
    let model = Model::load_with(&weights, &dir.config, &plan)?;

    let tmp = Staging::new(dst)?;
    copy_files(src, &tmp.0)?;
    let (converted, copied) = write_weights(
        &weights,
        &model,
        &tmp.0.join("model.safetensors"),
        opts.precision,
    )?;
    let record = serde_json::to_string_pretty(&QuantizationRecord::from_plan(&plan))
        .map_err(|e| Error::Config(format!("qkv_quantization.json: {e}")))?;
    let qpath = tmp.0.join(QUANTIZATION_FILE);
    std::fs::write(&qpath, record + "\n").map_err(io_err(&qpath))?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(io_err(p));
    let bytes_in = size(&dir.weights_path)?;
    let bytes_out = size(&tmp.0.join("model.safetensors"))?;
    tmp.commit(dst)?;
    Ok(QuantizeReport {
        out: dst.to_path_buf(),
        plan,
        converted,
        copied,
        bytes_in,
        bytes_out,
    })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary directory beside the destination, removed unless committed.
struct Staging(PathBuf);

impl Staging {
    fn new(dst: &Path) -> Result<Staging> {
        let name = dst
            .file_name()
            .ok_or_else(|| Error::Config(format!("{} has no directory name", dst.display())))?;
        let parent = match dst.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = parent.join(format!(
            ".{}.qkv-tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        Ok(Staging(tmp))
    }

    /// Moves the finished directory to `dst` (an existing `dst` is moved aside first and
    /// removed after).
    fn commit(self, dst: &Path) -> Result<()> {
        let old = self.0.with_extension("old");
        let had = dst.exists();
        if had {
            std::fs::rename(dst, &old).map_err(io_err(dst))?;
        }
        if let Err(e) = std::fs::rename(&self.0, dst) {
            if had {
                std::fs::rename(&old, dst).ok();
            }
            return Err(io_err(dst)(e));
        }
        if had {
            std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
        }
        // `self` drops here: its path was renamed away, so the removal finds nothing (no
        // `mem::forget`, which would leak the PathBuf).
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Copies the directory's files (recursively), minus weight files.
fn copy_files(src: &Path, dst: &Path) -> Result<()> {
    for entry in std::fs::read_dir(src).map_err(io_err(src))? {
        let entry = entry.map_err(io_err(src))?;
        let path = entry.path();
        let name = entry.file_name();
        let kind = entry.file_type().map_err(io_err(&path))?;
        if kind.is_dir() {
            if !SKIP_DIRS.iter().any(|d| name == *d) {
                let sub = dst.join(&name);
                std::fs::create_dir_all(&sub).map_err(io_err(&sub))?;
                copy_files(&path, &sub)?;
            }
        } else if kind.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !SKIP_EXT.contains(&ext) && name != QUANTIZATION_FILE {
                let to = dst.join(&name);
                std::fs::copy(&path, &to).map_err(io_err(&to))?;
            }
        }
    }
    Ok(())
}

/// One tensor to write: its bytes borrowed from the source or made here.
struct Out<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: std::borrow::Cow<'a, [u8]>,
}

/// Writes every tensor of `w`, the projections of `model` converted; returns (converted,
/// copied).
fn write_weights(
    w: &Weights,
    model: &Model,
    path: &Path,
    precision: Precision,
) -> Result<(usize, usize)> {
    let mut out: BTreeMap<String, Out> = BTreeMap::new();
    let linears: Vec<&Linear> = model.linears();
    let mut converted = 0;
    for lin in linears {
        if lin.sources().is_empty() {
            return Err(Error::Config(
                "a projection was not loaded from named tensors".into(),
            ));
        }
        converted += convert(w, lin, &mut out)?;
    }
    let mut copied = 0;
    for name in w.names() {
        if !out.contains_key(name) {
            let (dtype, shape, bytes) = w.raw(name)?;
            out.insert(
                name.to_string(),
                Out {
                    dtype,
                    shape: shape.to_vec(),
                    data: bytes.into(),
                },
            );
            copied += 1;
        }
    }
    let views = out
        .iter()
        .map(|(name, t)| {
            TensorView::new(t.dtype, t.shape.clone(), &t.data)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Config(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("qkv_precision".to_string(), precision.name().to_string()),
    ]);
    safetensors::serialize_to_file(views, &Some(meta), path).map_err(|e| Error::Safetensors {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    Ok((converted, copied))
}

/// The tensors of one projection at its prepared precision; returns how many weights changed.
fn convert(w: &Weights, lin: &Linear, out: &mut BTreeMap<String, Out>) -> Result<usize> {
    let k = lin.k();
    let f32_bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let int8 = lin.int8().map(|m| (m, m.int8_weight()));
    let mut row = 0;
    let mut n = 0;
    for (name, rows) in lin.sources() {
        let wname = format!("{name}.weight");
        match (&int8, lin.precision()) {
            (Some((m, q)), _) => {
                let bytes: Vec<u8> = q[row * k..(row + rows) * k]
                    .iter()
                    .map(|&x| x as u8)
                    .collect();
                let scales = &m.scales()[row..row + rows];
                out.insert(wname, tensor(Dtype::I8, vec![*rows, k], bytes));
                out.insert(
                    format!("{name}.weight_scale"),
                    tensor(Dtype::F32, vec![*rows], f32_bytes(scales)),
                );
                if let Some(s) = m.smoothing() {
                    out.insert(
                        format!("{name}.weight_smooth"),
                        tensor(Dtype::F32, vec![k], f32_bytes(s)),
                    );
                }
                n += 1;
            }
            (None, Precision::Bf16) => {
                let v = w.tensor(&wname, &[*rows, k])?;
                let bytes: Vec<u8> = v.iter().flat_map(|&x| to_bf16(x).to_le_bytes()).collect();
                out.insert(wname, tensor(Dtype::BF16, vec![*rows, k], bytes));
                n += 1;
            }
            // A projection the plan keeps in f32: copied unchanged.
            (None, _) => {}
        }
        row += rows;
    }
    Ok(n)
}

fn tensor<'a>(dtype: Dtype, shape: Vec<usize>, bytes: Vec<u8>) -> Out<'a> {
    Out {
        dtype,
        shape,
        data: bytes.into(),
    }
}
