//! Framing: frame counts, window functions and per-frame processing (Kaldi's
//! `feature-window.cc`).

use crate::{DitherNoise, FrameExtractionOptions, WindowType};

/// Floor applied to energies before taking logs (`FLT_EPSILON`, as Kaldi).
pub const ENERGY_EPSILON: f32 = f32::EPSILON;

/// Number of frames Kaldi's `NumFrames` gives for `num_samples` samples.
///
/// With `snip_edges` (the default) only frames that fit entirely in the signal count:
/// `1 + (num_samples - window_size) / window_shift`, or 0 if the signal is shorter than a frame.
/// Without it the count is `num_samples / window_shift` rounded to the nearest integer, and the
/// signal is reflected at its ends; `flush = false` then drops frames that would reach past the
/// end (for streaming), as Kaldi does.
///
/// ```
/// use cepstra_feat::{num_frames, FrameExtractionOptions};
/// let opts = FrameExtractionOptions { samp_freq: 8000.0, ..Default::default() };
/// assert_eq!(num_frames(8000, &opts, true), 98);
/// let opts = FrameExtractionOptions { snip_edges: false, ..opts };
/// assert_eq!(num_frames(8000, &opts, true), 100);
/// ```
pub fn num_frames(num_samples: usize, opts: &FrameExtractionOptions, flush: bool) -> usize {
    let shift = opts.window_shift_i64();
    let length = opts.window_size_i64();
    if shift < 1 {
        return 0;
    }
    let n = num_samples as i64;
    if opts.snip_edges {
        if n < length {
            0
        } else {
            (1 + (n - length) / shift) as usize
        }
    } else {
        let mut frames = (n + shift / 2) / shift;
        if flush {
            return frames as usize;
        }
        let mut end = first_sample_of_frame_i64(frames - 1, opts) + length;
        while frames > 0 && end > n {
            frames -= 1;
            end -= shift;
        }
        frames as usize
    }
}

/// Index of the first sample of frame `frame` (Kaldi's `FirstSampleOfFrame`); negative for the
/// first frames when `snip_edges` is false (those samples are reflected).
pub fn first_sample_of_frame(frame: usize, opts: &FrameExtractionOptions) -> i64 {
    first_sample_of_frame_i64(frame as i64, opts)
}

fn first_sample_of_frame_i64(frame: i64, opts: &FrameExtractionOptions) -> i64 {
    let shift = opts.window_shift_i64();
    if opts.snip_edges {
        frame * shift
    } else {
        let midpoint = shift * frame + shift / 2;
        midpoint - opts.window_size_i64() / 2
    }
}

/// The window function of one frame length (Kaldi's `FeatureWindowFunction`), evaluated in
/// `f64` and stored as `f32`, as Kaldi does.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureWindowFunction {
    window: Vec<f32>,
}

impl FeatureWindowFunction {
    /// Builds the window of `opts.window_size()` samples for `opts.window_type`.
    ///
    /// ```
    /// use cepstra_feat::{FeatureWindowFunction, FrameExtractionOptions, WindowType};
    /// let opts = FrameExtractionOptions { window_type: WindowType::Hanning, ..Default::default() };
    /// let w = FeatureWindowFunction::new(&opts);
    /// assert_eq!(w.as_slice().len(), 400);
    /// assert_eq!(w.as_slice()[0], 0.0);
    /// ```
    pub fn new(opts: &FrameExtractionOptions) -> Self {
        let n = opts.window_size();
        let a = std::f64::consts::TAU / (n as f64 - 1.0);
        let blackman = f64::from(opts.blackman_coeff);
        let window = (0..n)
            .map(|i| {
                let x = a * i as f64;
                let v = match opts.window_type {
                    WindowType::Hanning => 0.5 - 0.5 * x.cos(),
                    WindowType::Sine => (0.5 * x).sin(),
                    WindowType::Hamming => 0.54 - 0.46 * x.cos(),
                    WindowType::Povey => (0.5 - 0.5 * x.cos()).powf(0.85),
                    WindowType::Rectangular => 1.0,
                    WindowType::Blackman => {
                        blackman - 0.5 * x.cos() + (0.5 - blackman) * (2.0 * x).cos()
                    }
                };
                v as f32
            })
            .collect();
        Self { window }
    }

    /// The window coefficients, one per sample of a frame.
    pub fn as_slice(&self) -> &[f32] {
        &self.window
    }
}

/// Cuts frame `frame` out of `wave` into `window` and processes it as Kaldi's `ExtractWindow` +
/// `ProcessWindow`: reflect at the ends if `snip_edges` is false, dither (Gaussian, `opts.dither`
/// times the standard normal draws of frame `frame` from `noise`, as
/// [`FeatureComputer::compute_with_seed`](crate::FeatureComputer::compute_with_seed) does with
/// `DitherNoise::new(seed)`), remove the DC offset, take the raw log-energy, pre-emphasise,
/// multiply by the window, zero-pad to `opts.padded_window_size()`.
///
/// Returns the log-energy of the frame after DC removal and before pre-emphasis
/// (`max(Σx², FLT_EPSILON)`, natural log), which `--raw-energy=true` uses; it is only computed
/// when `want_raw_log_energy` is set (otherwise 0).
///
/// # Panics
/// If `wave` is empty, `window.len() != opts.padded_window_size()`, `window_fn` has another
/// length than `opts.window_size()`, or `snip_edges` is true and the frame does not fit in `wave`
/// (use [`num_frames`] to count frames).
pub fn extract_window(
    wave: &[f32],
    frame: usize,
    opts: &FrameExtractionOptions,
    window_fn: &FeatureWindowFunction,
    noise: &DitherNoise,
    window: &mut [f32],
    want_raw_log_energy: bool,
) -> f32 {
    extract_window_with(
        wave,
        frame,
        opts,
        window_fn,
        noise,
        &mut Vec::new(),
        window,
        want_raw_log_energy,
    )
}

/// [`extract_window`] with a caller-owned buffer `raw` for the frames that must be copied
/// before processing (reflected at the ends or dithered); a frame that fits in `wave` without
/// dither is read in place.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn extract_window_with(
    wave: &[f32],
    frame: usize,
    opts: &FrameExtractionOptions,
    window_fn: &FeatureWindowFunction,
    noise: &DitherNoise,
    raw: &mut Vec<f32>,
    window: &mut [f32],
    want_raw_log_energy: bool,
) -> f32 {
    let frame_length = opts.window_size();
    assert!(!wave.is_empty(), "extract_window: empty waveform");
    assert_eq!(
        window.len(),
        opts.padded_window_size(),
        "window buffer length"
    );
    assert_eq!(
        window_fn.window.len(),
        frame_length,
        "window function length"
    );
    let start = first_sample_of_frame(frame, opts);
    let dim = wave.len() as i64;
    let fits = start >= 0 && start + frame_length as i64 <= dim;
    let src: &[f32] = if fits && opts.dither == 0.0 {
        let s = start as usize;
        &wave[s..s + frame_length]
    } else {
        raw.resize(frame_length, 0.0);
        if fits {
            let s = start as usize;
            raw.copy_from_slice(&wave[s..s + frame_length]);
        } else {
            assert!(
                !opts.snip_edges,
                "frame {frame} does not fit in the waveform"
            );
            for (k, out) in raw.iter_mut().enumerate() {
                let mut s = start + k as i64;
                while s < 0 || s >= dim {
                    s = if s < 0 { -s - 1 } else { 2 * dim - 1 - s };
                }
                *out = wave[s as usize];
            }
        }
        if opts.dither != 0.0 {
            noise.add_to_frame(frame as u64, opts.dither, raw);
        }
        raw
    };
    window[frame_length..].fill(0.0);
    process_window(
        opts,
        window_fn,
        src,
        &mut window[..frame_length],
        want_raw_log_energy,
    )
}

/// Kaldi's `ProcessWindow` on one unpadded, already dithered frame `src`, written to `out`:
/// remove the DC offset, take the raw log-energy, pre-emphasise, multiply by the window. Each
/// step rounds to `f32` as Kaldi's in-place steps do; see [`extract_window`].
#[inline(always)]
fn process_window(
    opts: &FrameExtractionOptions,
    window_fn: &FeatureWindowFunction,
    src: &[f32],
    out: &mut [f32],
    want_raw_log_energy: bool,
) -> f32 {
    let n = src.len();
    let mean = if opts.remove_dc_offset {
        (sum_f64(src) / n as f64) as f32
    } else {
        0.0 // x - 0.0 == x exactly
    };
    let mut raw_log_energy = 0.0;
    if want_raw_log_energy {
        raw_log_energy = log_energy_centred(src, mean);
    }
    // Pre-emphasis (x[i] -= c·x[i-1], and x[0] -= c·x[0], on the DC-free signal) fused with the
    // window, from `src` to `out` so that it vectorises.
    let c = opts.preemph_coeff;
    let w = &window_fn.window[..n];
    if c != 0.0 {
        let x0 = src[0] - mean;
        out[0] = (x0 - c * x0) * w[0];
        for (((o, &cur), &prev), &wi) in out[1..].iter_mut().zip(&src[1..]).zip(src).zip(&w[1..]) {
            *o = ((cur - mean) - c * (prev - mean)) * wi;
        }
    } else {
        for ((o, &x), &wi) in out.iter_mut().zip(src).zip(w) {
            *o = (x - mean) * wi;
        }
    }
    raw_log_energy
}

/// `ln(max(Σ(x - mean)², FLT_EPSILON))`, each `x - mean` rounded to `f32`, with `f64`
/// accumulators.
#[inline(always)]
fn log_energy_centred(x: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest: f64 = chunks
        .remainder()
        .iter()
        .map(|&v| f64::from(v - mean) * f64::from(v - mean))
        .sum();
    for c in chunks {
        for k in 0..LANES {
            let v = f64::from(c[k] - mean);
            acc[k] += v * v;
        }
    }
    (acc.iter().sum::<f64>() + rest)
        .max(f64::from(ENERGY_EPSILON))
        .ln() as f32
}

/// `ln(max(Σx², FLT_EPSILON))` with `f64` accumulators.
#[inline(always)]
pub(crate) fn log_energy(frame: &[f32]) -> f32 {
    dot_f64(frame, frame).max(f64::from(ENERGY_EPSILON)).ln() as f32
}

/// Lanes of independent `f64` accumulators in [`sum_f64`] and [`dot_f64`] (lets the compiler
/// vectorise and pipeline the sums).
const LANES: usize = 8;

/// `Σ x` with `f64` accumulators.
#[inline(always)]
pub(crate) fn sum_f64(x: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest: f64 = chunks.remainder().iter().map(|&v| f64::from(v)).sum();
    for c in chunks {
        for k in 0..LANES {
            acc[k] += f64::from(c[k]);
        }
    }
    acc.iter().sum::<f64>() + rest
}

/// `Σ a·b` with `f64` products and accumulators.
#[inline(always)]
pub(crate) fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let rest: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += f64::from(x[k]) * f64::from(y[k]);
        }
    }
    acc.iter().sum::<f64>() + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts8k() -> FrameExtractionOptions {
        FrameExtractionOptions {
            samp_freq: 8000.0,
            dither: 0.0,
            ..Default::default()
        }
    }

    #[test]
    fn window_shapes() {
        let mut opts = opts8k();
        let n = opts.window_size();
        for wt in [
            WindowType::Hamming,
            WindowType::Hanning,
            WindowType::Povey,
            WindowType::Rectangular,
            WindowType::Sine,
            WindowType::Blackman,
        ] {
            opts.window_type = wt;
            let w = FeatureWindowFunction::new(&opts);
            let w = w.as_slice();
            assert_eq!(w.len(), n);
            // symmetric
            for i in 0..n {
                assert!(
                    (w[i] - w[n - 1 - i]).abs() < 1e-6,
                    "{wt} not symmetric at {i}"
                );
            }
            let max = w.iter().cloned().fold(f32::MIN, f32::max);
            assert!(max <= 1.0 + 1e-6 && max > 0.99, "{wt} max {max}");
            match wt {
                WindowType::Hamming => assert!((w[0] - 0.08).abs() < 1e-6),
                WindowType::Rectangular => assert!(w.iter().all(|&x| x == 1.0)),
                WindowType::Blackman => assert!(w[0].abs() < 1e-6),
                _ => assert_eq!(w[0], 0.0),
            }
        }
        // povey = hanning^0.85
        opts.window_type = WindowType::Hanning;
        let h = FeatureWindowFunction::new(&opts);
        opts.window_type = WindowType::Povey;
        let p = FeatureWindowFunction::new(&opts);
        for (a, b) in h.as_slice().iter().zip(p.as_slice()) {
            assert!((a.powf(0.85) - b).abs() < 1e-6);
        }
    }

    #[test]
    fn num_frames_snip_edges() {
        let opts = opts8k(); // 200 / 80
        assert_eq!(num_frames(0, &opts, true), 0);
        assert_eq!(num_frames(199, &opts, true), 0);
        assert_eq!(num_frames(200, &opts, true), 1);
        assert_eq!(num_frames(279, &opts, true), 1);
        assert_eq!(num_frames(280, &opts, true), 2);
        assert_eq!(num_frames(10400, &opts, true), 128);
        // flush does not matter with snip_edges
        assert_eq!(num_frames(10400, &opts, false), 128);
    }

    #[test]
    fn num_frames_no_snip() {
        let opts = FrameExtractionOptions {
            snip_edges: false,
            ..opts8k()
        };
        assert_eq!(num_frames(0, &opts, true), 0);
        assert_eq!(num_frames(39, &opts, true), 0);
        assert_eq!(num_frames(40, &opts, true), 1);
        assert_eq!(num_frames(119, &opts, true), 1);
        assert_eq!(num_frames(120, &opts, true), 2);
        assert_eq!(num_frames(10400, &opts, true), 130);
        // without flush the last frames must end inside the signal: frame f spans
        // [80f + 40 - 100, 80f + 40 + 100).
        assert_eq!(num_frames(10400, &opts, false), 129);
        assert_eq!(num_frames(40, &opts, false), 0);
        assert_eq!(first_sample_of_frame(0, &opts), -60);
        assert_eq!(first_sample_of_frame(2, &opts), 100);
    }

    #[test]
    fn reflection_at_edges() {
        let opts = FrameExtractionOptions {
            snip_edges: false,
            remove_dc_offset: false,
            preemph_coeff: 0.0,
            window_type: WindowType::Rectangular,
            round_to_power_of_two: false,
            ..opts8k()
        };
        let wave: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let wf = FeatureWindowFunction::new(&opts);
        let mut w = vec![0.0; opts.padded_window_size()];
        extract_window(&wave, 0, &opts, &wf, &DitherNoise::new(0), &mut w, false);
        // starts at sample -60: reflected -60 -> 59, -1 -> 0.
        assert_eq!(w[0], 59.0);
        assert_eq!(w[59], 0.0);
        assert_eq!(w[60], 0.0);
        assert_eq!(w[61], 1.0);
        assert_eq!(w[159], 99.0);
        assert_eq!(w[160], 99.0); // 100 -> 99
        assert_eq!(w[199], 60.0);
    }
}
