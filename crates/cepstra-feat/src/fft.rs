//! Power spectrum of a real frame: for even lengths a half-length complex FFT plus one
//! post-processing pass (the usual real-FFT trick), for odd lengths a full complex FFT.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Buffers for [`RealFft::power_spectrum`]; reused across frames so the hot loop never allocates.
#[derive(Debug, Clone, Default)]
pub(crate) struct FftBuffers {
    data: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

/// A planned real FFT of length `n` returning `|X_k|²` for `k = 0..=n/2`.
#[derive(Clone)]
pub(crate) struct RealFft {
    n: usize,
    fft: Arc<dyn Fft<f64>>,
    /// `exp(-2πik/n)` for `k = 0..n/2` (even `n` only).
    twiddles: Vec<Complex<f64>>,
}

impl std::fmt::Debug for RealFft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealFft").field("n", &self.n).finish()
    }
}

impl RealFft {
    /// Plans the FFT once; `n >= 2`.
    pub(crate) fn new(n: usize) -> Self {
        let mut planner = FftPlanner::<f64>::new();
        if n % 2 == 0 {
            let m = n / 2;
            let twiddles = (0..m)
                .map(|k| {
                    let a = -std::f64::consts::TAU * k as f64 / n as f64;
                    Complex::new(a.cos(), a.sin())
                })
                .collect();
            Self {
                n,
                fft: planner.plan_fft_forward(m),
                twiddles,
            }
        } else {
            Self {
                n,
                fft: planner.plan_fft_forward(n),
                twiddles: Vec::new(),
            }
        }
    }

    /// Writes `|X_k|²` of the real signal `input` (length `n`) into `power[k]`, `k = 0..=n/2`.
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
                *z = Complex::new(f64::from(x), 0.0);
            }
            self.fft
                .process_with_scratch(&mut buf.data, &mut buf.scratch[..scratch_len]);
            for (p, z) in power.iter_mut().zip(&buf.data) {
                *p = (z.re * z.re + z.im * z.im) as f32;
            }
            return;
        }
        let m = len;
        for (z, pair) in buf.data.iter_mut().zip(input.chunks_exact(2)) {
            *z = Complex::new(f64::from(pair[0]), f64::from(pair[1]));
        }
        self.fft
            .process_with_scratch(&mut buf.data, &mut buf.scratch[..scratch_len]);
        let z = &buf.data;
        let dc = z[0].re + z[0].im;
        let nyq = z[0].re - z[0].im;
        power[0] = (dc * dc) as f32;
        power[m] = (nyq * nyq) as f32;
        // z[m-k] for k = 1..m is z[1..m] reversed.
        let fwd = z[1..m].iter();
        let rev = z[1..m].iter().rev();
        for (((p, a), b), tw) in power[1..m]
            .iter_mut()
            .zip(fwd)
            .zip(rev)
            .zip(&self.twiddles[1..])
        {
            let b = b.conj();
            // even part E = (a + b)/2, odd part O = (a - b)/(2i)
            let e = (a + b) * 0.5;
            let d = (a - b) * 0.5;
            let o = Complex::new(d.im, -d.re);
            let x = e + tw * o;
            *p = (x.re * x.re + x.im * x.im) as f32;
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
