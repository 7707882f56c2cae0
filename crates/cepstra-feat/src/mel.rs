//! Triangular mel filterbanks (Kaldi's `MelBanks`, `mel-computations.cc`).

use crate::{Error, FrameExtractionOptions, MelBanksOptions, Result};

/// Kaldi's mel scale, `1127 ln(1 + f/700)`, in `f32` as Kaldi computes it.
pub fn mel_scale(freq: f32) -> f32 {
    1127.0f32 * (1.0f32 + freq / 700.0f32).ln()
}

/// Inverse of [`mel_scale`]: `700 (exp(m/1127) - 1)`.
pub fn inverse_mel_scale(mel: f32) -> f32 {
    700.0f32 * ((mel / 1127.0f32).exp() - 1.0f32)
}

/// `ln(max(x, FLT_EPSILON))` in `f64`: the log of a mel energy, floored as Kaldi floors it.
///
/// Branch-free (so that a loop over the mel bins vectorises) and within 2e-11 of the exact
/// logarithm, closer than `f32` rounding (libm's `logf` is exact to half an `f32` ulp, up to
/// 1e-6 here). `x = 2^e·m` with `m` in `[√½, √2)`, and `ln m = 2·atanh(s)`, `s = (m-1)/(m+1)`,
/// `|s| ≤ 0.172`, summed to the `s¹¹` term. NaN is floored, as `f32::max` does; `+∞` stays `+∞`.
#[inline(always)]
pub(crate) fn ln_floored(x: f32) -> f64 {
    let x = x.max(crate::ENERGY_EPSILON);
    let bits = x.to_bits(); // positive and normal
    let mut e = (bits >> 23) as i32 - 127;
    let mut m = f64::from(f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000));
    let big = m > std::f64::consts::SQRT_2;
    m = if big { 0.5 * m } else { m };
    e += i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
    let r = f64::from(e) * std::f64::consts::LN_2 + 2.0 * s * p;
    if x == f32::INFINITY {
        f64::INFINITY
    } else {
        r
    }
}

/// A bank of triangular filters on the FFT power spectrum, stored sparsely: for each mel bin the
/// first FFT bin it covers and its non-zero weights.
///
/// Triangles are equally spaced on the mel scale between `low_freq` and `high_freq`; FFT bin `i`
/// sits at `i · samp_freq / padded_window_size` Hz, and bins up to (not including) Nyquist are
/// used, as in Kaldi.
///
/// ```
/// use cepstra_feat::{FrameExtractionOptions, MelBanks, MelBanksOptions};
/// let frame = FrameExtractionOptions { samp_freq: 8000.0, ..Default::default() };
/// let banks = MelBanks::new(&MelBanksOptions::default(), &frame)?;
/// assert_eq!(banks.num_bins(), 23);
/// let (first, weights) = banks.bin(0);
/// assert!(first >= 1 && weights.iter().all(|&w| w > 0.0 && w <= 1.0));
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MelBanks {
    /// `(first FFT bin, start in `weights`, length)` per mel bin.
    bins: Vec<(usize, usize, usize)>,
    weights: Vec<f32>,
    center_freqs: Vec<f32>,
    num_fft_bins: usize,
}

impl MelBanks {
    /// Builds the filterbank for the FFT size of `frame_opts`.
    ///
    /// # Errors
    /// [`Error::NumMelBins`] for fewer than 3 bins, [`Error::TooManyMelBins`] for more bins than
    /// the FFT has, the frame errors of [`FrameExtractionOptions`], [`Error::MelFrequencies`] for a bad
    /// `low_freq`/`high_freq` range, [`Error::EmptyMelBin`] when a triangle covers no FFT bin
    /// (too many bins for the FFT resolution), [`Error::NotFinite`] for NaN options.
    pub fn new(opts: &MelBanksOptions, frame_opts: &FrameExtractionOptions) -> Result<Self> {
        let num_bins = opts.num_bins;
        if num_bins < 3 {
            return Err(Error::NumMelBins { num_bins });
        }
        for (option, value) in [("low-freq", opts.low_freq), ("high-freq", opts.high_freq)] {
            if !value.is_finite() {
                return Err(Error::NotFinite { option, value });
            }
        }
        frame_opts.validate()?;
        let sample_freq = frame_opts.samp_freq;
        let padded = frame_opts.padded_window_size();
        let num_fft_bins = padded / 2;
        if num_bins > num_fft_bins {
            return Err(Error::TooManyMelBins {
                num_bins,
                fft_bins: num_fft_bins,
                padded,
            });
        }
        let nyquist = 0.5 * sample_freq;
        let low_freq = opts.low_freq;
        let high_freq = if opts.high_freq > 0.0 {
            opts.high_freq
        } else {
            nyquist + opts.high_freq
        };
        if low_freq < 0.0
            || low_freq >= nyquist
            || high_freq <= 0.0
            || high_freq > nyquist
            || high_freq <= low_freq
        {
            return Err(Error::MelFrequencies {
                low_freq,
                high_freq,
                nyquist,
            });
        }
        let fft_bin_width = sample_freq / padded as f32;
        let mel_low = mel_scale(low_freq);
        let mel_high = mel_scale(high_freq);
        let delta = (mel_high - mel_low) / (num_bins + 1) as f32;
        let fft_mels: Vec<f32> = (0..num_fft_bins)
            .map(|i| mel_scale(fft_bin_width * i as f32))
            .collect();

        let mut bins = Vec::with_capacity(num_bins);
        let mut weights = Vec::new();
        let mut center_freqs = Vec::with_capacity(num_bins);
        for bin in 0..num_bins {
            let left = mel_low + bin as f32 * delta;
            let center = mel_low + (bin + 1) as f32 * delta;
            let right = mel_low + (bin + 2) as f32 * delta;
            center_freqs.push(inverse_mel_scale(center));
            let mut first = None;
            let mut last = 0;
            let start = weights.len();
            for (i, &mel) in fft_mels.iter().enumerate() {
                if mel > left && mel < right {
                    let w = if mel <= center {
                        (mel - left) / (center - left)
                    } else {
                        (right - mel) / (right - center)
                    };
                    if first.is_none() {
                        first = Some(i);
                    }
                    // Kaldi keeps the zeros between first and last (cannot happen for a
                    // monotonic scale, but stay faithful).
                    let f = first.unwrap_or(i);
                    weights.resize(start + (i - f), 0.0);
                    weights.push(w);
                    last = i;
                }
            }
            let first = first.ok_or(Error::EmptyMelBin { bin })?;
            bins.push((first, start, last + 1 - first));
        }
        Ok(Self {
            bins,
            weights,
            center_freqs,
            num_fft_bins,
        })
    }

    /// Number of mel bins.
    pub fn num_bins(&self) -> usize {
        self.bins.len()
    }

    /// Number of FFT bins the filters are defined on (`padded_window_size / 2`).
    pub fn num_fft_bins(&self) -> usize {
        self.num_fft_bins
    }

    /// Bin `i` as `(first FFT bin, weights)`.
    ///
    /// # Panics
    /// If `i >= self.num_bins()`.
    pub fn bin(&self, i: usize) -> (usize, &[f32]) {
        let (first, start, len) = self.bins[i];
        (first, &self.weights[start..start + len])
    }

    /// Centre frequency of each bin in Hz.
    pub fn center_freqs(&self) -> &[f32] {
        &self.center_freqs
    }

    /// Applies the filters: `out[b] = Σ_i w_b[i] · spectrum[first_b + i]` (`f64` arithmetic).
    ///
    /// # Panics
    /// If `spectrum.len() < self.num_fft_bins()` or `out.len() != self.num_bins()`.
    #[inline(always)]
    pub fn compute(&self, spectrum: &[f32], out: &mut [f32]) {
        assert_eq!(out.len(), self.bins.len(), "mel output length");
        let spectrum = &spectrum[..self.num_fft_bins];
        for (o, &(first, start, len)) in out.iter_mut().zip(&self.bins) {
            let w = &self.weights[start..start + len];
            let p = &spectrum[first..first + len];
            *o = dot_short(w, p) as f32;
        }
    }
}

/// `Σ a·b` with `f64` products and four `f64` accumulators (triangles are 3 to ~40 FFT bins
/// long, too short for wider unrolling).
#[inline(always)]
fn dot_short(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let mut rest = 0.0;
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        rest += f64::from(x) * f64::from(y);
    }
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += f64::from(x[k]) * f64::from(y[k]);
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame8k() -> FrameExtractionOptions {
        FrameExtractionOptions {
            samp_freq: 8000.0,
            ..Default::default()
        }
    }

    #[test]
    fn ln_floored_is_accurate() {
        let eps = f64::from(crate::ENERGY_EPSILON);
        assert_eq!(ln_floored(0.0), eps.ln());
        assert_eq!(ln_floored(-5.0), eps.ln());
        assert_eq!(ln_floored(f32::NAN), eps.ln());
        assert_eq!(ln_floored(f32::INFINITY), f64::INFINITY);
        assert_eq!(ln_floored(1.0), 0.0);
        let mut x = f32::EPSILON;
        let mut worst = 0.0f64;
        while x < f32::MAX / 2.0 {
            let r2 = std::f32::consts::SQRT_2;
            for y in [x, x * r2, x * r2 * 1.000_001, x * 1.999_999_9, x * 1.3] {
                let want = f64::from(y).ln();
                worst = worst.max((ln_floored(y) - want).abs());
            }
            x *= 1.731;
        }
        assert!(worst < 3e-11, "{worst}");
    }

    #[test]
    fn mel_scale_round_trip() {
        for f in [0.0f32, 20.0, 700.0, 4000.0, 8000.0] {
            assert!((inverse_mel_scale(mel_scale(f)) - f).abs() < 1e-2 * (1.0 + f / 1000.0));
        }
        assert!((mel_scale(700.0) - 1127.0 * 2f32.ln()).abs() < 1e-3);
    }

    #[test]
    fn mel_bank_properties() {
        let opts = MelBanksOptions::default();
        let banks = MelBanks::new(&opts, &frame8k()).expect("valid options");
        assert_eq!(banks.num_bins(), 23);
        assert_eq!(banks.num_fft_bins(), 128);
        let mut prev_first = 0;
        let mut prev_center = 0.0;
        for b in 0..banks.num_bins() {
            let (first, w) = banks.bin(b);
            assert!(!w.is_empty());
            assert!(first >= prev_first, "bins move up");
            assert!(first + w.len() <= 128);
            assert!(w.iter().all(|&x| x > 0.0 && x <= 1.0));
            // a triangle: rises then falls
            let peak = w
                .iter()
                .enumerate()
                .fold((0, 0.0f32), |m, (i, &x)| if x > m.1 { (i, x) } else { m })
                .0;
            assert!(w[..=peak].windows(2).all(|p| p[0] <= p[1]));
            assert!(w[peak..].windows(2).all(|p| p[0] >= p[1]));
            let c = banks.center_freqs()[b];
            assert!(c > prev_center && c < 4000.0);
            prev_center = c;
            prev_first = first;
        }
        // Inside the covered range, neighbouring triangles sum to one on every FFT bin.
        let mut total = vec![0.0f32; 128];
        for b in 0..banks.num_bins() {
            let (first, w) = banks.bin(b);
            for (i, &x) in w.iter().enumerate() {
                total[first + i] += x;
            }
        }
        let (first_hi, _) = banks.bin(1);
        let (last_lo, w_lo) = banks.bin(21);
        for t in &total[first_hi..last_lo + w_lo.len()] {
            assert!((t - 1.0).abs() < 1e-4, "partition of unity: {t}");
        }
        // 20 Hz low cut: FFT bin 0 (0 Hz) is never used
        assert!(banks.bin(0).0 >= 1);
    }

    #[test]
    fn mel_bank_errors() {
        let f = frame8k();
        let o = |num_bins, low_freq, high_freq| MelBanksOptions {
            num_bins,
            low_freq,
            high_freq,
        };
        assert_eq!(
            MelBanks::new(&o(2, 20.0, 0.0), &f),
            Err(Error::NumMelBins { num_bins: 2 })
        );
        assert!(matches!(
            MelBanks::new(&o(23, 4000.0, 0.0), &f),
            Err(Error::MelFrequencies { .. })
        ));
        assert!(matches!(
            MelBanks::new(&o(23, 20.0, 5000.0), &f),
            Err(Error::MelFrequencies { .. })
        ));
        assert!(matches!(
            MelBanks::new(&o(23, 20.0, -4000.0), &f),
            Err(Error::MelFrequencies { .. })
        ));
        assert!(matches!(
            MelBanks::new(&o(120, 20.0, 0.0), &f),
            Err(Error::EmptyMelBin { .. })
        ));
        assert!(matches!(
            MelBanks::new(&o(23, f32::NAN, 0.0), &f),
            Err(Error::NotFinite {
                option: "low-freq",
                ..
            })
        ));
    }

    #[test]
    fn size_options_are_bounded_before_allocating() {
        let f = frame8k();
        let o = |num_bins| MelBanksOptions {
            num_bins,
            ..Default::default()
        };
        // 256-point FFT at 8 kHz: 128 bins.
        assert_eq!(
            MelBanks::new(&o(4_294_967_295), &f),
            Err(Error::TooManyMelBins {
                num_bins: 4_294_967_295,
                fft_bins: 128,
                padded: 256
            })
        );
        assert!(matches!(
            MelBanks::new(&o(129), &f),
            Err(Error::TooManyMelBins { .. })
        ));
        for ms in [1e7f32, 1e9, f32::MAX] {
            let mut long = f.clone();
            long.frame_length_ms = ms;
            assert!(
                matches!(
                    MelBanks::new(&o(23), &long),
                    Err(Error::FrameTooLong { .. })
                ),
                "{ms}"
            );
        }
        // The largest frame allowed still builds.
        let mut big = f.clone();
        big.frame_length_ms = (crate::MAX_WINDOW_SAMPLES as f32) / 8.0;
        assert_eq!(big.padded_window_size(), crate::MAX_WINDOW_SAMPLES);
        assert!(MelBanks::new(&o(23), &big).is_ok());
        big.frame_length_ms += 1.0;
        assert!(matches!(
            MelBanks::new(&o(23), &big),
            Err(Error::FrameTooLong { .. })
        ));
    }
}
