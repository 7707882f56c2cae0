//! Kaldi's float model (natural parameters, gconsts, component removal) and the covariance
//! conversion of `gmm-global-to-fgmm` / `fgmm-global-to-gmm`.

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};

use super::blas::*;
use crate::error::{Error, Result};
use crate::linalg;
use crate::model::{DiagGmm, FullGmm, Gmm, KaldiRaw, LOG_2PI};
use crate::options::CovarianceType;

/// A model in Kaldi's float natural parameters with the per-frame scratch Kaldi's
/// `LogLikelihoods` uses.
#[derive(Debug, Clone)]
pub(super) enum KaldiModel {
    Diag {
        gconsts: Vec<f32>,
        weights: Vec<f32>,
        means_invvars: Array2<f32>,
        inv_vars: Array2<f32>,
    },
    Full {
        gconsts: Vec<f32>,
        weights: Vec<f32>,
        means_invcovars: Array2<f32>,
        /// Row-major lower packed inverse covariances.
        inv_covars: Vec<Vec<f32>>,
    },
}

impl KaldiModel {
    /// Kaldi's float parameters of `gmm`: the ones read from a Kaldi file (or made by this
    /// module), else converted from the f64 normal parameters as `CopyToDiagGmm` /
    /// `CopyToFullGmm` + `ComputeGconsts` would.
    pub(super) fn of(gmm: &Gmm) -> Result<Self> {
        let stored = match gmm {
            Gmm::Diag(g) => g.kaldi.as_deref(),
            Gmm::Full(g) => g.kaldi.as_deref(),
        };
        match stored {
            Some(KaldiRaw::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            }) => Ok(KaldiModel::Diag {
                gconsts: gconsts.to_vec(),
                weights: weights.to_vec(),
                means_invvars: means_invvars.clone(),
                inv_vars: inv_vars.clone(),
            }),
            Some(KaldiRaw::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            }) => Ok(KaldiModel::Full {
                gconsts: gconsts.to_vec(),
                weights: weights.to_vec(),
                means_invcovars: means_invcovars.clone(),
                inv_covars: inv_covars
                    .iter()
                    .map(|p| pack_lower_f32(p.view()))
                    .collect(),
            }),
            None => match gmm {
                Gmm::Diag(g) => {
                    let w: Vec<f64> = g.weights().to_vec();
                    Self::diag_from_normal(&w, g.means(), g.vars())
                }
                Gmm::Full(g) => {
                    let w: Vec<f64> = g.weights().to_vec();
                    Self::full_from_normal(&w, g.means(), g.covars())
                }
            },
        }
    }

    pub(super) fn num_gauss(&self) -> usize {
        match self {
            KaldiModel::Diag { weights, .. } | KaldiModel::Full { weights, .. } => weights.len(),
        }
    }

    pub(super) fn dim(&self) -> usize {
        match self {
            KaldiModel::Diag { means_invvars, .. } => means_invvars.ncols(),
            KaldiModel::Full {
                means_invcovars, ..
            } => means_invcovars.ncols(),
        }
    }

    /// `DiagGmmNormal::CopyToDiagGmm` + `ComputeGconsts`: float(var) inverted in double,
    /// means_invvars = float(mean)·inv_var in float.
    pub(super) fn diag_from_normal(
        weights: &[f64],
        means: ArrayView2<'_, f64>,
        vars: ArrayView2<'_, f64>,
    ) -> Result<Self> {
        let inv_vars = vars.mapv(|v| (1.0 / (v as f32) as f64) as f32);
        let means_invvars = Array2::from_shape_fn(means.dim(), |(k, i)| {
            (means[[k, i]] as f32) * inv_vars[[k, i]]
        });
        let mut m = KaldiModel::Diag {
            gconsts: vec![0.0; weights.len()],
            weights: weights.iter().map(|&w| w as f32).collect(),
            means_invvars,
            inv_vars,
        };
        m.compute_gconsts()?;
        Ok(m)
    }

    /// `FullGmmNormal::CopyToFullGmm` + `ComputeGconsts`: Σ rounded to float and inverted in
    /// double (`InvertDouble`), means_invcovars = Σ⁻¹·float(mean) by `sspmv`.
    pub(super) fn full_from_normal(
        weights: &[f64],
        means: ArrayView2<'_, f64>,
        covars: ndarray::ArrayView3<'_, f64>,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        let mut inv_covars = Vec::with_capacity(k);
        let mut means_invcovars = Array2::zeros((k, d));
        for c in 0..k {
            let cov_f = covars.index_axis(Axis(0), c).mapv(|v| v as f32);
            let p = invert_double(cov_f.view()).map_err(|pivot| Error::SingularCovariance {
                component: c,
                pivot,
                context: " when converting to Kaldi's natural parameters".into(),
            })?;
            let packed = pack_lower_f32(p.view());
            let mean_f: Vec<f32> = means.row(c).iter().map(|&v| v as f32).collect();
            let miv = sspmv(&packed, &mean_f);
            means_invcovars.row_mut(c).assign(&Array1::from(miv));
            inv_covars.push(packed);
        }
        let mut m = KaldiModel::Full {
            gconsts: vec![0.0; weights.len()],
            weights: weights.iter().map(|&w| w as f32).collect(),
            means_invcovars,
            inv_covars,
        };
        m.compute_gconsts()?;
        Ok(m)
    }

    /// `DiagGmm::ComputeGconsts` / `FullGmm::ComputeGconsts`, float as Kaldi.
    pub(super) fn compute_gconsts(&mut self) -> Result<()> {
        let d = self.dim();
        let offset = (-0.5 * LOG_2PI * d as f64) as f32;
        match self {
            KaldiModel::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            } => {
                for (c, gc_out) in gconsts.iter_mut().enumerate() {
                    let mut gc = weights[c].ln() + offset;
                    for i in 0..d {
                        let (m, iv) = (means_invvars[[c, i]] as f64, inv_vars[[c, i]]);
                        gc = (gc as f64 + 0.5 * (iv.ln() as f64) - 0.5 * m * m / iv as f64) as f32;
                    }
                    *gc_out = finish_gconst(gc, c)?;
                }
            }
            KaldiModel::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            } => {
                for (c, gc_out) in gconsts.iter_mut().enumerate() {
                    let mut gc = weights[c].ln() + offset;
                    let p = unpack_lower_f32(&inv_covars[c], d);
                    let cov =
                        invert_double(p.view()).map_err(|pivot| Error::SingularCovariance {
                            component: c,
                            pivot,
                            context: " (inverse covariance of the Kaldi model)".into(),
                        })?;
                    let cov_packed = pack_lower_f32(cov.view());
                    let logdet = log_pos_def_det(&cov_packed, d).ok_or_else(|| {
                        Error::SingularCovariance {
                            component: c,
                            pivot: 0,
                            context: " (float Cholesky of the Kaldi model's covariance)".into(),
                        }
                    })?;
                    let miv: Vec<f32> = means_invcovars.row(c).to_vec();
                    let vsv = sdot(&sspmv(&cov_packed, &miv), &miv);
                    gc = (gc as f64 - 0.5 * (logdet + vsv) as f64) as f32;
                    *gc_out = finish_gconst(gc, c)?;
                }
            }
        }
        Ok(())
    }

    /// Kaldi's `LogLikelihoods(data, &loglikes)` for one frame, into `out` (K).
    pub(super) fn component_lls(&self, x: &[f32], scratch: &mut Vec<f32>, out: &mut [f32]) {
        match self {
            KaldiModel::Diag {
                gconsts,
                means_invvars,
                inv_vars,
                ..
            } => {
                out.copy_from_slice(gconsts);
                scratch.clear();
                scratch.extend(x.iter().map(|v| v * v));
                sgemv_add(out, 1.0, means_invvars.view(), x);
                sgemv_add(out, -0.5, inv_vars.view(), scratch);
            }
            KaldiModel::Full {
                gconsts,
                means_invcovars,
                inv_covars,
                ..
            } => {
                out.copy_from_slice(gconsts);
                // data_sq = x·xᵀ (sspr), diagonal halved.
                scratch.clear();
                for i in 0..x.len() {
                    for j in 0..=i {
                        let v = x[i] * x[j];
                        scratch.push(if i == j { v * 0.5 } else { v });
                    }
                }
                sgemv_add(out, 1.0, means_invcovars.view(), x);
                for (o, p) in out.iter_mut().zip(inv_covars) {
                    *o -= sdot(scratch, p);
                }
            }
        }
    }

    /// Removes components (ascending), renormalising the float weights after each removal as
    /// `RemoveComponent(g, true)`, then recomputes the gconsts.
    pub(super) fn remove_components(&mut self, remove: &[usize]) -> Result<()> {
        for (n, &g0) in remove.iter().enumerate() {
            let g = g0 - n;
            match self {
                KaldiModel::Diag {
                    gconsts,
                    weights,
                    means_invvars,
                    inv_vars,
                } => {
                    weights.remove(g);
                    gconsts.remove(g);
                    *means_invvars = remove_row(means_invvars, g);
                    *inv_vars = remove_row(inv_vars, g);
                    renormalise(weights);
                }
                KaldiModel::Full {
                    gconsts,
                    weights,
                    means_invcovars,
                    inv_covars,
                } => {
                    weights.remove(g);
                    gconsts.remove(g);
                    *means_invcovars = remove_row(means_invcovars, g);
                    inv_covars.remove(g);
                    renormalise(weights);
                }
            }
        }
        if !remove.is_empty() {
            self.compute_gconsts()?;
        }
        Ok(())
    }

    /// The [`Gmm`] of these float parameters (normal parameters in f64 derived from them as
    /// [`crate::io`]'s Kaldi reader does, the float parameters kept for writing and for this
    /// module).
    pub(super) fn into_gmm(self) -> Result<Gmm> {
        match self {
            KaldiModel::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            } => {
                let vars = inv_vars.mapv(|v| 1.0 / v as f64);
                let means = Array2::from_shape_fn(means_invvars.dim(), |(i, j)| {
                    means_invvars[[i, j]] as f64 * vars[[i, j]]
                });
                let mut g = DiagGmm::new(weights.iter().map(|&w| w as f64).collect(), means, vars)?;
                g.kaldi = Some(Box::new(KaldiRaw::Diag {
                    gconsts: Array1::from(gconsts),
                    weights: Array1::from(weights),
                    means_invvars,
                    inv_vars,
                }));
                Ok(Gmm::Diag(g))
            }
            KaldiModel::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            } => {
                let (k, d) = means_invcovars.dim();
                let mut covs = Array3::zeros((k, d, d));
                let mut means = Array2::zeros((k, d));
                let mut unpacked = Vec::with_capacity(k);
                for (c, p) in inv_covars.iter().enumerate() {
                    let p = unpack_lower_f32(p, d);
                    let cov =
                        linalg::spd_inverse(p.mapv(|v| v as f64).view()).map_err(|pivot| {
                            Error::SingularCovariance {
                                component: c,
                                pivot,
                                context: " (inverse covariance of the Kaldi model)".into(),
                            }
                        })?;
                    means
                        .row_mut(c)
                        .assign(&cov.dot(&means_invcovars.row(c).mapv(|v| v as f64)));
                    covs.index_axis_mut(Axis(0), c).assign(&cov);
                    unpacked.push(p);
                }
                let mut g = FullGmm::new(weights.iter().map(|&w| w as f64).collect(), means, covs)?;
                g.kaldi = Some(Box::new(KaldiRaw::Full {
                    gconsts: Array1::from(gconsts),
                    weights: Array1::from(weights),
                    means_invcovars,
                    inv_covars: unpacked,
                }));
                Ok(Gmm::Full(g))
            }
        }
    }
}

pub(super) fn finish_gconst(gc: f32, c: usize) -> Result<f32> {
    if gc.is_nan() {
        return Err(Error::InvalidModel(format!(
            "component {c}: not a number in the gconst computation"
        )));
    }
    Ok(if gc.is_infinite() { -gc.abs() } else { gc })
}

pub(super) fn remove_row(m: &Array2<f32>, g: usize) -> Array2<f32> {
    let keep: Vec<usize> = (0..m.nrows()).filter(|&r| r != g).collect();
    m.select(Axis(0), &keep)
}

/// `weights_.Scale(1.0 / weights_.Sum())` in float.
pub(super) fn renormalise(w: &mut [f32]) {
    let s = kaldi_sum_f32(w);
    let scale = (1.0f64 / s as f64) as f32;
    for x in w.iter_mut() {
        *x *= scale;
    }
}

/// `SpMatrix<float>::InvertDouble`: the float matrix inverted in double, rounded back to float.
pub(super) fn invert_double(m: ArrayView2<'_, f32>) -> std::result::Result<Array2<f32>, usize> {
    let inv = linalg::spd_inverse(m.mapv(|v| v as f64).view())?;
    let d = m.nrows();
    // Symmetric by construction: take the lower triangle, as Kaldi's packed copy does.
    Ok(Array2::from_shape_fn((d, d), |(i, j)| {
        if j <= i {
            inv[[i, j]] as f32
        } else {
            inv[[j, i]] as f32
        }
    }))
}

/// `SpMatrix<float>::LogPosDefDet`: Kaldi's own float Cholesky (`TpMatrix::Cholesky`), then
/// 2·Σ log(L_ii) in double, returned as float. None when not positive definite.
pub(super) fn log_pos_def_det(a: &[f32], n: usize) -> Option<f32> {
    let mut l = vec![0.0f32; a.len()];
    for j in 0..n {
        let jrow = packed_index(j, 0);
        let mut d = 0.0f32;
        for k in 0..j {
            let krow = packed_index(k, 0);
            let s = sdot(&l[krow..krow + k], &l[jrow..jrow + k]);
            let s = (a[jrow + k] - s) / l[krow + k];
            l[jrow + k] = s;
            d += s * s;
        }
        let d = a[jrow + j] - d;
        if !(d >= 0.0) {
            return None;
        }
        l[jrow + j] = d.sqrt();
    }
    let mut det = 0.0f64;
    for i in 0..n {
        det += (l[packed_index(i, i)] as f64).ln();
    }
    Some((2.0 * det) as f32)
}

/// The model with covariance type `to` (Kaldi's `gmm-global-to-fgmm` and `fgmm-global-to-gmm`):
/// diagonal → full puts the variances on the diagonals; full → diagonal keeps the diagonals of
/// the covariances. A diagonal model read from a Kaldi file becomes the full model Kaldi's
/// `FullGmm::CopyFromDiagGmm` makes (its float parameters copied, gconsts recomputed in float
/// as `ComputeGconsts`: the bytes of `gmm-global-to-fgmm`); full → diagonal is computed in f64
/// (Kaldi inverts in float and double: the last bits may differ).
pub fn convert_covariance(gmm: &Gmm, to: CovarianceType) -> Result<Gmm> {
    match (gmm, to) {
        (Gmm::Diag(g), CovarianceType::Full) => match g.kaldi.as_deref() {
            Some(KaldiRaw::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            }) => {
                let mut m = KaldiModel::Full {
                    gconsts: gconsts.to_vec(),
                    weights: weights.to_vec(),
                    means_invcovars: means_invvars.clone(),
                    inv_covars: inv_vars
                        .outer_iter()
                        .map(|r| pack_lower_f32(Array2::from_diag(&r).view()))
                        .collect(),
                };
                m.compute_gconsts()?;
                m.into_gmm()
            }
            _ => Ok(Gmm::Full(g.to_full())),
        },
        (Gmm::Full(g), CovarianceType::Diag) => Ok(Gmm::Diag(g.to_diag())),
        _ => Ok(gmm.clone()),
    }
}
