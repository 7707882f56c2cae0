//! Options of the HMM trainer: plain data with serde and `Default`; under the `clap` feature,
//! Kaldi-style long options whose help is the field doc comment. Recorded in the model set, so
//! `est-hmms` re-estimates with the options `init-hmms` was given.

use cepstra_gmm::{CovarianceType, EstimateOptions, FitOptions};
use cepstra_train::Overrides;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Topology;

/// Which statistics a training pass gathers (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum TrainMode {
    /// Viterbi training (segmental k-means, the course's "Viterbi-EM"): statistics of the best
    /// path.
    Viterbi,
    /// Baum-Welch: statistics weighted by the forward-backward occupancies.
    #[default]
    BaumWelch,
}

/// How the initial model of each class is made (`--init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum HmmInit {
    /// Flat start by equal segmentation (Kaldi's `align-equal`, HTK's HInit uniform
    /// segmentation): each state's GMM by k-means on its segments' frames.
    #[default]
    Segment,
    /// HTK's HCompV: every state gets the class's global mean and variance (one Gaussian, mixed
    /// up to the requested count with the perturbation of `--perturb-factor`).
    Global,
}

/// Scoring of an utterance against an HMM (`classify --score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ScoreMode {
    /// ln p(X, best path): the Viterbi score.
    Viterbi,
    /// ln p(X): the forward total over every path.
    #[default]
    Forward,
}

/// Options of the HMM trainer (`init-hmms`, `train-hmms`; recorded in the model set).
///
/// Floors of every M-step: variances at least `var_floor` and at least `rel_var_floor` times the
/// class's global variance of that dimension (computed once, from the class's frames, at
/// initialisation; diagonal models per dimension, full covariance models through the GMM
/// engine's relative eigenvalue floor on each state's pooled variance); components with less
/// than `min_gaussian_occupancy` frames of occupancy are removed and the heaviest component is
/// split to take their place (both logged with class, state and component); every allowed
/// transition keeps at least `trans_floor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct HmmTrainOptions {
    /// Emitting states per class model
    #[cfg_attr(feature = "clap", arg(long = "num-states", default_value_t = 8))]
    pub num_states: usize,
    /// Gaussians per state (the final count when --mix-up-at is given)
    #[cfg_attr(feature = "clap", arg(long = "num-gauss", default_value_t = 4))]
    pub num_gauss: usize,
    /// Covariance of the state GMMs: diag or full
    #[cfg_attr(feature = "clap", arg(long = "covariance", value_enum, default_value_t = CovarianceType::Diag))]
    pub covariance: CovarianceType,
    /// Training passes (accumulate + re-estimate) after the initialisation
    #[cfg_attr(feature = "clap", arg(long = "num-iters", default_value_t = 20))]
    pub num_iters: usize,
    /// Statistics of a pass: viterbi (best path) or baum-welch (forward-backward)
    #[cfg_attr(feature = "clap", arg(long = "mode", value_enum, default_value_t = TrainMode::BaumWelch))]
    pub mode: TrainMode,
    /// Left-to-right topology: linear (self-loop, next) or skip (also skip one state)
    #[cfg_attr(feature = "clap", arg(long = "topology", value_enum, default_value_t = Topology::Linear))]
    pub topology: Topology,
    /// Let an utterance end in any emitting state (hmmlearn's convention) instead of leaving
    /// through the exit state (HTK's)
    #[cfg_attr(feature = "clap", arg(long = "allow-any-end", default_value_t = false, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub allow_any_end: bool,
    /// Initial self-loop probability of every state
    #[cfg_attr(feature = "clap", arg(long = "self-loop", default_value_t = 0.5))]
    pub self_loop: f64,
    /// Initialisation: segment (equal segmentation + k-means per state) or global (HCompV)
    #[cfg_attr(feature = "clap", arg(long = "init", value_enum, default_value_t = HmmInit::Segment))]
    pub init: HmmInit,
    /// Passes (1-based) after whose re-estimation the Gaussians per state grow, e.g. 2,4,6: the
    /// model starts with one Gaussian per state and reaches --num-gauss at the last pass listed
    /// (empty: --num-gauss from the start)
    #[cfg_attr(
        feature = "clap",
        arg(long = "mix-up-at", value_delimiter = ',', value_name = "P,P,...")
    )]
    pub mix_up_at: Vec<usize>,
    /// Mixing up moves the two halves' means by ±perturb-factor·σ·N(0,1) (Kaldi's perturbation)
    #[cfg_attr(feature = "clap", arg(long = "perturb-factor", default_value_t = 0.01))]
    pub perturb_factor: f64,
    /// Absolute variance floor
    #[cfg_attr(feature = "clap", arg(long = "var-floor", default_value_t = 1e-3))]
    pub var_floor: f64,
    /// Variance floor relative to the class's global variance (HCompV -f; 0 = off)
    #[cfg_attr(feature = "clap", arg(long = "rel-var-floor", default_value_t = 0.01))]
    pub rel_var_floor: f64,
    /// Components with less occupancy than this are removed and replaced by a split of the
    /// heaviest
    #[cfg_attr(
        feature = "clap",
        arg(long = "min-gaussian-occupancy", default_value_t = 3.0)
    )]
    pub min_gaussian_occupancy: f64,
    /// Every allowed transition keeps at least this probability (0 = off)
    #[cfg_attr(feature = "clap", arg(long = "trans-floor", default_value_t = 1e-5))]
    pub trans_floor: f64,
    /// Seed of the k-means initialisation and of the mixing-up perturbation
    #[cfg_attr(feature = "clap", arg(long = "seed", default_value_t = 0))]
    pub seed: u64,
}

impl Default for HmmTrainOptions {
    fn default() -> Self {
        HmmTrainOptions {
            num_states: 8,
            num_gauss: 4,
            covariance: CovarianceType::Diag,
            num_iters: 20,
            mode: TrainMode::BaumWelch,
            topology: Topology::Linear,
            allow_any_end: false,
            self_loop: 0.5,
            init: HmmInit::Segment,
            mix_up_at: Vec::new(),
            perturb_factor: 0.01,
            var_floor: 1e-3,
            rel_var_floor: 0.01,
            min_gaussian_occupancy: 3.0,
            trans_floor: 1e-5,
            seed: 0,
        }
    }
}

fn invalid(name: &str, value: impl std::fmt::Display, why: &str) -> Error {
    Error::InvalidOption(format!("--{name}={value}: {why}"))
}

/// Why option `name` (a field name of [`HmmTrainOptions`]) cannot differ between the classes of
/// one model set, or `None` when it can be set per class (`--class-opts`): the passes
/// (`num_iters`) and their statistics (`mode`) are shared by every class, and an HMM set holds
/// one covariance kind (as an HTK MMF's `<DIAGC>`/`<FULLC>` does).
///
/// ```
/// use cepstra_hmm::per_class_refusal;
/// assert!(per_class_refusal("num_states").is_none() && per_class_refusal("num_gauss").is_none());
/// assert!(per_class_refusal("num_iters").is_some());
/// ```
pub fn per_class_refusal(name: &str) -> Option<&'static str> {
    match name {
        "num_iters" => Some(
            "every class is trained for the same passes; give --num-iters on the command line",
        ),
        "mode" => Some(
            "a pass accumulates every class with one --mode; give it on the command line",
        ),
        "covariance" => Some(
            "an HMM set holds one covariance kind (as an HTK MMF does); give --covariance on the command line",
        ),
        _ => None,
    }
}

/// The most emitting states per word `--num-states` may ask for.
pub const MAX_STATES: usize = 1000;
/// The most training passes `--num-iters` may ask for.
pub const MAX_ITERS: usize = 100_000;

impl HmmTrainOptions {
    /// Checks every value once (the trainer's entry points call it).
    ///
    /// ```
    /// let mut o = cepstra_hmm::HmmTrainOptions::default();
    /// o.num_states = 0;
    /// assert!(matches!(o.validate(), Err(cepstra_hmm::Error::InvalidOption(_))));
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.validate_values()?;
        if self.mix_up_at.len() >= self.num_gauss.max(2) {
            return Err(invalid(
                "mix-up-at",
                format!("{:?}", self.mix_up_at),
                "more mixing-up passes than Gaussians to add: give at most --num-gauss - 1",
            ));
        }
        Ok(())
    }

    /// Every check of [`validate`](Self::validate) but the length of the mixing-up schedule,
    /// which a class's own `num_gauss` may undercut (its targets ⌈M·k/n⌉ then repeat).
    fn validate_values(&self) -> Result<()> {
        if self.num_states == 0 {
            return Err(invalid("num-states", 0, "must be at least 1"));
        }
        if self.num_gauss == 0 {
            return Err(invalid("num-gauss", 0, "must be at least 1"));
        }
        // Bounds before anything is allocated or run: a word HMM has tens of states (the
        // transition matrix is S×S), and EM converges in tens of passes.
        if self.num_states > MAX_STATES {
            return Err(invalid(
                "num-states",
                self.num_states,
                "must be at most 1000",
            ));
        }
        if self.num_iters > MAX_ITERS {
            return Err(invalid(
                "num-iters",
                self.num_iters,
                "must be at most 100000",
            ));
        }
        if !(self.self_loop > 0.0 && self.self_loop < 1.0) {
            return Err(invalid("self-loop", self.self_loop, "must be in (0, 1)"));
        }
        if !(self.trans_floor >= 0.0 && self.trans_floor < 1.0) {
            return Err(invalid(
                "trans-floor",
                self.trans_floor,
                "must be in [0, 1)",
            ));
        }
        for (name, v) in [
            ("var-floor", self.var_floor),
            ("rel-var-floor", self.rel_var_floor),
            ("min-gaussian-occupancy", self.min_gaussian_occupancy),
            ("perturb-factor", self.perturb_factor),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(invalid(name, v, "must be finite and >= 0"));
            }
        }
        if self.mix_up_at.windows(2).any(|w| w[0] >= w[1]) || self.mix_up_at.contains(&0) {
            return Err(invalid(
                "mix-up-at",
                format!("{:?}", self.mix_up_at),
                "passes must be increasing and start at 1",
            ));
        }
        Ok(())
    }

    /// The options of class `class`: these options with its per-class `overrides` (option name
    /// → JSON value, names as the fields of this struct, `-` read as `_`; `--class-opts`,
    /// recorded per class in the model set). Refuses the options a pass shares by all classes
    /// ([`per_class_refusal`]) and unknown names; checks the values as
    /// [`validate`](Self::validate) does, except that a class's `num_gauss` may be smaller than
    /// the mixing-up schedule is long (its targets ⌈M·k/n⌉ then repeat).
    ///
    /// ```
    /// use cepstra_hmm::{Error, HmmTrainOptions};
    /// let mut ov = cepstra_train::Overrides::new();
    /// ov.insert("num_states".into(), 5.into());
    /// ov.insert("num-gauss".into(), 2.into());
    /// let o = HmmTrainOptions::default().for_class(&ov, "seven")?;
    /// assert_eq!((o.num_states, o.num_gauss), (5, 2));
    /// ov.insert("mode".into(), "viterbi".into());
    /// let e = HmmTrainOptions::default().for_class(&ov, "seven").unwrap_err();
    /// assert!(matches!(e, Error::ClassOption { ref class, ref option, .. } if class == "seven" && option == "mode"));
    /// # Ok::<(), cepstra_hmm::Error>(())
    /// ```
    pub fn for_class(&self, overrides: &Overrides, class: &str) -> Result<HmmTrainOptions> {
        if overrides.is_empty() {
            return Ok(self.clone());
        }
        let err = |name: &str, reason: String| Error::ClassOption {
            class: class.to_string(),
            option: name.replace('_', "-"),
            reason,
        };
        let mut v = serde_json::to_value(self)?;
        let fields = v
            .as_object_mut()
            .ok_or_else(|| Error::InvalidOption("options are not a JSON object".into()))?;
        for (name, value) in overrides {
            let key = name.replace('-', "_");
            if let Some(why) = per_class_refusal(&key) {
                return Err(err(&key, format!("cannot be set per class: {why}")));
            }
            if !fields.contains_key(&key) {
                return Err(err(
                    &key,
                    "is not an option of the HMM trainer (see `cepstra init-hmms --help`)".into(),
                ));
            }
            fields.insert(key, value.clone());
        }
        let opts: HmmTrainOptions = serde_json::from_value(v).map_err(|e| {
            let names: Vec<String> = overrides.keys().map(|k| k.replace('_', "-")).collect();
            err(&names.join(","), format!("bad value ({e})"))
        })?;
        opts.validate_values().map_err(|e| match e {
            // "--name=value: why"
            Error::InvalidOption(s) => {
                let name = s
                    .strip_prefix("--")
                    .and_then(|r| r.split_once('='))
                    .map_or("", |(n, _)| n);
                err(name, s.clone())
            }
            e => e,
        })?;
        Ok(opts)
    }

    /// Gaussians per state of the initial model: 1 when mixing up on a schedule, else
    /// `num_gauss`.
    pub fn initial_num_gauss(&self) -> usize {
        if self.mix_up_at.is_empty() {
            self.num_gauss
        } else {
            1
        }
    }

    /// The Gaussians per state to mix up to after pass `pass` (1-based), from the schedule:
    /// the k-th of n passes listed reaches ⌈M·k/n⌉ (M = `num_gauss`), so the last reaches M.
    ///
    /// ```
    /// let o = cepstra_hmm::HmmTrainOptions { num_gauss: 4, mix_up_at: vec![2, 4, 6], ..Default::default() };
    /// let t: Vec<_> = (1..=7).map(|p| o.mix_up_target(p)).collect();
    /// assert_eq!(t, [None, Some(2), None, Some(3), None, Some(4), None]);
    /// ```
    pub fn mix_up_target(&self, pass: usize) -> Option<usize> {
        let n = self.mix_up_at.len();
        let k = self.mix_up_at.iter().position(|&p| p == pass)? + 1;
        Some((self.num_gauss * k).div_ceil(n))
    }

    /// The GMM engine's options of the flat-start initialisation (k-means per state).
    pub fn fit_options(&self) -> FitOptions {
        FitOptions {
            num_gauss: self.initial_num_gauss(),
            covariance: self.covariance,
            seed: self.seed,
            estimate: self.estimate_options(0),
            ..FitOptions::default()
        }
    }

    /// The GMM engine's M-step options of every state (the class-relative floor is applied by
    /// the HMM trainer; `mix_up` = 0: off).
    pub fn estimate_options(&self, mix_up: usize) -> EstimateOptions {
        EstimateOptions {
            min_gaussian_weight: 1e-5,
            min_gaussian_occupancy: self.min_gaussian_occupancy,
            remove_low_count_gaussians: true,
            var_floor: self.var_floor,
            rel_var_floor: match self.covariance {
                CovarianceType::Diag => 0.0,
                CovarianceType::Full => self.rel_var_floor,
            },
            reg_covar: 0.0,
            max_condition: 1e4,
            mix_up,
            perturb_factor: self.perturb_factor,
            mix_up_seed: self.seed,
        }
    }
}
