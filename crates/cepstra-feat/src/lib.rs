//! Kaldi-exact feature numerics: framing, windows, mel banks, MFCC, filterbanks, deltas and
//! CMVN, on slices and `ndarray` matrices, with no file I/O (Kaldi's `src/feat`).
//!
//! - [`Mfcc`] / [`Fbank`], built once from [`MfccOptions`] / [`FbankOptions`] (validated in
//!   `new`, then `Send + Sync`): `compute(&wave)` returns a `num_frames × dim` [`ndarray::Array2`];
//!   `compute_into` with a per-thread [`Scratch`] is the allocation-free hot path.
//! - [`num_frames`], [`extract_window`], [`FeatureWindowFunction`], [`MelBanks`]: the pieces,
//!   under Kaldi's names.
//! - [`compute_deltas`] (`add-deltas`), [`CmvnStats`] / [`apply_cmvn`] (`compute-cmvn-stats`,
//!   `apply-cmvn`).
//! - [`FrontEndOptions`] / [`FrontEnd`]: a whole pipeline (features, CMN/CMVN per utterance or
//!   speaker, deltas) as one recordable value, run on new audio (`cepstra recognize`).
//! - [`LinearResample`] / [`resample_waveform`]: Kaldi's band-limited resampler, used by
//!   [`FeatureComputer::compute_waveform`] when `allow_downsample`/`allow_upsample` allow it.
//!
//! Conventions, as Kaldi:
//! - Samples are on the **int16 scale** (±32768), not [-1, 1]; `dither` is on that scale.
//! - Energies are **power** spectra; logs are natural; energies are floored at `FLT_EPSILON`
//!   before the log.
//! - Defaults are Kaldi's: dither 1.0, `use_energy = true` for MFCC (recipes usually turn it
//!   off), `snip_edges = true` (frames must fit entirely; `false` reflects the signal at the
//!   ends and gives `round(num_samples / shift)` frames), 25 ms frames padded to a power of two.
//! - Dither is Gaussian noise from a counter-based generator ([`DitherNoise`]: SplitMix64 and
//!   Box–Muller) seeded per utterance ([`FeatureComputer::compute_with_seed`],
//!   [`utterance_seed`]): the noise of a sample depends only on the seed, the frame and the
//!   sample, never on the number of threads (it differs from Kaldi's own random numbers; use
//!   `dither = 0` to compare with Kaldi).
//! - Arithmetic is `f32` like Kaldi's `BaseFloat` (the FFT too), with `f64` accumulators for
//!   sums; results match Kaldi 5.5 to about 2e-4 relative. The frame loop is compiled three times and
//!   picks AVX-512F or AVX2 at run time when the CPU has it, with bit-identical results (no
//!   reassociated or fused floating-point operations).
//!
//! ```
//! use cepstra_feat::{apply_cmvn, acc_cmvn_stats, compute_deltas, DeltaFeaturesOptions, Mfcc, MfccOptions};
//!
//! let mut opts = MfccOptions::default();
//! opts.frame_opts.samp_freq = 8000.0;
//! opts.use_energy = false;
//! let mfcc = Mfcc::new(&opts)?;
//!
//! // one second of a 440 Hz tone on the int16 scale
//! let wave: Vec<f32> = (0..8000)
//!     .map(|i| 8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 8000.0).sin())
//!     .collect();
//! let mut feats = mfcc.compute(&wave)?;
//! assert_eq!(feats.dim(), (98, 13));
//!
//! let stats = acc_cmvn_stats(feats.view(), None)?;
//! apply_cmvn(&stats, feats.view_mut(), false)?;
//! let with_deltas = compute_deltas(&DeltaFeaturesOptions::default(), feats.view())?;
//! assert_eq!(with_deltas.dim(), (98, 39));
//! # Ok::<(), cepstra_feat::Error>(())
//! ```

mod cmvn;
mod compare;
mod compute;
mod deltas;
mod dither;
mod error;
mod fbank;
mod fft;
mod frontend;
mod mel;
mod mfcc;
mod options;
mod resample;
mod utterance;
mod window;

pub use cmvn::{
    acc_cmvn_stats, apply_cmvn, apply_cmvn_reverse, ApplyCmvnOptions, CmvnChoice, CmvnSource,
    CmvnStats,
};
pub use compare::{check_finite, FeatureDiff};
pub use compute::{utterance_seed, FeatureComputer, Scratch};
pub use deltas::{compute_deltas, DeltaFeatures};
pub use dither::DitherNoise;
pub use error::{Error, Result};
pub use fbank::Fbank;
pub use frontend::{CmvnMode, FeatureOptions, FrontEnd, FrontEndOptions};
pub use mel::{inverse_mel_scale, mel_scale, MelBanks};
pub use mfcc::Mfcc;
pub use options::{
    DeltaFeaturesOptions, FbankOptions, FrameExtractionOptions, MelBanksOptions, MfccOptions,
    WindowType, MAX_WINDOW_SAMPLES,
};
pub use resample::{resample_waveform, LinearResample};
pub use utterance::{SkipReason, UtteranceDriver, UtteranceFeatures};
pub use window::{
    extract_window, first_sample_of_frame, num_frames, FeatureWindowFunction, ENERGY_EPSILON,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn autotraits() {
        assert_send_sync::<Mfcc>();
        assert_send_sync::<Fbank>();
        assert_send_sync::<Scratch>();
        assert_send_sync::<DitherNoise>();
        assert_send_sync::<MelBanks>();
        assert_send_sync::<FeatureWindowFunction>();
        assert_send_sync::<DeltaFeatures>();
        assert_send_sync::<CmvnStats>();
        assert_send_sync::<FeatureDiff>();
        assert_send_sync::<ApplyCmvnOptions>();
        assert_send_sync::<CmvnSource>();
        assert_send_sync::<Error>();
        assert_send_sync::<MfccOptions>();
        assert_send_sync::<FbankOptions>();
        assert_send_sync::<Box<dyn FeatureComputer>>();
        assert_send_sync::<FrontEnd>();
        assert_send_sync::<FrontEndOptions>();
        assert_send_sync::<LinearResample>();
    }

    #[test]
    fn defaults_are_kaldis() {
        let f = FrameExtractionOptions::default();
        assert_eq!(
            (
                f.samp_freq,
                f.frame_shift_ms,
                f.frame_length_ms,
                f.dither,
                f.preemph_coeff
            ),
            (16000.0, 10.0, 25.0, 1.0, 0.97)
        );
        assert!(f.remove_dc_offset && f.round_to_power_of_two && f.snip_edges);
        assert_eq!((f.window_type, f.blackman_coeff), (WindowType::Povey, 0.42));
        let m = MfccOptions::default();
        assert_eq!((m.num_ceps, m.mel_opts.num_bins), (13, 23));
        assert_eq!((m.mel_opts.low_freq, m.mel_opts.high_freq), (20.0, 0.0));
        assert!(m.use_energy && m.raw_energy && !m.htk_compat);
        assert_eq!((m.energy_floor, m.cepstral_lifter), (0.0, 22.0));
        let b = FbankOptions::default();
        assert!(!b.use_energy && b.raw_energy && !b.htk_compat && b.use_log_fbank && b.use_power);
        assert_eq!(
            DeltaFeaturesOptions::default(),
            DeltaFeaturesOptions {
                order: 2,
                window: 2
            }
        );
    }
}
