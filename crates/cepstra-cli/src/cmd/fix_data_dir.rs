//! `cepstra fix-data-dir`: the repairs of Kaldi's `utils/fix_data_dir.sh`.

use std::path::PathBuf;

use anyhow::Result;
use cepstra_io::datadir::fix_data_dir;

/// Sort and de-duplicate every file of a data directory and keep only utterances present in all
/// of them (originals backed up to DIR/.backup), as Kaldi's utils/fix_data_dir.sh.
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra fix-data-dir data/train\nSee also: validate-data-dir")]
pub struct Args {
    /// The data directory
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let r = fix_data_dir(&a.dir)?;
    log::info!(
        "fixed {}: kept {} of {} utterances (backup in {})",
        a.dir.display(),
        r.utts_after,
        r.utts_before,
        r.backup.display()
    );
    Ok(())
}
