//! Packing for the int8 microkernels: panels of MR rows (A) or NR columns (B), k in groups of
//! `kg` consecutive values (4 for `vpdpbusd`, 2 for `vpmaddwd`), zero-padded to whole panels
//! and to K rounded up to a multiple of 4.
//!
//! ```text
//! Ã[((panel·G + g)·MR + r)·kg + t] = u[panel·MR + r, g·kg + t]     (G = k_pad / kg)
//! B̃[((panel·G + g)·NR + c)·kg + t] = q[panel·NR + c, g·kg + t]     (q: [N, K] row-major)
//! ```
//!
//! One broadcast of `kg` consecutive A elements (4 bytes) meets one B vector holding `kg` k
//! values for each of its columns, which is the operand layout of `vpdpbusd`/`vpmaddwd`.

/// K rounded up to the packing granularity (a multiple of 4 for every kernel).
pub(crate) fn k_padded(k: usize) -> usize {
    k.div_ceil(4) * 4
}

/// Element types a panel can hold: u8/i8, or i16 for the AVX2 kernel.
pub(crate) trait Elem: Copy + Default + Send + Sync + 'static {}
impl Elem for u8 {}
impl Elem for i8 {}
impl Elem for i16 {}

/// Packs a quantized `[N, K]` weight (row-major i8) into `⌈N/nr⌉` panels.
pub(crate) fn pack_b<T: Elem + From<i8>>(
    q: &[i8],
    n: usize,
    k: usize,
    nr: usize,
    kg: usize,
) -> Vec<T> {
    let kp = k_padded(k);
    let groups = kp / kg;
    let panels = n.div_ceil(nr);
    if kp == 0 {
        return Vec::new();
    }
    let mut out = vec![T::default(); panels * nr * kp];
    for (panel, dst) in out.chunks_exact_mut(nr * kp).enumerate() {
        for c in 0..nr.min(n - panel * nr) {
            let row = &q[(panel * nr + c) * k..(panel * nr + c + 1) * k];
            for (p, &x) in row.iter().enumerate() {
                let (g, t) = (p / kg, p % kg);
                dst[(g * nr + c) * kg + t] = T::from(x);
            }
        }
        debug_assert_eq!(dst.len(), groups * nr * kg);
    }
    out
}

/// Reads element `(col, p)` of the `[N, K]` weight back from a packed B.
pub(crate) fn unpack_b_at<T: Elem>(
    packed: &[T],
    k: usize,
    nr: usize,
    kg: usize,
    col: usize,
    p: usize,
) -> T {
    let kp = k_padded(k);
    let (panel, c) = (col / nr, col % nr);
    packed[panel * nr * kp + ((p / kg) * nr + c) * kg + p % kg]
}

/// Scatters one quantized row `u` (length K) as row `r` of an MR-row panel `dst`
/// (length `mr · k_pad`). The padding past K keeps its zeros.
pub(crate) fn pack_a_row<T: Elem + From<u8>>(
    u: &[u8],
    r: usize,
    mr: usize,
    kg: usize,
    dst: &mut [T],
) {
    let full = u.len() / kg * kg;
    for (g, chunk) in u[..full].chunks_exact(kg).enumerate() {
        let base = (g * mr + r) * kg;
        for (d, &x) in dst[base..base + kg].iter_mut().zip(chunk) {
            *d = T::from(x);
        }
    }
    if full < u.len() {
        let base = ((full / kg) * mr + r) * kg;
        for (d, &x) in dst[base..].iter_mut().zip(&u[full..]) {
            *d = T::from(x);
        }
    }
}
