//! Option structs, with Kaldi's defaults and (feature `clap`) Kaldi's command-line names.
//!
//! Real-valued options are `f32` as Kaldi's `BaseFloat`, so derived sizes such as the window
//! length in samples (`samp_freq * 0.001 * frame_length_ms`, truncated) come out as in Kaldi.

use serde::{Deserialize, Serialize};

/// Window function applied to each frame (Kaldi's `--window-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum WindowType {
    /// `0.54 - 0.46 cos(2πn/(N-1))`.
    Hamming,
    /// `0.5 - 0.5 cos(2πn/(N-1))`.
    Hanning,
    /// Kaldi's default: the Hanning window raised to the power 0.85 (zero at the edges).
    #[default]
    Povey,
    /// All ones.
    Rectangular,
    /// `sin(πn/(N-1))`.
    Sine,
    /// Generalised Blackman window with `--blackman-coeff` (0.42 by default).
    Blackman,
}

impl WindowType {
    /// Kaldi's spelling of this window type.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowType::Hamming => "hamming",
            WindowType::Hanning => "hanning",
            WindowType::Povey => "povey",
            WindowType::Rectangular => "rectangular",
            WindowType::Sine => "sine",
            WindowType::Blackman => "blackman",
        }
    }
}

impl std::fmt::Display for WindowType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WindowType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "hamming" => WindowType::Hamming,
            "hanning" => WindowType::Hanning,
            "povey" => WindowType::Povey,
            "rectangular" => WindowType::Rectangular,
            "sine" => WindowType::Sine,
            "blackman" => WindowType::Blackman,
            _ => {
                return Err(format!(
                    "invalid window type {s:?}: use hamming, hanning, povey, rectangular, sine or blackman"
                ))
            }
        })
    }
}

/// How the waveform is cut into frames (Kaldi's `FrameExtractionOptions`).
///
/// Samples are on the int16 scale (±32768), as Kaldi reads WAV files; `dither` is on that scale.
///
/// ```
/// use cepstra_feat::FrameExtractionOptions;
/// let opts = FrameExtractionOptions { samp_freq: 8000.0, dither: 0.0, ..Default::default() };
/// assert_eq!(opts.window_size(), 200);        // 25 ms
/// assert_eq!(opts.padded_window_size(), 256); // zero-padded for the FFT
/// assert_eq!(opts.window_shift(), 80);        // 10 ms
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct FrameExtractionOptions {
    /// Waveform data sample frequency in Hz (must match the waveform file)
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "sample-frequency",
            default_value_t = 16000.0,
            value_name = "HZ"
        )
    )]
    pub samp_freq: f32,
    /// Frame shift in milliseconds
    #[cfg_attr(
        feature = "clap",
        arg(long = "frame-shift", default_value_t = 10.0, value_name = "MS")
    )]
    pub frame_shift_ms: f32,
    /// Frame length in milliseconds
    #[cfg_attr(
        feature = "clap",
        arg(long = "frame-length", default_value_t = 25.0, value_name = "MS")
    )]
    pub frame_length_ms: f32,
    /// Dithering constant on the int16 sample scale (0.0 means no dither); if you turn this off,
    /// set --energy-floor (e.g. to 1.0 or 0.1)
    #[cfg_attr(feature = "clap", arg(long = "dither", default_value_t = 1.0))]
    pub dither: f32,
    /// Seed of the Gaussian dither noise (the same seed gives the same features, whatever the
    /// number of threads)
    #[cfg_attr(
        feature = "clap",
        arg(long = "dither-seed", default_value_t = 0, value_name = "SEED")
    )]
    pub dither_seed: u64,
    /// Coefficient for use in signal pre-emphasis
    #[cfg_attr(
        feature = "clap",
        arg(long = "preemphasis-coefficient", default_value_t = 0.97)
    )]
    pub preemph_coeff: f32,
    /// Subtract mean from waveform on each frame
    #[cfg_attr(feature = "clap", arg(long = "remove-dc-offset", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub remove_dc_offset: bool,
    /// Type of window
    #[cfg_attr(
        feature = "clap",
        arg(long = "window-type", value_enum, default_value_t = WindowType::Povey)
    )]
    pub window_type: WindowType,
    /// If true, round window size to power of two by zero-padding input to FFT
    #[cfg_attr(feature = "clap", arg(long = "round-to-power-of-two", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub round_to_power_of_two: bool,
    /// Constant coefficient for generalized Blackman window
    #[cfg_attr(feature = "clap", arg(long = "blackman-coeff", default_value_t = 0.42))]
    pub blackman_coeff: f32,
    /// If true, output only frames that completely fit in the file (the number of frames
    /// depends on the frame length); if false, the number of frames depends only on the frame
    /// shift and the data is reflected at the ends
    #[cfg_attr(feature = "clap", arg(long = "snip-edges", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub snip_edges: bool,
    /// If true, allow the input waveform to have a higher frequency than the specified
    /// --sample-frequency (and we'll downsample)
    #[cfg_attr(feature = "clap", arg(long = "allow-downsample", default_value_t = false,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub allow_downsample: bool,
    /// If true, allow the input waveform to have a lower frequency than the specified
    /// --sample-frequency (and we'll upsample)
    #[cfg_attr(feature = "clap", arg(long = "allow-upsample", default_value_t = false,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub allow_upsample: bool,
}

impl Default for FrameExtractionOptions {
    fn default() -> Self {
        Self {
            samp_freq: 16000.0,
            frame_shift_ms: 10.0,
            frame_length_ms: 25.0,
            dither: 1.0,
            dither_seed: 0,
            preemph_coeff: 0.97,
            remove_dc_offset: true,
            window_type: WindowType::Povey,
            round_to_power_of_two: true,
            blackman_coeff: 0.42,
            snip_edges: true,
            allow_downsample: false,
            allow_upsample: false,
        }
    }
}

impl FrameExtractionOptions {
    /// Frame shift in samples, truncated as Kaldi's `WindowShift()` (computed in `f64`).
    pub fn window_shift(&self) -> usize {
        self.window_shift_i64().max(0) as usize
    }

    /// Frame length in samples, truncated as Kaldi's `WindowSize()`.
    pub fn window_size(&self) -> usize {
        self.window_size_i64().max(0) as usize
    }

    /// FFT length: [`window_size`](Self::window_size), rounded up to a power of two when
    /// `round_to_power_of_two` is set (Kaldi's `PaddedWindowSize()`).
    pub fn padded_window_size(&self) -> usize {
        let n = self.window_size();
        if self.round_to_power_of_two {
            n.next_power_of_two()
        } else {
            n
        }
    }

    pub(crate) fn window_shift_i64(&self) -> i64 {
        samples_of(self.samp_freq, self.frame_shift_ms)
    }

    pub(crate) fn window_size_i64(&self) -> i64 {
        samples_of(self.samp_freq, self.frame_length_ms)
    }

    /// Checks every field; called by the computers' constructors.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if !(self.samp_freq.is_finite() && self.samp_freq > 0.0) {
            return Err(Error::SampleFrequency {
                samp_freq: self.samp_freq,
            });
        }
        let size = self.window_size_i64();
        if !self.frame_length_ms.is_finite() || size < 2 {
            return Err(Error::FrameLength {
                frame_length_ms: self.frame_length_ms,
                samp_freq: self.samp_freq,
                samples: size,
            });
        }
        // Bound the frame before anything is allocated for it (FFT plan, buffers, mel banks).
        let padded = if self.round_to_power_of_two {
            (size as u64).next_power_of_two()
        } else {
            size as u64
        };
        if padded > crate::MAX_WINDOW_SAMPLES as u64 {
            return Err(Error::FrameTooLong {
                frame_length_ms: self.frame_length_ms,
                samp_freq: self.samp_freq,
                samples: size,
                padded,
                max: crate::MAX_WINDOW_SAMPLES,
            });
        }
        let shift = self.window_shift_i64();
        if !self.frame_shift_ms.is_finite() || shift < 1 {
            return Err(Error::FrameShift {
                frame_shift_ms: self.frame_shift_ms,
                samp_freq: self.samp_freq,
                samples: shift,
            });
        }
        if !(self.dither.is_finite() && self.dither >= 0.0) {
            return Err(Error::Dither {
                dither: self.dither,
            });
        }
        if !(0.0..=1.0).contains(&self.preemph_coeff) {
            return Err(Error::PreemphasisCoefficient {
                preemph_coeff: self.preemph_coeff,
            });
        }
        if !self.blackman_coeff.is_finite() {
            return Err(Error::NotFinite {
                option: "blackman-coeff",
                value: self.blackman_coeff,
            });
        }
        Ok(())
    }
}

/// The longest frame, in samples after padding, that cepstra computes: 2^20 (65 s at 16 kHz, far
/// beyond any speech front-end). Longer frames are rejected before anything is allocated, so no
/// option value can ask for gigabytes.
pub const MAX_WINDOW_SAMPLES: usize = 1 << 20;

/// `static_cast<int32>(samp_freq * 0.001 * ms)` as Kaldi evaluates it (float promoted to
/// double); saturates instead of overflowing.
fn samples_of(samp_freq: f32, ms: f32) -> i64 {
    let v = f64::from(samp_freq) * 0.001 * f64::from(ms);
    if v.is_nan() {
        0
    } else {
        v.clamp(i32::MIN as f64, i32::MAX as f64) as i64
    }
}

/// Triangular mel filterbank (Kaldi's `MelBanksOptions`).
///
/// Mel scale: `1127 ln(1 + f/700)`. Kaldi's own `MelBanksOptions` defaults to 25 bins, but both
/// `compute-mfcc-feats` and `compute-fbank-feats` use 23, which is the default here.
/// VTLN warping is not implemented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct MelBanksOptions {
    /// Number of triangular mel-frequency bins
    #[cfg_attr(feature = "clap", arg(long = "num-mel-bins", default_value_t = 23))]
    pub num_bins: usize,
    /// Low cutoff frequency for mel bins in Hz
    #[cfg_attr(feature = "clap", arg(long = "low-freq", default_value_t = 20.0))]
    pub low_freq: f32,
    /// High cutoff frequency for mel bins in Hz (if <= 0, offset from Nyquist)
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "high-freq",
            default_value_t = 0.0,
            allow_negative_numbers = true
        )
    )]
    pub high_freq: f32,
}

impl Default for MelBanksOptions {
    fn default() -> Self {
        Self {
            num_bins: 23,
            low_freq: 20.0,
            high_freq: 0.0,
        }
    }
}

/// MFCC options (Kaldi's `MfccOptions`, defaults of `compute-mfcc-feats`).
///
/// Note Kaldi's default `use_energy = true` (log energy replaces C0); Kaldi recipes usually set
/// `--use-energy=false`.
///
/// ```
/// use cepstra_feat::MfccOptions;
/// let mut opts = MfccOptions::default();
/// opts.frame_opts.samp_freq = 8000.0;
/// opts.use_energy = false;
/// assert_eq!((opts.num_ceps, opts.mel_opts.num_bins, opts.cepstral_lifter), (13, 23, 22.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct MfccOptions {
    /// Framing, windowing and dither.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub frame_opts: FrameExtractionOptions,
    /// Mel filterbank.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub mel_opts: MelBanksOptions,
    /// Number of cepstra in MFCC computation (including C0)
    #[cfg_attr(feature = "clap", arg(long = "num-ceps", default_value_t = 13))]
    pub num_ceps: usize,
    /// Use energy (not C0) in MFCC computation
    #[cfg_attr(feature = "clap", arg(long = "use-energy", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub use_energy: bool,
    /// Floor on energy (absolute, not relative) in MFCC computation; only makes a difference if
    /// --use-energy=true and is only necessary if --dither=0.0 (suggested values: 0.1 or 1.0)
    #[cfg_attr(feature = "clap", arg(long = "energy-floor", default_value_t = 0.0))]
    pub energy_floor: f32,
    /// If true, compute energy before preemphasis and windowing
    #[cfg_attr(feature = "clap", arg(long = "raw-energy", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub raw_energy: bool,
    /// Constant that controls scaling of MFCCs (0 means no liftering)
    #[cfg_attr(
        feature = "clap",
        arg(long = "cepstral-lifter", default_value_t = 22.0)
    )]
    pub cepstral_lifter: f32,
    /// If true, put energy or C0 last and use a factor of sqrt(2) on C0 (not sufficient for
    /// HTK-compatible features)
    #[cfg_attr(feature = "clap", arg(long = "htk-compat", default_value_t = false,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub htk_compat: bool,
}

impl Default for MfccOptions {
    fn default() -> Self {
        Self {
            frame_opts: FrameExtractionOptions::default(),
            mel_opts: MelBanksOptions::default(),
            num_ceps: 13,
            use_energy: true,
            energy_floor: 0.0,
            raw_energy: true,
            cepstral_lifter: 22.0,
            htk_compat: false,
        }
    }
}

/// Log mel filterbank options (Kaldi's `FbankOptions`, defaults of `compute-fbank-feats`).
///
/// ```
/// use cepstra_feat::FbankOptions;
/// let opts = FbankOptions::default();
/// assert!(!opts.use_energy && opts.use_log_fbank && opts.use_power);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct FbankOptions {
    /// Framing, windowing and dither.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub frame_opts: FrameExtractionOptions,
    /// Mel filterbank.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub mel_opts: MelBanksOptions,
    /// Add an extra dimension with energy to the FBANK output
    #[cfg_attr(feature = "clap", arg(long = "use-energy", default_value_t = false,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub use_energy: bool,
    /// Floor on energy (absolute, not relative) in FBANK computation; only makes a difference if
    /// --use-energy=true and is only necessary if --dither=0.0 (suggested values: 0.1 or 1.0)
    #[cfg_attr(feature = "clap", arg(long = "energy-floor", default_value_t = 0.0))]
    pub energy_floor: f32,
    /// If true, compute energy before preemphasis and windowing
    #[cfg_attr(feature = "clap", arg(long = "raw-energy", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub raw_energy: bool,
    /// If true, put energy last (not sufficient for HTK-compatible features)
    #[cfg_attr(feature = "clap", arg(long = "htk-compat", default_value_t = false,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub htk_compat: bool,
    /// If true, produce log-filterbank, else produce linear
    #[cfg_attr(feature = "clap", arg(long = "use-log-fbank", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub use_log_fbank: bool,
    /// If true, use power, else use magnitude
    #[cfg_attr(feature = "clap", arg(long = "use-power", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true",
        value_name = "BOOL"))]
    pub use_power: bool,
}

impl Default for FbankOptions {
    fn default() -> Self {
        Self {
            frame_opts: FrameExtractionOptions::default(),
            mel_opts: MelBanksOptions::default(),
            use_energy: false,
            energy_floor: 0.0,
            raw_energy: true,
            htk_compat: false,
            use_log_fbank: true,
            use_power: true,
        }
    }
}

/// Delta options (Kaldi's `DeltaFeaturesOptions`, used by `add-deltas`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct DeltaFeaturesOptions {
    /// Order of delta computation
    #[cfg_attr(feature = "clap", arg(long = "delta-order", default_value_t = 2))]
    pub order: usize,
    /// Parameter controlling window for delta computation (actual window size for each delta
    /// order is 1 + 2*delta-window)
    #[cfg_attr(feature = "clap", arg(long = "delta-window", default_value_t = 2))]
    pub window: usize,
}

impl Default for DeltaFeaturesOptions {
    fn default() -> Self {
        Self {
            order: 2,
            window: 2,
        }
    }
}

#[cfg(all(test, feature = "clap"))]
mod clap_tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser, Debug)]
    struct MfccCli {
        #[command(flatten)]
        opts: MfccOptions,
    }

    #[derive(Parser, Debug)]
    struct FbankCli {
        #[command(flatten)]
        opts: FbankOptions,
        #[command(flatten)]
        deltas: DeltaFeaturesOptions,
    }

    fn mfcc(args: &[&str]) -> MfccOptions {
        let mut argv = vec!["prog"];
        argv.extend_from_slice(args);
        MfccCli::try_parse_from(argv).expect("parses").opts
    }

    #[test]
    fn defaults_equal_default_impl() {
        assert_eq!(mfcc(&[]), MfccOptions::default());
        let f = FbankCli::try_parse_from(["prog"]).expect("parses");
        assert_eq!(f.opts, FbankOptions::default());
        assert_eq!(f.deltas, DeltaFeaturesOptions::default());
        MfccCli::command().debug_assert();
        FbankCli::command().debug_assert();
    }

    #[test]
    fn kaldi_style_booleans() {
        assert!(!mfcc(&["--use-energy=false"]).use_energy);
        assert!(!mfcc(&["--use-energy", "false"]).use_energy);
        assert!(mfcc(&["--htk-compat"]).htk_compat);
        assert!(mfcc(&["--htk-compat=true"]).htk_compat);
        assert!(!mfcc(&["--snip-edges=false"]).frame_opts.snip_edges);
        assert!(
            !mfcc(&[
                "--remove-dc-offset",
                "false",
                "--round-to-power-of-two=false"
            ])
            .frame_opts
            .remove_dc_offset
        );
        assert!(MfccCli::try_parse_from(["prog", "--use-energy=maybe"]).is_err());
    }

    #[test]
    fn kaldi_names() {
        let o = mfcc(&[
            "--sample-frequency=8000",
            "--frame-length=20",
            "--frame-shift=5",
            "--dither=0",
            "--dither-seed=7",
            "--preemphasis-coefficient=0.9",
            "--window-type=hamming",
            "--blackman-coeff=0.5",
            "--num-mel-bins=15",
            "--low-freq=100",
            "--high-freq=-400",
            "--num-ceps=12",
            "--energy-floor=1.0",
            "--raw-energy=false",
            "--cepstral-lifter=0",
        ]);
        assert_eq!(o.frame_opts.samp_freq, 8000.0);
        assert_eq!(
            (o.frame_opts.frame_length_ms, o.frame_opts.frame_shift_ms),
            (20.0, 5.0)
        );
        assert_eq!((o.frame_opts.dither, o.frame_opts.dither_seed), (0.0, 7));
        assert_eq!(o.frame_opts.preemph_coeff, 0.9);
        assert_eq!(o.frame_opts.window_type, WindowType::Hamming);
        assert_eq!(o.frame_opts.blackman_coeff, 0.5);
        assert_eq!(
            (
                o.mel_opts.num_bins,
                o.mel_opts.low_freq,
                o.mel_opts.high_freq
            ),
            (15, 100.0, -400.0)
        );
        assert_eq!(
            (o.num_ceps, o.energy_floor, o.raw_energy, o.cepstral_lifter),
            (12, 1.0, false, 0.0)
        );
        let f = FbankCli::try_parse_from([
            "prog",
            "--use-log-fbank=false",
            "--use-power",
            "false",
            "--use-energy",
            "--delta-order=1",
            "--delta-window=3",
        ])
        .expect("parses");
        assert!(!f.opts.use_log_fbank && !f.opts.use_power && f.opts.use_energy);
        assert_eq!(
            f.deltas,
            DeltaFeaturesOptions {
                order: 1,
                window: 3
            }
        );
        // help text comes from the doc comments
        let help = MfccCli::command().render_long_help().to_string();
        assert!(help.contains("--sample-frequency") && help.contains("Number of cepstra"));
    }
}
