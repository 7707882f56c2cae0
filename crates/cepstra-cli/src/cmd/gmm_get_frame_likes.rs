//! `cepstra gmm-get-frame-likes`: log-likelihood of every frame, or per utterance with
//! --average (Kaldi's gmm-global-get-frame-likes).

use anyhow::Result;
use cepstra_io::table::Writer;
use ndarray::{Array1, Array2};

use crate::common::gmm_io::{read_model, reject_gselect};

/// Write the log-likelihood of each frame (a vector per utterance) or, with --average, the
/// average per frame of each utterance.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-get-frame-likes --average final.mdl scp:test/feats.scp ark,t:likes.txt\nSee also: classify"
)]
pub struct Args {
    /// Write the per-utterance average instead of per-frame values
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    average: bool,
    /// Kaldi's Gaussian selection: not supported by cepstra (an error if given)
    #[arg(long)]
    gselect: Option<String>,
    /// The model
    model: String,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Wspecifier of the likelihoods
    likes_wspecifier: String,
}

pub fn run(a: Args) -> Result<()> {
    reject_gselect(&a.gselect)?;
    let gmm = read_model(&a.model)?;
    let reader = crate::common::feature_table::FeatureTable::open(&a.feats_rspecifier)?;
    let permissive = reader.permissive();
    let (mut total, mut frames) = (0.0f64, 0usize);
    if a.average {
        let mut w = Writer::<f32>::open(&a.likes_wspecifier)?;
        let n = crate::common::map_ordered(
            reader,
            permissive,
            |_k, m: Array2<f32>| Ok(gmm.score(m.view())?),
            |k, s| {
                total += s.total;
                frames += s.num_frames;
                Ok(w.write(k, &(s.average as f32))?)
            },
        )?;
        w.commit()?;
        log::info!("Done {} utterances", n.done);
    } else {
        let mut w = Writer::<Array1<f32>>::open(&a.likes_wspecifier)?;
        let n = crate::common::map_ordered(
            reader,
            permissive,
            |_k, m: Array2<f32>| Ok(gmm.log_likelihoods(m.view())?),
            |k, ll| {
                total += ll.sum();
                frames += ll.len();
                Ok(w.write(k, &ll.mapv(|v| v as f32))?)
            },
        )?;
        w.commit()?;
        log::info!("Done {} utterances", n.done);
    }
    let avg = total / frames.max(1) as f64;
    log::info!("Overall average log-likelihood per frame {avg:.6} over {frames} frames");
    Ok(())
}
