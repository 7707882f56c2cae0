//! Frame log-likelihoods and accumulation as `{f,}gmm-global-get-frame-likes` and
//! `{f,}gmm-global-acc-stats`, and the float rounding of Kaldi's accumulator files.

use ndarray::{Array1, Array3, ArrayView1, ArrayView2};

use super::blas::*;
use super::model::*;
use crate::error::{Error, Result};
use crate::model::Gmm;
use crate::stats::{GmmStats, SecondOrder};

pub(super) fn check_feats(gmm: &Gmm, feats: ArrayView2<'_, f32>) -> Result<()> {
    gmm.check_dim(feats.ncols())?;
    if let Some(((frame, dim), &v)) = feats.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            frame,
            dim,
            value: v as f64,
        });
    }
    Ok(())
}

/// Frame log-likelihoods as Kaldi's `gmm-global-get-frame-likes` / `fgmm-global-get-frame-likes`
/// compute them (float32 `LogLikelihoods` from the model's float natural parameters, then
/// `LogSumExp` with its ln(FLT_EPSILON) pruning and a double sum).
///
/// A model read from a Kaldi file (or made by this module) is evaluated with exactly its stored
/// float parameters; any other model is first converted as Kaldi's `CopyToDiagGmm` /
/// `CopyToFullGmm` would.
pub fn kaldi_frame_log_likelihoods(gmm: &Gmm, feats: ArrayView2<'_, f32>) -> Result<Array1<f32>> {
    check_feats(gmm, feats)?;
    let model = KaldiModel::of(gmm)?;
    let mut lls = vec![0.0f32; model.num_gauss()];
    let mut scratch = Vec::new();
    let mut x = vec![0.0f32; model.dim()];
    let mut out = Array1::zeros(feats.nrows());
    for (t, row) in feats.outer_iter().enumerate() {
        x.iter_mut().zip(row.iter()).for_each(|(a, &b)| *a = b);
        model.component_lls(&x, &mut scratch, &mut lls);
        out[t] = log_sum_exp(&lls);
    }
    Ok(out)
}

/// Accumulates the statistics of one utterance (`feats`, frames × D) under `gmm` exactly as
/// Kaldi's `gmm-global-acc-stats` / `fgmm-global-acc-stats` do
/// (`AccumDiagGmm::AccumulateFromDiag` / `AccumFullGmm::AccumulateFromFull`): float32 component
/// log-likelihoods and float `ApplySoftMax` posteriors (scaled by the frame weight, frames of
/// weight 0 skipped), statistics added in f64. Returns the utterance's total log-likelihood,
/// summed in float as Kaldi's `file_like` (Kaldi adds it to a double total per utterance: call
/// this once per utterance for the same total).
///
/// ```
/// use cepstra_gmm::{kaldi_compat, DiagGmm, Gmm, GmmStats};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let mut st = GmmStats::for_model(&gmm);
/// let ll = kaldi_compat::accumulate_kaldi(&mut st, &gmm, array![[0.5f32], [1.0]].view(), None)?;
/// assert_eq!(st.occupancy()[0], 2.0);
/// assert!((ll - st.total_loglike()).abs() < 1e-12);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[doc(alias = "AccumulateFromDiag")]
#[doc(alias = "AccumulateFromFull")]
pub fn accumulate_kaldi(
    stats: &mut GmmStats,
    gmm: &Gmm,
    feats: ArrayView2<'_, f32>,
    weights: Option<ArrayView1<'_, f32>>,
) -> Result<f64> {
    check_stats_model(stats, gmm)?;
    check_feats(gmm, feats)?;
    if let Some(w) = weights {
        if w.len() != feats.nrows() {
            return Err(Error::DimensionMismatch {
                what: "frame weights vs frames",
                expected: feats.nrows(),
                got: w.len(),
            });
        }
    }
    let model = KaldiModel::of(gmm)?;
    let (k, d) = (model.num_gauss(), model.dim());
    let mut post = vec![0.0f32; k];
    let mut scratch = Vec::new();
    let mut x = vec![0.0f32; d];
    let mut xd = vec![0.0f64; d];
    let mut file_like = 0.0f32;
    let mut file_weight = 0.0f32;
    for (t, row) in feats.outer_iter().enumerate() {
        let weight = weights.map_or(1.0f32, |w| w[t]);
        if weight == 0.0 {
            continue;
        }
        file_weight += weight;
        x.iter_mut().zip(row.iter()).for_each(|(a, &b)| *a = b);
        model.component_lls(&x, &mut scratch, &mut post);
        let log_like = apply_softmax(&mut post);
        if !log_like.is_finite() {
            return Err(Error::InvalidModel(format!(
                "frame {t} has log-likelihood {log_like} under Kaldi's float arithmetic: the model is too ill-conditioned (raise --var-floor)"
            )));
        }
        if weight != 1.0 {
            post.iter_mut().for_each(|p| *p *= weight);
        }
        file_like += weight * log_like;
        xd.iter_mut().zip(&x).for_each(|(a, &b)| *a = b as f64);
        for (c, &p) in post.iter().enumerate() {
            let p = p as f64;
            stats.occupancy[c] += p;
            for (f, &xi) in stats.first.row_mut(c).iter_mut().zip(&xd) {
                *f += p * xi;
            }
            match &mut stats.second {
                SecondOrder::Diag(s) => {
                    for (v, &xi) in s.row_mut(c).iter_mut().zip(&xd) {
                        *v += p * (xi * xi);
                    }
                }
                SecondOrder::Full(s) => {
                    if p != 0.0 {
                        for (i, &xi) in xd.iter().enumerate() {
                            for (j, &xj) in xd.iter().enumerate().take(i + 1) {
                                let v = s[[c, i, j]] + p * (xi * xj);
                                s[[c, i, j]] = v;
                                s[[c, j, i]] = v;
                            }
                        }
                    }
                }
            }
        }
    }
    stats.loglike += file_like as f64;
    stats.num_frames += file_weight as f64;
    Ok(file_like as f64)
}

pub(super) fn check_stats_model(stats: &GmmStats, gmm: &Gmm) -> Result<()> {
    if gmm.covariance_type() != stats.covariance_type() {
        return Err(Error::CovarianceMismatch(
            "model and statistics differ (diag vs full)",
        ));
    }
    if gmm.num_gauss() != stats.num_gauss() || gmm.dim() != stats.dim() {
        return Err(Error::DimensionMismatch {
            what: "components × dimension of model vs statistics",
            expected: stats.num_gauss() * stats.dim(),
            got: gmm.num_gauss() * gmm.dim(),
        });
    }
    Ok(())
}

/// The statistics as Kaldi's estimator sees them after the accumulator file: `AccumDiagGmm` /
/// `AccumFullGmm::Write` round every accumulator to float32 (full second-order statistics
/// centred first, Σγxxᵀ − (1/γ)·mmᵀ, and un-centred again on reading with the float γ and m).
/// The frame count and total log-likelihood are kept.
pub fn round_stats_like_kaldi_acc(stats: &GmmStats) -> GmmStats {
    let occ = stats.occupancy.mapv(|v| v as f32 as f64);
    let first = stats.first.mapv(|v| v as f32 as f64);
    let second = match &stats.second {
        SecondOrder::Diag(s) => SecondOrder::Diag(s.mapv(|v| v as f32 as f64)),
        SecondOrder::Full(s) => {
            let (k, d) = (stats.num_gauss(), stats.dim());
            let mut out = Array3::zeros((k, d, d));
            for c in 0..k {
                let o = stats.occupancy[c];
                let m = stats.first.row(c);
                let (of, mf) = (occ[c], first.row(c));
                for i in 0..d {
                    for j in 0..=i {
                        let mut v = s[[c, i, j]];
                        if o != 0.0 {
                            v += (-1.0 / o * m[i]) * m[j];
                        }
                        let mut r = v as f32 as f64;
                        if of != 0.0 {
                            r += (1.0 / of * mf[i]) * mf[j];
                        }
                        out[[c, i, j]] = r;
                        out[[c, j, i]] = r;
                    }
                }
            }
            SecondOrder::Full(out)
        }
    };
    GmmStats {
        occupancy: occ,
        first,
        second,
        num_frames: stats.num_frames,
        loglike: stats.loglike,
    }
}
