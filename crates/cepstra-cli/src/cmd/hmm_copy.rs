//! `cepstra hmm-copy`: convert an HMM set between cepstra's JSON and HTK MMF text.

use std::path::Path;

use anyhow::{Context, Result};
use cepstra_hmm::HmmSet;

/// Copy an HMM set (JSON or HTK MMF, detected) to cepstra's JSON or to one HTK MMF for the
/// whole set (~o, then ~h "label" per class).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra hmm-copy --format=htk exp/hmm/final.mdl exp/hmm/hmmdefs\nSee also: hmm-info"
)]
pub struct Args {
    /// Output format: json (cepstra's model set) or htk (text MMF)
    #[arg(long, default_value = "json", value_parser = ["json", "htk"])]
    format: String,
    /// The HMM set (JSON or HTK MMF)
    models_in: String,
    /// Where to write it ('-' for stdout)
    models_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let set = HmmSet::read(&a.models_in).with_context(|| format!("reading {}", a.models_in))?;
    let bytes = match a.format.as_str() {
        "htk" => cepstra_hmm::htk::write_mmf(&set)?.into_bytes(),
        _ => set.to_bytes()?,
    };
    cepstra_io::filename::write_atomic(Path::new(&a.models_out), &bytes)
        .with_context(|| format!("writing {}", a.models_out))?;
    log::info!("Wrote {} HMMs ({}).", set.classes.len(), a.format);
    Ok(())
}
