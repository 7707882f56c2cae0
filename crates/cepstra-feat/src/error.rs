//! The one error type of this crate.

/// Everything that can go wrong in `cepstra-feat`: invalid options (caught once, when a computer
/// is built) and inputs that cannot be processed.
///
/// Each message says which option to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--sample-frequency` is not a positive finite number.
    #[error("--sample-frequency={samp_freq} is invalid: give the sample rate of the audio in Hz (e.g. 8000 or 16000)")]
    SampleFrequency {
        /// The rejected value.
        samp_freq: f32,
    },
    /// The frame length gives fewer than two samples.
    #[error("--frame-length={frame_length_ms} ms at {samp_freq} Hz gives {samples} samples per frame: raise --frame-length to at least two samples")]
    FrameLength {
        /// The rejected frame length in milliseconds.
        frame_length_ms: f32,
        /// The sample frequency used.
        samp_freq: f32,
        /// The resulting number of samples.
        samples: i64,
    },
    /// The frame (after padding) is longer than [`crate::MAX_WINDOW_SAMPLES`]; rejected before
    /// anything is allocated.
    #[error("--frame-length={frame_length_ms} ms at {samp_freq} Hz gives {samples} samples per frame (padded to {padded}), more than the {max} cepstra allows: use a frame of at most a few hundred ms (25 is Kaldi's default)")]
    FrameTooLong {
        /// The rejected frame length in milliseconds.
        frame_length_ms: f32,
        /// The sample frequency used.
        samp_freq: f32,
        /// The resulting number of samples.
        samples: i64,
        /// The FFT size the frame would be padded to.
        padded: u64,
        /// The limit.
        max: usize,
    },
    /// The frame shift gives less than one sample.
    #[error("--frame-shift={frame_shift_ms} ms at {samp_freq} Hz gives {samples} samples: raise --frame-shift to at least one sample")]
    FrameShift {
        /// The rejected frame shift in milliseconds.
        frame_shift_ms: f32,
        /// The sample frequency used.
        samp_freq: f32,
        /// The resulting number of samples.
        samples: i64,
    },
    /// `--dither` is negative or not finite.
    #[error("--dither={dither} is invalid: use 0 (no dither) or a positive value on the int16 scale such as 1.0")]
    Dither {
        /// The rejected value.
        dither: f32,
    },
    /// `--preemphasis-coefficient` is outside [0, 1].
    #[error("--preemphasis-coefficient={preemph_coeff} is outside [0, 1]: use e.g. 0.97, or 0 to disable")]
    PreemphasisCoefficient {
        /// The rejected value.
        preemph_coeff: f32,
    },
    /// A real-valued option is NaN or infinite.
    #[error("--{option}={value} is not a finite number")]
    NotFinite {
        /// Kaldi's name of the option.
        option: &'static str,
        /// The rejected value.
        value: f32,
    },
    /// Fewer than three mel bins.
    #[error("--num-mel-bins={num_bins} is too small: use at least 3 (23 is Kaldi's default)")]
    NumMelBins {
        /// The rejected value.
        num_bins: usize,
    },
    /// More mel bins than the FFT has frequency bins; rejected before anything is allocated.
    #[error("--num-mel-bins={num_bins} is more than the {fft_bins} FFT bins of a {padded}-sample frame: use fewer mel bins (23 is Kaldi's default) or a longer --frame-length")]
    TooManyMelBins {
        /// The rejected value.
        num_bins: usize,
        /// The number of FFT bins (half the padded frame).
        fft_bins: usize,
        /// The padded frame length in samples.
        padded: usize,
    },
    /// The mel range is empty or outside (0, Nyquist].
    #[error("--low-freq={low_freq} and --high-freq={high_freq} give an invalid range for Nyquist {nyquist} Hz: need 0 <= low < high <= Nyquist (high <= 0 is an offset from Nyquist)")]
    MelFrequencies {
        /// The rejected low cut-off in Hz.
        low_freq: f32,
        /// The high cut-off in Hz after resolving offsets from Nyquist.
        high_freq: f32,
        /// Half the sample frequency.
        nyquist: f32,
    },
    /// A mel triangle contains no FFT bin.
    #[error("mel bin {bin} covers no FFT bin: lower --num-mel-bins, widen --low-freq/--high-freq or raise --frame-length")]
    EmptyMelBin {
        /// Index of the empty triangle.
        bin: usize,
    },
    /// `--num-ceps` is zero or larger than `--num-mel-bins`.
    #[error("--num-ceps={num_ceps} must be between 1 and --num-mel-bins={num_bins}")]
    NumCeps {
        /// The rejected number of cepstra.
        num_ceps: usize,
        /// The number of mel bins.
        num_bins: usize,
    },
    /// Delta options outside Kaldi's sanity range.
    #[error("--delta-order={order} --delta-window={window} are invalid: need order < 1000 and 1 <= window < 1000 (Kaldi uses 2 and 2)")]
    DeltaOptions {
        /// The rejected order.
        order: usize,
        /// The rejected window.
        window: usize,
    },
    /// The waveform holds a NaN or infinite sample.
    #[error("sample {index} of the waveform is not finite: check the audio file")]
    NonFiniteSample {
        /// Index of the first bad sample.
        index: usize,
    },
    /// CMVN statistics that are not 1 or 2 rows by (dim + 1) columns.
    #[error("CMVN stats have shape {rows}x{cols}: expected 2x(dim+1) (or 1x(dim+1) for means only) as written by compute-cmvn-stats")]
    CmvnStatsShape {
        /// Rows of the rejected matrix.
        rows: usize,
        /// Columns of the rejected matrix.
        cols: usize,
    },
    /// CMVN statistics and features of different dimension.
    #[error("CMVN stats have dimension {stats_dim} but the features have {feats_dim}: use stats computed from these features")]
    CmvnDim {
        /// Feature dimension of the statistics.
        stats_dim: usize,
        /// Feature dimension of the features.
        feats_dim: usize,
    },
    /// CMVN statistics with a count below one.
    #[error("insufficient stats for cepstral mean and variance normalization: count = {count} (need at least 1 frame)")]
    CmvnCount {
        /// The count found in the statistics.
        count: f64,
    },
    /// Variance normalisation requested with mean-only statistics.
    #[error("variance normalization requested but the CMVN stats hold no variance row: recompute them or use --norm-vars=false")]
    CmvnNoVarianceStats,
    /// Variance normalisation produced NaN or infinity.
    #[error("NaN or infinity in cepstral mean/variance computation (dimension {dim}): check the CMVN stats")]
    CmvnNotFinite {
        /// The offending dimension.
        dim: usize,
    },
    /// Frame weights whose length differs from the number of frames.
    #[error("{weights} frame weights given for {frames} frames: give one weight per frame")]
    WeightsLength {
        /// Number of weights.
        weights: usize,
        /// Number of frames.
        frames: usize,
    },
    /// The waveform's sample rate differs from `--sample-frequency` and resampling that way is
    /// not allowed.
    #[error("waveform sample rate {wave} Hz but --sample-frequency={expected}: give the audio's rate, resample it (e.g. sox in wav.scp), or use {option}=true")]
    SampleRateMismatch {
        /// The waveform's rate.
        wave: f32,
        /// `--sample-frequency`.
        expected: f32,
        /// The option that would allow resampling (`--allow-downsample` or `--allow-upsample`).
        option: &'static str,
    },
    /// `apply-cmvn` options that do not go together.
    #[error("--norm-vars=true needs --norm-means=true")]
    CmvnOptions,
    /// An utterance without a speaker in `--utt2spk`.
    #[error("utterance {utt} is not in --utt2spk")]
    CmvnNoSpeaker {
        /// The utterance.
        utt: String,
    },
    /// A feature matrix holds NaN or infinity.
    #[error(
        "non-finite value {value} at frame {frame}, column {column} (fix the features upstream)"
    )]
    NonFiniteFeature {
        /// Frame of the first bad value.
        frame: usize,
        /// Its column.
        column: usize,
        /// The value.
        value: f32,
    },
    /// Two feature matrices compared have different shapes.
    #[error("utterance {utt}: {rows}x{cols} vs {ref_rows}x{ref_cols} (frame counts or dimensions differ)")]
    CompareShape {
        /// The utterance.
        utt: String,
        /// Frames of the checked features.
        rows: usize,
        /// Their dimension.
        cols: usize,
        /// Frames of the reference.
        ref_rows: usize,
        /// Its dimension.
        ref_cols: usize,
    },
    /// Column groups that do not add up to the feature dimension.
    #[error("--groups {groups:?} do not add up to the dimension {dim}")]
    CompareGroups {
        /// The group widths.
        groups: Vec<usize>,
        /// The feature dimension.
        dim: usize,
    },
    /// Nothing was compared.
    #[error("no utterances to compare")]
    CompareNothing,
    /// The largest relative difference exceeds the tolerance.
    #[error("max relative difference {max:.3e} exceeds --tolerance={tolerance}")]
    CompareTolerance {
        /// The largest |a − b| / max(1, |b|).
        max: f64,
        /// The tolerance.
        tolerance: f64,
    },
    /// `--max-mean-diff` with a number of values other than the number of groups.
    #[error("--max-mean-diff needs {groups} values (one per group)")]
    CompareMeanDiffCount {
        /// Number of column groups.
        groups: usize,
    },
    /// A group's mean absolute difference exceeds its limit.
    #[error("group {group} mean |diff| {mean:.4} exceeds {limit}")]
    CompareMeanDiff {
        /// The group (1-based).
        group: usize,
        /// Its mean |a − b|.
        mean: f64,
        /// The limit.
        limit: f64,
    },
    /// Resampling between two rates is impossible.
    #[error("cannot resample from {from} Hz to {to} Hz: {reason}")]
    Resample {
        /// Input rate.
        from: f32,
        /// Output rate.
        to: f32,
        /// Why.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
