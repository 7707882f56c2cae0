//! `cepstra gmm-est`: re-estimate a GMM from statistics (Kaldi's gmm-global-est /
//! fgmm-global-est). Under Kaldi's names: Kaldi's defaults (fgmm-global-est: minimum occupancy
//! 100) and Kaldi's binary model format.

use anyhow::{Context, Result};
use cepstra_gmm::kaldi_compat::round_stats_like_kaldi_acc;
use cepstra_gmm::{estimate, estimate_kaldi, EstimateOptions};

use crate::common::gmm_io::{
    apply_kaldi_estimate_defaults, check_update_flags, read_model, read_stats, write_model,
    Invocation, ModelOutArgs,
};

/// Estimate a GMM from accumulated statistics, with Kaldi's floors (min weight, min occupancy,
/// variance/eigenvalue floors), scikit-learn's reg-covar and mixing up.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-est --mix-up=8 0.mdl 0.acc 1.mdl\n       cepstra gmm-est 0.mdl \"cepstra gmm-sum-accs - 0.*.acc |\" 1.mdl\nSee also: gmm-acc-stats, gmm-sum-accs"
)]
pub struct Args {
    #[command(flatten)]
    opts: EstimateOptions,
    #[command(flatten)]
    out: ModelOutArgs,
    /// Estimate exactly as Kaldi's gmm-global-est/fgmm-global-est do (float natural parameters;
    /// with statistics from `gmm-acc-stats --kaldi-compat` the models are Kaldi's bytes)
    #[arg(long = "kaldi-compat", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    kaldi_compat: bool,
    /// Kaldi's parameters to update: cepstra updates all of them (only mvw is accepted)
    #[arg(long = "update-flags", default_value = "mvw")]
    update_flags: String,
    /// The model the statistics were accumulated with
    model_in: String,
    /// The statistics (a file, or a pipe such as "cepstra gmm-sum-accs - *.acc |")
    accs_in: String,
    /// Where to write the new model
    model_out: String,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    check_update_flags(&a.update_flags)?;
    apply_kaldi_estimate_defaults(&mut a.opts, inv);
    a.out.apply_kaldi_defaults(inv);
    let gmm = read_model(&a.model_in)?;
    let stats = read_stats(&a.accs_in)?;
    let (new, report) = if a.kaldi_compat {
        // Kaldi's estimator sees the accumulators as its acc file stores them (float32), whether
        // they come from a Kaldi-format file (already float) or cepstra's f64 format.
        estimate_kaldi(&round_stats_like_kaldi_acc(&stats), &gmm, &a.opts)
    } else {
        estimate(&stats, &gmm, &a.opts)
    }
    .with_context(|| format!("estimating from {}", a.accs_in))?;
    // The estimator logs its own warnings (floored variances, removed Gaussians).
    log::info!(
        "count {:.1}, avg like/frame {}; {} Gaussians ({} removed, {} floored)",
        report.count,
        crate::common::gmm_io::show_avg_loglike(report.avg_loglike),
        new.num_gauss(),
        report.removed.len(),
        report.floored_gaussians
    );
    write_model(&new, &a.model_out, &a.out)
}
