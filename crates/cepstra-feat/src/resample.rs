//! Band-limited resampling of a whole waveform between two integer sample rates (Kaldi's
//! `LinearResample` and `ResampleWaveform`, `src/feat/resample.{h,cc}`), used when the audio's
//! rate differs from `--sample-frequency` and `--allow-downsample`/`--allow-upsample` allow it.
//!
//! Each output sample at time `t_out = n / rate_out` is `Σ_i x[i] · h(i / rate_in − t_out) /
//! rate_in` over the input samples within `num_zeros / (2 · cutoff)` seconds, where `h` is a
//! sinc low-pass at `cutoff` Hz under a raised-cosine (Hann) window: `h(t) = sin(2π·cutoff·t) /
//! (π·t) · ½(1 + cos(2π·cutoff·t / num_zeros))`. The pattern of filter taps repeats every
//! `gcd(rate_in, rate_out)`-th of a second, so only `rate_out / gcd` tap sets are computed.
//! [`resample_waveform`] uses Kaldi's choices: cutoff `0.99 · ½ · min(rate_in, rate_out)` and 6
//! zero crossings; samples beyond either end count as zero (Kaldi's `flush = true`).
//!
//! Weights are computed as Kaldi does (`f64` times, `f32` filter values); each output sample is
//! summed in `f64` and rounded to `f32` once (Kaldi sums in `f32` with BLAS), so results agree with
//! Kaldi's to `f32` rounding, and are the same whatever the thread count.

use crate::{Error, Result};

/// A resampler from `samp_rate_in` to `samp_rate_out` Hz (Kaldi's `LinearResample`), built once
/// and applied to whole signals.
///
/// ```
/// use cepstra_feat::LinearResample;
/// let r = LinearResample::new(16000, 8000, 3960.0, 6)?;
/// let tone: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin() * 1000.0).collect();
/// let out = r.resample(&tone);
/// assert_eq!(out.len(), 800);
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LinearResample {
    samp_rate_in: i64,
    samp_rate_out: i64,
    filter_cutoff: f32,
    num_zeros: i32,
    input_samples_in_unit: i64,
    output_samples_in_unit: i64,
    /// First input index of each output sample of a unit.
    first_index: Vec<i64>,
    /// Filter taps of each output sample of a unit.
    weights: Vec<Vec<f32>>,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl LinearResample {
    /// A resampler; `filter_cutoff` (Hz) must be positive and at most half of both rates,
    /// `num_zeros` (zero crossings of the windowed sinc on each side) positive.
    ///
    /// # Errors
    /// [`Error::Resample`] for a rate that is not positive, a cutoff above either Nyquist
    /// frequency, or `num_zeros` = 0.
    pub fn new(
        samp_rate_in: u32,
        samp_rate_out: u32,
        filter_cutoff: f32,
        num_zeros: u32,
    ) -> Result<Self> {
        let bad = |reason: String| Error::Resample {
            from: samp_rate_in as f32,
            to: samp_rate_out as f32,
            reason,
        };
        if samp_rate_in == 0 || samp_rate_out == 0 {
            return Err(bad("sample rates must be positive".into()));
        }
        if !(filter_cutoff > 0.0
            && filter_cutoff * 2.0 <= samp_rate_in as f32
            && filter_cutoff * 2.0 <= samp_rate_out as f32)
        {
            return Err(bad(format!(
                "the low-pass cutoff {filter_cutoff} Hz must be positive and at most half of both rates"
            )));
        }
        if num_zeros == 0 || num_zeros > 1000 {
            return Err(bad("the number of zero crossings must be 1..=1000".into()));
        }
        let (rin, rout) = (i64::from(samp_rate_in), i64::from(samp_rate_out));
        let base = gcd(rin, rout);
        let mut r = Self {
            samp_rate_in: rin,
            samp_rate_out: rout,
            filter_cutoff,
            num_zeros: num_zeros as i32,
            input_samples_in_unit: rin / base,
            output_samples_in_unit: rout / base,
            first_index: Vec::new(),
            weights: Vec::new(),
        };
        r.set_indexes_and_weights();
        Ok(r)
    }

    /// Kaldi's `SetIndexesAndWeights`.
    fn set_indexes_and_weights(&mut self) {
        let window_width = f64::from(self.num_zeros) / (2.0 * f64::from(self.filter_cutoff));
        let n = self.output_samples_in_unit as usize;
        self.first_index = Vec::with_capacity(n);
        self.weights = Vec::with_capacity(n);
        for i in 0..self.output_samples_in_unit {
            let output_t = i as f64 / self.samp_rate_out as f64;
            let (min_t, max_t) = (output_t - window_width, output_t + window_width);
            let min_input_index = (min_t * self.samp_rate_in as f64).ceil() as i64;
            let max_input_index = (max_t * self.samp_rate_in as f64).floor() as i64;
            let num_indices = (max_input_index - min_input_index + 1).max(0);
            let w = (0..num_indices)
                .map(|j| {
                    let input_t = (min_input_index + j) as f64 / self.samp_rate_in as f64;
                    self.filter_func((input_t - output_t) as f32) / self.samp_rate_in as f32
                })
                .collect();
            self.first_index.push(min_input_index);
            self.weights.push(w);
        }
    }

    /// The windowed sinc (Kaldi's `FilterFunc`, `f32` argument and result).
    fn filter_func(&self, t: f32) -> f32 {
        let cutoff = f64::from(self.filter_cutoff);
        let zeros = f64::from(self.num_zeros);
        let t64 = f64::from(t);
        let window = if t64.abs() < zeros / (2.0 * cutoff) {
            (0.5 * (1.0 + (2.0 * std::f64::consts::PI * cutoff / zeros * t64).cos())) as f32
        } else {
            0.0
        };
        let filter = if t != 0.0 {
            ((2.0 * std::f64::consts::PI * cutoff * t64).sin() / (std::f64::consts::PI * t64))
                as f32
        } else {
            (2.0 * cutoff) as f32
        };
        filter * window
    }

    /// Number of output samples for `num_samples` input samples, the whole signal at once
    /// (Kaldi's `GetNumOutputSamples` with `flush = true`): the output samples whose times lie in
    /// `[0, num_samples / rate_in)`.
    pub fn num_output_samples(&self, num_samples: usize) -> usize {
        let tick_freq =
            self.samp_rate_in / gcd(self.samp_rate_in, self.samp_rate_out) * self.samp_rate_out;
        let ticks_per_input_period = tick_freq / self.samp_rate_in;
        let interval = num_samples as i64 * ticks_per_input_period;
        if interval <= 0 {
            return 0;
        }
        let ticks_per_output_period = tick_freq / self.samp_rate_out;
        let mut last = interval / ticks_per_output_period;
        if last * ticks_per_output_period == interval {
            last -= 1;
        }
        (last + 1) as usize
    }

    /// Resamples a whole signal (Kaldi's `Resample` with `flush = true` on a fresh resampler).
    pub fn resample(&self, input: &[f32]) -> Vec<f32> {
        let n_in = input.len() as i64;
        let n_out = self.num_output_samples(input.len());
        let mut out = Vec::with_capacity(n_out);
        for samp_out in 0..n_out as i64 {
            let unit = samp_out / self.output_samples_in_unit;
            let wrapped = (samp_out - unit * self.output_samples_in_unit) as usize;
            let first = self.first_index[wrapped] + unit * self.input_samples_in_unit;
            let weights = &self.weights[wrapped];
            let mut acc = 0.0f64;
            if first >= 0 && first + weights.len() as i64 <= n_in {
                let part = &input[first as usize..first as usize + weights.len()];
                for (x, w) in part.iter().zip(weights) {
                    acc += f64::from(*x) * f64::from(*w);
                }
            } else {
                for (i, w) in weights.iter().enumerate() {
                    let idx = first + i as i64;
                    if (0..n_in).contains(&idx) {
                        acc += f64::from(input[idx as usize]) * f64::from(*w);
                    }
                }
            }
            out.push(acc as f32);
        }
        out
    }
}

/// Resamples `wave` from `orig_freq` to `new_freq` Hz with Kaldi's `ResampleWaveform` settings:
/// low-pass at `0.99 · ½ · min(orig_freq, new_freq)`, 6 zero crossings.
///
/// # Errors
/// [`Error::Resample`] when a rate is not a positive whole number of Hz (up to 2³¹).
pub fn resample_waveform(orig_freq: f32, wave: &[f32], new_freq: f32) -> Result<Vec<f32>> {
    let whole = |f: f32| -> Result<u32> {
        if f.is_finite() && f >= 1.0 && f.fract() == 0.0 && f < 2_147_483_648.0 {
            Ok(f as u32)
        } else {
            Err(Error::Resample {
                from: orig_freq,
                to: new_freq,
                reason: format!("{f} Hz is not a positive whole number of Hz"),
            })
        }
    };
    let (rin, rout) = (whole(orig_freq)?, whole(new_freq)?);
    let cutoff = (0.99 * 0.5 * f64::from(orig_freq.min(new_freq))) as f32;
    Ok(LinearResample::new(rin, rout, cutoff, 6)?.resample(wave))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: f32, hz: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 1000.0 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate).sin())
            .collect()
    }

    /// Largest |difference| away from the ends (where the zero padding of `flush` shows).
    fn max_err_inside(a: &[f32], b: &[f32], margin: usize) -> f32 {
        a.iter()
            .zip(b)
            .skip(margin)
            .take(a.len().min(b.len()) - 2 * margin)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn output_lengths_are_kaldis() {
        let r = LinearResample::new(16000, 8000, 3960.0, 6).unwrap();
        assert_eq!(r.num_output_samples(16000), 8000);
        assert_eq!(r.num_output_samples(16001), 8001); // t = 1.0 s is inside [0, 16001/16000)
        assert_eq!(r.num_output_samples(1), 1);
        assert_eq!(r.num_output_samples(0), 0);
        let r = LinearResample::new(8000, 16000, 3960.0, 6).unwrap();
        assert_eq!(r.num_output_samples(8000), 16000);
        let r = LinearResample::new(44100, 8000, 3960.0, 6).unwrap();
        assert_eq!(r.num_output_samples(44100), 8000);
        assert_eq!(r.num_output_samples(44101), 8001);
    }

    #[test]
    fn tones_below_the_cutoff_survive_down_and_up_sampling() {
        // 440 Hz at 16 kHz → 8 kHz: the 8 kHz rendering of the same tone.
        let x = tone(16000.0, 440.0, 16000);
        let y = resample_waveform(16000.0, &x, 8000.0).unwrap();
        assert_eq!(y.len(), 8000);
        assert!(max_err_inside(&y, &tone(8000.0, 440.0, 8000), 50) < 5.0);
        // and back up
        let z = resample_waveform(8000.0, &y, 16000.0).unwrap();
        assert_eq!(z.len(), 16000);
        assert!(max_err_inside(&z, &x, 100) < 10.0);
        // 44.1 kHz → 8 kHz (a gcd of 100: 80 tap sets)
        let x = tone(44100.0, 1000.0, 44100);
        let y = resample_waveform(44100.0, &x, 8000.0).unwrap();
        assert!(max_err_inside(&y, &tone(8000.0, 1000.0, 8000), 50) < 5.0);
    }

    #[test]
    fn tones_above_the_new_nyquist_are_removed() {
        let x = tone(16000.0, 6000.0, 16000);
        let y = resample_waveform(16000.0, &x, 8000.0).unwrap();
        let peak = y[50..y.len() - 50]
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak < 10.0, "6 kHz leaked through at {peak} (of 1000)");
    }

    #[test]
    fn invalid_rates() {
        assert!(matches!(
            resample_waveform(16000.5, &[0.0], 8000.0),
            Err(Error::Resample { .. })
        ));
        assert!(matches!(
            resample_waveform(16000.0, &[0.0], 0.0),
            Err(Error::Resample { .. })
        ));
        assert!(matches!(
            LinearResample::new(8000, 16000, 4001.0, 6),
            Err(Error::Resample { .. })
        ));
        assert!(matches!(
            LinearResample::new(8000, 16000, 3000.0, 0),
            Err(Error::Resample { .. })
        ));
    }
}
