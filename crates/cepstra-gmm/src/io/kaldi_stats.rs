//! Kaldi's `AccumDiagGmm` / `AccumFullGmm` statistics (`<GMMACCS>`), text and binary.

use std::io::{BufRead, Write};

use ndarray::{Array1, Array2, Array3};

use cepstra_io::basic;

use super::map_kaldi;
use crate::error::{Error, Result};
use crate::stats::{GmmStats, SecondOrder};

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
