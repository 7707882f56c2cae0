//! `cepstra compute-fbank-feats`: WAV → log mel filterbank energies, as Kaldi's binary.

use anyhow::Result;
use cepstra_feat::{Fbank, FbankOptions};

use crate::common::features::{compute_features, WaveArgs};

/// Create mel filterbank feature files (Kaldi's compute-fbank-feats).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-fbank-feats --num-mel-bins=40 scp:wav.scp ark,scp:fbank.ark,fbank.scp
See also: compute-mfcc-feats, copy-feats"
)]
pub struct Args {
    #[command(flatten)]
    opts: FbankOptions,
    #[command(flatten)]
    io: WaveArgs,
}

pub fn run(a: Args) -> Result<()> {
    let fbank = Fbank::new(&a.opts)?;
    compute_features(&fbank, &a.io)
}
