//! The M-step of `gmm-global-est` / `fgmm-global-est` and the acc → est iterations of
//! [`fit_kaldi`].

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::accs::*;
use super::blas::*;
use super::model::*;
use crate::error::{Error, Result};
use crate::estimate::{EstimateReport, Fate, RemovalPolicy};
use crate::linalg;
use crate::model::Gmm;
use crate::options::{Checked, CovarianceType, EstimateOptions, ParamGuard};
use crate::stats::{GmmStats, SecondOrder};

/// Re-estimates `gmm` from `stats` as Kaldi's `gmm-global-est` / `fgmm-global-est`
/// (`MleDiagGmmUpdate` / `MleFullGmmUpdate`) do, and returns the model in Kaldi's float natural
/// parameters (written to a Kaldi file byte for byte as Kaldi would write it).
///
/// Uses `min_gaussian_weight`, `min_gaussian_occupancy`, `remove_low_count_gaussians`,
/// `var_floor` (diag: `--min-variance`; full: `--variance-floor`) and `max_condition` (full),
/// each rounded to float as Kaldi's options are. `rel_var_floor`, `reg_covar` and `mix_up` have
/// no Kaldi counterpart here and must be 0. Pass statistics through
/// [`round_stats_like_kaldi_acc`] first to reproduce the acc → file → est pipeline.
///
/// Order, as Kaldi: per component, weight = γ/Σγ; if γ > min occupancy and weight > min weight:
/// mean = m·(1/γ), covariance = S·(1/γ) − μμᵀ, floored (diag: each variance at `var_floor`;
/// full: eigenvalues at float(max(var_floor, max|eig|/max_condition)), the matrix always rebuilt
/// from its eigen-decomposition); otherwise removed (never the last one) or, with removal off,
/// kept with weight max(w, min weight). Then float natural parameters, gconsts, removal with float
/// renormalisation of the weights, gconsts again.
pub fn estimate_kaldi(
    stats: &GmmStats,
    gmm: &Gmm,
    opts: &EstimateOptions,
) -> Result<(Gmm, EstimateReport)> {
    estimate_kaldi_checked(stats, gmm, &opts.check_ref()?)
}

fn estimate_kaldi_checked(
    stats: &GmmStats,
    gmm: &Gmm,
    opts: &Checked<EstimateOptions>,
) -> Result<(Gmm, EstimateReport)> {
    check_stats_model(stats, gmm)?;
    for (name, v) in [
        ("rel-var-floor", opts.rel_var_floor),
        ("reg-covar", opts.reg_covar),
        ("mix-up", opts.mix_up as f64),
    ] {
        if v != 0.0 {
            return Err(Error::InvalidOption {
                option: name,
                value: v.to_string(),
                reason: "has no Kaldi counterpart: set it to 0 for Kaldi-compatible estimation",
            });
        }
    }
    let old = KaldiModel::of(gmm)?;
    let (k, d) = (stats.num_gauss(), stats.dim());
    let occ_sum = kaldi_sum_f64(
        stats
            .occupancy
            .as_slice()
            .unwrap_or(&stats.occupancy.to_vec()),
    );
    if !(occ_sum > 0.0) || !occ_sum.is_finite() {
        return Err(Error::NoData(format!(
            "the statistics have total occupancy {occ_sum}: accumulate some frames first"
        )));
    }
    let min_occ = opts.min_gaussian_occupancy as f32 as f64;
    let min_w = opts.min_gaussian_weight as f32 as f64;
    let var_floor = opts.var_floor as f32 as f64;
    let max_condition = opts.max_condition as f32 as f64;
    let mut report = EstimateReport {
        count: occ_sum,
        avg_loglike: stats.avg_loglike(),
        ..Default::default()
    };
    // The old model in normal form (used for starved components that are kept).
    let old_gmm = old.clone().into_gmm()?;
    let mut weights = old_gmm.weights().to_vec();
    let mut means = old_gmm.means().to_owned();
    let mut covs = old_gmm.covars_full();
    let mut remove = Vec::new();
    let policy = RemovalPolicy {
        min_occupancy: min_occ,
        min_weight: min_w,
        remove_low_count: opts.remove_low_count_gaussians,
    };
    for c in 0..k {
        let occ = stats.occupancy[c];
        let prob = occ / occ_sum;
        let fate = policy.fate(c, occ, prob, d, k, &mut remove, &mut report);
        if fate == Fate::Update {
            weights[c] = prob;
            let inv = 1.0 / occ;
            let mean: Vec<f64> = stats.first.row(c).iter().map(|v| v * inv).collect();
            let mut floored = 0;
            match &stats.second {
                SecondOrder::Diag(s) => {
                    for i in 0..d {
                        let mut v = s[[c, i]] * inv;
                        v += -mean[i] * mean[i];
                        if v < var_floor {
                            v = var_floor;
                            floored += 1;
                        }
                        covs[[c, i, i]] = v;
                    }
                }
                SecondOrder::Full(s) => {
                    let mut cov = Array2::<f64>::zeros((d, d));
                    for i in 0..d {
                        for j in 0..=i {
                            let v = s[[c, i, j]] * inv + (-mean[i]) * mean[j];
                            cov[[i, j]] = v;
                            cov[[j, i]] = v;
                        }
                    }
                    let (eig, vecs) = linalg::sym_eig(cov.view());
                    let max_abs = eig.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    let floor = var_floor.max(max_abs / max_condition) as f32 as f64;
                    let s: Vec<f64> = eig
                        .iter()
                        .map(|&e| {
                            if e < floor {
                                floored += 1;
                                floor
                            } else {
                                e
                            }
                        })
                        .collect();
                    for i in 0..d {
                        for j in 0..=i {
                            let v: f64 = (0..d).map(|q| vecs[[i, q]] * s[q] * vecs[[j, q]]).sum();
                            covs[[c, i, j]] = v;
                            covs[[c, j, i]] = v;
                        }
                    }
                }
            }
            if floored > 0 {
                report.floored_elements += floored;
                report.floored_gaussians += 1;
            }
            means.row_mut(c).assign(&Array1::from(mean));
        } else if fate == Fate::KeepStarved {
            weights[c] = prob.max(min_w);
        }
    }
    report.finish();
    let mut new = match stats.covariance_type() {
        CovarianceType::Diag => {
            let vars = Array2::from_shape_fn((k, d), |(c, i)| covs[[c, i, i]]);
            for ((c, i), &v) in vars.indexed_iter() {
                if !(v > 0.0) || !v.is_finite() {
                    return Err(Error::SingularCovariance {
                        component: c,
                        pivot: i,
                        context: format!(" (variance {v:e} of dimension {i}): raise --var-floor"),
                    });
                }
            }
            KaldiModel::diag_from_normal(&weights, means.view(), vars.view())?
        }
        CovarianceType::Full => KaldiModel::full_from_normal(&weights, means.view(), covs.view())?,
    };
    new.remove_components(&remove)?;
    report.removed = remove;
    Ok((new.into_gmm()?, report))
}

/// One iteration of [`fit_kaldi`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KaldiIteration {
    /// Average log-likelihood per frame as `{f,}gmm-global-acc-stats` reports it (float per
    /// utterance, double total).
    pub acc_loglike: f64,
    /// Mean of the `{f,}gmm-global-get-frame-likes` values of the model before the update.
    pub frame_likes_mean: f64,
    /// Number of components before the update.
    pub num_gauss: usize,
    /// What the update did.
    pub estimate: EstimateReport,
}

/// The trace of [`fit_kaldi`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KaldiFitReport {
    /// One entry per iteration.
    pub iterations: Vec<KaldiIteration>,
    /// Mean frame log-likelihood of the final model (as `get-frame-likes`).
    pub final_frame_likes_mean: f64,
}

/// Kaldi's training loop for one model: `num_iters` × (`{f,}gmm-global-acc-stats` over
/// `utterances`, accumulator file, `{f,}gmm-global-est` with `opts`), starting from `init`. Each
/// utterance is accumulated as [`accumulate_kaldi`]; the statistics pass through
/// [`round_stats_like_kaldi_acc`] and [`estimate_kaldi`]. Independent of [`crate::FitOptions`]:
/// no initialisation, restarts or convergence test, exactly the iterations asked for.
pub fn fit_kaldi(
    init: &Gmm,
    utterances: &[ArrayView2<'_, f32>],
    opts: &EstimateOptions,
    num_iters: usize,
) -> Result<(Gmm, KaldiFitReport)> {
    let opts = opts.check_ref()?;
    let mut gmm = init.clone();
    let mut report = KaldiFitReport::default();
    for _ in 0..num_iters {
        let mut stats = GmmStats::for_model(&gmm);
        for u in utterances {
            accumulate_kaldi(&mut stats, &gmm, *u, None)?;
        }
        let frame_likes_mean = frame_likes_mean(&gmm, utterances)?;
        let rounded = round_stats_like_kaldi_acc(&stats);
        let (next, est) = estimate_kaldi_checked(&rounded, &gmm, &opts)?;
        report.iterations.push(KaldiIteration {
            acc_loglike: stats.avg_loglike(),
            frame_likes_mean,
            num_gauss: gmm.num_gauss(),
            estimate: est,
        });
        gmm = next;
    }
    report.final_frame_likes_mean = frame_likes_mean(&gmm, utterances)?;
    Ok((gmm, report))
}

pub(super) fn frame_likes_mean(gmm: &Gmm, utterances: &[ArrayView2<'_, f32>]) -> Result<f64> {
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for u in utterances {
        let l = kaldi_frame_log_likelihoods(gmm, *u)?;
        sum += l.iter().map(|&v| v as f64).sum::<f64>();
        n += l.len();
    }
    Ok(if n > 0 { sum / n as f64 } else { 0.0 })
}
