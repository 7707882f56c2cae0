//! `cepstra init-classes`: the initial model set of the distributed per-class trainer.

use anyhow::{Context, Result};

use crate::common::class_args::{log_summary, read_training_data, FrontEndArgs, TrainArgs};

/// Initialise one GMM per class label of TEXT (k-means on that class's frames, seeded), with
/// model selection if --select-k is given; EM passes follow with acc-classes and est-classes.
/// The options are recorded in the model set and used by est-classes; --feature-config,
/// --cmvn and --deltas record the features' pipeline (for recognize, classify, acc-classes).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra init-classes --num-gauss=5 --seed=0 --feature-config=conf/mfcc.conf --cmvn=utterance --deltas=2 scp:data/train/feats.scp data/train/text exp/classes/0.mdl
See also: acc-classes, est-classes, train-classes (recipes/train_classes.sh runs them)"
)]
pub struct Args {
    #[command(flatten)]
    pub train: TrainArgs,
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Rspecifier of the features (all the training data)
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the initial model set
    pub modelset_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let (opts, overrides) = a.train.options()?;
    let frontend = a.frontend.frontend()?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let set = cepstra_train::init_classes(&data, &opts, &overrides)?.with_frontend(frontend)?;
    set.write(&a.modelset_out)
        .with_context(|| format!("writing {}", a.modelset_out))?;
    log_summary(&set);
    Ok(())
}
