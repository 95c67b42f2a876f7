//! NumPy's legacy random stream (`np.random.seed`, `np.random.rand`, `np.random.randn`),
//! reproduced bit for bit, so the notebook's matrices can be drawn again outside Python.

/// NumPy's legacy global generator (`np.random.seed(s)`, `np.random.rand`, `np.random.randn`),
/// reproduced exactly: MT19937 seeded by Knuth's initializer (`init_genrand`, what NumPy uses for
/// an integer seed), doubles from two 32-bit draws (`(a >> 5)·2²⁶ + (b >> 6)` over 2⁵³), and
/// normals by the polar Box–Muller method, which makes two normals per accepted pair, returns the
/// second and keeps the first for the next call.
///
/// ```
/// let mut rng = qkv_notebook::NumpyRandom::new(42);
/// // np.random.seed(42); np.random.randn(2) → [0.49671415, -0.1382643]
/// assert!((rng.standard_normal() - 0.49671415).abs() < 1e-8);
/// assert!((rng.standard_normal() + 0.1382643).abs() < 1e-7);
/// ```
#[derive(Clone)]
pub struct NumpyRandom {
    mt: [u32; MT_N],
    pos: usize,
    gauss: Option<f64>,
}

const MT_N: usize = 624;
const MT_M: usize = 397;

impl std::fmt::Debug for NumpyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRandom")
            .field("pos", &self.pos)
            .field("gauss", &self.gauss)
            .finish_non_exhaustive()
    }
}

impl NumpyRandom {
    /// The state after `np.random.seed(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; MT_N];
        mt[0] = seed;
        for i in 1..MT_N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        NumpyRandom {
            mt,
            pos: MT_N,
            gauss: None,
        }
    }

    /// The next 32-bit output of MT19937.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == MT_N {
            self.twist();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Regenerates the 624 words of state (in place: entries past `N − M` read updated words,
    /// exactly as the reference implementation does).
    fn twist(&mut self) {
        for i in 0..MT_N {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % MT_N] & 0x7fff_ffff);
            let mut v = self.mt[(i + MT_M) % MT_N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[i] = v;
        }
        self.pos = 0;
    }

    /// Uniform in [0, 1) with 53 random bits (`np.random.rand()`).
    pub fn uniform(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// One standard normal (`np.random.randn()`).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.uniform() - 1.0;
            let x2 = 2.0 * self.uniform() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `n` standard normals in draw order (`np.random.randn(…)` of any shape with `n` elements,
    /// row-major).
    pub fn randn(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.standard_normal()).collect()
    }

    /// `np.random.randn(rows, cols) * scale + shift`, rounded to f32, row-major.
    pub fn randn_f32(&mut self, rows: usize, cols: usize, scale: f64, shift: f64) -> Vec<f32> {
        (0..rows * cols)
            .map(|_| (self.standard_normal() * scale + shift) as f32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_stream_matches_numpy() {
        // np.random.seed(42); np.random.randn(5)
        let want = [0.49671415, -0.1382643, 0.64768854, 1.52302986, -0.23415337];
        let mut rng = NumpyRandom::new(42);
        for w in want {
            let g = rng.standard_normal();
            assert!((g - w).abs() < 1e-8, "{g} vs {w}");
        }
    }
}
