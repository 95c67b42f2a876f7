//! Text placement done right. plotters' `ab_glyph` text renderer rounds each glyph's vertical
//! offset toward zero (so letters hop by a pixel along the baseline) and drops the glyphs' left side
//! bearings (so spacing is uneven), and it reports text as `size / 1.24` pixels tall. [`Typeset`]
//! wraps any backend, measures text from the font's real metrics, and for bitmaps rasterizes every
//! glyph itself at its exact sub-pixel position on one baseline.

use crate::font;
use ab_glyph::{point, Font, FontRef, GlyphId, Point, PxScale, ScaleFont};
use ab_glyph_rasterizer::Rasterizer;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// A drawing backend wrapper whose text is measured from the embedded font's real metrics and, for
/// pixel backends, rasterized here. The files written by [`Figure`](crate::Figure) go through it;
/// wrap your own backend in it when you draw figures into areas of your own.
///
/// ```no_run
/// use qkv_viz::plotters::prelude::*;
/// use qkv_viz::Typeset;
///
/// let mut buf = vec![255u8; 800 * 600 * 3];
/// let root = Typeset::new(BitMapBackend::with_buffer(&mut buf, (800, 600)), true).into_drawing_area();
/// let pe = qkv_viz::demo::positional_encoding(50, 64);
/// qkv_viz::pe_heatmap(&root, &pe, 50, 64).unwrap();
/// ```
pub struct Typeset<B> {
    inner: B,
    /// Draw text as pixels here (bitmaps) rather than passing it on (SVG keeps `<text>`).
    raster: bool,
}

impl<B> Typeset<B> {
    /// Wrap `inner`. With `raster` (bitmaps) text is drawn as pixels here; without it (SVG) text
    /// is passed on to `inner`, which keeps it as text, and only measured here.
    pub fn new(inner: B, raster: bool) -> Self {
        Typeset { inner, raster }
    }
}

/// Glyphs of one line of text: ids and pen positions (x from the start, at the baseline).
struct Line {
    glyphs: Vec<(GlyphId, f32)>,
    width: f32,
    ascent: f32,
    descent: f32,
}

/// Lay out `text` on one line at `size` pixels (plotters' size: the font's ascent-to-descent height).
fn layout(font: &FontRef<'static>, text: &str, size: f64) -> Line {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let mut caret = 0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    Line {
        glyphs,
        width: caret,
        ascent: scaled.ascent(),
        descent: scaled.descent(),
    }
}

impl<B: DrawingBackend> Typeset<B> {
    /// An anti-aliased polyline `width` pixels wide with round joins: each segment (a rectangle)
    /// and each joint (a disc) is rasterized for coverage on its own, and a pixel takes the largest
    /// coverage of any piece, so overlaps do not darken. plotters' own thick lines are aliased.
    fn draw_smooth_path(
        &mut self,
        points: &[BackendCoord],
        width: u32,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let (w, h) = self.inner.get_size();
        let half = width as f32 / 2.0;
        let reach = half.ceil() as i32 + 1;
        let (Some(x0), Some(x1), Some(y0), Some(y1)) = (
            points.iter().map(|p| p.0).min(),
            points.iter().map(|p| p.0).max(),
            points.iter().map(|p| p.1).min(),
            points.iter().map(|p| p.1).max(),
        ) else {
            return Ok(());
        };
        let (x0, y0) = ((x0 - reach).max(0), (y0 - reach).max(0));
        let (x1, y1) = ((x1 + reach).min(w as i32), (y1 + reach).min(h as i32));
        if x0 >= x1 || y0 >= y1 {
            return Ok(());
        }
        let (bw, bh) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut coverage = vec![0f32; bw * bh];
        // Pixel (x, y) is the unit square with its centre at (x + 0.5, y + 0.5).
        let at = |p: BackendCoord| point((p.0 - x0) as f32 + 0.5, (p.1 - y0) as f32 + 0.5);
        let mut fill = |poly: &[Point]| {
            let (mut lx, mut ly, mut hx, mut hy) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for p in poly {
                (lx, ly, hx, hy) = (lx.min(p.x), ly.min(p.y), hx.max(p.x), hy.max(p.y));
            }
            let (ox, oy) = (lx.floor().max(0.0), ly.floor().max(0.0));
            let (ex, ey) = (hx.ceil().min(bw as f32), hy.ceil().min(bh as f32));
            if ex <= ox || ey <= oy {
                return;
            }
            let mut r = Rasterizer::new((ex - ox) as usize, (ey - oy) as usize);
            for (i, a) in poly.iter().enumerate() {
                let b = poly[(i + 1) % poly.len()];
                r.draw_line(point(a.x - ox, a.y - oy), point(b.x - ox, b.y - oy));
            }
            let rw = (ex - ox) as usize;
            r.for_each_pixel(|idx, c| {
                let (px, py) = (ox as usize + idx % rw, oy as usize + idx / rw);
                if px < bw && py < bh {
                    let cell = &mut coverage[py * bw + px];
                    *cell = cell.max(c.min(1.0));
                }
            });
        };
        for seg in points.windows(2) {
            let (a, b) = (at(seg[0]), at(seg[1]));
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len = (dx * dx + dy * dy).sqrt();
            if len > 0.0 {
                let (nx, ny) = (-dy / len * half, dx / len * half);
                fill(&[
                    point(a.x + nx, a.y + ny),
                    point(b.x + nx, b.y + ny),
                    point(b.x - nx, b.y - ny),
                    point(a.x - nx, a.y - ny),
                ]);
            }
        }
        // Round joins (interior points only; the ends stay butt, like matplotlib's default).
        if points.len() > 2 {
            for &p in &points[1..points.len() - 1] {
                let c = at(p);
                let disc: Vec<_> = (0..16)
                    .map(|k| {
                        let t = k as f32 * std::f32::consts::TAU / 16.0;
                        point(c.x + half * t.cos(), c.y + half * t.sin())
                    })
                    .collect();
                fill(&disc);
            }
        }
        for (i, &c) in coverage.iter().enumerate() {
            if c > 0.0 {
                let p = (x0 + (i % bw) as i32, y0 + (i / bw) as i32);
                let px = BackendColor {
                    alpha: color.alpha * f64::from(c),
                    rgb: color.rgb,
                };
                self.inner.draw_pixel(p, px)?;
            }
        }
        Ok(())
    }
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if self.raster && style.stroke_width() >= 2 && style.color().alpha > 0.0 {
            let points: Vec<BackendCoord> = path.into_iter().collect();
            return self.draw_smooth_path(&points, style.stroke_width(), style.color());
        }
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let line = layout(font::face(), text, style.size());
        Ok((
            line.width.ceil() as u32,
            (line.ascent - line.descent).ceil() as u32,
        ))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.raster {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let face = font::face();
        let line = layout(face, text, style.size());
        let height = line.ascent - line.descent;
        // Text-local frame: x from the anchor's left, y down from the box top; the baseline at an
        // integer y so that horizontal strokes stay crisp.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        let top = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let baseline = (top + line.ascent).round();
        let scale = PxScale::from(style.size() as f32);
        let trans = style.transform();
        let (w, h) = self.inner.get_size();
        for &(id, x) in &line.glyphs {
            let glyph = id.with_scale_and_position(scale, point(dx + x, baseline));
            let Some(outlined) = face.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outlined.px_bounds();
            let mut pixels = Vec::new();
            outlined.draw(|gx, gy, coverage| {
                if coverage > 0.0 {
                    pixels.push((gx, gy, coverage));
                }
            });
            for (gx, gy, coverage) in pixels {
                let lx = bounds.min.x as i32 + gx as i32;
                let ly = bounds.min.y as i32 + gy as i32;
                let (tx, ty) = trans.transform(lx, ly);
                let (px, py) = (pos.0 + tx, pos.1 + ty);
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let c = BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    };
                    self.inner.draw_pixel((px, py), c)?;
                }
            }
        }
        Ok(())
    }
}
