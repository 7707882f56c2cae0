//! `cepstra gmm-sum-accs`: add statistics files (Kaldi's gmm-global-sum-accs /
//! fgmm-global-sum-accs; under those names the sum is written in Kaldi's format).

use anyhow::{Context, Result};

use crate::common::gmm_io::{read_stats, show_avg_loglike, write_stats, Invocation, StatsOutArgs};

/// Sum statistics files (any mix of cepstra and Kaldi formats) in the order given.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-sum-accs 0.acc 0.1.acc 0.2.acc 0.3.acc\nSee also: gmm-acc-stats, gmm-est"
)]
pub struct Args {
    #[command(flatten)]
    out: StatsOutArgs,
    /// Where to write the sum
    accs_out: String,
    /// Statistics files to add
    #[arg(required = true)]
    accs_in: Vec<String>,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    a.out.apply_kaldi_defaults(inv);
    // The likelihood is summed over the inputs that record it (Kaldi-format ones do not).
    let (mut like, mut like_frames, mut unrecorded) = (0.0f64, 0.0f64, 0usize);
    let mut total: Option<cepstra_gmm::GmmStats> = None;
    for name in &a.accs_in {
        let s = read_stats(name)?;
        if s.total_loglike().is_nan() {
            unrecorded += 1;
        } else {
            like += s.total_loglike();
            like_frames += s.num_frames();
        }
        match total.as_mut() {
            None => total = Some(s),
            Some(t) => t.merge(&s).with_context(|| format!("adding {name}"))?,
        }
    }
    let total = total.context("no statistics to sum")?;
    let avg = if unrecorded == a.accs_in.len() {
        show_avg_loglike(f64::NAN)
    } else if like_frames <= 0.0 {
        "none (no frames)".to_string()
    } else if unrecorded > 0 {
        format!(
            "{:.6} over the {like_frames:.1} frames of the {} inputs that record it \
             (not recorded in {unrecorded} Kaldi-format accumulators)",
            like / like_frames,
            a.accs_in.len() - unrecorded
        )
    } else {
        show_avg_loglike(like / like_frames)
    };
    log::info!(
        "Summed {} stats, total count {:.1}, avg like/frame {avg}",
        a.accs_in.len(),
        total.num_frames(),
    );
    write_stats(&total, &a.accs_out, &a.out)
}
