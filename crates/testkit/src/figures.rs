//! Checks of written figures (feature `figures`): a PNG decodes at the promised size and is not
//! blank; an SVG is a whole document carrying the texts it should.

use std::path::Path;

/// Decodes the RGB PNG at `path`: (width, height, RGB bytes).
///
/// # Panics
/// When the file is missing, not a PNG or not 8-bit RGB.
pub fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    );
    let mut reader = png::Decoder::new(file)
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .expect("PNG size fits in memory")
    ];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Variance of the grey level over all pixels: 0 for a blank image, thousands for a figure.
pub fn grey_variance(rgb: &[u8]) -> f64 {
    let grey: Vec<f64> = rgb
        .chunks(3)
        .map(|p| (f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2])) / 3.0)
        .collect();
    let mean = grey.iter().sum::<f64>() / grey.len() as f64;
    grey.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / grey.len() as f64
}

/// The PNG at `path` has size `size` and real content (grey variance above 200).
pub fn check_png(path: &Path, size: (u32, u32)) {
    let (w, h, rgb) = decode_png(path);
    assert_eq!((w, h), size, "{} size", path.display());
    let v = grey_variance(&rgb);
    assert!(
        v > 200.0,
        "{} looks blank (grey variance {v:.1})",
        path.display()
    );
}

/// The SVG at `path` is a whole SVG document containing every one of `texts`.
pub fn check_svg(path: &Path, texts: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(svg.contains("<svg"), "{} is not SVG", path.display());
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{} is truncated",
        path.display()
    );
    for t in texts {
        assert!(svg.contains(t), "{} lacks {t:?}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_has_no_variance() {
        assert_eq!(grey_variance(&[9; 30]), 0.0);
        assert!(grey_variance(&[0, 0, 0, 255, 255, 255]) > 200.0);
    }
}
