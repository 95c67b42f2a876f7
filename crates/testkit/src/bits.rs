//! Bit-level comparisons of `f32` results (determinism tests compare bits, not values).

/// Index of the first element whose bit pattern differs, if any.
///
/// # Panics
/// When the lengths differ.
pub fn first_diff(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len(), "first_diff: lengths differ");
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

/// Whether `a` and `b` hold the same bits (NaN payloads and the sign of zero included).
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_not_values() {
        assert!(same_bits(&[1.0, f32::NAN], &[1.0, f32::NAN]));
        assert!(!same_bits(&[0.0], &[-0.0]));
        assert!(!same_bits(&[1.0], &[1.0, 2.0]));
        assert_eq!(first_diff(&[1.0, 2.0, 3.0], &[1.0, 2.5, 3.5]), Some(1));
        assert_eq!(first_diff(&[1.0], &[1.0]), None);
    }
}
