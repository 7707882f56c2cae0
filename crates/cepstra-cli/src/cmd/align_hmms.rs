//! `cepstra align-hmms`: the Viterbi state sequence of each utterance against its class's HMM.

use std::path::Path;

use anyhow::{Context, Result};
use cepstra_hmm::{HmmSet, IntVector};
use cepstra_io::table::Writer;

use super::train_classes::read_training_data;

/// Align every utterance of TEXT against the HMM of its label: the best path's 0-based state of
/// each frame, as a Kaldi int-vector table (`ark,t:` gives `utt 0 0 0 1 1 2 …`). Utterances
/// shorter than the model's shortest path are warned about and left out. With --durations, a
/// TSV of per-state durations (class, state, utterances, mean and min/max frames). With --equal,
/// the equal alignment instead (Kaldi's align-equal): each utterance cut into as many equal
/// segments as its word's HMM has states (the flat start's segmentation, frame t -> state
/// floor(t*S/T)), the alignment of pass 0 in recipes/train_hmms.sh --mode viterbi; only the frame
/// counts of the features are used, and utterances with fewer frames than states are left out.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra align-hmms exp/hmm/final.mdl scp:data/train/feats.scp data/train/text ark,t:exp/hmm/ali.txt
      cepstra align-hmms --equal exp/hmm/0.mdl scp:data/train/feats.scp data/train/text ark:exp/hmm/ali.1.ark
See also: train-hmms, hmm-info"
)]
pub struct Args {
    /// Write the equal alignment (frame t of T -> state floor(t*S/T)) instead of the best path
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub equal: bool,
    /// Where to write per-state duration statistics (TSV)
    #[arg(long)]
    pub durations: Option<String>,
    /// The HMM set
    pub models: String,
    /// Rspecifier of the features
    pub feats_rspecifier: String,
    /// The text file: `<utt-id> <label>` lines
    pub text: String,
    /// Wspecifier of the alignments, e.g. ark,t:ali.txt
    pub align_wspecifier: String,
}

pub fn run(a: Args) -> Result<()> {
    let set = HmmSet::read(&a.models).with_context(|| format!("reading {}", a.models))?;
    let data = read_training_data(&a.feats_rspecifier, &a.text)?;
    let alis = if a.equal {
        cepstra_hmm::align_equal(&set, &data)?
    } else {
        cepstra_hmm::align(&set, &data)?
    };
    let mut writer = Writer::<IntVector>::open(&a.align_wspecifier)?;
    let mut done = 0;
    for ali in &alis {
        if ali.states.is_empty() {
            log::warn!(
                "utterance '{}' is shorter than {} of '{}': not aligned",
                ali.utt,
                if a.equal {
                    "the number of states"
                } else {
                    "the shortest path"
                },
                ali.label
            );
            continue;
        }
        writer.write(
            &ali.utt,
            &IntVector(ali.states.iter().map(|&s| s as i32).collect()),
        )?;
        done += 1;
    }
    writer.commit()?;
    if let Some(path) = &a.durations {
        let tsv = cepstra_hmm::durations_tsv(&set, &alis);
        cepstra_io::filename::write_atomic(Path::new(path), tsv.as_bytes())
            .with_context(|| format!("writing {path}"))?;
    }
    log::info!("Aligned {done} out of {} utterances.", alis.len());
    Ok(())
}
