//! `cepstra gmm-acc-stats`: accumulate EM statistics (Kaldi's gmm-global-acc-stats /
//! fgmm-global-acc-stats; under those names the statistics are written in Kaldi's format).

use anyhow::{Context, Result};
use cepstra_gmm::GmmStats;
use cepstra_io::table::{RSpecifier, RandomAccessReader};
use ndarray::Array1;

use crate::common::gmm_io::{
    check_update_flags, read_model, reject_gselect, show_avg_loglike, write_stats, Invocation,
    StatsOutArgs,
};

/// Accumulate sufficient statistics (zeroth, first, second order; f64) of features under a model.
/// Sum them with gmm-sum-accs and estimate with gmm-est.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-acc-stats 0.mdl scp:split4/1/feats.scp 0.1.acc\nSee also: gmm-sum-accs, gmm-est"
)]
pub struct Args {
    #[command(flatten)]
    out: StatsOutArgs,
    /// Kaldi's float32 arithmetic (frame log-likelihoods from the float natural parameters, float
    /// softmax posteriors): the statistics of Kaldi's gmm-global-acc-stats to the last bit
    #[arg(long = "kaldi-compat", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    kaldi_compat: bool,
    /// Rspecifier of per-frame weights (a float vector per utterance), as Kaldi's --weights
    #[arg(long)]
    weights: Option<String>,
    /// Kaldi's Gaussian selection: not supported by cepstra (an error if given)
    #[arg(long)]
    gselect: Option<String>,
    /// Kaldi's parameters to accumulate for: cepstra accumulates all (only mvw is accepted)
    #[arg(long = "update-flags", default_value = "mvw")]
    update_flags: String,
    /// The model
    model: String,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the statistics
    accs_out: String,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    reject_gselect(&a.gselect)?;
    check_update_flags(&a.update_flags)?;
    a.out.apply_kaldi_defaults(inv);
    let gmm = read_model(&a.model)?;
    let mut weights = match &a.weights {
        Some(w) => Some(RandomAccessReader::<Array1<f32>>::open(w)?),
        None => None,
    };
    let permissive = RSpecifier::parse(&a.feats_rspecifier)?.permissive;
    let mut stats = GmmStats::for_model(&gmm);
    let (mut utts, mut frames) = (0usize, 0usize);
    let mut progress = crate::common::progress::Progress::new("utterances");
    for item in crate::common::feature_table::FeatureTable::open(&a.feats_rspecifier)? {
        let (key, feats) = match item {
            Ok(kv) => kv,
            Err(e) if permissive => {
                log::warn!("{e} (skipped)");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let w = match (&mut weights, &a.weights) {
            (Some(r), Some(spec)) => match frame_weights(r, spec, &key, feats.nrows()) {
                Ok(w) => Some(w),
                // Kaldi warns and skips such an utterance; cepstra does with `ark,p:`/`scp,p:`.
                Err(e) if permissive => {
                    log::warn!("{e:#} (skipped)");
                    continue;
                }
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let wv = w.as_ref().map(|w| w.view());
        if a.kaldi_compat {
            cepstra_gmm::accumulate_kaldi(&mut stats, &gmm, feats.view(), wv)
        } else {
            stats.accumulate(&gmm, feats.view(), wv)
        }
        .with_context(|| format!("utterance {key}"))?;
        utts += 1;
        frames += feats.nrows();
        progress.inc(1);
    }
    progress.finish();
    anyhow::ensure!(utts > 0, "{}: no features", a.feats_rspecifier);
    log::info!(
        "Done {utts} files; average log-likelihood per frame {} over {frames} frames",
        show_avg_loglike(stats.avg_loglike())
    );
    write_stats(&stats, &a.accs_out, &a.out)
}

/// The weights of utterance `key` (`n` frames) from the `--weights` table: present, one per
/// frame, finite and non-negative.
fn frame_weights(
    r: &mut RandomAccessReader<Array1<f32>>,
    spec: &str,
    key: &str,
    n: usize,
) -> Result<Array1<f32>> {
    let w = r
        .get(key)?
        .with_context(|| format!("utterance {key}: no weights in {spec}"))?;
    anyhow::ensure!(
        w.len() == n,
        "utterance {key}: {} weights in {spec} for {n} frames",
        w.len()
    );
    if let Some((t, v)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        anyhow::bail!(
            "utterance {key}: weight {v} of frame {t} in {spec} (weights must be finite and >= 0)"
        );
    }
    Ok(w)
}
