//! The embedded font. plotters' `ab_glyph` backend never looks at system fonts, so figures render the
//! same on a fresh machine, in CI, or in a container without fontconfig.
//!
//! The font is DejaVu Sans 2.37 (Bitstream Vera license, DejaVu changes in the public domain; see
//! `assets/LICENSE-DejaVu.txt`). It covers Latin, Greek, Cyrillic and many symbols; characters it
//! lacks (CJK, for one) render as its "missing glyph" box. SVG output names the family `sans-serif`
//! and leaves the choice of font to the viewer.

use crate::error::{Error, Result};
use plotters::style::{FontFamily, FontStyle, TextStyle};
use std::sync::OnceLock;

/// DejaVu Sans, regular.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name under which the font is registered (the name plotters uses by default).
pub(crate) const FAMILY: &str = "sans-serif";

/// Register the embedded font with plotters, once per process. Every public drawing entry point
/// calls this before drawing text.
pub(crate) fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Font)
    }
}

/// The parsed embedded font, for measuring and rasterizing text ourselves (see `typeset`).
pub(crate) fn face() -> &'static ab_glyph::FontRef<'static> {
    static FACE: OnceLock<ab_glyph::FontRef<'static>> = OnceLock::new();
    FACE.get_or_init(|| {
        // The bytes are a valid TrueType font compiled into the crate; a parse failure would be a
        // corrupt build, caught by every test that renders text.
        ab_glyph::FontRef::try_from_slice(DEJAVU_SANS).expect("embedded DejaVu Sans parses")
    })
}

/// A text style in the embedded family at `px` pixels.
pub(crate) fn text(px: f64) -> TextStyle<'static> {
    TextStyle::from((FontFamily::Name(FAMILY), px))
}
