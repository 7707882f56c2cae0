//! Model and statistics files.
//!
//! **Models.** cepstra's own format is versioned JSON:
//!
//! ```text
//! {"format":"cepstra-gmm","version":1,"covariance":"diag"|"full","num_gauss":K,"dim":D,
//!  "weights":[w_1,…,w_K],
//!  "means":[[μ_11,…,μ_1D],…],
//!  "vars":[[σ²_11,…],…]                 (diag)
//!  "covars":[[[Σ_1,11,…],…],…]          (full, K symmetric D×D matrices)}
//! ```
//!
//! Kaldi's `<DiagGMM>`/`<FullGMM>` (gconsts, weights, natural parameters, packed symmetric
//! inverse covariances) are read and written in text and binary. A model read from a Kaldi file
//! keeps its float parameters, so writing it back in binary gives the same bytes.
//! [`read_model`] detects the format. Writes to files are atomic (temporary file in the same
//! directory, then rename).
//!
//! **Statistics.** cepstra's binary format (see [`GmmStats::write`]) and Kaldi's
//! `AccumDiagGmm`/`AccumFullGmm` (`<GMMACCS>`, text or binary; Kaldi stores them as float, and the
//! full second-order statistics centred); [`read_stats`] detects the format.

use std::io::{BufRead, Write};

use ndarray::{Array1, Array2, Array3, Axis};
use serde::{Deserialize, Serialize};

use cepstra_io::basic;
use cepstra_io::filename::{Input, Output};

use crate::error::{Error, Result};
use crate::model::{DiagGmm, FullGmm, Gmm, KaldiRaw};
use crate::options::CovarianceType;
use crate::stats::{GmmStats, SecondOrder, STATS_MAGIC};

/// Model file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// cepstra's JSON.
    Json,
    /// Kaldi, binary.
    KaldiBinary,
    /// Kaldi, text.
    KaldiText,
}

/// Statistics file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsFormat {
    /// cepstra's binary format (f64).
    Cepstra,
    /// Kaldi `AccumDiagGmm`/`AccumFullGmm`, binary (float).
    KaldiBinary,
    /// Kaldi, text.
    KaldiText,
}

/// The JSON model document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelJson {
    format: String,
    version: u32,
    covariance: CovarianceType,
    num_gauss: usize,
    dim: usize,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vars: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    covars: Option<Vec<Vec<Vec<f64>>>>,
}

/// JSON format name.
pub const JSON_FORMAT: &str = "cepstra-gmm";
/// JSON format version.
pub const JSON_VERSION: u32 = 1;

fn map_kaldi(e: cepstra_io::Error, what: &'static str) -> Error {
    let msg = e.to_string();
    let eof = msg.contains("end of") || msg.contains("truncated") || {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut found = false;
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                found |= io.kind() == std::io::ErrorKind::UnexpectedEof;
            }
            src = s.source();
        }
        found
    };
    if eof {
        Error::Truncated { what, reason: msg }
    } else {
        Error::Format { what, reason: msg }
    }
}

fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

fn from_rows(v: &[Vec<f64>], k: usize, d: usize, what: &str) -> Result<Array2<f64>> {
    if v.len() != k || v.iter().any(|r| r.len() != d) {
        return Err(Error::Format {
            what: "model",
            reason: format!("JSON {what} must be {k}×{d}"),
        });
    }
    Ok(Array2::from_shape_fn((k, d), |(i, j)| v[i][j]))
}

/// The JSON text of a model.
pub fn model_to_json(gmm: &Gmm) -> Result<String> {
    let (k, d) = (gmm.num_gauss(), gmm.dim());
    let doc = ModelJson {
        format: JSON_FORMAT.into(),
        version: JSON_VERSION,
        covariance: gmm.covariance_type(),
        num_gauss: k,
        dim: d,
        weights: gmm.weights().to_vec(),
        means: rows(&gmm.means().to_owned()),
        vars: match gmm {
            Gmm::Diag(g) => Some(rows(&g.vars().to_owned())),
            Gmm::Full(_) => None,
        },
        covars: match gmm {
            Gmm::Diag(_) => None,
            Gmm::Full(g) => Some(
                g.covars()
                    .outer_iter()
                    .map(|c| rows(&c.to_owned()))
                    .collect(),
            ),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

/// A model from its JSON text.
pub fn model_from_json(text: &str) -> Result<Gmm> {
    let doc: ModelJson = serde_json::from_str(text)?;
    if doc.format != JSON_FORMAT {
        return Err(Error::Format {
            what: "model",
            reason: format!(
                "JSON \"format\" is {:?}, expected {JSON_FORMAT:?}",
                doc.format
            ),
        });
    }
    if doc.version != JSON_VERSION {
        return Err(Error::Format {
            what: "model",
            reason: format!(
                "JSON version {} is not supported (this build reads {JSON_VERSION})",
                doc.version
            ),
        });
    }
    let (k, d) = (doc.num_gauss, doc.dim);
    if doc.weights.len() != k {
        return Err(Error::Format {
            what: "model",
            reason: format!("{} weights for num_gauss {k}", doc.weights.len()),
        });
    }
    let means = from_rows(&doc.means, k, d, "means")?;
    let weights = Array1::from(doc.weights);
    match doc.covariance {
        CovarianceType::Diag => {
            let v = doc.vars.ok_or_else(|| Error::Format {
                what: "model",
                reason: "diag model without \"vars\"".into(),
            })?;
            Ok(Gmm::Diag(DiagGmm::new(
                weights,
                means,
                from_rows(&v, k, d, "vars")?,
            )?))
        }
        CovarianceType::Full => {
            let c = doc.covars.ok_or_else(|| Error::Format {
                what: "model",
                reason: "full model without \"covars\"".into(),
            })?;
            if c.len() != k {
                return Err(Error::Format {
                    what: "model",
                    reason: format!("{} covariance matrices for num_gauss {k}", c.len()),
                });
            }
            let mut cov = Array3::zeros((k, d, d));
            for (i, m) in c.iter().enumerate() {
                let m = from_rows(m, d, d, "covariance")?;
                check_symmetric(&m, i)?;
                cov.index_axis_mut(Axis(0), i).assign(&m);
            }
            Ok(Gmm::Full(FullGmm::new(weights, means, cov)?))
        }
    }
}

/// A covariance read from a file must be symmetric (to 1e-9 of the scale of its diagonal): an
/// asymmetric one is not a covariance, and scoring it would silently use only half of it.
fn check_symmetric(m: &Array2<f64>, component: usize) -> Result<()> {
    let d = m.nrows();
    for i in 0..d {
        for j in 0..i {
            let (a, b) = (m[[i, j]], m[[j, i]]);
            let scale = (m[[i, i]] * m[[j, j]]).abs().sqrt();
            if (a - b).abs() > 1e-9 * scale || !(a - b).is_finite() && a != b {
                return Err(Error::Format {
                    what: "model",
                    reason: format!(
                        "covariance of component {component} is not symmetric: entry ({i}, {j}) is {a} but ({j}, {i}) is {b}"
                    ),
                });
            }
        }
    }
    Ok(())
}

// --------------------------------------------------------------------------------------------
// Kaldi models.

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

/// Serialises a model in `format` (Kaldi binary includes the `\0B` header).
pub fn model_to_bytes(gmm: &Gmm, format: ModelFormat) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        ModelFormat::Json => out.extend_from_slice(model_to_json(gmm)?.as_bytes()),
        ModelFormat::KaldiBinary => {
            basic::write_binary_flag(&mut out, true).map_err(|e| map_kaldi(e, "model"))?;
            write_kaldi_model(gmm, &mut out, true)?;
        }
        ModelFormat::KaldiText => write_kaldi_model(gmm, &mut out, false)?,
    }
    Ok(out)
}

/// Detects the format of model bytes: `\0B` → Kaldi binary, `{` → JSON, `<` → Kaldi text.
pub fn detect_model_format(bytes: &[u8]) -> Result<ModelFormat> {
    if bytes.starts_with(b"\0B") {
        return Ok(ModelFormat::KaldiBinary);
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(ModelFormat::Json),
        Some(b'<') => Ok(ModelFormat::KaldiText),
        None => Err(Error::Truncated {
            what: "model",
            reason: "the file is empty".into(),
        }),
        _ => Err(Error::Format {
            what: "model",
            reason: "neither JSON nor a Kaldi <DiagGMM>/<FullGMM>".into(),
        }),
    }
}

/// A model from bytes of any supported format.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Gmm> {
    match detect_model_format(bytes)? {
        ModelFormat::Json => {
            let text = std::str::from_utf8(bytes).map_err(|_| Error::Format {
                what: "model",
                reason: "JSON is not UTF-8".into(),
            })?;
            model_from_json(text).map_err(|e| match e {
                Error::Json(j) if j.is_eof() => Error::Truncated {
                    what: "model",
                    reason: j.to_string(),
                },
                e => e,
            })
        }
        ModelFormat::KaldiBinary => {
            let mut r = &bytes[2..];
            let g = read_kaldi_model(&mut r, true)?;
            check_trailing(r, "model")?;
            Ok(g)
        }
        ModelFormat::KaldiText => {
            let mut r = bytes;
            let g = read_kaldi_model(&mut r, false)?;
            check_trailing(r, "model")?;
            Ok(g)
        }
    }
}

fn check_trailing(rest: &[u8], what: &'static str) -> Result<()> {
    if rest.iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(Error::Format {
            what,
            reason: format!("{} bytes of trailing data", rest.len()),
        });
    }
    Ok(())
}

fn read_input(path: &str) -> Result<Vec<u8>> {
    let inp = Input::open(path)?;
    Ok(inp.read_all()?)
}

fn write_output(path: &str, bytes: &[u8]) -> Result<()> {
    let mut out = Output::create(path)?;
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()?;
    Ok(())
}

/// Reads a model (JSON or Kaldi text/binary, detected) from an rxfilename (a path, `-`, or
/// `cmd |`).
pub fn read_model(path: &str) -> Result<Gmm> {
    model_from_bytes(&read_input(path)?)
}

/// Writes a model to a wxfilename, atomically for files.
pub fn write_model(gmm: &Gmm, path: &str, format: ModelFormat) -> Result<()> {
    write_output(path, &model_to_bytes(gmm, format)?)
}

// --------------------------------------------------------------------------------------------
// Kaldi statistics.

/// Writes Kaldi's `AccumDiagGmm`/`AccumFullGmm` (flags mvw; values rounded to float as Kaldi
/// does; full second-order statistics centred as Kaldi stores them). No `\0B` header.
pub fn write_kaldi_stats<W: Write>(stats: &GmmStats, w: &mut W, binary: bool) -> Result<()> {
    let e = |e| map_kaldi(e, "stats");
    let (k, d) = (stats.num_gauss(), stats.dim());
    basic::write_token(w, binary, "<GMMACCS>").map_err(e)?;
    basic::write_token(w, binary, "<VECSIZE>").map_err(e)?;
    basic::write_i32(w, binary, d as i32).map_err(e)?;
    basic::write_token(w, binary, "<NUMCOMPONENTS>").map_err(e)?;
    basic::write_i32(w, binary, k as i32).map_err(e)?;
    basic::write_token(w, binary, "<FLAGS>").map_err(e)?;
    basic::write_u16(w, binary, 7).map_err(e)?;
    basic::write_token(w, binary, "<OCCUPANCY>").map_err(e)?;
    basic::write_vector_f32(w, binary, stats.occupancy().mapv(|v| v as f32).view()).map_err(e)?;
    basic::write_token(w, binary, "<MEANACCS>").map_err(e)?;
    basic::write_matrix_f32(w, binary, stats.first().mapv(|v| v as f32).view()).map_err(e)?;
    match stats.second() {
        SecondOrder::Diag(s) => {
            basic::write_token(w, binary, "<DIAGVARACCS>").map_err(e)?;
            basic::write_matrix_f32(w, binary, s.mapv(|v| v as f32).view()).map_err(e)?;
        }
        SecondOrder::Full(s) => {
            basic::write_token(w, binary, "<FULLVARACCS>").map_err(e)?;
            for c in 0..k {
                let occ = stats.occupancy()[c];
                let m = stats.first.row(c);
                let centred = Array2::from_shape_fn((d, d), |(i, j)| {
                    let v = s[[c, i, j]];
                    (if occ != 0.0 { v - m[i] * m[j] / occ } else { v }) as f32
                });
                basic::write_sp_matrix_f32(w, binary, centred.view()).map_err(e)?;
            }
        }
    }
    basic::write_token(w, binary, "</GMMACCS>").map_err(e)?;
    Ok(())
}

/// Reads Kaldi's `AccumDiagGmm`/`AccumFullGmm` (after the `\0B` header, if any). Only full
/// (mvw) accumulators are supported. Kaldi does not store the frames' log-likelihood: the
/// statistics read have [`GmmStats::total_loglike`] NaN ("not recorded").
pub fn read_kaldi_stats<R: BufRead>(r: &mut R, binary: bool) -> Result<GmmStats> {
    let e = |e| map_kaldi(e, "stats");
    basic::expect_token(r, binary, "<GMMACCS>").map_err(e)?;
    basic::expect_token(r, binary, "<VECSIZE>").map_err(e)?;
    let d = basic::read_i32(r, binary).map_err(e)?;
    basic::expect_token(r, binary, "<NUMCOMPONENTS>").map_err(e)?;
    let k = basic::read_i32(r, binary).map_err(e)?;
    basic::expect_token(r, binary, "<FLAGS>").map_err(e)?;
    let flags = basic::read_u16(r, binary).map_err(e)?;
    if d <= 0 || k <= 0 {
        return Err(Error::Format {
            what: "stats",
            reason: format!("dimension {d}, components {k}: both must be positive"),
        });
    }
    if flags & 7 != 7 {
        return Err(Error::Format { what: "stats", reason: format!("update flags {flags}: only mvw accumulators are supported (use --update-flags=mvw)") });
    }
    let (k, d) = (k as usize, d as usize);
    let mut occ: Option<Array1<f64>> = None;
    let mut first: Option<Array2<f64>> = None;
    let mut second: Option<SecondOrder> = None;
    loop {
        let tok = basic::read_token(r, binary).map_err(e)?;
        match tok.as_str() {
            "</GMMACCS>" => break,
            "<OCCUPANCY>" => occ = Some(basic::read_vector_f64(r, binary).map_err(e)?),
            "<MEANACCS>" => first = Some(basic::read_matrix_f64(r, binary).map_err(e)?),
            "<DIAGVARACCS>" => {
                second = Some(SecondOrder::Diag(
                    basic::read_matrix_f64(r, binary).map_err(e)?,
                ))
            }
            "<FULLVARACCS>" => {
                let (Some(o), Some(m)) = (&occ, &first) else {
                    return Err(Error::Format {
                        what: "stats",
                        reason: "<FULLVARACCS> before <OCCUPANCY>/<MEANACCS>".into(),
                    });
                };
                if o.len() != k || m.dim() != (k, d) {
                    return Err(Error::Format {
                        what: "stats",
                        reason: "occupancy/mean accumulators do not match the header".into(),
                    });
                }
                let mut s = Array3::zeros((k, d, d));
                for c in 0..k {
                    let p = basic::read_sp_matrix_f64(r, binary).map_err(e)?;
                    if p.dim() != (d, d) {
                        return Err(Error::Format {
                            what: "stats",
                            reason: format!(
                                "second-order accumulator {c} is {:?}, expected {d}×{d}",
                                p.dim()
                            ),
                        });
                    }
                    for i in 0..d {
                        for j in 0..d {
                            s[[c, i, j]] = p[[i, j]]
                                + if o[c] != 0.0 {
                                    m[[c, i]] * m[[c, j]] / o[c]
                                } else {
                                    0.0
                                };
                        }
                    }
                }
                second = Some(SecondOrder::Full(s));
            }
            t => {
                return Err(Error::Format {
                    what: "stats",
                    reason: format!("unexpected token {t:?}"),
                })
            }
        }
    }
    let (Some(occ), Some(first), Some(second)) = (occ, first, second) else {
        return Err(Error::Format {
            what: "stats",
            reason: "missing occupancy, mean or variance accumulators".into(),
        });
    };
    if occ.len() != k || first.dim() != (k, d) {
        return Err(Error::Format {
            what: "stats",
            reason: "accumulator sizes do not match the header".into(),
        });
    }
    let n = occ.sum();
    // Kaldi's accumulators do not store the likelihood of the frames: NaN says "not recorded"
    // (a sum with it is not recorded either), never a wrong 0.
    GmmStats::from_parts(occ, first, second, n, f64::NAN)
}

/// Detects the statistics format of `bytes`.
pub fn detect_stats_format(bytes: &[u8]) -> Result<StatsFormat> {
    if bytes.starts_with(STATS_MAGIC) {
        Ok(StatsFormat::Cepstra)
    } else if bytes.starts_with(b"\0B") {
        Ok(StatsFormat::KaldiBinary)
    } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
        Ok(StatsFormat::KaldiText)
    } else if bytes.is_empty() || STATS_MAGIC.starts_with(bytes) {
        Err(Error::Truncated {
            what: "stats",
            reason: "the file ends inside the header".into(),
        })
    } else {
        Err(Error::Format {
            what: "stats",
            reason: "neither cepstra nor Kaldi statistics".into(),
        })
    }
}

/// Statistics from bytes of any supported format.
pub fn stats_from_bytes(bytes: &[u8]) -> Result<GmmStats> {
    match detect_stats_format(bytes)? {
        StatsFormat::Cepstra => GmmStats::from_bytes(bytes),
        StatsFormat::KaldiBinary => {
            let mut r = &bytes[2..];
            let s = read_kaldi_stats(&mut r, true)?;
            check_trailing(r, "stats")?;
            Ok(s)
        }
        StatsFormat::KaldiText => {
            let mut r = bytes;
            let s = read_kaldi_stats(&mut r, false)?;
            check_trailing(r, "stats")?;
            Ok(s)
        }
    }
}

/// Serialises statistics in `format`.
pub fn stats_to_bytes(stats: &GmmStats, format: StatsFormat) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        StatsFormat::Cepstra => stats.write(&mut out)?,
        StatsFormat::KaldiBinary => {
            basic::write_binary_flag(&mut out, true).map_err(|e| map_kaldi(e, "stats"))?;
            write_kaldi_stats(stats, &mut out, true)?;
        }
        StatsFormat::KaldiText => write_kaldi_stats(stats, &mut out, false)?,
    }
    Ok(out)
}

/// Reads statistics (format detected) from an rxfilename.
pub fn read_stats(path: &str) -> Result<GmmStats> {
    stats_from_bytes(&read_input(path)?)
}

/// Writes statistics to a wxfilename, atomically for files.
pub fn write_stats(stats: &GmmStats, path: &str, format: StatsFormat) -> Result<()> {
    write_output(path, &stats_to_bytes(stats, format)?)
}
