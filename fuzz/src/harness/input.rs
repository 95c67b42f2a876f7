//! The fuzz bytes read as a stream of decisions: sizes (sometimes extreme), values (mostly
//! small integers, sometimes special), buffers of near-needed length, and strided matrix views
//! over them.

use super::MAX_BUF;
use qkv_core::{Isa, MatRef};

/// Sizes that stress overflow checks: claimed by a shape, never allocated.
const EXTREMES: [usize; 8] = [
    usize::MAX,
    usize::MAX / 2 + 1,
    usize::MAX / 3,
    1 << 32,
    (1 << 32) + 1,
    1 << 31,
    65_537,
    4097,
];

/// Fuzz bytes read as a stream of small decisions; runs dry as zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    /// Whether every byte has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub(super) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let v = u16::from_le_bytes([self.byte(), self.byte()]) as usize;
        v % n
    }
    pub(super) fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    /// Mostly `0..=max`; one time in 16 an extreme value that overflows naive arithmetic.
    pub(super) fn size(&mut self, max: usize) -> usize {
        let b = self.byte();
        if b >= 240 {
            EXTREMES[(b - 240) as usize % EXTREMES.len()]
        } else {
            self.below(max + 1)
        }
    }
    /// A value: mostly a small integer (so integer products are exact in f32), sometimes a
    /// special one. Returns the value and whether it is "tame" (a small integer).
    pub(super) fn value(&mut self) -> (f32, bool) {
        let b = self.byte();
        if b < 232 {
            ((b % 9) as f32 - 4.0, true)
        } else {
            let special = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e30,
                -1e30,
                f32::MIN_POSITIVE / 2.0,
                -0.0,
                f32::MAX,
            ];
            (special[(b - 232) as usize % special.len()], false)
        }
    }
    pub(super) fn isa(&mut self) -> Isa {
        Isa::ALL[self.below(Isa::ALL.len())]
    }
    /// A buffer of `n` values (capped) and whether every value is tame.
    pub(super) fn buffer(&mut self, n: usize) -> (Vec<f32>, bool) {
        let mut tame = true;
        let v = (0..n.min(MAX_BUF))
            .map(|_| {
                let (x, t) = self.value();
                tame &= t;
                x
            })
            .collect();
        (v, tame)
    }
    /// A buffer length near `needed` (exact, one short, a little long) or arbitrary when
    /// `needed` is not allocatable.
    pub(super) fn len_near(&mut self, needed: Option<usize>) -> usize {
        match needed {
            Some(n) if n <= MAX_BUF => match self.byte() % 4 {
                0 => n.saturating_sub(1),
                1 => n + self.below(8),
                _ => n,
            },
            _ => self.below(64),
        }
    }
}

/// Elements a `rows × cols` view with strides `(rs, cs)` spans (as `MatRef` defines it,
/// written again here on purpose: it is the oracle `View::mat` checks `MatRef` against).
pub(super) fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// A matrix view with arbitrary strides over a buffer of near-needed length; returns the
/// buffer, its tameness and the view's parameters. Asserts `MatRef` accepts iff it fits.
pub(super) struct View {
    buf: Vec<f32>,
    pub(super) tame: bool,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl View {
    pub(super) fn new(u: &mut Input, rows: usize, cols: usize) -> View {
        let (rs, cs) = match u.byte() % 4 {
            0 => (cols, 1),                                        // row-major
            1 => (1, rows),                                        // column-major
            2 => (cols.saturating_add(u.size(3)), 1 + u.below(2)), // padded / strided
            _ => (u.size(8), u.size(8)), // anything, broadcasting included
        };
        let len = u.len_near(span(rows, cols, rs, cs));
        let (buf, tame) = u.buffer(len);
        View {
            buf,
            tame,
            rows,
            cols,
            rs,
            cs,
        }
    }
    pub(super) fn mat(&self) -> Option<MatRef<'_>> {
        let r = MatRef::with_strides(&self.buf, self.rows, self.cols, self.rs, self.cs);
        let fits =
            span(self.rows, self.cols, self.rs, self.cs).is_some_and(|n| n <= self.buf.len());
        assert_eq!(r.is_ok(), fits, "MatRef accepted iff the view fits");
        r.ok()
    }
    pub(super) fn at(&self, i: usize, j: usize) -> f64 {
        f64::from(self.buf[i * self.rs + j * self.cs])
    }
}
