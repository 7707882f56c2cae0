//! Reading and writing models, statistics and whole feature tables for the GMM subcommands.
//! Files may be `-` (stdin/stdout) or pipes; outputs are atomic.

use std::io::Write;

use anyhow::{bail, Context, Result};
use cepstra_gmm::io::{
    model_from_bytes, model_to_bytes, stats_from_bytes, stats_to_bytes, ModelFormat, StatsFormat,
};
use cepstra_gmm::{Gmm, GmmStats};
use cepstra_io::filename::{Input, Output};
use cepstra_io::table::SequentialReader;
use ndarray::{concatenate, Array2, Axis};

/// How a model is written: `--format=json|kaldi`, `--binary` for Kaldi.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelOutArgs {
    /// Model file format: json (cepstra's own) or kaldi (<DiagGMM>/<FullGMM>)
    #[arg(long, default_value = "json", value_parser = ["json", "kaldi"])]
    pub format: String,
    /// For --format=kaldi: write binary (true) or text (false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub binary: bool,
}

impl ModelOutArgs {
    fn format(&self) -> ModelFormat {
        match (self.format.as_str(), self.binary) {
            ("kaldi", true) => ModelFormat::KaldiBinary,
            ("kaldi", false) => ModelFormat::KaldiText,
            _ => ModelFormat::Json,
        }
    }
}

/// Reads a model in any format (detected).
pub fn read_model(name: &str) -> Result<Gmm> {
    let bytes = Input::open(name)?.read_all()?;
    model_from_bytes(&bytes).with_context(|| format!("reading model {name}"))
}

/// Writes a model atomically.
pub fn write_model(gmm: &Gmm, name: &str, how: &ModelOutArgs) -> Result<()> {
    let bytes = model_to_bytes(gmm, how.format())?;
    write_bytes(name, &bytes)
}

/// How statistics are written: cepstra's format, or `--kaldi-format` (binary unless `--binary=false`).
#[derive(clap::Args, Debug, Clone)]
pub struct StatsOutArgs {
    /// Write Kaldi's AccumDiagGmm/AccumFullGmm format instead of cepstra's
    #[arg(long = "kaldi-format", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub kaldi_format: bool,
    /// With --kaldi-format: binary (true) or text (false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub binary: bool,
}

/// Reads statistics in any format (detected).
pub fn read_stats(name: &str) -> Result<GmmStats> {
    let bytes = Input::open(name)?.read_all()?;
    stats_from_bytes(&bytes).with_context(|| format!("reading statistics {name}"))
}

/// Writes statistics atomically in the format `how` asks for.
pub fn write_stats(stats: &GmmStats, name: &str, how: &StatsOutArgs) -> Result<()> {
    let format = match (how.kaldi_format, how.binary) {
        (false, _) => StatsFormat::Cepstra,
        (true, true) => StatsFormat::KaldiBinary,
        (true, false) => StatsFormat::KaldiText,
    };
    write_bytes(name, &stats_to_bytes(stats, format)?)
}

fn write_bytes(name: &str, bytes: &[u8]) -> Result<()> {
    let mut out = Output::create(name)?;
    out.write_all(bytes)
        .with_context(|| format!("writing {name}"))?;
    out.commit()?;
    Ok(())
}

/// Reads every matrix of a feature table and stacks the frames (utterance order kept).
pub fn read_all_frames(rspecifier: &str) -> Result<(Array2<f32>, usize)> {
    let mut mats = Vec::new();
    let mut dim = None;
    for item in SequentialReader::<Array2<f32>>::open(rspecifier)? {
        let (key, m) = item?;
        match dim {
            None => dim = Some(m.ncols()),
            Some(d) if d != m.ncols() => bail!(
                "utterance {key} has dimension {}, earlier ones {d}",
                m.ncols()
            ),
            _ => {}
        }
        mats.push(m);
    }
    if mats.is_empty() {
        bail!("{rspecifier}: no features");
    }
    let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
    Ok((concatenate(Axis(0), &views)?, mats.len()))
}
