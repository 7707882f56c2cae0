//! The per-utterance step of `compute-mfcc-feats` / `compute-fbank-feats` (the loop body of
//! Kaldi's binaries): the `--min-duration` rule, the per-utterance dither seed, resampling when
//! the audio's rate differs, and the utterance too short for one frame. The reading of the audio
//! and the logging stay with the caller.

use ndarray::Array2;

use crate::{utterance_seed, FeatureComputer, Result};

/// Why an utterance gets no features (a warning and a skip, as Kaldi's binaries do, not an
/// error). `Display` gives the warning's text.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Shorter than `--min-duration`.
    MinDuration {
        /// The utterance's duration in seconds.
        duration: f64,
    },
    /// Too short for one frame.
    NoFrames {
        /// The utterance's duration in seconds.
        duration: f64,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::MinDuration { duration } => {
                write!(f, "{duration:.3} s is shorter than --min-duration; skipped")
            }
            SkipReason::NoFrames { duration } => {
                write!(f, "too short for one frame ({duration:.3} s); skipped")
            }
        }
    }
}

/// The features of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceFeatures {
    /// Frames × dim (0 rows when `skip` says so).
    pub feats: Array2<f32>,
    /// Whether the audio was resampled to the computer's `samp_freq`.
    pub resampled: bool,
    /// Set when the utterance is to be skipped.
    pub skip: Option<SkipReason>,
}

/// The per-utterance step of the compute-*-feats binaries, for any [`FeatureComputer`].
///
/// ```
/// use cepstra_feat::{Mfcc, MfccOptions, SkipReason, UtteranceDriver};
/// let mut opts = MfccOptions::default();
/// opts.frame_opts.samp_freq = 8000.0;
/// let mfcc = Mfcc::new(&opts)?;
/// let driver = UtteranceDriver::new(&mfcc, 0.5);
/// assert_eq!(driver.check_duration(0.25), Some(SkipReason::MinDuration { duration: 0.25 }));
/// let wave: Vec<f32> = (0..8000).map(|i| 1000.0 * (i as f32 * 0.3).sin()).collect();
/// let u = driver.compute("utt1", &wave, 8000.0)?;
/// assert_eq!((u.feats.nrows(), u.resampled, u.skip), (98, false, None));
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
pub struct UtteranceDriver<'a, C: FeatureComputer + ?Sized> {
    computer: &'a C,
    min_duration: f32,
}

impl<'a, C: FeatureComputer + ?Sized> UtteranceDriver<'a, C> {
    /// The step for `computer`, skipping utterances shorter than `min_duration` seconds.
    pub fn new(computer: &'a C, min_duration: f32) -> Self {
        Self {
            computer,
            min_duration,
        }
    }

    /// The `--min-duration` rule, checked before the audio's samples are needed.
    pub fn check_duration(&self, duration: f64) -> Option<SkipReason> {
        (duration < self.min_duration as f64).then_some(SkipReason::MinDuration { duration })
    }

    /// The features of utterance `key` (`samples` at `samp_freq` Hz): dither seeded from the
    /// options' seed and the key ([`utterance_seed`]), resampled when the rate differs and the
    /// options allow it ([`FeatureComputer::compute_waveform`]).
    ///
    /// # Errors
    /// As [`FeatureComputer::compute_waveform`].
    pub fn compute(&self, key: &str, samples: &[f32], samp_freq: f32) -> Result<UtteranceFeatures> {
        let opts = self.computer.frame_options();
        let feats = self.computer.compute_waveform(
            samples,
            samp_freq,
            utterance_seed(opts.dither_seed, key),
        )?;
        let duration = samples.len() as f64 / samp_freq as f64;
        let skip = (feats.nrows() == 0).then_some(SkipReason::NoFrames { duration });
        Ok(UtteranceFeatures {
            feats,
            resampled: samp_freq != opts.samp_freq,
            skip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Mfcc, MfccOptions};

    #[test]
    fn skips_resamples_and_refuses() {
        let mut opts = MfccOptions::default();
        opts.frame_opts.samp_freq = 8000.0;
        opts.frame_opts.dither = 0.0;
        let mfcc = Mfcc::new(&opts).unwrap();
        let d = UtteranceDriver::new(&mfcc, 0.0);
        assert_eq!(d.check_duration(0.0), None);
        let short = d.compute("u", &[1.0; 50], 8000.0).unwrap();
        assert_eq!(
            short.skip,
            Some(SkipReason::NoFrames {
                duration: 50.0 / 8000.0
            })
        );
        assert_eq!(
            short.skip.unwrap().to_string(),
            "too short for one frame (0.006 s); skipped"
        );
        let wave: Vec<f32> = (0..16000)
            .map(|i| 1000.0 * (i as f32 * 0.1).sin())
            .collect();
        assert!(matches!(
            d.compute("u", &wave, 16000.0),
            Err(Error::SampleRateMismatch { .. })
        ));
        opts.frame_opts.allow_downsample = true;
        let mfcc = Mfcc::new(&opts).unwrap();
        let u = UtteranceDriver::new(&mfcc, 0.0)
            .compute("u", &wave, 16000.0)
            .unwrap();
        assert!(u.resampled && u.skip.is_none() && u.feats.nrows() == 98);
        // The dither seed is the key's: the same key gives the same features, another key not.
        opts.frame_opts.dither = 1.0;
        let mfcc = Mfcc::new(&opts).unwrap();
        let d = UtteranceDriver::new(&mfcc, 0.0);
        let (a, b) = (
            d.compute("a", &wave[..8000], 8000.0).unwrap(),
            d.compute("b", &wave[..8000], 8000.0).unwrap(),
        );
        assert_eq!(a, d.compute("a", &wave[..8000], 8000.0).unwrap());
        assert_ne!(a.feats, b.feats);
    }
}
