//! Kaldi's `<DiagGMM>` / `<FullGMM>` models, text and binary.

use std::io::{BufRead, Write};

use ndarray::{Array1, Array2, Array3, Axis};

use cepstra_io::basic;

use super::map_kaldi;
use crate::error::{Error, Result};
use crate::model::{DiagGmm, FullGmm, Gmm, KaldiRaw};

/// Writes a Kaldi `<DiagGMM>`/`<FullGMM>` object (no `\0B` header).
pub fn write_kaldi_model<W: Write>(gmm: &Gmm, w: &mut W, binary: bool) -> Result<()> {
    let raw = kaldi_raw(gmm);
    let e = |e| map_kaldi(e, "model");
    match raw {
        KaldiRaw::Diag {
            gconsts,
            weights,
            means_invvars,
            inv_vars,
        } => {
            basic::write_token(w, binary, "<DiagGMM>").map_err(e)?;
            if !binary {
                w.write_all(b"\n").map_err(|x| Error::io("<model>", x))?;
            }
            basic::write_token(w, binary, "<GCONSTS>").map_err(e)?;
            basic::write_vector_f32(w, binary, gconsts.view()).map_err(e)?;
            basic::write_token(w, binary, "<WEIGHTS>").map_err(e)?;
            basic::write_vector_f32(w, binary, weights.view()).map_err(e)?;
            basic::write_token(w, binary, "<MEANS_INVVARS>").map_err(e)?;
            basic::write_matrix_f32(w, binary, means_invvars.view()).map_err(e)?;
            basic::write_token(w, binary, "<INV_VARS>").map_err(e)?;
            basic::write_matrix_f32(w, binary, inv_vars.view()).map_err(e)?;
            basic::write_token(w, binary, "</DiagGMM>").map_err(e)?;
        }
        KaldiRaw::Full {
            gconsts,
            weights,
            means_invcovars,
            inv_covars,
        } => {
            basic::write_token(w, binary, "<FullGMM>").map_err(e)?;
            if !binary {
                w.write_all(b"\n").map_err(|x| Error::io("<model>", x))?;
            }
            basic::write_token(w, binary, "<GCONSTS>").map_err(e)?;
            basic::write_vector_f32(w, binary, gconsts.view()).map_err(e)?;
            basic::write_token(w, binary, "<WEIGHTS>").map_err(e)?;
            basic::write_vector_f32(w, binary, weights.view()).map_err(e)?;
            basic::write_token(w, binary, "<MEANS_INVCOVARS>").map_err(e)?;
            basic::write_matrix_f32(w, binary, means_invcovars.view()).map_err(e)?;
            basic::write_token(w, binary, "<INV_COVARS>").map_err(e)?;
            for p in &inv_covars {
                basic::write_sp_matrix_f32(w, binary, p.view()).map_err(e)?;
            }
            basic::write_token(w, binary, "</FullGMM>").map_err(e)?;
        }
    }
    if !binary {
        w.write_all(b"\n").map_err(|x| Error::io("<model>", x))?;
    }
    Ok(())
}

/// Kaldi's float natural parameters of a model: the ones read from a Kaldi file, or computed
/// as Kaldi's `CopyToDiagGmm`/`CopyToFullGmm` + `ComputeGconsts` would (float storage, gconsts
/// accumulated in float as Kaldi does).
pub(crate) fn kaldi_raw(gmm: &Gmm) -> KaldiRaw {
    let stored = match gmm {
        Gmm::Diag(g) => g.kaldi.as_deref(),
        Gmm::Full(g) => g.kaldi.as_deref(),
    };
    if let Some(r) = stored {
        return r.clone();
    }
    let weights = gmm.weights().mapv(|v| v as f32);
    let d = gmm.dim();
    let offset = (-0.5 * crate::model::LOG_2PI * d as f64) as f32;
    match gmm {
        Gmm::Diag(g) => {
            let miv = (&g.means() * &g.inv_vars()).mapv(|v| v as f32);
            let iv = g.inv_vars().mapv(|v| v as f32);
            let gconsts = Array1::from_iter((0..g.num_gauss()).map(|k| {
                let mut gc = weights[k].ln() + offset;
                for i in 0..d {
                    let (m, v) = (miv[[k, i]] as f64, iv[[k, i]] as f64);
                    gc = (gc as f64 + (0.5 * (iv[[k, i]].ln() as f64) - 0.5 * m * m / v)) as f32;
                }
                gc
            }));
            KaldiRaw::Diag {
                gconsts,
                weights,
                means_invvars: miv,
                inv_vars: iv,
            }
        }
        Gmm::Full(g) => {
            let k = g.num_gauss();
            let mut miv = Array2::zeros((k, d));
            let mut inv = Vec::with_capacity(k);
            let mut gconsts = Array1::zeros(k);
            for c in 0..k {
                let p = g.inv_covar(c);
                miv.row_mut(c)
                    .assign(&p.dot(&g.means().row(c)).mapv(|v| v as f32));
                let pf = p.mapv(|v| v as f32);
                // Kaldi: covar = float(inverse(double(P))); logdet and μᵀP μ from it.
                let cov = crate::linalg::spd_inverse(pf.mapv(|v| v as f64).view())
                    .map(|c| c.mapv(|v| v as f32 as f64))
                    .unwrap_or_else(|_| g.covars().index_axis(Axis(0), c).to_owned());
                let logdet = crate::linalg::cholesky(cov.view())
                    .map(|l| 2.0 * l.diag().iter().map(|x| x.ln()).sum::<f64>())
                    .unwrap_or(f64::NAN) as f32;
                let mv = miv.row(c).mapv(|v| v as f64);
                let quad = mv.dot(&cov.dot(&mv)) as f32;
                let gc = weights[c].ln() + offset;
                gconsts[c] = (gc as f64 - 0.5 * (logdet as f64 + quad as f64)) as f32;
                inv.push(pf);
            }
            KaldiRaw::Full {
                gconsts,
                weights,
                means_invcovars: miv,
                inv_covars: inv,
            }
        }
    }
}

/// Reads a Kaldi `<DiagGMM>`/`<FullGMM>` object (after the `\0B` header, if any).
pub fn read_kaldi_model<R: BufRead>(r: &mut R, binary: bool) -> Result<Gmm> {
    let e = |e| map_kaldi(e, "model");
    let tok = basic::read_token(r, binary).map_err(e)?;
    let full = match tok.as_str() {
        "<DiagGMM>" | "<DiagGMMBegin>" => false,
        "<FullGMM>" | "<FullGMMBegin>" => true,
        t => {
            return Err(Error::Format {
                what: "model",
                reason: format!("expected <DiagGMM> or <FullGMM>, got {t:?}"),
            })
        }
    };
    let mut tok = basic::read_token(r, binary).map_err(e)?;
    let mut gconsts = None;
    if tok == "<GCONSTS>" {
        gconsts = Some(basic::read_vector_f32(r, binary).map_err(e)?);
        tok = basic::read_token(r, binary).map_err(e)?;
    }
    if tok != "<WEIGHTS>" {
        return Err(Error::Format {
            what: "model",
            reason: format!("expected <WEIGHTS>, got {tok:?}"),
        });
    }
    let weights = basic::read_vector_f32(r, binary).map_err(e)?;
    let k = weights.len();
    if !full {
        basic::expect_token(r, binary, "<MEANS_INVVARS>").map_err(e)?;
        let miv = basic::read_matrix_f32(r, binary).map_err(e)?;
        basic::expect_token(r, binary, "<INV_VARS>").map_err(e)?;
        let iv = basic::read_matrix_f32(r, binary).map_err(e)?;
        let end = basic::read_token(r, binary).map_err(e)?;
        if end != "</DiagGMM>" && end != "<DiagGMMEnd>" {
            return Err(Error::Format {
                what: "model",
                reason: format!("expected </DiagGMM>, got {end:?}"),
            });
        }
        if miv.nrows() != k || iv.dim() != miv.dim() {
            return Err(Error::Format {
                what: "model",
                reason: format!(
                    "{k} weights but means_invvars {:?}, inv_vars {:?}",
                    miv.dim(),
                    iv.dim()
                ),
            });
        }
        let vars = iv.mapv(|v| 1.0 / v as f64);
        let means = Array2::from_shape_fn(miv.dim(), |(i, j)| miv[[i, j]] as f64 * vars[[i, j]]);
        let mut g = DiagGmm::new(weights.mapv(|v| v as f64), means, vars)?;
        let gconsts = gconsts.unwrap_or_else(|| g.gconsts().mapv(|v| v as f32));
        g.kaldi = Some(Box::new(KaldiRaw::Diag {
            gconsts,
            weights,
            means_invvars: miv,
            inv_vars: iv,
        }));
        Ok(Gmm::Diag(g))
    } else {
        basic::expect_token(r, binary, "<MEANS_INVCOVARS>").map_err(e)?;
        let miv = basic::read_matrix_f32(r, binary).map_err(e)?;
        basic::expect_token(r, binary, "<INV_COVARS>").map_err(e)?;
        if miv.nrows() != k {
            return Err(Error::Format {
                what: "model",
                reason: format!("{k} weights but means_invcovars has {} rows", miv.nrows()),
            });
        }
        let d = miv.ncols();
        let mut inv = Vec::with_capacity(k);
        let mut covs = Array3::zeros((k, d, d));
        let mut means = Array2::zeros((k, d));
        for c in 0..k {
            let p = basic::read_sp_matrix::<_, f32>(r, binary).map_err(e)?;
            if p.dim() != (d, d) {
                return Err(Error::Format {
                    what: "model",
                    reason: format!("inverse covariance {c} is {:?}, expected {d}×{d}", p.dim()),
                });
            }
            let p64 = p.mapv(|v| v as f64);
            let cov = crate::linalg::spd_inverse(p64.view()).map_err(|pivot| {
                Error::SingularCovariance {
                    component: c,
                    pivot,
                    context: " in the Kaldi model file".into(),
                }
            })?;
            means
                .row_mut(c)
                .assign(&cov.dot(&miv.row(c).mapv(|v| v as f64)));
            covs.index_axis_mut(Axis(0), c).assign(&cov);
            inv.push(p);
        }
        let end = basic::read_token(r, binary).map_err(e)?;
        if end != "</FullGMM>" && end != "<FullGMMEnd>" {
            return Err(Error::Format {
                what: "model",
                reason: format!("expected </FullGMM>, got {end:?}"),
            });
        }
        let mut g = FullGmm::new(weights.mapv(|v| v as f64), means, covs)?;
        let gconsts = gconsts.unwrap_or_else(|| g.gconsts().mapv(|v| v as f32));
        g.kaldi = Some(Box::new(KaldiRaw::Full {
            gconsts,
            weights,
            means_invcovars: miv,
            inv_covars: inv,
        }));
        Ok(Gmm::Full(g))
    }
}
