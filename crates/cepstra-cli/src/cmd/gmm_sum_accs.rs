//! `cepstra gmm-sum-accs`: add statistics files (Kaldi's gmm-global-sum-accs).

use anyhow::{Context, Result};

use crate::common::gmm_io::{read_stats, write_stats, StatsOutArgs};

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

pub fn run(a: Args) -> Result<()> {
    let mut total = read_stats(&a.accs_in[0])?;
    for name in &a.accs_in[1..] {
        total
            .merge(&read_stats(name)?)
            .with_context(|| format!("adding {name}"))?;
    }
    log::info!(
        "Summed {} stats, total count {:.1}, avg like/frame {:.6}",
        a.accs_in.len(),
        total.num_frames(),
        total.avg_loglike()
    );
    write_stats(&total, &a.accs_out, &a.out)
}
