//! `cepstra acc-classes`: the statistics of one EM pass over one data split.

use anyhow::{Context, Result};
use cepstra_train::ModelSet;

use crate::common::class_args::{read_training_data, FrontEndArgs};

/// Accumulate the EM statistics of every class of a model set over some utterances (one job
/// of a pass): each utterance against its class's model, summed exactly, so that the jobs of
/// any split sum (est-classes) to the same bits.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra acc-classes exp/classes/0.mdl scp:data/train/split4/1/feats.scp data/train/split4/1/text exp/classes/0.1.acc
See also: est-classes, init-classes"
)]
pub struct Args {
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Use the features even when their dimension or pipeline (--feature-config, --cmvn,
    /// --deltas) differs from the front-end recorded in the model set
    #[arg(long = "ignore-frontend", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_frontend: bool,
    /// The model set of this pass
    pub modelset: String,
    /// Rspecifier of the features of this job
    pub feats_rspecifier: String,
    /// The text file of this job: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the statistics
    pub acc_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let set = ModelSet::read(&a.modelset).with_context(|| format!("reading {}", a.modelset))?;
    let declared = a.frontend.frontend()?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    if !a.ignore_frontend {
        let dim = data.dim().unwrap_or(set.dim());
        set.check_frontend(&a.feats_rspecifier, dim, declared.as_ref())?;
    }
    let accs = cepstra_train::accumulate(&set, &data)?;
    accs.write(&a.acc_out)
        .with_context(|| format!("writing {}", a.acc_out))?;
    for c in accs.classes.iter().filter(|c| !c.stats.is_empty()) {
        log::info!(
            "class '{}': {} utterances, {} frames, average log-likelihood {:.4}",
            c.label,
            c.stats.num_utts(),
            c.stats.num_frames(),
            c.stats.total_loglike() / c.stats.num_frames().max(1.0)
        );
    }
    log::info!("Wrote statistics of {} utterances.", data.num_utts());
    Ok(())
}
