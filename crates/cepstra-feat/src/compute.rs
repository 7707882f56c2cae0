//! The offline frame loop shared by [`Mfcc`](crate::Mfcc) and [`Fbank`](crate::Fbank) (Kaldi's
//! `OfflineFeatureTpl`), scratch buffers and the [`FeatureComputer`] trait.

use ndarray::{Array2, ArrayView1, ArrayViewMut2};

use crate::fft::{FftBuffers, RealFft};
use crate::window::{extract_window_with, num_frames, FeatureWindowFunction};
use crate::{DitherNoise, Error, FrameExtractionOptions, Result};

/// Reusable buffers for [`FeatureComputer::compute_into`]: give each thread its own and the
/// frame loop never allocates. `Scratch::default()` works for any computer (buffers grow on
/// first use).
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// A frame copied out of the wave (reflected or dithered), before processing.
    pub(crate) raw: Vec<f32>,
    pub(crate) window: Vec<f32>,
    pub(crate) frame: FrameScratch,
    pub(crate) feat: Vec<f32>,
}

/// Per-frame buffers used after the window has been cut.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameScratch {
    pub(crate) fft: FftBuffers,
    pub(crate) power: Vec<f32>,
    pub(crate) mel: Vec<f32>,
    pub(crate) acc: Vec<f64>,
}

/// What every computer precomputes about framing: validated options, window function and the
/// planned FFT of the padded window length.
#[derive(Debug, Clone)]
pub(crate) struct FrameCore {
    pub(crate) opts: FrameExtractionOptions,
    pub(crate) window_fn: FeatureWindowFunction,
    pub(crate) fft: RealFft,
}

impl FrameCore {
    pub(crate) fn new(opts: &FrameExtractionOptions) -> Result<Self> {
        opts.validate()?;
        Ok(Self {
            opts: opts.clone(),
            window_fn: FeatureWindowFunction::new(opts),
            fft: RealFft::new(opts.padded_window_size()),
        })
    }
}

/// The per-frame part of a computer (Kaldi's `MfccComputer::Compute` and friends).
pub(crate) trait FrameCompute {
    fn core(&self) -> &FrameCore;
    fn feature_dim(&self) -> usize;
    fn num_mel_bins(&self) -> usize;
    fn need_raw_log_energy(&self) -> bool;
    /// `window` is the processed, zero-padded frame; writes `feature_dim()` values to `out`.
    fn compute_frame(
        &self,
        raw_log_energy: f32,
        window: &[f32],
        s: &mut FrameScratch,
        out: &mut [f32],
    );
}

/// A feature computer built once from options and shared (it is `Send + Sync`) by any number of
/// threads, each with its own [`Scratch`].
///
/// Samples are on the int16 scale (±32768), as Kaldi reads WAV files. The dither noise of an
/// utterance depends only on the seed passed (or `frame_opts.dither_seed`), never on threads.
pub trait FeatureComputer: Send + Sync {
    /// Number of values per frame.
    fn dim(&self) -> usize;

    /// The framing options this computer was built with.
    fn frame_options(&self) -> &FrameExtractionOptions;

    /// Number of frames [`compute`](Self::compute) returns for `num_samples` samples.
    fn num_frames(&self, num_samples: usize) -> usize {
        num_frames(num_samples, self.frame_options(), true)
    }

    /// Computes the features of `wave` into `out` (shape `num_frames(wave.len()) × dim()`),
    /// seeding the dither noise with `seed`.
    ///
    /// # Errors
    /// [`Error::NonFiniteSample`] if `wave` holds NaN or infinity.
    ///
    /// # Panics
    /// If `out` has the wrong shape.
    fn compute_into(
        &self,
        wave: &[f32],
        seed: u64,
        out: ArrayViewMut2<'_, f32>,
        scratch: &mut Scratch,
    ) -> Result<()>;

    /// Computes the features of `wave` with dither seed `seed`; a signal shorter than one frame
    /// gives a `0 × dim()` matrix.
    ///
    /// # Errors
    /// [`Error::NonFiniteSample`] if `wave` holds NaN or infinity.
    fn compute_with_seed(&self, wave: &[f32], seed: u64) -> Result<Array2<f32>> {
        let mut out = Array2::zeros((self.num_frames(wave.len()), self.dim()));
        // The calling thread's buffers, kept between utterances (their contents never matter).
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let r = self.compute_into(wave, seed, out.view_mut(), &mut scratch);
        SCRATCH.with(|s| *s.borrow_mut() = scratch);
        r.map(|()| out)
    }

    /// Kaldi's `OfflineFeatureTpl::ComputeFeatures`: the features of `wave` recorded at
    /// `samp_freq` Hz. At the options' `samp_freq` this is
    /// [`compute_with_seed`](Self::compute_with_seed); at another rate the waveform is first
    /// resampled ([`resample_waveform`](crate::resample_waveform), Kaldi's `LinearResample`)
    /// when `allow_downsample` (a higher rate) or `allow_upsample` (a lower one) allows it.
    ///
    /// # Errors
    /// [`Error::SampleRateMismatch`] when the resampling needed is not allowed;
    /// [`Error::Resample`] for a rate that is not a whole number of Hz;
    /// [`Error::NonFiniteSample`] if `wave` holds NaN or infinity.
    fn compute_waveform(&self, wave: &[f32], samp_freq: f32, seed: u64) -> Result<Array2<f32>> {
        let opts = self.frame_options();
        let target = opts.samp_freq;
        if samp_freq == target {
            return self.compute_with_seed(wave, seed);
        }
        if target < samp_freq && !opts.allow_downsample {
            return Err(Error::SampleRateMismatch {
                wave: samp_freq,
                expected: target,
                option: "--allow-downsample",
            });
        }
        if target > samp_freq && !opts.allow_upsample {
            return Err(Error::SampleRateMismatch {
                wave: samp_freq,
                expected: target,
                option: "--allow-upsample",
            });
        }
        if let Some(index) = first_non_finite(wave) {
            return Err(Error::NonFiniteSample { index });
        }
        let resampled = crate::resample_waveform(samp_freq, wave, target)?;
        self.compute_with_seed(&resampled, seed)
    }

    /// Computes the features of `wave` with the dither seed of the options
    /// (`frame_opts.dither_seed`); see [`utterance_seed`] for a per-utterance seed.
    ///
    /// # Errors
    /// [`Error::NonFiniteSample`] if `wave` holds NaN or infinity.
    fn compute(&self, wave: &[f32]) -> Result<Array2<f32>> {
        self.compute_with_seed(wave, self.frame_options().dither_seed)
    }
}

thread_local! {
    /// The [`Scratch`] of [`FeatureComputer::compute_with_seed`] on this thread.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// A per-utterance dither seed from a base seed and the utterance key (FNV-1a of the key mixed
/// with the seed by SplitMix64): stable across platforms, runs and thread counts.
///
/// ```
/// use cepstra_feat::utterance_seed;
/// assert_eq!(utterance_seed(0, "utt1"), utterance_seed(0, "utt1"));
/// assert_ne!(utterance_seed(0, "utt1"), utterance_seed(0, "utt2"));
/// assert_ne!(utterance_seed(0, "utt1"), utterance_seed(1, "utt1"));
/// ```
pub fn utterance_seed(seed: u64, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Kaldi's `OfflineFeatureTpl::Compute` for any [`FrameCompute`].
pub(crate) fn compute_offline<C: FrameCompute + ?Sized>(
    c: &C,
    wave: &[f32],
    seed: u64,
    out: ArrayViewMut2<'_, f32>,
    scratch: &mut Scratch,
) -> Result<()> {
    let core = c.core();
    let rows = num_frames(wave.len(), &core.opts, true);
    let dim = c.feature_dim();
    assert_eq!(
        out.dim(),
        (rows, dim),
        "compute_into: output must be num_frames x dim"
    );
    if let Some(index) = first_non_finite(wave) {
        return Err(Error::NonFiniteSample { index });
    }
    if rows == 0 {
        return Ok(());
    }
    let padded = core.opts.padded_window_size();
    scratch.window.resize(padded, 0.0);
    scratch.feat.resize(dim, 0.0);
    scratch.frame.power.resize(padded / 2 + 1, 0.0);
    scratch.frame.mel.resize(c.num_mel_bins(), 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (and so AVX2), checked just above.
        unsafe { frame_loop_avx512(c, wave, seed, out, scratch) };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { frame_loop_avx2(c, wave, seed, out, scratch) };
        return Ok(());
    }
    frame_loop(c, wave, seed, out, scratch);
    Ok(())
}

/// [`frame_loop`] compiled with AVX2 enabled: the same code and the same `f32`/`f64`
/// operations in the same order (Rust never reassociates or fuses floating-point operations),
/// so the results are bit-identical to the baseline build, only wider vectors.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn frame_loop_avx2<C: FrameCompute + ?Sized>(
    c: &C,
    wave: &[f32],
    seed: u64,
    out: ArrayViewMut2<'_, f32>,
    scratch: &mut Scratch,
) {
    frame_loop(c, wave, seed, out, scratch);
}

/// [`frame_loop`] compiled with AVX-512F enabled (8 `f64` lanes for the mel energies, their
/// logarithms and the DCT): as [`frame_loop_avx2`], the same operations in the same order, so
/// bit-identical results.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn frame_loop_avx512<C: FrameCompute + ?Sized>(
    c: &C,
    wave: &[f32],
    seed: u64,
    out: ArrayViewMut2<'_, f32>,
    scratch: &mut Scratch,
) {
    frame_loop(c, wave, seed, out, scratch);
}

/// The frame loop of [`compute_offline`] after the checks; everything it calls per frame is
/// `#[inline(always)]` so that [`frame_loop_avx2`] compiles it all with AVX2.
#[inline(always)]
pub(crate) fn frame_loop<C: FrameCompute + ?Sized>(
    c: &C,
    wave: &[f32],
    seed: u64,
    mut out: ArrayViewMut2<'_, f32>,
    scratch: &mut Scratch,
) {
    let core = c.core();
    let noise = DitherNoise::new(seed);
    let need_energy = c.need_raw_log_energy();
    for (r, mut row) in out.rows_mut().into_iter().enumerate() {
        let e = extract_window_with(
            wave,
            r,
            &core.opts,
            &core.window_fn,
            &noise,
            &mut scratch.raw,
            &mut scratch.window,
            need_energy,
        );
        match row.as_slice_mut() {
            Some(row) => c.compute_frame(e, &scratch.window, &mut scratch.frame, row),
            None => {
                c.compute_frame(e, &scratch.window, &mut scratch.frame, &mut scratch.feat);
                row.assign(&ArrayView1::from(&scratch.feat[..]));
            }
        }
    }
}

/// Index of the first NaN or infinity in `x`: blocks are scanned branch-free (vectorises) and
/// only a block that holds one is searched.
fn first_non_finite(x: &[f32]) -> Option<usize> {
    const EXPONENT: u32 = 0x7f80_0000;
    const BLOCK: usize = 512;
    x.chunks(BLOCK).enumerate().find_map(|(b, block)| {
        let bad = block.iter().fold(0u32, |n, v| {
            n | u32::from(v.to_bits() & EXPONENT == EXPONENT)
        });
        if bad == 0 {
            None
        } else {
            block
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * BLOCK + i)
        }
    })
}

/// Implements the inherent convenience methods and [`FeatureComputer`] for a computer type.
macro_rules! impl_feature_computer {
    ($ty:ty) => {
        impl $ty {
            /// Number of values per frame.
            pub fn dim(&self) -> usize {
                $crate::compute::FrameCompute::feature_dim(self)
            }

            /// Number of frames computed for `num_samples` samples (Kaldi's `NumFrames` with
            /// `flush = true`).
            pub fn num_frames(&self, num_samples: usize) -> usize {
                $crate::window::num_frames(num_samples, &self.core.opts, true)
            }

            /// See [`FeatureComputer::compute_into`](crate::FeatureComputer::compute_into).
            ///
            /// # Errors
            /// [`Error::NonFiniteSample`](crate::Error::NonFiniteSample) if `wave` holds NaN
            /// or infinity.
            ///
            /// # Panics
            /// If `out` is not `num_frames(wave.len()) × dim()`.
            pub fn compute_into(
                &self,
                wave: &[f32],
                seed: u64,
                out: ndarray::ArrayViewMut2<'_, f32>,
                scratch: &mut $crate::Scratch,
            ) -> $crate::Result<()> {
                $crate::compute::compute_offline(self, wave, seed, out, scratch)
            }

            /// See [`FeatureComputer::compute_with_seed`](crate::FeatureComputer::compute_with_seed).
            ///
            /// # Errors
            /// [`Error::NonFiniteSample`](crate::Error::NonFiniteSample) if `wave` holds NaN
            /// or infinity.
            pub fn compute_with_seed(
                &self,
                wave: &[f32],
                seed: u64,
            ) -> $crate::Result<ndarray::Array2<f32>> {
                $crate::FeatureComputer::compute_with_seed(self, wave, seed)
            }

            /// See [`FeatureComputer::compute`](crate::FeatureComputer::compute).
            ///
            /// # Errors
            /// [`Error::NonFiniteSample`](crate::Error::NonFiniteSample) if `wave` holds NaN
            /// or infinity.
            pub fn compute(&self, wave: &[f32]) -> $crate::Result<ndarray::Array2<f32>> {
                $crate::FeatureComputer::compute(self, wave)
            }
        }

        impl $crate::FeatureComputer for $ty {
            fn dim(&self) -> usize {
                $crate::compute::FrameCompute::feature_dim(self)
            }
            fn frame_options(&self) -> &$crate::FrameExtractionOptions {
                &self.core.opts
            }
            fn compute_into(
                &self,
                wave: &[f32],
                seed: u64,
                out: ndarray::ArrayViewMut2<'_, f32>,
                scratch: &mut $crate::Scratch,
            ) -> $crate::Result<()> {
                $crate::compute::compute_offline(self, wave, seed, out, scratch)
            }
        }
    };
}
pub(crate) use impl_feature_computer;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fbank, FbankOptions, Mfcc, MfccOptions, WindowType};

    fn noise(n: usize) -> Vec<f32> {
        let mut state = 7u32;
        (0..n)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 16) as f32 / 65536.0 * 2000.0 - 1000.0 + 3000.0 * (i as f32 * 0.05).sin()
            })
            .collect()
    }

    /// The dispatched loop and every build of it this CPU runs (AVX2, AVX-512F) give the
    /// baseline loop's bits.
    #[test]
    fn dispatch_is_bit_identical() {
        let wave = noise(5000);
        let mut configs: Vec<Box<dyn FrameCompute>> = Vec::new();
        for (dither, snip_edges, window_type, round) in [
            (0.0, true, WindowType::Povey, true),
            (1.0, false, WindowType::Hamming, true),
            (0.5, true, WindowType::Rectangular, false),
        ] {
            let mut o = MfccOptions::default();
            o.frame_opts.samp_freq = 8000.0;
            o.frame_opts.dither = dither;
            o.frame_opts.snip_edges = snip_edges;
            o.frame_opts.window_type = window_type;
            o.frame_opts.round_to_power_of_two = round;
            configs.push(Box::new(Mfcc::new(&o).expect("valid")));
            o.raw_energy = false;
            o.htk_compat = true;
            configs.push(Box::new(Mfcc::new(&o).expect("valid")));
            let f = FbankOptions {
                frame_opts: o.frame_opts.clone(),
                use_energy: true,
                use_power: false,
                ..Default::default()
            };
            configs.push(Box::new(Fbank::new(&f).expect("valid")));
        }
        for c in &configs {
            let rows = num_frames(wave.len(), &c.core().opts, true);
            let mut a = Array2::zeros((rows, c.feature_dim()));
            let mut b = a.clone();
            let mut s = Scratch::default();
            compute_offline(c.as_ref(), &wave, 3, a.view_mut(), &mut s).expect("finite");
            // `s` has been sized by `compute_offline`; its contents do not matter.
            frame_loop(c.as_ref(), &wave, 3, b.view_mut(), &mut s);
            assert!(rows > 50);
            let same = |x: &Array2<f32>, y: &Array2<f32>| {
                x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits())
            };
            assert!(same(&a, &b), "dispatched loop differs from the baseline");
            #[cfg(target_arch = "x86_64")]
            {
                let mut k = Array2::zeros(b.dim());
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2.
                    unsafe { frame_loop_avx2(c.as_ref(), &wave, 3, k.view_mut(), &mut s) };
                    assert!(same(&k, &b), "AVX2 loop differs from the baseline");
                } else {
                    eprintln!("dispatch_is_bit_identical: no AVX2 on this CPU, AVX2 loop skipped");
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    k.fill(0.0);
                    // SAFETY: the CPU supports AVX-512F.
                    unsafe { frame_loop_avx512(c.as_ref(), &wave, 3, k.view_mut(), &mut s) };
                    assert!(same(&k, &b), "AVX-512 loop differs from the baseline");
                } else {
                    eprintln!(
                        "dispatch_is_bit_identical: no AVX-512F on this CPU, AVX-512 loop skipped"
                    );
                }
            }
        }
    }

    #[test]
    fn non_finite_samples_are_found() {
        let mut x = vec![0.5f32; 2000];
        assert_eq!(first_non_finite(&x), None);
        for (i, v) in [
            (1999, f32::NAN),
            (700, f32::NEG_INFINITY),
            (3, f32::INFINITY),
        ] {
            x[i] = v;
            assert_eq!(first_non_finite(&x), Some(i));
        }
        x[3] = f32::MAX;
        assert_eq!(first_non_finite(&x), Some(700));
    }
}
