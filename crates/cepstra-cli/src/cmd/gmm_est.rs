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
    check_mix_up(
        &a.opts,
        gmm.num_gauss(),
        stats.occupancy().sum(),
        &a.accs_in,
    )?;
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

/// Kaldi's bounds on `--mix-up` (0: no mixing up), checked before any work: a target below the
/// model's size is Kaldi's "Cannot split from K to T"; a target the statistics cannot support
/// (more Gaussians than `count / max(min occupancy, 1)`) would only be removed again, and an
/// unbounded one runs without end.
fn check_mix_up(opts: &EstimateOptions, k: usize, count: f64, accs: &str) -> Result<()> {
    let target = opts.mix_up;
    if target == 0 {
        return Ok(());
    }
    if target < k {
        anyhow::bail!(
            "--mix-up={target}: cannot split from {k} to {target} Gaussians (give at least {k}, or 0 for no mixing up)"
        );
    }
    let per = opts.min_gaussian_occupancy.max(1.0);
    let supported = if count.is_finite() && count > 0.0 {
        (count / per).floor()
    } else {
        0.0
    };
    if target as f64 > supported.max(k as f64) {
        anyhow::bail!(
            "--mix-up={target} is more than the statistics in {accs} can support: {count:.1} frames give at most {supported} Gaussians of --min-gaussian-occupancy={} frames each",
            opts.min_gaussian_occupancy
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_up_bounds() {
        let opts = |mix_up| EstimateOptions {
            mix_up,
            ..Default::default()
        };
        assert!(check_mix_up(&opts(0), 2, 200.0, "a").is_ok());
        assert!(check_mix_up(&opts(2), 2, 200.0, "a").is_ok());
        assert!(check_mix_up(&opts(20), 2, 200.0, "a").is_ok());
        let e = check_mix_up(&opts(1), 2, 200.0, "a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot split from 2 to 1"), "{e}");
        let e = check_mix_up(&opts(21), 2, 200.0, "x.acc")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.acc") && e.contains("at most 20"), "{e}");
        assert!(check_mix_up(&opts(usize::MAX), 2, 200.0, "a").is_err());
        assert!(check_mix_up(&opts(3), 2, f64::NAN, "a").is_err());
    }
}
