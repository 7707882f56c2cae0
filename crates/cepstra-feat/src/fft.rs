//! Power spectrum of a real frame: for even lengths a half-length complex FFT plus one
//! post-processing pass (the usual real-FFT trick), for odd lengths a full complex FFT.
//!
//! Arithmetic is `f32`, as Kaldi's own `SplitRadixRealFft<BaseFloat>`; the post-processing works
//! on split real/imaginary arrays so that it vectorises.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Buffers for [`RealFft::power_spectrum`]; reused across frames so the hot loop never allocates.
#[derive(Debug, Clone, Default)]
pub(crate) struct FftBuffers {
    data: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Real and imaginary parts of the half-length FFT, `m` each.
    re: Vec<f32>,
    im: Vec<f32>,
}

/// A planned real FFT of length `n` returning `|X_k|²` for `k = 0..=n/2`.
#[derive(Clone)]
pub(crate) struct RealFft {
    n: usize,
    fft: Arc<dyn Fft<f32>>,
    /// `exp(-2πik/n)` for `k = 0..n/2` (even `n` only), real and imaginary parts.
    tw_re: Vec<f32>,
    tw_im: Vec<f32>,
}

impl std::fmt::Debug for RealFft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealFft").field("n", &self.n).finish()
    }
}

impl RealFft {
    /// Plans the FFT once; `n >= 2`.
    pub(crate) fn new(n: usize) -> Self {
        let mut planner = FftPlanner::<f32>::new();
        if n % 2 == 0 {
            let m = n / 2;
            let angle = |k: usize| -std::f64::consts::TAU * k as f64 / n as f64;
            Self {
                n,
                fft: planner.plan_fft_forward(m),
                tw_re: (0..m).map(|k| angle(k).cos() as f32).collect(),
                tw_im: (0..m).map(|k| angle(k).sin() as f32).collect(),
            }
        } else {
            Self {
                n,
                fft: planner.plan_fft_forward(n),
                tw_re: Vec::new(),
                tw_im: Vec::new(),
            }
        }
    }

    /// Writes `|X_k|²` of the real signal `input` (length `n`) into `power[k]`, `k = 0..=n/2`.
    #[inline(always)]
    pub(crate) fn power_spectrum(&self, input: &[f32], power: &mut [f32], buf: &mut FftBuffers) {
        debug_assert_eq!(input.len(), self.n);
        debug_assert_eq!(power.len(), self.n / 2 + 1);
        let len = self.fft.len();
        buf.data.resize(len, Complex::new(0.0, 0.0));
        let scratch_len = self.fft.get_inplace_scratch_len();
        if buf.scratch.len() < scratch_len {
            buf.scratch.resize(scratch_len, Complex::new(0.0, 0.0));
        }
        if self.n % 2 == 1 {
            for (z, &x) in buf.data.iter_mut().zip(input) {
                *z = Complex::new(x, 0.0);
            }
            self.fft
                .process_with_scratch(&mut buf.data, &mut buf.scratch[..scratch_len]);
            for (p, z) in power.iter_mut().zip(&buf.data) {
                *p = z.re * z.re + z.im * z.im;
            }
            return;
        }
        let m = len;
        for (z, pair) in buf.data.iter_mut().zip(input.chunks_exact(2)) {
            *z = Complex::new(pair[0], pair[1]);
        }
        self.fft
            .process_with_scratch(&mut buf.data, &mut buf.scratch[..scratch_len]);
        buf.re.resize(m, 0.0);
        buf.im.resize(m, 0.0);
        for ((r, i), z) in buf.re.iter_mut().zip(buf.im.iter_mut()).zip(&buf.data) {
            *r = z.re;
            *i = z.im;
        }
        let (re, im) = (&buf.re[..m], &buf.im[..m]);
        let dc = re[0] + im[0];
        let nyq = re[0] - im[0];
        power[0] = dc * dc;
        power[m] = nyq * nyq;
        // With a = Z[k] and b = conj(Z[m-k]): 2E = a + b, 2O = (a - b)/i and 2X = 2E + W^k·2O;
        // |X|² = |2X|²/4 (exact scaling). Z[m-k] for k = 1..m is Z[1..m] reversed.
        // Indexed over slices of one length `h` (no bounds checks, so it vectorises, the
        // reversed reads as lane permutations); the same operations as a zip of iterators.
        let h = m - 1;
        let (zr, zi) = (&re[1..m], &im[1..m]);
        let (tw_re, tw_im) = (&self.tw_re[1..m], &self.tw_im[1..m]);
        let power = &mut power[1..m];
        for k in 0..h {
            let (ar, ai) = (zr[k], zi[k]);
            let (br, bi) = (zr[h - 1 - k], -zi[h - 1 - k]);
            let (tr, ti) = (tw_re[k], tw_im[k]);
            let (er, ei) = (ar + br, ai + bi);
            // 2O = (d_i, -d_r) with d = a - b
            let (dr, di) = (ar - br, ai - bi);
            let (or, oi) = (di, -dr);
            let xr = er + (tr * or - ti * oi);
            let xi = ei + (tr * oi + ti * or);
            power[k] = 0.25 * (xr * xr + xi * xi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_power(x: &[f32]) -> Vec<f64> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (t, &v) in x.iter().enumerate() {
                    let a = -std::f64::consts::TAU * (k * t) as f64 / n as f64;
                    re += f64::from(v) * a.cos();
                    im += f64::from(v) * a.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft() {
        for n in [2usize, 8, 200, 256, 15, 175] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 113) as f32 - 56.0 + (i as f32 * 0.3).sin())
                .collect();
            let fft = RealFft::new(n);
            let mut p = vec![0.0; n / 2 + 1];
            let mut buf = FftBuffers::default();
            fft.power_spectrum(&x, &mut p, &mut buf);
            let want = naive_power(&x);
            let scale = want.iter().cloned().fold(0.0, f64::max);
            for (a, b) in p.iter().zip(&want) {
                assert!(
                    (f64::from(*a) - b).abs() <= 1e-5 * scale,
                    "n={n}: {a} vs {b}"
                );
            }
        }
    }
}
