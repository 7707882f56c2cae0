//! The M-step from statistics (Kaldi's `MleDiagGmmUpdate`/`MleFullGmmUpdate` with scikit-learn's
//! `reg_covar`), and mixing up (Kaldi's `Split`).

use ndarray::{Array1, Array2, Array3, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::linalg;
use crate::model::Gmm;
use crate::options::{Checked, EstimateOptions, ParamGuard};
use crate::stats::{GmmStats, SecondOrder};

/// What an M-step did (Kaldi logs these as warnings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EstimateReport {
    /// Indices (in the input model) of components removed for too little data.
    pub removed: Vec<usize>,
    /// Indices of starved components that were kept with their old parameters.
    pub kept_starved: Vec<usize>,
    /// Number of components in which some variance (diag) or eigenvalue (full) was floored.
    pub floored_gaussians: usize,
    /// Number of variances/eigenvalues floored.
    pub floored_elements: usize,
    /// Component split at each mixing-up step (indices in the model being grown).
    pub split: Vec<usize>,
    /// Total occupancy of the statistics.
    pub count: f64,
    /// Average log-likelihood per frame recorded in the statistics.
    pub avg_loglike: f64,
    /// Human-readable messages, Kaldi's wording.
    pub messages: Vec<String>,
}

/// What the M-step does with one component ([`RemovalPolicy::fate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Enough data: re-estimated (then floored).
    Update,
    /// Too little data: removed.
    Remove,
    /// Too little data, not removed (removal off, or it is the last component): kept with its
    /// old parameters and weight max(w, min weight).
    KeepStarved,
}

/// Kaldi's removal policy (`MleDiagGmmUpdate` / `MleFullGmmUpdate`), shared by [`estimate`] and
/// the Kaldi emulation ([`crate::estimate_kaldi`], which passes the thresholds rounded to float as
/// Kaldi's options are): a component is updated when its occupancy and weight exceed the minima,
/// otherwise removed (never the last one) when removal is on, otherwise kept starved.
pub(crate) struct RemovalPolicy {
    pub min_occupancy: f64,
    pub min_weight: f64,
    pub remove_low_count: bool,
}

impl RemovalPolicy {
    /// The fate of component `c` (occupancy `occ`, weight `prob`, of `k`, dimension `d`), with
    /// Kaldi's message in `report` and `c` added to `removed` or `report.kept_starved`.
    #[allow(clippy::too_many_arguments)]
    pub fn fate(
        &self,
        c: usize,
        occ: f64,
        prob: f64,
        d: usize,
        k: usize,
        removed: &mut Vec<usize>,
        report: &mut EstimateReport,
    ) -> Fate {
        if occ > self.min_occupancy && prob > self.min_weight {
            Fate::Update
        } else if self.remove_low_count && removed.len() < k - 1 {
            report.messages.push(format!(
                "Too little data - removing Gaussian (weight {prob:.6}, occupation count {occ:.6}, vector size {d})"
            ));
            removed.push(c);
            Fate::Remove
        } else {
            report.messages.push(format!(
                "Gaussian has too little data but not removing it: i = {c}, occ = {occ}, weight = {prob}"
            ));
            report.kept_starved.push(c);
            Fate::KeepStarved
        }
    }
}

impl EstimateReport {
    /// Adds the flooring summary (Kaldi's wording) and logs every message as a warning.
    pub(crate) fn finish(&mut self) {
        if self.floored_elements > 0 {
            self.messages.push(format!(
                "{} variances floored in {} Gaussians.",
                self.floored_elements, self.floored_gaussians
            ));
        }
        for m in &self.messages {
            log::warn!("{m}");
        }
    }
}

/// Re-estimates `gmm` from `stats` (Kaldi's `gmm-global-est`/`fgmm-global-est`), applying the
/// floors of `opts` in the order documented at [`EstimateOptions`], then mixing up if
/// `opts.mix_up` exceeds the component count. Never returns a model with NaN: a covariance that
/// cannot be made positive definite is an [`Error::SingularCovariance`].
///
/// ```
/// use cepstra_gmm::{estimate, DiagGmm, EstimateOptions, Gmm, GmmStats};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let mut st = GmmStats::for_model(&gmm);
/// st.accumulate(&gmm, array![[1.0f32], [3.0]].view(), None)?;
/// let opts = EstimateOptions { min_gaussian_occupancy: 0.0, ..Default::default() };
/// let (new, _report) = estimate(&st, &gmm, &opts)?;
/// assert!((new.means()[[0, 0]] - 2.0).abs() < 1e-12);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub fn estimate(
    stats: &GmmStats,
    gmm: &Gmm,
    opts: &EstimateOptions,
) -> Result<(Gmm, EstimateReport)> {
    estimate_checked(stats, gmm, &opts.check_ref()?)
}

/// [`estimate`] with checked options.
pub(crate) fn estimate_checked(
    stats: &GmmStats,
    gmm: &Gmm,
    opts: &Checked<EstimateOptions>,
) -> Result<(Gmm, EstimateReport)> {
    crate::stats::check_same_shape(
        crate::stats::Shape::of_model(gmm),
        crate::stats::Shape::of_stats(stats),
        "model and statistics differ (diag vs full)",
        "components of model vs statistics",
        "dimension of model vs statistics",
    )?;
    estimate_inner(stats, Some(gmm), opts)
}

/// A model estimated from statistics alone (no previous model: starved components are removed,
/// or an error when removal is off).
pub fn estimate_from_stats(
    stats: &GmmStats,
    opts: &EstimateOptions,
) -> Result<(Gmm, EstimateReport)> {
    let opts = opts.check_ref()?;
    estimate_inner(stats, None, &opts)
}

/// The M-step; `opts` were checked by the caller (every public entry point checks them once).
pub(crate) fn estimate_inner(
    stats: &GmmStats,
    prior: Option<&Gmm>,
    opts: &EstimateOptions,
) -> Result<(Gmm, EstimateReport)> {
    let (k, d) = (stats.num_gauss(), stats.dim());
    let occ_sum: f64 = stats.occupancy.sum();
    if !(occ_sum > 0.0) || !occ_sum.is_finite() {
        return Err(Error::NoData(format!(
            "the statistics have total occupancy {occ_sum}: accumulate some frames first"
        )));
    }
    let mut report = EstimateReport {
        count: occ_sum,
        avg_loglike: stats.avg_loglike(),
        ..Default::default()
    };
    let rel_floor: Option<Array1<f64>> = if opts.rel_var_floor > 0.0 {
        let (_, gvar) = stats.global_mean_var();
        Some(gvar.mapv(|v| (v * opts.rel_var_floor).max(0.0)))
    } else {
        None
    };
    let prior_covs = prior.map(|g| g.covars_full());
    let mut weights = Array1::<f64>::zeros(k);
    let mut means = Array2::<f64>::zeros((k, d));
    let mut covs = Array3::<f64>::zeros((k, d, d));
    let mut remove = Vec::new();
    let policy = RemovalPolicy {
        min_occupancy: opts.min_gaussian_occupancy,
        min_weight: opts.min_gaussian_weight,
        remove_low_count: opts.remove_low_count_gaussians,
    };
    for c in 0..k {
        let occ = stats.occupancy[c];
        let prob = occ / occ_sum;
        let fate = policy.fate(c, occ, prob, d, k, &mut remove, &mut report);
        if fate == Fate::Update {
            weights[c] = prob;
            let mean = stats.first.row(c).mapv(|v| v / occ);
            let mut cov = Array2::<f64>::zeros((d, d));
            match &stats.second {
                SecondOrder::Diag(s) => {
                    let mut floored = 0;
                    for i in 0..d {
                        let mut v = s[[c, i]] / occ - mean[i] * mean[i] + opts.reg_covar;
                        if let Some(f) = &rel_floor {
                            if v < f[i] {
                                v = f[i];
                                floored += 1;
                            }
                        }
                        if v < opts.var_floor {
                            v = opts.var_floor;
                            floored += 1;
                        }
                        if !(v > 0.0) || !v.is_finite() {
                            return Err(Error::SingularCovariance {
                                component: c,
                                pivot: i,
                                context: format!(" (variance {v:e} of dimension {i})"),
                            });
                        }
                        cov[[i, i]] = v;
                    }
                    if floored > 0 {
                        report.floored_elements += floored;
                        report.floored_gaussians += 1;
                    }
                }
                SecondOrder::Full(s) => {
                    let sc = s.index_axis(Axis(0), c);
                    for i in 0..d {
                        for j in 0..d {
                            cov[[i, j]] = sc[[i, j]] / occ - mean[i] * mean[j];
                        }
                        cov[[i, i]] += opts.reg_covar;
                    }
                    linalg::symmetrize(&mut cov);
                    let mut floored = 0;
                    if let Some(f) = &rel_floor {
                        floored += rel_eig_floor(&mut cov, f);
                    }
                    // The eigenvalue floor max(var_floor, λmax/max_condition) changes nothing
                    // when every eigenvalue is above an upper bound of it (λmax ≤ trace for a
                    // positive semi-definite matrix): one Cholesky of the shifted matrix proves
                    // that and spares the eigendecomposition (the same result, bit for bit).
                    if !clears_eig_floor(&cov, opts) {
                        let (s_eig, _) = linalg::sym_eig(cov.view());
                        let max_abs = s_eig.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                        let floor = opts.var_floor.max(max_abs / opts.max_condition);
                        if s_eig.iter().any(|&x| x < floor) {
                            floored += linalg::apply_eig_floor(&mut cov, floor);
                        }
                    }
                    if floored > 0 {
                        report.floored_elements += floored;
                        report.floored_gaussians += 1;
                    }
                }
            }
            means.row_mut(c).assign(&mean);
            covs.index_axis_mut(Axis(0), c).assign(&cov);
        } else if fate == Fate::KeepStarved {
            let (Some(p), Some(pc)) = (prior, prior_covs.as_ref()) else {
                return Err(Error::StarvedComponent {
                    component: c,
                    occupancy: occ,
                    min: opts.min_gaussian_occupancy,
                });
            };
            weights[c] = prob.max(opts.min_gaussian_weight);
            means.row_mut(c).assign(&p.means().row(c));
            covs.index_axis_mut(Axis(0), c)
                .assign(&pc.index_axis(Axis(0), c));
        }
    }
    report.finish();
    report.removed = remove.clone();
    let keep: Vec<usize> = (0..k).filter(|c| !remove.contains(c)).collect();
    let mut weights = weights.select(Axis(0), &keep);
    let wsum = weights.sum();
    weights.mapv_inplace(|w| w / wsum);
    let means = means.select(Axis(0), &keep);
    let covs = covs.select(Axis(0), &keep);
    let cov_type = stats.covariance_type();
    let mut gmm = Gmm::from_params(cov_type, weights, means, covs).map_err(|e| match e {
        Error::SingularCovariance {
            component, pivot, ..
        } => Error::SingularCovariance {
            component: keep[component],
            pivot,
            context: " after the M-step".into(),
        },
        e => e,
    })?;
    if opts.mix_up > gmm.num_gauss() {
        let (g, hist) = split(&gmm, opts.mix_up, opts.perturb_factor, opts.mix_up_seed)?;
        gmm = g;
        report.split = hist;
    }
    Ok((gmm, report))
}

/// Floors `cov` so that F^{-1/2}·cov·F^{-1/2} has eigenvalues ≥ 1 (F = diag(floor)); returns the
/// number of eigenvalues floored (Kaldi's `SpMatrix::ApplyFloor(const SpMatrix&)` with a diagonal
/// floor).
fn rel_eig_floor(cov: &mut Array2<f64>, floor: &Array1<f64>) -> usize {
    let d = cov.nrows();
    if floor.iter().any(|&f| !(f > 0.0)) {
        return 0;
    }
    let s: Array1<f64> = floor.mapv(|f| 1.0 / f.sqrt());
    let mut scaled = Array2::from_shape_fn((d, d), |(i, j)| cov[[i, j]] * s[i] * s[j]);
    let n = linalg::apply_eig_floor(&mut scaled, 1.0);
    if n > 0 {
        *cov = Array2::from_shape_fn((d, d), |(i, j)| scaled[[i, j]] / (s[i] * s[j]));
    }
    n
}

/// Mixing up (Kaldi's `DiagGmm::Split`/`FullGmm::Split`): until there are `target` components,
/// split the heaviest one (first index on ties): both halves get half its weight and its
/// covariance, and means μ ∓ perturb·L·r, r ~ N(0, I), L the Cholesky factor of the covariance
/// (σ·r for diagonal models). Returns the model and the index split at each step.
pub fn split(
    gmm: &Gmm,
    target: usize,
    perturb_factor: f64,
    seed: u64,
) -> Result<(Gmm, Vec<usize>)> {
    let k0 = gmm.num_gauss();
    if target <= k0 {
        return Ok((gmm.clone(), Vec::new()));
    }
    let d = gmm.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = gmm.weights().to_vec();
    let mut means: Vec<Array1<f64>> = gmm.means().outer_iter().map(|r| r.to_owned()).collect();
    let covs = gmm.covars_full();
    let mut cov_list: Vec<Array2<f64>> = covs.outer_iter().map(|c| c.to_owned()).collect();
    let mut hist = Vec::new();
    while weights.len() < target {
        let mut best = 0;
        for i in 1..weights.len() {
            if weights[i] > weights[best] {
                best = i;
            }
        }
        hist.push(best);
        weights[best] /= 2.0;
        let w = weights[best];
        let r: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let cov = cov_list[best].clone();
        let delta: Array1<f64> = match gmm {
            Gmm::Diag(_) => Array1::from_iter((0..d).map(|i| cov[[i, i]].sqrt() * r[i])),
            Gmm::Full(_) => {
                let l =
                    linalg::cholesky(cov.view()).map_err(|pivot| Error::SingularCovariance {
                        component: best,
                        pivot,
                        context: " while mixing up".into(),
                    })?;
                l.dot(&Array1::from(r))
            }
        };
        let m = means[best].clone();
        means[best] = &m - &(&delta * perturb_factor);
        means.push(&m + &(&delta * perturb_factor));
        weights.push(w);
        cov_list.push(cov);
    }
    let k = weights.len();
    let mut mm = Array2::zeros((k, d));
    let mut cc = Array3::zeros((k, d, d));
    for c in 0..k {
        mm.row_mut(c).assign(&means[c]);
        cc.index_axis_mut(Axis(0), c).assign(&cov_list[c]);
    }
    let g = Gmm::from_params(gmm.covariance_type(), Array1::from(weights), mm, cc)?;
    Ok((g, hist))
}

/// Whether every eigenvalue of the covariance `cov` is certainly above the eigenvalue floor of
/// `opts` (so flooring would leave it unchanged): a Cholesky factorisation of
/// `cov − f·I` succeeds, where `f` bounds the floor from above (trace ≥ λmax), with a margin for
/// rounding.
fn clears_eig_floor(cov: &Array2<f64>, opts: &EstimateOptions) -> bool {
    let trace: f64 = cov.diag().sum();
    if !(trace.is_finite() && trace > 0.0) {
        return false;
    }
    let bound = opts.var_floor.max(trace / opts.max_condition);
    let shift = bound * (1.0 + 1e-6) + f64::MIN_POSITIVE;
    let mut shifted = cov.clone();
    for i in 0..shifted.nrows() {
        shifted[[i, i]] -= shift;
    }
    linalg::cholesky(shifted.view()).is_ok()
}
