//! `cepstra train-hmms`: one HMM per class label, all in one process.

use anyhow::{Context, Result};
use cepstra_hmm::HmmTrainOptions;

use super::init_hmms::{log_hmm_summary, read_hmm_class_opts};
use super::train_classes::{read_training_data, FrontEndArgs};

/// Train one left-to-right GMM-HMM per class label of TEXT: the initialisation of init-hmms,
/// then --num-iters passes of Viterbi or Baum-Welch statistics and re-estimation (mixing up on
/// the --mix-up-at schedule). The same bytes as init-hmms + acc-hmms (any number of jobs) +
/// est-hmms. --class-opts sets options per class, as for init-hmms.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra train-hmms --num-states=8 --num-gauss=4 --mode=baum-welch --num-iters=20 \\
      scp:data/train/feats.scp data/train/text exp/hmm/final.mdl
See also: init-hmms, acc-hmms, est-hmms, align-hmms, classify"
)]
pub struct Args {
    #[command(flatten)]
    pub opts: HmmTrainOptions,
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Per-class options: lines `<label> --num-states=5 --num-gauss=2 ...` (`#` comments); any
    /// option above but --num-iters, --mode and --covariance
    #[arg(long = "class-opts", value_name = "FILE")]
    pub class_opts: Option<String>,
    /// Rspecifier of the features, e.g. scp:data/train/feats.scp
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the HMM set (JSON)
    pub models_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let frontend = a.frontend.frontend()?;
    let overrides = read_hmm_class_opts(a.class_opts.as_deref(), &a.opts)?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let set = cepstra_hmm::train_hmms_with(&data, &a.opts, &overrides)?.with_frontend(frontend)?;
    set.write(&a.models_out)
        .with_context(|| format!("writing {}", a.models_out))?;
    log_hmm_summary(&set);
    Ok(())
}
