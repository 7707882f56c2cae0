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

mod json;
mod kaldi_model;
mod kaldi_stats;

use std::io::Write;

use serde::{Deserialize, Serialize};

use cepstra_io::basic;
use cepstra_io::filename::{Input, Output};

use crate::error::{Error, Result};
use crate::model::Gmm;
use crate::stats::{GmmStats, STATS_MAGIC};

pub use json::{model_from_json, model_to_json, JsonModel, JSON_FORMAT, JSON_VERSION};
pub(crate) use kaldi_model::kaldi_raw;
pub use kaldi_model::{read_kaldi_model, write_kaldi_model};
pub use kaldi_stats::{read_kaldi_stats, write_kaldi_stats};

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

pub(super) fn map_kaldi(e: cepstra_io::Error, what: &'static str) -> Error {
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
