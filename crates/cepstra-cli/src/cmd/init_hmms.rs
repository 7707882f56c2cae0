//! `cepstra init-hmms`: the initial HMM set of the distributed HMM trainer. Also holds what the
//! HMM trainers share: the `--class-opts` file, the one-line-per-class summary.

use anyhow::{Context, Result};
use cepstra_hmm::{HmmSet, HmmTrainOptions};
use cepstra_train::ClassOverrides;

use super::train_classes::{read_training_data, FrontEndArgs};
use crate::common::class_args::read_class_opts_of;

/// Initialise one left-to-right HMM per class label of TEXT: every training utterance cut into
/// --num-states equal segments, each state's GMM by k-means on its frames (--init segment, Kaldi's
/// align-equal / HTK's HInit), or every state the class's global mean and variance (--init
/// global, HTK's HCompV). Passes follow with acc-hmms and est-hmms, which use the options
/// recorded here; --feature-config, --cmvn and --deltas record the features' pipeline;
/// --class-opts sets options per class (e.g. --num-states by word length), recorded per class.
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
    /// Per-class options: lines `<label> --num-states=5 --num-gauss=2 ...` (`#` comments); any
    /// option above but --num-iters, --mode and --covariance
    #[arg(long = "class-opts", value_name = "FILE")]
    pub class_opts: Option<String>,
    /// Rspecifier of the features (all the training data)
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the initial HMM set
    pub models_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let frontend = a.frontend.frontend()?;
    let overrides = read_hmm_class_opts(a.class_opts.as_deref(), &a.opts)?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let set = cepstra_hmm::init_hmms_with(&data, &a.opts, &overrides)?.with_frontend(frontend)?;
    set.write(&a.models_out)
        .with_context(|| format!("writing {}", a.models_out))?;
    log_hmm_summary(&set);
    Ok(())
}

/// The per-class options of a `--class-opts` file (none without one): the HMM trainer's options,
/// each line checked against `opts` (an option no class may set alone, or a bad value, is an
/// error naming the file and line).
pub fn read_hmm_class_opts(path: Option<&str>, opts: &HmmTrainOptions) -> Result<ClassOverrides> {
    let Some(path) = path else {
        return Ok(ClassOverrides::new());
    };
    read_class_opts_of(
        path,
        |o: &HmmTrainOptions| serde_json::to_value(o),
        |label, ov| {
            opts.for_class(ov, label)
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
}

/// Logs one line per class (states, Gaussians per state, data, last log-likelihood per frame,
/// the class's own options).
pub fn log_hmm_summary(set: &HmmSet) {
    for c in &set.classes {
        let g: Vec<String> = (0..c.hmm.num_states())
            .map(|j| c.hmm.state(j).num_gauss().to_string())
            .collect();
        let own = match c.describe_overrides() {
            d if d.is_empty() => String::new(),
            d => format!(" (class options {d})"),
        };
        log::info!(
            "class '{}'{own}: {} states, Gaussians per state {}, {} utterances ({} skipped), {} frames, average log-likelihood per frame {}",
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
