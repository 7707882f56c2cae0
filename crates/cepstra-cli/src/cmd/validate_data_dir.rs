//! `cepstra validate-data-dir`: the checks of Kaldi's `utils/validate_data_dir.sh`.

use std::path::PathBuf;

use anyhow::Result;
use cepstra_io::datadir::{validate_data_dir, ValidateOptions};

/// Check a Kaldi data directory (sorted, consistent utt2spk/spk2utt/text/wav.scp/feats.scp...),
/// as Kaldi's utils/validate_data_dir.sh.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra validate-data-dir --no-feats data/train\nSee also: fix-data-dir"
)]
pub struct Args {
    /// Do not require feats.scp
    #[arg(long = "no-feats")]
    no_feats: bool,
    /// Do not require text
    #[arg(long = "no-text")]
    no_text: bool,
    /// Do not require wav.scp
    #[arg(long = "no-wav")]
    no_wav: bool,
    /// Do not require utt2spk to be sorted by speaker as well
    #[arg(long = "no-spk-sort")]
    no_spk_sort: bool,
    /// Do not check that text is printable
    #[arg(long = "non-print")]
    non_print: bool,
    /// The data directory
    dir: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let opts = ValidateOptions {
        no_feats: a.no_feats,
        no_text: a.no_text,
        no_wav: a.no_wav,
        no_spk_sort: a.no_spk_sort,
        non_print: a.non_print,
    };
    let r = validate_data_dir(&a.dir, &opts)?;
    for w in &r.warnings {
        log::warn!("{}: {w}", a.dir.display());
    }
    log::info!(
        "Successfully validated data-directory {} ({} utterances, {} speakers)",
        a.dir.display(),
        r.num_utts,
        r.num_spks
    );
    Ok(())
}
