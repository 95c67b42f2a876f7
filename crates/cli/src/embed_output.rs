//! Writing embeddings: JSONL (one `{"index", "embedding"}` per line), `.npy` (float32
//! `[n, dim]`) or safetensors (`embeddings [n, dim]`). Output goes to a temporary file beside
//! the target, renamed into place only when every input succeeded: nothing is half-written.

use anyhow::{Context, Result};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// NumPy `.npy`, float32, C order.
    Npy,
    /// safetensors with one tensor `embeddings`.
    Safetensors,
}

/// A streaming writer of embedding rows.
pub struct Writer {
    format: Format,
    dim: usize,
    rows: usize,
    out: BufWriter<Box<dyn WriteSeek>>,
    tmp: Option<(PathBuf, PathBuf)>,
    held: Vec<f32>,
}

/// `Write + Seek` as one object (files; stdout gets a seekless wrapper).
pub trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

struct NoSeek<W: Write>(W);
impl<W: Write> Write for NoSeek<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write> Seek for NoSeek<W> {
    fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
        Err(std::io::Error::other("stdout cannot seek"))
    }
}

const NPY_HEADER: usize = 128;

impl Writer {
    /// Writes to `path` (via a temporary file) or stdout when `None`.
    pub fn create(path: Option<&Path>, format: Format, dim: usize) -> Result<Writer> {
        let (out, tmp): (Box<dyn WriteSeek>, _) = match path {
            Some(p) => {
                let tmp = p.with_extension(format!(
                    "{}.partial",
                    p.extension().and_then(|e| e.to_str()).unwrap_or("out")
                ));
                let f = std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))?;
                (Box::new(f), Some((tmp, p.to_path_buf())))
            }
            None => (Box::new(NoSeek(std::io::stdout().lock())), None),
        };
        let mut w = Writer {
            format,
            dim,
            rows: 0,
            out: BufWriter::with_capacity(1 << 20, out),
            tmp,
            held: Vec::new(),
        };
        if format == Format::Npy {
            if w.tmp.is_none() {
                anyhow::bail!(
                    "--format npy needs --output FILE (its header records the row count)"
                );
            }
            w.out.write_all(&[b' '; NPY_HEADER])?; // placeholder, patched in `finish`
        }
        if format == Format::Safetensors && w.tmp.is_none() {
            anyhow::bail!("--format safetensors needs --output FILE");
        }
        Ok(w)
    }

    /// Appends rows (`[k, dim]`) whose input indices start at `first`.
    pub fn rows(&mut self, first: usize, data: &[f32]) -> Result<()> {
        match self.format {
            Format::Jsonl => {
                for (k, row) in data.chunks(self.dim).enumerate() {
                    let v = serde_json::json!({ "index": first + k, "embedding": row });
                    writeln!(self.out, "{v}")?;
                }
            }
            Format::Npy => {
                for x in data {
                    self.out.write_all(&x.to_le_bytes())?;
                }
            }
            // safetensors needs the total size in its header: rows are held until the end.
            Format::Safetensors => self.held.extend_from_slice(data),
        }
        self.rows += data.len() / self.dim.max(1);
        Ok(())
    }

    /// Completes the file and moves it into place.
    pub fn finish(mut self) -> Result<usize> {
        match self.format {
            Format::Jsonl => {}
            Format::Npy => {
                let dict = format!(
                    "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
                    self.rows, self.dim
                );
                let mut h = b"\x93NUMPY\x01\x00".to_vec();
                let pad = NPY_HEADER - 10 - dict.len() - 1;
                h.extend_from_slice(&((NPY_HEADER - 10) as u16).to_le_bytes());
                h.extend_from_slice(dict.as_bytes());
                h.extend(std::iter::repeat_n(b' ', pad));
                h.push(b'\n');
                self.out.seek(SeekFrom::Start(0))?;
                self.out.write_all(&h)?;
            }
            Format::Safetensors => {
                let bytes: Vec<u8> = self.held.iter().flat_map(|x| x.to_le_bytes()).collect();
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    vec![self.rows, self.dim],
                    &bytes,
                )
                .map_err(|e| anyhow::anyhow!("safetensors: {e:?}"))?;
                let data = safetensors::serialize([("embeddings", view)], &None)
                    .map_err(|e| anyhow::anyhow!("safetensors: {e:?}"))?;
                self.out.write_all(&data)?;
            }
        }
        self.out.flush()?;
        if let Some((tmp, dst)) = self.tmp.take() {
            drop(self.out);
            std::fs::rename(&tmp, &dst)
                .with_context(|| format!("cannot move {} to {}", tmp.display(), dst.display()))?;
        }
        Ok(self.rows)
    }

    /// Removes the temporary file after a failure.
    pub fn abandon(self) {
        if let Some((tmp, _)) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
