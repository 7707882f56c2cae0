//! `cepstra est-hmms`: sum the per-job statistics of a pass and re-estimate every HMM.

use anyhow::{bail, Context, Result};
use cepstra_hmm::{HmmAccs, HmmSet};

use super::init_hmms::log_hmm_summary;

/// Sum the statistics files of one pass (exactly: any split gives the same bits) and
/// re-estimate every class's HMM with the floors recorded in the set; mix up to --mix-up
/// Gaussians per state, or by the recorded --mix-up-at schedule when --mix-up is not given.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra est-hmms --mix-up=2 exp/hmm/0.mdl exp/hmm/0.1.acc exp/hmm/0.2.acc exp/hmm/1.mdl
See also: acc-hmms, init-hmms"
)]
pub struct Args {
    /// Gaussians per state to mix up to after this update (default: the recorded schedule)
    #[arg(long = "mix-up")]
    pub mix_up: Option<usize>,
    /// MODELS ACC1 [ACC2 ...] MODELS_OUT
    #[arg(required = true, num_args = 3.., value_name = "FILES")]
    pub files: Vec<String>,
}

pub fn run(a: Args) -> Result<()> {
    let (model_in, rest) = a.files.split_first().context("no HMM set given")?;
    let (model_out, accs) = rest.split_last().context("no output HMM set given")?;
    if accs.is_empty() {
        bail!("no statistics files: est-hmms MODELS ACC1 [ACC2 ...] MODELS_OUT");
    }
    let set = HmmSet::read(model_in).with_context(|| format!("reading {model_in}"))?;
    let mut sum = HmmAccs::read(&accs[0]).with_context(|| format!("reading {}", accs[0]))?;
    sum.check_set(&set, &accs[0])?;
    for p in &accs[1..] {
        let acc = HmmAccs::read(p).with_context(|| format!("reading {p}"))?;
        sum.merge(&acc, p)?;
    }
    let next = cepstra_hmm::est_hmms(&set, &sum, a.mix_up)?;
    next.write(model_out)
        .with_context(|| format!("writing {model_out}"))?;
    log_hmm_summary(&next);
    Ok(())
}
