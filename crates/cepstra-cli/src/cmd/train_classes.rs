//! `cepstra train-classes`: one GMM per class label, all in one (initialisation + EM). The
//! options and helpers it shares with the per-class subcommands are in
//! [`crate::common::class_args`].

use anyhow::{Context, Result};

use crate::common::class_args::{log_summary, TrainArgs};
// The HMM trainer subcommands name these two through this module.
pub use crate::common::class_args::{read_training_data, FrontEndArgs};

/// Train one GMM per class label of TEXT on the features of its utterances (k-means
/// initialisation per class, then EM; classes in parallel) and write the model set.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra train-classes --num-gauss=5 --covariance=full --feature-config=conf/mfcc.conf --cmvn=utterance --deltas=2 \\
      scp:data/train/feats.scp data/train/text exp/classes/final.mdl
The same model set, distributed: init-classes, then per pass acc-classes (per job) and est-classes.
See also: init-classes, acc-classes, est-classes, classify, compute-accuracy"
)]
pub struct Args {
    #[command(flatten)]
    pub train: TrainArgs,
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Rspecifier of the features, e.g. scp:data/train/feats.scp
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the model set (JSON)
    pub modelset_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let (opts, overrides) = a.train.options()?;
    let frontend = a.frontend.frontend()?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let set = cepstra_train::train_classes(&data, &opts, &overrides)?.with_frontend(frontend)?;
    set.write(&a.modelset_out)
        .with_context(|| format!("writing {}", a.modelset_out))?;
    log_summary(&set);
    Ok(())
}
