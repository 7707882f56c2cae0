//! `cepstra acc-hmms`: the statistics of one HMM training pass over one data split.

use anyhow::{Context, Result};
use cepstra_hmm::{Alignments, HmmSet, IntVector, TrainMode};
use cepstra_io::table::SequentialReader;

use super::train_classes::{read_training_data, FrontEndArgs};

/// Accumulate the statistics of every class of an HMM set over some utterances (one job of a
/// pass): each utterance against its class's HMM by forward-backward (--mode baum-welch) or its
/// best path (--mode viterbi), summed exactly, so that the jobs of any split sum (est-hmms) to
/// the same bits. Utterances shorter than the model's shortest path are skipped with a warning.
/// With --alignments (Kaldi's gmm-acc-stats-ali; --mode viterbi only), each utterance's
/// statistics come from its stored state sequence (align-hmms, or align-hmms --equal) instead of
/// a new best path; an utterance without one is warned about and skipped, an alignment that does
/// not fit its utterance or the topology is an error naming the utterance.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra acc-hmms exp/hmm/0.mdl scp:data/train/split4/1/feats.scp data/train/split4/1/text exp/hmm/0.1.acc
      cepstra acc-hmms --mode viterbi --alignments ark:exp/hmm/ali.1.ark exp/hmm/3.mdl scp:... text exp/hmm/3.1.acc
See also: est-hmms, init-hmms"
)]
pub struct Args {
    /// viterbi or baum-welch (default: the mode recorded in the HMM set)
    #[arg(long, value_enum)]
    pub mode: Option<TrainMode>,
    /// Rspecifier of the alignments to accumulate along (an int-vector table as align-hmms
    /// writes: 0-based emitting states), instead of realigning; needs --mode viterbi
    #[arg(long, value_name = "RSPECIFIER")]
    pub alignments: Option<String>,
    #[command(flatten)]
    pub frontend: FrontEndArgs,
    /// Use the features even when their dimension or pipeline differs from the front-end
    /// recorded in the HMM set
    #[arg(long = "ignore-frontend", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub ignore_frontend: bool,
    /// The HMM set of this pass
    pub models: String,
    /// Rspecifier of the features of this job
    pub feats_rspecifier: String,
    /// The text file of this job: `<utt-id> <label>` lines
    pub text: String,
    /// Where to write the statistics
    pub acc_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let set = HmmSet::read(&a.models).with_context(|| format!("reading {}", a.models))?;
    let declared = a.frontend.frontend()?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    if !a.ignore_frontend {
        let dim = data.dim().unwrap_or(set.dim());
        set.check_frontend(&a.feats_rspecifier, dim, declared.as_ref())?;
    }
    let mode = a.mode.unwrap_or(set.options.mode);
    let accs = match &a.alignments {
        None => cepstra_hmm::accumulate(&set, &data, mode)?,
        Some(spec) => {
            if mode != TrainMode::Viterbi {
                // The statistics of a stored path are Viterbi training's.
                anyhow::bail!(
                    "--alignments needs --mode viterbi (the mode is {mode:?}, Baum-Welch sums over all paths): \
                     give --mode viterbi or drop --alignments"
                );
            }
            let mut alis = Alignments::new();
            for item in SequentialReader::<IntVector>::open(spec)? {
                let (utt, v) = item.with_context(|| format!("reading {spec}"))?;
                if alis.insert(utt.clone(), v.0).is_some() {
                    anyhow::bail!("{spec}: utterance '{utt}' has two alignments");
                }
            }
            log::info!("Read {} alignments from {spec}", alis.len());
            cepstra_hmm::accumulate_aligned(&set, &data, &alis)
                .with_context(|| format!("accumulating along the alignments of {spec}"))?
        }
    };
    accs.write(&a.acc_out)
        .with_context(|| format!("writing {}", a.acc_out))?;
    let (mut ll, mut frames) = (0.0, 0.0);
    for c in accs.classes.iter().filter(|c| c.stats.num_utts() > 0) {
        ll += c.stats.total_loglike();
        frames += c.stats.num_frames();
        log::info!(
            "class '{}': {} utterances ({} skipped), {} frames, average log-likelihood per frame {:.4}",
            c.label,
            c.stats.num_utts(),
            c.stats.num_skipped(),
            c.stats.num_frames(),
            c.stats.total_loglike() / c.stats.num_frames().max(1.0)
        );
    }
    log::info!(
        "Overall average log-likelihood per frame {:.6} over {frames} frames ({mode:?}).",
        ll / f64::max(frames, 1.0)
    );
    Ok(())
}
