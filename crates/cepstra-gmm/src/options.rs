//! Options: plain data with serde and `Default`; under the `clap` feature, Kaldi-style long options
//! whose help is the field doc comment.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Covariance structure of every component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// Diagonal covariance (Kaldi `DiagGmm`).
    Diag,
    /// Full covariance (Kaldi `FullGmm`).
    #[default]
    Full,
}

/// How the initial model of [`crate::fit`] is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum InitMethod {
    /// Lloyd k-means (seeded by k-means++), then cluster means, covariances and proportions.
    #[default]
    #[serde(rename = "kmeans")]
    #[cfg_attr(feature = "clap", value(name = "kmeans"))]
    Kmeans,
    /// Random distinct data points as means, uniform weights, identity (or global) covariance.
    #[serde(rename = "random")]
    #[cfg_attr(feature = "clap", value(name = "random"))]
    Random,
    /// k-means++ seeds as means, uniform weights, identity (or global) covariance.
    #[serde(rename = "kmeans++")]
    #[cfg_attr(feature = "clap", value(name = "kmeans++"))]
    KmeansPlusPlus,
}

/// Initial covariance of the `random` and `kmeans++` initialisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum InitCovariance {
    /// The identity matrix, as in the classic EM notes.
    #[default]
    Identity,
    /// The global covariance of the data (Kaldi's `gmm-global-init-from-feats`).
    Global,
}

/// Seeding of k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum KmeansInit {
    /// k-means++ (D² sampling).
    #[default]
    #[serde(rename = "kmeans++")]
    #[cfg_attr(feature = "clap", value(name = "kmeans++"))]
    KmeansPlusPlus,
    /// Distinct random data points.
    #[serde(rename = "random")]
    #[cfg_attr(feature = "clap", value(name = "random"))]
    Random,
}

/// Options of [`crate::kmeans`] (`cepstra kmeans`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct KmeansOptions {
    /// Number of clusters.
    #[cfg_attr(feature = "clap", arg(long = "num-clusters", default_value_t = 5))]
    pub num_clusters: usize,
    /// Maximum number of Lloyd iterations.
    #[cfg_attr(feature = "clap", arg(long = "max-iters", default_value_t = 300))]
    pub max_iters: usize,
    /// Stop when the summed squared centroid movement is below tol × (mean per-dimension variance
    /// of the data), as scikit-learn's KMeans.
    #[cfg_attr(feature = "clap", arg(long = "tol", default_value_t = 1e-4))]
    pub tol: f64,
    /// Seeding: kmeans++ or random.
    #[cfg_attr(feature = "clap", arg(long = "init", value_enum, default_value_t = KmeansInit::KmeansPlusPlus))]
    pub init: KmeansInit,
    /// Seed of the ChaCha8 generator.
    #[cfg_attr(feature = "clap", arg(long = "seed", default_value_t = 0))]
    pub seed: u64,
}

impl Default for KmeansOptions {
    fn default() -> Self {
        Self {
            num_clusters: 5,
            max_iters: 300,
            tol: 1e-4,
            init: KmeansInit::KmeansPlusPlus,
            seed: 0,
        }
    }
}

impl KmeansOptions {
    /// Check every value; called by [`crate::kmeans`].
    pub fn validate(&self) -> Result<()> {
        if self.num_clusters == 0 {
            return Err(invalid(
                "num-clusters",
                self.num_clusters,
                "must be at least 1",
            ));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(invalid("tol", self.tol, "must be finite and >= 0"));
        }
        if self.max_iters > MAX_ITERS {
            return Err(invalid(
                "max-iters",
                self.max_iters,
                "must be at most 100000",
            ));
        }
        Ok(())
    }
}

/// Options of the M-step ([`crate::estimate`], `gmm-est`): Kaldi's `MleDiagGmmOptions` and
/// `MleFullGmmOptions` merged, plus scikit-learn's `reg_covar` and a relative variance floor.
///
/// Order inside the M-step for each component: weight and occupancy checks (starved components
/// are removed when `remove_low_count_gaussians`, else kept with their old parameters and weight
/// `max(w, min_gaussian_weight)`, as Kaldi does), mean, covariance, `+ reg_covar·I`, relative
/// floor, absolute floor (diag: `var ≥ var_floor`; full: eigenvalues ≥
/// `max(var_floor, max|eig| / max_condition)`), then mixing up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct EstimateOptions {
    /// Minimum weight below which a Gaussian is not updated (and may be removed).
    #[cfg_attr(
        feature = "clap",
        arg(long = "min-gaussian-weight", default_value_t = 1e-5)
    )]
    pub min_gaussian_weight: f64,
    /// Minimum occupancy (soft count) below which a Gaussian is not updated (and may be removed).
    /// Kaldi's default is 10 for diagonal and 100 for full covariance.
    #[cfg_attr(
        feature = "clap",
        arg(long = "min-gaussian-occupancy", default_value_t = 10.0)
    )]
    pub min_gaussian_occupancy: f64,
    /// Remove Gaussians with too little data (never the last one).
    #[cfg_attr(feature = "clap", arg(long = "remove-low-count-gaussians", default_value_t = true, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub remove_low_count_gaussians: bool,
    /// Absolute variance floor (Kaldi --min-variance for diag, --variance-floor on eigenvalues
    /// for full).
    #[cfg_attr(
        feature = "clap",
        arg(
            long = "var-floor",
            visible_alias = "min-variance",
            alias = "variance-floor",
            default_value_t = 1e-3
        )
    )]
    pub var_floor: f64,
    /// Relative variance floor: a fraction of the global variance of each dimension (0 = off);
    /// for full covariance applied as an eigenvalue floor of the covariance scaled by it.
    #[cfg_attr(feature = "clap", arg(long = "rel-var-floor", default_value_t = 0.0))]
    pub rel_var_floor: f64,
    /// Added to the diagonal of every covariance (scikit-learn's reg_covar; 0 = off).
    #[cfg_attr(feature = "clap", arg(long = "reg-covar", default_value_t = 0.0))]
    pub reg_covar: f64,
    /// Full covariance only: eigenvalues are floored at max|eig|/max-condition.
    #[cfg_attr(feature = "clap", arg(long = "max-condition", default_value_t = 1e4))]
    pub max_condition: f64,
    /// After the update, split the heaviest components until there are this many (0 = off).
    #[cfg_attr(feature = "clap", arg(long = "mix-up", default_value_t = 0))]
    pub mix_up: usize,
    /// Mixing up moves the two halves' means by ±perturb-factor·σ·N(0,1).
    #[cfg_attr(feature = "clap", arg(long = "perturb-factor", default_value_t = 0.01))]
    pub perturb_factor: f64,
    /// Seed of the mixing-up perturbation.
    #[cfg_attr(feature = "clap", arg(long = "mix-up-seed", default_value_t = 0))]
    pub mix_up_seed: u64,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        Self {
            min_gaussian_weight: 1e-5,
            min_gaussian_occupancy: 10.0,
            remove_low_count_gaussians: true,
            var_floor: 1e-3,
            rel_var_floor: 0.0,
            reg_covar: 0.0,
            max_condition: 1e4,
            mix_up: 0,
            perturb_factor: 0.01,
            mix_up_seed: 0,
        }
    }
}

impl EstimateOptions {
    /// Kaldi's `MleDiagGmmOptions` defaults (`gmm-global-est`).
    pub fn kaldi_diag() -> Self {
        Self::default()
    }
    /// Kaldi's `MleFullGmmOptions` defaults (`fgmm-global-est`): min occupancy 100.
    pub fn kaldi_full() -> Self {
        Self {
            min_gaussian_occupancy: 100.0,
            ..Self::default()
        }
    }
    /// No floors at all: plain maximum likelihood (scikit-learn with `reg_covar` = 0).
    pub fn no_floors() -> Self {
        Self {
            min_gaussian_weight: 0.0,
            min_gaussian_occupancy: 0.0,
            remove_low_count_gaussians: true,
            var_floor: 0.0,
            rel_var_floor: 0.0,
            reg_covar: 0.0,
            max_condition: f64::INFINITY,
            mix_up: 0,
            perturb_factor: 0.01,
            mix_up_seed: 0,
        }
    }

    /// Check every value; called by [`crate::estimate`] and [`crate::fit`].
    pub fn validate(&self) -> Result<()> {
        let nonneg = |name: &'static str, v: f64| -> Result<()> {
            if v >= 0.0 && !v.is_nan() {
                Ok(())
            } else {
                Err(invalid(name, v, "must be >= 0"))
            }
        };
        nonneg("min-gaussian-weight", self.min_gaussian_weight)?;
        if self.min_gaussian_weight >= 1.0 {
            return Err(invalid(
                "min-gaussian-weight",
                self.min_gaussian_weight,
                "must be < 1",
            ));
        }
        nonneg("min-gaussian-occupancy", self.min_gaussian_occupancy)?;
        nonneg("var-floor", self.var_floor)?;
        nonneg("rel-var-floor", self.rel_var_floor)?;
        nonneg("reg-covar", self.reg_covar)?;
        nonneg("perturb-factor", self.perturb_factor)?;
        if !(self.max_condition >= 1.0) {
            return Err(invalid("max-condition", self.max_condition, "must be >= 1"));
        }
        for (name, value) in [
            ("var-floor", self.var_floor),
            ("rel-var-floor", self.rel_var_floor),
            ("reg-covar", self.reg_covar),
        ] {
            if !value.is_finite() {
                return Err(invalid(name, value, "floors must be finite"));
            }
        }
        Ok(())
    }
}

/// Options of [`crate::fit`] (`gmm-train`). Defaults are the coursework's: K=5, full covariance,
/// k-means initialisation, seed 0; EM stops at |Δ average log-likelihood per frame| < `tol` or after
/// `num_iters` iterations (scikit-learn's defaults 1e-3 and 100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct FitOptions {
    /// Number of Gaussians (K=1 is the single Gaussian model).
    #[cfg_attr(feature = "clap", arg(long = "num-gauss", default_value_t = 5))]
    pub num_gauss: usize,
    /// Covariance type: full or diag.
    #[cfg_attr(feature = "clap", arg(long = "covariance", value_enum, default_value_t = CovarianceType::Full))]
    pub covariance: CovarianceType,
    /// Maximum number of EM iterations (0: return the initial model).
    #[cfg_attr(feature = "clap", arg(long = "num-iters", default_value_t = 100))]
    pub num_iters: usize,
    /// Convergence threshold on the change of the average log-likelihood per frame (0: run all
    /// iterations).
    #[cfg_attr(feature = "clap", arg(long = "tol", default_value_t = 1e-3))]
    pub tol: f64,
    /// Initialisation: kmeans, random or kmeans++.
    #[cfg_attr(feature = "clap", arg(long = "init", value_enum, default_value_t = InitMethod::Kmeans))]
    pub init: InitMethod,
    /// Initial covariance for --init=random|kmeans++: identity or global.
    #[cfg_attr(feature = "clap", arg(long = "init-covariance", value_enum, default_value_t = InitCovariance::Identity))]
    pub init_covariance: InitCovariance,
    /// Number of initialisations; the model with the best final log-likelihood is kept.
    #[cfg_attr(feature = "clap", arg(long = "n-init", default_value_t = 1))]
    pub n_init: usize,
    /// Random seed (initialisation i of --n-init uses seed + i).
    #[cfg_attr(feature = "clap", arg(long = "seed", default_value_t = 0))]
    pub seed: u64,
    /// Maximum Lloyd iterations of the k-means initialisation.
    #[cfg_attr(feature = "clap", arg(long = "kmeans-iters", default_value_t = 300))]
    pub kmeans_iters: usize,
    /// Tolerance of the k-means initialisation (see `cepstra kmeans --tol`).
    #[cfg_attr(feature = "clap", arg(long = "kmeans-tol", default_value_t = 1e-4))]
    pub kmeans_tol: f64,
    /// Estimation (M-step) options.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub estimate: EstimateOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            num_gauss: 5,
            covariance: CovarianceType::Full,
            num_iters: 100,
            tol: 1e-3,
            init: InitMethod::Kmeans,
            init_covariance: InitCovariance::Identity,
            n_init: 1,
            seed: 0,
            kmeans_iters: 300,
            kmeans_tol: 1e-4,
            estimate: EstimateOptions::default(),
        }
    }
}

/// The most iterations (EM passes, Lloyd iterations, initialisations) an option may ask for.
const MAX_ITERS: usize = 100_000;

impl FitOptions {
    /// Check every value; called by [`crate::fit`].
    pub fn validate(&self) -> Result<()> {
        if self.num_gauss == 0 {
            return Err(invalid("num-gauss", self.num_gauss, "must be at least 1"));
        }
        if self.n_init == 0 {
            return Err(invalid("n-init", self.n_init, "must be at least 1"));
        }
        // Bounded so that no option value runs without end (EM stops at --tol long before).
        for (name, value) in [
            ("num-iters", self.num_iters),
            ("kmeans-iters", self.kmeans_iters),
            ("n-init", self.n_init),
        ] {
            if value > MAX_ITERS {
                return Err(invalid(name, value, "must be at most 100000"));
            }
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(invalid("tol", self.tol, "must be finite and >= 0"));
        }
        if !(self.kmeans_tol >= 0.0 && self.kmeans_tol.is_finite()) {
            return Err(invalid(
                "kmeans-tol",
                self.kmeans_tol,
                "must be finite and >= 0",
            ));
        }
        self.estimate.validate()
    }
}

/// Options of Kaldi's `gmm-global-init-from-feats` ([`crate::kaldi_compat::init_from_feats`]),
/// with Kaldi's defaults: a diagonal GMM initialised from random frames (means) and the global
/// variance, then `num_iters` EM passes on at most `num_frames` frames kept in memory, mixing up
/// from `num_gauss_init` to `num_gauss` Gaussians by splitting until half-way through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default)]
pub struct InitFromFeatsOptions {
    /// Number of Gaussians in the model.
    #[cfg_attr(feature = "clap", arg(long = "num-gauss", default_value_t = 100))]
    pub num_gauss: usize,
    /// Number of Gaussians in the model initially (if nonzero and less than num-gauss, mixture
    /// splitting up to num-gauss during the first half of the iterations).
    #[cfg_attr(feature = "clap", arg(long = "num-gauss-init", default_value_t = 0))]
    pub num_gauss_init: usize,
    /// Number of iterations of training.
    #[cfg_attr(feature = "clap", arg(long = "num-iters", default_value_t = 50))]
    pub num_iters: usize,
    /// Number of feature vectors to keep in memory and train on (a uniform random sample of the
    /// input frames, by reservoir sampling).
    #[cfg_attr(feature = "clap", arg(long = "num-frames", default_value_t = 200000))]
    pub num_frames: usize,
    /// Seed of the random number generator (frame sample, initial means, splitting).
    #[cfg_attr(feature = "clap", arg(long = "srand", default_value_t = 0))]
    pub srand: u64,
    /// Minimum occupancy to update a Gaussian.
    #[cfg_attr(
        feature = "clap",
        arg(long = "min-gaussian-occupancy", default_value_t = 10.0)
    )]
    pub min_gaussian_occupancy: f64,
    /// Minimum Gaussian weight before it is removed.
    #[cfg_attr(
        feature = "clap",
        arg(long = "min-gaussian-weight", default_value_t = 1e-5)
    )]
    pub min_gaussian_weight: f64,
    /// Variance floor (absolute variance).
    #[cfg_attr(feature = "clap", arg(long = "min-variance", default_value_t = 1e-3))]
    pub min_variance: f64,
    /// Remove Gaussians that fall below the floors.
    #[cfg_attr(feature = "clap", arg(long = "remove-low-count-gaussians", default_value_t = true,
        action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub remove_low_count_gaussians: bool,
}

impl Default for InitFromFeatsOptions {
    fn default() -> Self {
        Self {
            num_gauss: 100,
            num_gauss_init: 0,
            num_iters: 50,
            num_frames: 200000,
            srand: 0,
            min_gaussian_occupancy: 10.0,
            min_gaussian_weight: 1e-5,
            min_variance: 1e-3,
            remove_low_count_gaussians: true,
        }
    }
}

impl InitFromFeatsOptions {
    /// The M-step options of each pass (Kaldi's `MleDiagGmmOptions`).
    pub fn estimate(&self) -> EstimateOptions {
        EstimateOptions {
            min_gaussian_weight: self.min_gaussian_weight,
            min_gaussian_occupancy: self.min_gaussian_occupancy,
            remove_low_count_gaussians: self.remove_low_count_gaussians,
            var_floor: self.min_variance,
            ..EstimateOptions::kaldi_diag()
        }
    }
    /// The initial number of Gaussians: `num_gauss_init`, or `num_gauss` when it is 0 or larger.
    pub fn initial_num_gauss(&self) -> usize {
        if self.num_gauss_init == 0 || self.num_gauss_init > self.num_gauss {
            self.num_gauss
        } else {
            self.num_gauss_init
        }
    }
    /// Gaussians added after each pass: (num-gauss − initial) / (num-iters / 2), Kaldi's
    /// schedule.
    pub fn gauss_increment(&self) -> usize {
        match self.num_iters / 2 {
            0 => 0,
            h => (self.num_gauss - self.initial_num_gauss()) / h,
        }
    }
    /// Check every value; called by [`crate::kaldi_compat::init_from_feats`].
    pub fn validate(&self) -> Result<()> {
        if self.num_gauss == 0 {
            return Err(invalid("num-gauss", self.num_gauss, "must be at least 1"));
        }
        if self.num_frames == 0 {
            return Err(invalid("num-frames", self.num_frames, "must be at least 1"));
        }
        if self.num_iters > MAX_ITERS {
            return Err(invalid(
                "num-iters",
                self.num_iters,
                "must be at most 100000",
            ));
        }
        if self.num_iters < 2 && self.initial_num_gauss() < self.num_gauss {
            return Err(invalid(
                "num-iters",
                self.num_iters,
                "must be at least 2 to mix up from --num-gauss-init to --num-gauss",
            ));
        }
        self.estimate().validate()
    }
}

/// Options that passed their checks: built only by [`ParamGuard::check`] (linfa's `ParamGuard`
/// pattern), read through `Deref`. Functions that take a `Checked` do not check again: the
/// options are validated once, where they enter the library.
///
/// ```
/// use cepstra_gmm::{FitOptions, ParamGuard};
/// let opts = FitOptions { num_gauss: 4, ..Default::default() }.check()?;
/// assert_eq!(opts.num_gauss, 4);
/// let bad = FitOptions { num_gauss: 0, ..Default::default() }.check();
/// assert!(matches!(bad, Err(cepstra_gmm::Error::InvalidOption { option: "num-gauss", .. })));
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<O>(O);

impl<O> Checked<O> {
    /// The options.
    pub fn into_inner(self) -> O {
        self.0
    }
    /// Options valid by construction (derived inside the library from checked options).
    pub(crate) fn assume_valid(o: O) -> Self {
        Checked(o)
    }
}

impl<O> std::ops::Deref for Checked<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.0
    }
}

/// Turns plain options into [`Checked`] ones (every value checked once).
pub trait ParamGuard: Sized + Clone {
    /// The options, checked.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first value out of range.
    fn check(self) -> Result<Checked<Self>>;
    /// As [`Self::check`] on a copy.
    ///
    /// # Errors
    /// As [`Self::check`].
    fn check_ref(&self) -> Result<Checked<Self>> {
        self.clone().check()
    }
}

macro_rules! param_guard {
    ($($t:ty),*) => {$(
        impl ParamGuard for $t {
            fn check(self) -> Result<Checked<Self>> {
                self.validate()?;
                Ok(Checked(self))
            }
        }
    )*};
}
param_guard!(
    KmeansOptions,
    EstimateOptions,
    FitOptions,
    InitFromFeatsOptions
);

pub(crate) fn invalid(
    option: &'static str,
    value: impl std::fmt::Display,
    reason: &'static str,
) -> Error {
    Error::InvalidOption {
        option,
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_invalid_floor_names_its_own_option() {
        for (name, set) in [
            (
                "reg-covar",
                (|o: &mut EstimateOptions| o.reg_covar = f64::INFINITY) as fn(&mut _),
            ),
            ("rel-var-floor", |o| o.rel_var_floor = f64::INFINITY),
            ("var-floor", |o| o.var_floor = f64::INFINITY),
        ] {
            let mut o = EstimateOptions::default();
            set(&mut o);
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains(&format!("--{name}=inf")), "{name}: {e}");
        }
    }

    #[test]
    fn iteration_counts_are_bounded() {
        let o = FitOptions {
            num_iters: usize::MAX,
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--num-iters"));
        let o = KmeansOptions {
            max_iters: 1 << 40,
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--max-iters"));
        assert!(FitOptions::default().validate().is_ok());
    }
}
