//! `cepstra init-hmms`: the initial HMM set of the distributed HMM trainer. Also holds what the
//! HMM subcommands share: the one-line-per-class summary.

use anyhow::{Context, Result};
use cepstra_hmm::{HmmSet, HmmTrainOptions};

use super::train_classes::{read_training_data, FrontEndArgs};

/// Initialise one left-to-right HMM per class label of TEXT: every training utterance cut into
/// --num-states equal segments, each state's GMM by k-means on its frames (--init segment, Kaldi's
/// align-equal / HTK's HInit), or every state the class's global mean and variance (--init
/// global, HTK's HCompV). Passes follow with acc-hmms and est-hmms, which use the options
/// recorded here; --feature-config, --cmvn and --deltas record the features' pipeline.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra init-hmms --num-states=8 --num-gauss=4 --mix-up-at=2,4,6 scp:data/train/feats.scp data/train/text exp/hmm/0.mdl
See also: acc-hmms, est-hmms, train-hmms (recipes/train_hmms.sh runs them)"
)]
pub struct Args {
    #[command(flatten)]
    pub opts: HmmTrainOptions,
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Rspecifier of the features (all the training data)
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the initial HMM set
    pub models_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let frontend = a.frontend.frontend()?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let set = cepstra_hmm::init_hmms(&data, &a.opts)?.with_frontend(frontend)?;
    set.write(&a.models_out)
        .with_context(|| format!("writing {}", a.models_out))?;
    log_hmm_summary(&set);
    Ok(())
}

/// Logs one line per class (states, Gaussians per state, data, last log-likelihood per frame).
pub fn log_hmm_summary(set: &HmmSet) {
    for c in &set.classes {
        let g: Vec<String> = (0..c.hmm.num_states())
            .map(|j| c.hmm.state(j).num_gauss().to_string())
            .collect();
        log::info!(
            "class '{}': {} states, Gaussians per state {}, {} utterances ({} skipped), {} frames, average log-likelihood per frame {}",
            c.label,
            c.hmm.num_states(),
            g.join(","),
            c.num_utts,
            c.num_skipped,
            c.num_frames,
            c.loglikes
                .last()
                .map_or("(not trained yet)".to_string(), |v| format!("{v:.4}"))
        );
    }
    log::info!(
        "Wrote {} HMMs after {} training passes.",
        set.classes.len(),
        set.iteration
    );
}
