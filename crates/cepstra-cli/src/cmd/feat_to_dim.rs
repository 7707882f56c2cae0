//! `cepstra feat-to-dim`: print the feature dimension.

use std::io::Write;

use anyhow::{Context, Result};
use cepstra_io::table::SequentialReader;
use ndarray::Array2;

/// Print the dimension of the features (of the first utterance), as Kaldi's feat-to-dim.
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra feat-to-dim scp:data/train/feats.scp -")]
pub struct Args {
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the dimension (default: standard output)
    #[arg(default_value = "-")]
    dim_wxfilename: String,
}

pub fn run(a: Args) -> Result<()> {
    let (_, m): (String, Array2<f32>) = SequentialReader::open(&a.feats_rspecifier)?
        .next()
        .with_context(|| format!("{}: no features", a.feats_rspecifier))??;
    let mut out = cepstra_io::filename::Output::create(&a.dim_wxfilename)?;
    writeln!(out, "{}", m.ncols())?;
    out.commit()?;
    Ok(())
}
