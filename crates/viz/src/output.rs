//! Writing figures: the [`Figure`] trait, PNG and SVG output, and the output-format choice.

use crate::error::{Error, Result};
use crate::font;
use crate::typeset::Typeset;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Largest width or height accepted, in pixels (a 16384² RGB buffer is 768 MiB).
pub const MAX_SIDE: u32 = 16384;

/// An output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// 8-bit RGB PNG, rasterized with the embedded font.
    Png,
    /// SVG 1.1 text; text is kept as `<text>` in the `sans-serif` family.
    Svg,
}

impl Format {
    /// The format a path's extension names (`.png` or `.svg`, any case).
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// A figure: something that draws itself into any plotters drawing area, and so can be placed in a
/// grid of panels or written on its own as PNG or SVG.
///
/// Constructors check the inputs, so [`Figure::draw`] only fails when the backend does.
pub trait Figure {
    /// Pixel size used when the figure is written on its own.
    fn size(&self) -> (u32, u32);

    /// Draw into `area` (which it fills; the caller picks the area's size and place).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;

    /// Write to `path` at [`Figure::size`], as PNG or SVG by the path's extension.
    fn write(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        write_figure(self, path.as_ref(), self.size())
    }

    /// Write to `path` at `size` pixels, as PNG or SVG by the path's extension.
    fn write_sized(&self, path: impl AsRef<Path>, size: (u32, u32)) -> Result<()>
    where
        Self: Sized,
    {
        write_figure(self, path.as_ref(), size)
    }

    /// Write `<stem>.png` and `<stem>.svg` (the stem's own dots are kept: `fig.v2` gives
    /// `fig.v2.png`); returns both paths.
    fn write_png_and_svg(&self, stem: impl AsRef<Path>) -> Result<[PathBuf; 2]>
    where
        Self: Sized,
    {
        write_png_and_svg(self, stem)
    }

    /// Render to PNG bytes in memory.
    fn render_png(&self, size: (u32, u32)) -> Result<Vec<u8>>
    where
        Self: Sized,
    {
        let rgb = render_rgb(self, size)?;
        encode_png(&rgb, size).map_err(|source| Error::PngEncode {
            path: PathBuf::from("<memory>"),
            source,
        })
    }

    /// Render to an SVG document in memory.
    fn render_svg(&self, size: (u32, u32)) -> Result<String>
    where
        Self: Sized,
    {
        render_svg(self, size)
    }
}

/// Write `fig` to `<stem>.png` and `<stem>.svg` at its own size; returns both paths.
pub fn write_png_and_svg<F: Figure>(fig: &F, stem: impl AsRef<Path>) -> Result<[PathBuf; 2]> {
    let with_ext = |ext: &str| {
        let mut s: OsString = stem.as_ref().as_os_str().to_owned();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    let png = with_ext(Format::Png.extension());
    let svg = with_ext(Format::Svg.extension());
    fig.write(&png)?;
    fig.write(&svg)?;
    Ok([png, svg])
}

fn check_size((w, h): (u32, u32)) -> Result<()> {
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::Invalid {
            what: "figure size",
            reason: format!("{w}×{h} pixels; each side must be in 1..={MAX_SIDE}"),
        });
    }
    Ok(())
}

fn write_figure<F: Figure>(fig: &F, path: &Path, size: (u32, u32)) -> Result<()> {
    let format = Format::from_path(path)?;
    check_size(size)?;
    let bytes = match format {
        Format::Png => {
            let rgb = render_rgb(fig, size)?;
            encode_png(&rgb, size).map_err(|source| Error::PngEncode {
                path: path.to_path_buf(),
                source,
            })?
        }
        Format::Svg => render_svg(fig, size)?.into_bytes(),
    };
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Render into a white RGB buffer (3 bytes a pixel, row-major).
fn render_rgb<F: Figure>(fig: &F, size: (u32, u32)) -> Result<Vec<u8>> {
    check_size(size)?;
    font::ensure_registered()?;
    let mut buf = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root =
            Typeset::new(BitMapBackend::with_buffer(&mut buf, size), true).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

fn render_svg<F: Figure>(fig: &F, size: (u32, u32)) -> Result<String> {
    check_size(size)?;
    font::ensure_registered()?;
    let mut svg = String::new();
    {
        let root = Typeset::new(SVGBackend::with_string(&mut svg, size), false).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}
