//! A whole feature pipeline as one recordable value: what `compute-mfcc-feats` (or
//! `compute-fbank-feats`) | `apply-cmvn` | `add-deltas` do to a waveform, so that a model can
//! remember the front-end it was trained on and run it again on new audio.
//!
//! [`FrontEndOptions`] is plain data (serde): the feature options (the sample rate included),
//! the normalisation ([`CmvnMode`]: none, per utterance or per speaker; means only or
//! `norm_vars`), and the deltas. [`FrontEnd`] is built from it once and is `Send + Sync`:
//! [`FrontEnd::raw`] runs the feature computer ([`FeatureComputer::compute_waveform`], so audio
//! at another rate is resampled when the options allow), [`FrontEnd::finish`] normalises and adds
//! deltas with exactly the library calls `apply-cmvn` and `add-deltas` make.
//!
//! ```
//! use cepstra_feat::{CmvnMode, FeatureOptions, FrontEnd, FrontEndOptions, MfccOptions};
//! let mut mfcc = MfccOptions::default();
//! mfcc.frame_opts.samp_freq = 8000.0;
//! mfcc.use_energy = false;
//! let opts = FrontEndOptions::new(FeatureOptions::Mfcc(mfcc), CmvnMode::Utterance, false, 2, 2);
//! assert_eq!(opts.dim(), 39);
//! let fe = FrontEnd::new(&opts)?;
//! let wave: Vec<f32> = (0..8000).map(|i| 3000.0 * (i as f32 * 0.3).sin()).collect();
//! let feats = fe.compute_utterance(&wave, 8000.0, "utt1")?;
//! assert_eq!(feats.dim(), (98, 39));
//! # Ok::<(), cepstra_feat::Error>(())
//! ```

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::{
    acc_cmvn_stats, apply_cmvn, utterance_seed, CmvnStats, DeltaFeatures, DeltaFeaturesOptions,
    Fbank, FbankOptions, FeatureComputer, Mfcc, MfccOptions, Result,
};

/// The features a front-end computes, with their options (`compute-mfcc-feats` or
/// `compute-fbank-feats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FeatureOptions {
    /// MFCC (`compute-mfcc-feats`).
    Mfcc(MfccOptions),
    /// Log mel filterbank energies (`compute-fbank-feats`).
    Fbank(FbankOptions),
}

impl FeatureOptions {
    /// The subcommand that computes these features.
    pub fn program(&self) -> &'static str {
        match self {
            FeatureOptions::Mfcc(_) => "compute-mfcc-feats",
            FeatureOptions::Fbank(_) => "compute-fbank-feats",
        }
    }
    /// Values per frame.
    pub fn dim(&self) -> usize {
        match self {
            FeatureOptions::Mfcc(o) => o.num_ceps,
            FeatureOptions::Fbank(o) => o.mel_opts.num_bins + usize::from(o.use_energy),
        }
    }
    /// The sample rate the features are computed at.
    pub fn samp_freq(&self) -> f32 {
        self.frame_options().samp_freq
    }
    /// The framing options.
    pub fn frame_options(&self) -> &crate::FrameExtractionOptions {
        match self {
            FeatureOptions::Mfcc(o) => &o.frame_opts,
            FeatureOptions::Fbank(o) => &o.frame_opts,
        }
    }
    fn frame_options_mut(&mut self) -> &mut crate::FrameExtractionOptions {
        match self {
            FeatureOptions::Mfcc(o) => &mut o.frame_opts,
            FeatureOptions::Fbank(o) => &mut o.frame_opts,
        }
    }
}

/// Cepstral mean (and variance) normalisation of a front-end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CmvnMode {
    /// No normalisation.
    None,
    /// Each utterance by its own statistics (`apply-cmvn ark:- ark:-`).
    #[default]
    Utterance,
    /// Each utterance by its speaker's statistics (`compute-cmvn-stats --spk2utt`, then
    /// `apply-cmvn --utt2spk`).
    Speaker,
}

impl CmvnMode {
    /// `none`, `utterance` or `speaker`.
    pub fn as_str(self) -> &'static str {
        match self {
            CmvnMode::None => "none",
            CmvnMode::Utterance => "utterance",
            CmvnMode::Speaker => "speaker",
        }
    }
}

/// A feature pipeline: features, normalisation, deltas; plain data (serde), built into a
/// [`FrontEnd`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontEndOptions {
    /// The features and their options.
    pub features: FeatureOptions,
    /// The normalisation.
    pub cmvn: CmvnMode,
    /// With `cmvn` other than `none`: normalise variances too (`apply-cmvn --norm-vars`).
    pub norm_vars: bool,
    /// `add-deltas` options, `None` when no deltas are added.
    pub deltas: Option<DeltaFeaturesOptions>,
}

impl FrontEndOptions {
    /// A pipeline; `delta_order` 0 means no `add-deltas`.
    pub fn new(
        features: FeatureOptions,
        cmvn: CmvnMode,
        norm_vars: bool,
        delta_order: usize,
        delta_window: usize,
    ) -> Self {
        Self {
            features,
            cmvn,
            norm_vars: norm_vars && cmvn != CmvnMode::None,
            deltas: (delta_order > 0).then_some(DeltaFeaturesOptions {
                order: delta_order,
                window: delta_window,
            }),
        }
    }

    /// Values per frame at the end of the pipeline.
    pub fn dim(&self) -> usize {
        self.features.dim() * (1 + self.deltas.as_ref().map_or(0, |d| d.order))
    }

    /// The pipeline as the commands that run it, options that differ from the defaults only,
    /// e.g. `compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 |
    /// apply-cmvn (per utterance) | add-deltas --delta-order=2 --delta-window=2`.
    pub fn describe(&self) -> String {
        let defaults = match &self.features {
            FeatureOptions::Mfcc(_) => FeatureOptions::Mfcc(MfccOptions::default()),
            FeatureOptions::Fbank(_) => FeatureOptions::Fbank(FbankOptions::default()),
        };
        let mut s = self.features.program().to_string();
        for (name, value, default) in option_pairs(&self.features, &defaults) {
            if value != default {
                s.push_str(&format!(" --{name}={value}"));
            }
        }
        match self.cmvn {
            CmvnMode::None => {}
            CmvnMode::Utterance => s.push_str(" | apply-cmvn (per utterance)"),
            CmvnMode::Speaker => s.push_str(" | apply-cmvn --utt2spk (per speaker)"),
        }
        if self.norm_vars {
            s.push_str(" --norm-vars=true");
        }
        if let Some(d) = &self.deltas {
            s.push_str(&format!(
                " | add-deltas --delta-order={} --delta-window={}",
                d.order, d.window
            ));
        }
        s
    }

    /// How `other` differs from this pipeline, one entry per step that differs (empty when they
    /// agree), e.g. `"compute-mfcc-feats --sample-frequency: 8000 here, 16000 there"`. The
    /// resampling permissions and the dither seed do not count.
    pub fn differences(&self, other: &FrontEndOptions) -> Vec<String> {
        let mut out = Vec::new();
        if self.features.program() != other.features.program() {
            out.push(format!(
                "features: {} here, {} there",
                self.features.program(),
                other.features.program()
            ));
        } else {
            for (name, a, b) in option_pairs(&self.features, &other.features) {
                if a != b
                    && !matches!(
                        name.as_str(),
                        "allow-downsample" | "allow-upsample" | "dither-seed"
                    )
                {
                    out.push(format!(
                        "{} --{name}: {a} here, {b} there",
                        self.features.program()
                    ));
                }
            }
        }
        if self.cmvn != other.cmvn {
            out.push(format!(
                "normalisation (apply-cmvn): {} here, {} there",
                self.cmvn.as_str(),
                other.cmvn.as_str()
            ));
        } else if self.norm_vars != other.norm_vars {
            out.push(format!(
                "apply-cmvn --norm-vars: {} here, {} there",
                self.norm_vars, other.norm_vars
            ));
        }
        let d = |d: &Option<DeltaFeaturesOptions>| {
            d.as_ref().map_or("none".to_string(), |d| {
                format!("--delta-order={} --delta-window={}", d.order, d.window)
            })
        };
        if self.deltas != other.deltas {
            out.push(format!(
                "add-deltas: {} here, {} there",
                d(&self.deltas),
                d(&other.deltas)
            ));
        }
        out
    }

    /// Why features of dimension `got` cannot come from this pipeline, naming the step that most
    /// likely differs; `None` when `got` is this pipeline's dimension.
    pub fn explain_dim(&self, got: usize) -> Option<String> {
        let want = self.dim();
        if got == want {
            return None;
        }
        let base = self.features.dim();
        let order = self.deltas.as_ref().map_or(0, |d| d.order);
        let hint = if got == base && order > 0 {
            format!(
                "they look like {} output without add-deltas",
                self.features.program()
            )
        } else if got % (order + 1) == 0 && got / (order + 1) != base {
            format!(
                "{} values per frame before deltas where the model's {} gives {base} (check --num-ceps / --num-mel-bins / --use-energy)",
                got / (order + 1),
                self.features.program()
            )
        } else if got % base == 0 {
            format!(
                "add-deltas with --delta-order={} where the model used {order}",
                got / base - 1
            )
        } else {
            "a different feature pipeline".to_string()
        };
        Some(format!(
            "the features have dimension {got}, the model's front-end ({}) gives {want}: {hint}",
            self.describe()
        ))
    }

    /// These options with resampling from any rate allowed (for recognising audio whatever its
    /// rate).
    pub fn allowing_resampling(&self) -> FrontEndOptions {
        let mut o = self.clone();
        let f = o.features.frame_options_mut();
        f.allow_downsample = true;
        f.allow_upsample = true;
        o
    }
}

/// Kaldi-style option names (`--sample-frequency`) with the values of `a` and `b`, for every leaf
/// of the options' JSON.
fn option_pairs(a: &FeatureOptions, b: &FeatureOptions) -> Vec<(String, String, String)> {
    fn leaves(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                if v.is_object() {
                    leaves(v, out);
                } else if k != "type" {
                    let text = v.to_string();
                    let text = match text.strip_suffix(".0") {
                        Some(t) if v.is_number() => t.to_string(),
                        _ => text.trim_matches('"').to_string(),
                    };
                    out.push((k.clone(), text));
                }
            }
        }
    }
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    leaves(&serde_json::to_value(a).unwrap_or_default(), &mut la);
    leaves(&serde_json::to_value(b).unwrap_or_default(), &mut lb);
    la.into_iter()
        .map(|(k, va)| {
            let vb = lb
                .iter()
                .find(|(kb, _)| *kb == k)
                .map_or_else(String::new, |(_, v)| v.clone());
            (kaldi_name(&k), va, vb)
        })
        .collect()
}

/// The command-line name of an option field.
fn kaldi_name(field: &str) -> String {
    match field {
        "samp_freq" => "sample-frequency".into(),
        "frame_shift_ms" => "frame-shift".into(),
        "frame_length_ms" => "frame-length".into(),
        "preemph_coeff" => "preemphasis-coefficient".into(),
        "num_bins" => "num-mel-bins".into(),
        f => f.replace('_', "-"),
    }
}

/// A built [`FrontEndOptions`]: the feature computer and the deltas, shared by threads.
pub struct FrontEnd {
    opts: FrontEndOptions,
    computer: Box<dyn FeatureComputer>,
    deltas: Option<DeltaFeatures>,
}

impl std::fmt::Debug for FrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontEnd")
            .field("opts", &self.opts)
            .finish()
    }
}

impl FrontEnd {
    /// Validates the options and builds the computers.
    ///
    /// # Errors
    /// Any invalid feature or delta option.
    pub fn new(opts: &FrontEndOptions) -> Result<Self> {
        let computer: Box<dyn FeatureComputer> = match &opts.features {
            FeatureOptions::Mfcc(o) => Box::new(Mfcc::new(o)?),
            FeatureOptions::Fbank(o) => Box::new(Fbank::new(o)?),
        };
        let deltas = opts.deltas.as_ref().map(DeltaFeatures::new).transpose()?;
        Ok(Self {
            opts: opts.clone(),
            computer,
            deltas,
        })
    }

    /// The options.
    pub fn options(&self) -> &FrontEndOptions {
        &self.opts
    }

    /// The features of one waveform recorded at `samp_freq` Hz before normalisation, as
    /// `compute-*-feats` writes them for utterance `key` (same per-utterance dither seed).
    ///
    /// # Errors
    /// See [`FeatureComputer::compute_waveform`].
    pub fn raw(&self, wave: &[f32], samp_freq: f32, key: &str) -> Result<Array2<f32>> {
        let seed = utterance_seed(self.computer.frame_options().dither_seed, key);
        self.computer.compute_waveform(wave, samp_freq, seed)
    }

    /// The statistics `compute-cmvn-stats` gathers over several utterances (one speaker's).
    ///
    /// # Errors
    /// Utterances of different dimensions.
    pub fn speaker_stats(&self, utterances: &[ArrayView2<'_, f32>]) -> Result<CmvnStats> {
        let mut stats = CmvnStats::new(self.opts.features.dim());
        for u in utterances {
            stats.merge(&acc_cmvn_stats(*u, None)?)?;
        }
        Ok(stats)
    }

    /// Normalises raw features and adds deltas, as `apply-cmvn` and `add-deltas` do. With
    /// `CmvnMode::Speaker`, `stats` are the speaker's; `None` (and `CmvnMode::Utterance`) uses
    /// the utterance's own statistics.
    ///
    /// # Errors
    /// Statistics of another dimension, or too few frames for variance normalisation.
    pub fn finish(&self, mut feats: Array2<f32>, stats: Option<&CmvnStats>) -> Result<Array2<f32>> {
        if self.opts.cmvn != CmvnMode::None && feats.nrows() > 0 {
            let own;
            let st = match (self.opts.cmvn, stats) {
                (CmvnMode::Speaker, Some(s)) => s,
                _ => {
                    own = acc_cmvn_stats(feats.view(), None)?;
                    &own
                }
            };
            apply_cmvn(st, feats.view_mut(), self.opts.norm_vars)?;
        }
        Ok(match &self.deltas {
            Some(d) => d.process(feats.view()),
            None => feats,
        })
    }

    /// [`raw`](Self::raw) then [`finish`](Self::finish) with the utterance's own statistics.
    ///
    /// # Errors
    /// As those two.
    pub fn compute_utterance(
        &self,
        wave: &[f32],
        samp_freq: f32,
        key: &str,
    ) -> Result<Array2<f32>> {
        self.finish(self.raw(wave, samp_freq, key)?, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mfcc8k() -> FeatureOptions {
        let mut m = MfccOptions::default();
        m.frame_opts.samp_freq = 8000.0;
        m.frame_opts.dither = 0.0;
        m.use_energy = false;
        FeatureOptions::Mfcc(m)
    }

    fn wave(rate: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                3000.0 * (2.0 * std::f32::consts::PI * 300.0 * t).sin()
                    + 1000.0 * (2.0 * std::f32::consts::PI * 1200.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn json_round_trip_and_description() {
        let o = FrontEndOptions::new(mfcc8k(), CmvnMode::Speaker, true, 2, 2);
        let s = serde_json::to_string(&o).unwrap();
        assert!(s.contains("\"type\":\"mfcc\"") && s.contains("\"cmvn\":\"speaker\""));
        let back: FrontEndOptions = serde_json::from_str(&s).unwrap();
        assert_eq!(back, o);
        assert_eq!(
            o.describe(),
            "compute-mfcc-feats --dither=0 --sample-frequency=8000 --use-energy=false | apply-cmvn --utt2spk (per speaker) --norm-vars=true | add-deltas --delta-order=2 --delta-window=2"
        );
        assert_eq!(o.dim(), 39);
        let none = FrontEndOptions::new(mfcc8k(), CmvnMode::None, true, 0, 2);
        assert!(!none.norm_vars && none.deltas.is_none() && none.dim() == 13);
    }

    #[test]
    fn differences_name_the_step() {
        let a = FrontEndOptions::new(mfcc8k(), CmvnMode::Utterance, false, 2, 2);
        assert!(a.differences(&a).is_empty());
        assert!(a.differences(&a.allowing_resampling()).is_empty());
        let mut b = a.clone();
        if let FeatureOptions::Mfcc(m) = &mut b.features {
            m.frame_opts.samp_freq = 16000.0;
            m.use_energy = true;
        }
        b.cmvn = CmvnMode::Speaker;
        b.deltas = None;
        let d = a.differences(&b);
        assert_eq!(
            d,
            [
                "compute-mfcc-feats --sample-frequency: 8000 here, 16000 there",
                "compute-mfcc-feats --use-energy: false here, true there",
                "normalisation (apply-cmvn): utterance here, speaker there",
                "add-deltas: --delta-order=2 --delta-window=2 here, none there",
            ]
        );
        let f = FrontEndOptions::new(
            FeatureOptions::Fbank(FbankOptions::default()),
            CmvnMode::Utterance,
            false,
            2,
            2,
        );
        assert_eq!(
            a.differences(&f),
            ["features: compute-mfcc-feats here, compute-fbank-feats there"]
        );
        assert!(a.explain_dim(39).is_none());
        assert!(a.explain_dim(13).unwrap().contains("without add-deltas"));
        assert!(a.explain_dim(26).unwrap().contains("--delta-order=1"));
    }

    #[test]
    fn pipeline_equals_the_separate_steps() {
        let o = FrontEndOptions::new(mfcc8k(), CmvnMode::Utterance, true, 2, 2);
        let fe = FrontEnd::new(&o).unwrap();
        let w = wave(8000.0, 4000);
        let got = fe.compute_utterance(&w, 8000.0, "u").unwrap();
        let FeatureOptions::Mfcc(m) = &o.features else {
            unreachable!()
        };
        let mut raw = Mfcc::new(m)
            .unwrap()
            .compute_with_seed(&w, utterance_seed(0, "u"))
            .unwrap();
        let st = acc_cmvn_stats(raw.view(), None).unwrap();
        apply_cmvn(&st, raw.view_mut(), true).unwrap();
        let want = crate::compute_deltas(&DeltaFeaturesOptions::default(), raw.view()).unwrap();
        assert_eq!(got, want);
        // Speaker statistics of one utterance are its own.
        let r = fe.raw(&w, 8000.0, "u").unwrap();
        let st = fe.speaker_stats(&[r.view()]).unwrap();
        assert_eq!(fe.finish(r, Some(&st)).unwrap(), want);
    }

    #[test]
    fn invalid_options_are_the_computers_errors() {
        let mut o = FrontEndOptions::new(mfcc8k(), CmvnMode::Utterance, false, 2, 0);
        assert!(matches!(
            FrontEnd::new(&o),
            Err(crate::Error::DeltaOptions { window: 0, .. })
        ));
        o.deltas = None;
        if let FeatureOptions::Mfcc(m) = &mut o.features {
            m.frame_opts.samp_freq = 0.0;
        }
        assert!(matches!(
            FrontEnd::new(&o),
            Err(crate::Error::SampleFrequency { .. })
        ));
    }

    #[test]
    fn other_rates_need_permission() {
        let o = FrontEndOptions::new(mfcc8k(), CmvnMode::Utterance, false, 2, 2);
        let fe = FrontEnd::new(&o).unwrap();
        let w16 = wave(16000.0, 8000);
        assert!(matches!(
            fe.raw(&w16, 16000.0, "u"),
            Err(crate::Error::SampleRateMismatch {
                option: "--allow-downsample",
                ..
            })
        ));
        assert!(matches!(
            fe.raw(&w16, 4000.0, "u"),
            Err(crate::Error::SampleRateMismatch {
                option: "--allow-upsample",
                ..
            })
        ));
        // Compared before normalisation (CMN of a stationary signal leaves only noise).
        let o = FrontEndOptions::new(mfcc8k(), CmvnMode::None, false, 0, 2);
        let fe = FrontEnd::new(&o.allowing_resampling()).unwrap();
        let a = fe.compute_utterance(&w16, 16000.0, "u").unwrap();
        let b = fe
            .compute_utterance(&wave(8000.0, 4000), 8000.0, "u")
            .unwrap();
        assert_eq!(a.dim(), b.dim());
        // The same signal at 16 kHz gives nearly the 8 kHz features (band-limited content).
        let mean_abs =
            |m: &Array2<f32>| m.iter().map(|v| v.abs() as f64).sum::<f64>() / m.len() as f64;
        let diff = &a - &b;
        assert!(
            mean_abs(&diff) < 0.1 * mean_abs(&b),
            "{} vs {}",
            mean_abs(&diff),
            mean_abs(&b)
        );
    }
}
