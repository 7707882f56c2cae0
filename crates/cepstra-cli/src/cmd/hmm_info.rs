//! `cepstra hmm-info`: print what an HMM set is.

use std::io::Write;

use anyhow::{Context, Result};
use cepstra_hmm::HmmSet;

/// Print an HMM set's options, front-end and one line per class (states, Gaussians per state,
/// the fewest frames a path needs, training data, the last log-likelihood per frame). Reads
/// cepstra's JSON and HTK MMF text.
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra hmm-info exp/hmm/final.mdl\nSee also: hmm-copy")]
pub struct Args {
    /// The HMM set (JSON or HTK MMF)
    models: String,
}

pub fn run(a: Args) -> Result<()> {
    let set = HmmSet::read(&a.models).with_context(|| format!("reading {}", a.models))?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", set.info())?;
    out.flush()?;
    Ok(())
}
