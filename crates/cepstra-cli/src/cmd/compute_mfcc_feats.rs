//! `cepstra compute-mfcc-feats`: WAV → MFCC, as Kaldi's binary of that name.

use anyhow::Result;
use cepstra_feat::{Mfcc, MfccOptions};

use crate::common::features::{compute_features, WaveArgs};

/// Create MFCC feature files (Kaldi's compute-mfcc-feats).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-mfcc-feats --config=conf/mfcc.conf scp:data/train/wav.scp ark:- \\
    | cepstra apply-cmvn ark:- ark:- | cepstra add-deltas ark:- ark,scp:feats.ark,feats.scp
See also: compute-fbank-feats, apply-cmvn, add-deltas, copy-feats"
)]
pub struct Args {
    #[command(flatten)]
    opts: MfccOptions,
    #[command(flatten)]
    io: WaveArgs,
}

pub fn run(a: Args) -> Result<()> {
    let mfcc = Mfcc::new(&a.opts)?;
    compute_features(&mfcc, &a.io)
}
