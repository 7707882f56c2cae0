//! `cepstra classify`: the maximum-likelihood scorer.

use std::path::Path;

use anyhow::{Context, Result};
use cepstra_feat::FrontEndOptions;
use cepstra_hmm::{HmmSet, ScoreMode};
use cepstra_io::filename::Input;
use cepstra_io::table::{RSpecifier, SequentialReader};
use cepstra_score::classify::{
    classify_utterances, ClassScorer, Classification, ClassifyOptions, PreparedModelSet,
};
use cepstra_train::ModelSet;

use crate::common::class_args::FrontEndArgs;
use ndarray::Array2;

/// Score every utterance against every class's model and answer the best class: a GMM model
/// set (total log-likelihood) or an HMM set (train-hmms, or an HTK MMF: --score viterbi for
/// the best path, forward for the total likelihood). Writes a TSV of scores (header `utt<TAB>class1<TAB>...`) and a Kaldi `text`-style
/// hypothesis file (`utt label`), both sorted by utterance id.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra classify exp/classes/final.mdl scp:data/test/feats.scp exp/classes/scores.tsv exp/classes/hyp.txt
See also: train-classes, compute-accuracy"
)]
pub struct Args {
    /// Divide the scores by the number of frames (average log-likelihood per frame); the
    /// decision is the same, the score file and --threshold change
    #[arg(long = "normalize-per-frame", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    normalize_per_frame: bool,
    /// Answer --unk when the best score (per frame with --normalize-per-frame, else total) is
    /// below this
    #[arg(long, allow_hyphen_values = true)]
    threshold: Option<f64>,
    /// The answer for rejected utterances
    #[arg(long, default_value = "<unk>")]
    unk: String,
    /// HMM sets: score by the best path (viterbi) or every path (forward)
    #[arg(long, value_enum, default_value_t = ScoreMode::Forward)]
    score: ScoreMode,
    #[command(flatten)]
    frontend: FrontEndArgs,
    /// Use the features even when their dimension or pipeline (--feature-config, --cmvn,
    /// --deltas) differs from the front-end recorded in the model set
    #[arg(long = "ignore-frontend", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    ignore_frontend: bool,
    /// The model set
    modelset: String,
    /// Rspecifier of the features, e.g. scp:data/test/feats.scp
    feats_rspecifier: String,
    /// Where to write the scores (TSV)
    scores_out: String,
    /// Where to write the hypotheses (`utt label`)
    hyp_out: String,
}

/// An HMM set with its scoring mode, as classify's per-class scorer.
struct HmmScorer {
    set: HmmSet,
    mode: ScoreMode,
}

impl ClassScorer for HmmScorer {
    fn class_labels(&self) -> Vec<String> {
        self.set.labels().map(str::to_string).collect()
    }
    fn feature_dim(&self) -> usize {
        self.set.dim()
    }
    fn score_class(
        &self,
        class: usize,
        feats: ndarray::ArrayView2<'_, f32>,
    ) -> Result<f64, String> {
        self.set
            .score(class, feats, self.mode)
            .map_err(|e| e.to_string())
    }
    fn score_class_batch(
        &self,
        class: usize,
        feats: ndarray::ArrayView2<'_, f32>,
        bounds: &[usize],
    ) -> Result<Vec<f64>, String> {
        self.set
            .score_batch(class, feats, bounds, self.mode)
            .map_err(|e| e.to_string())
    }
}

pub fn run(a: Args) -> Result<()> {
    let bytes = Input::open(&a.modelset)?.read_all()?;
    if cepstra_hmm::is_hmm_set(&bytes) || cepstra_hmm::htk::looks_like_mmf(&bytes) {
        let set = if cepstra_hmm::is_hmm_set(&bytes) {
            HmmSet::from_bytes(&bytes, &a.modelset)?
        } else {
            cepstra_hmm::htk::read_mmf(&bytes, &a.modelset)?
        };
        let scorer = HmmScorer { set, mode: a.score };
        return classify_with(&a, &scorer, |what, dim, declared| {
            Ok(scorer.set.check_frontend(what, dim, declared)?)
        });
    }
    let set = ModelSet::from_bytes(&bytes, &a.modelset)
        .with_context(|| format!("reading {}", a.modelset))?;
    // Every class's model prepared once for the whole run.
    let prepared = PreparedModelSet::new(&set);
    classify_with(&a, &prepared, |what, dim, declared| {
        Ok(set.check_frontend(what, dim, declared)?)
    })
}

/// Scores every utterance with `models`; `check_frontend(what, dim, declared)` is the model
/// file's front-end check.
fn classify_with<M: ClassScorer>(
    a: &Args,
    models: &M,
    check_frontend: impl Fn(&str, usize, Option<&FrontEndOptions>) -> Result<()> + Sync,
) -> Result<()> {
    let opts = ClassifyOptions {
        normalize_per_frame: a.normalize_per_frame,
        threshold: a.threshold,
        unk: a.unk.clone(),
    };
    let check = !a.ignore_frontend;
    if check {
        check_frontend(
            &a.feats_rspecifier,
            models.feature_dim(),
            a.frontend.frontend()?.as_ref(),
        )?;
    }
    let permissive = RSpecifier::parse(&a.feats_rspecifier)?.permissive;
    let reader = SequentialReader::<Array2<f32>>::open(&a.feats_rspecifier)?;
    // Utterances are scored in batches of about BATCH_FRAMES frames: a GMM set loads each
    // block of a batch once for all classes (models prepared once per run); an HMM set scores
    // the batch class by class.
    const BATCH_FRAMES: usize = 1 << 16;
    let mut results = Vec::new();
    let mut batch: Vec<(String, Array2<f32>)> = Vec::new();
    let (mut frames, mut skipped) = (0, 0);
    let mut flush = |batch: &mut Vec<(String, Array2<f32>)>| -> Result<()> {
        let views: Vec<(&str, ndarray::ArrayView2<'_, f32>)> =
            batch.iter().map(|(k, m)| (k.as_str(), m.view())).collect();
        for ((k, _), r) in batch.iter().zip(classify_utterances(models, &views, &opts)) {
            match r {
                Ok(r) => results.push(r),
                Err(e) if permissive => {
                    log::warn!("utterance {k}: {e} (skipped)");
                    skipped += 1;
                }
                Err(e) => return Err(anyhow::Error::from(e).context(format!("utterance {k}"))),
            }
        }
        batch.clear();
        Ok(())
    };
    let n = crate::common::map_ordered(
        reader,
        permissive,
        |_key, feats: Array2<f32>| {
            if check {
                check_frontend(&a.feats_rspecifier, feats.ncols(), None)?;
            }
            Ok(feats)
        },
        |key, feats| {
            frames += feats.nrows();
            batch.push((key.to_string(), feats));
            if frames >= BATCH_FRAMES {
                frames = 0;
                flush(&mut batch)?;
            }
            Ok(())
        },
    )?;
    flush(&mut batch)?;
    let done = n.done - skipped;
    let out = Classification::new(models, results)?;
    out.write(Path::new(&a.scores_out), Path::new(&a.hyp_out))?;
    if opts.threshold.is_some() {
        log::info!("{} utterances rejected as {}", out.num_rejected(), opts.unk);
    }
    log::info!(
        "Classified {} out of {} utterances into {} classes.",
        done,
        n.total,
        out.labels.len()
    );
    Ok(())
}
