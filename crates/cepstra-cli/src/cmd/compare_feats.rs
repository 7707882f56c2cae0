//! `cepstra compare-feats`: how far apart two feature tables are (Kaldi's compare-feats, with
//! per-column-group mean absolute differences and tolerances, for parity checks).

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use cepstra_feat::FeatureDiff;
use cepstra_io::table::SequentialReader;
use ndarray::Array2;

/// Compare two feature tables utterance by utterance: frame counts must agree; prints the
/// maximum absolute and relative difference and the mean absolute difference per column group.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compare-feats --tolerance=1e-3 ark:ours.ark scp:kaldi/feats.scp
       cepstra compare-feats --groups=13,13,13 --max-mean-diff=0.21,0.07,0.03 ark:ours.ark scp:feats.scp
Exit status 1 when a tolerance is exceeded or the tables do not match up."
)]
pub struct Args {
    /// Fail when some |a-b| > tolerance·max(1,|b|) (0 = report only)
    #[arg(long, default_value_t = 0.0)]
    tolerance: f64,
    /// Column group sizes for the mean absolute differences, e.g. 13,13,13 (default: one group)
    #[arg(long, value_delimiter = ',')]
    groups: Vec<usize>,
    /// Fail when a group's mean |a-b| exceeds these values (one per group)
    #[arg(long = "max-mean-diff", value_delimiter = ',')]
    max_mean_diff: Vec<f64>,
    /// Rspecifier of the features to check
    rspecifier1: String,
    /// Rspecifier of the reference features
    rspecifier2: String,
}

pub fn run(a: Args) -> Result<()> {
    let mut reference: HashMap<String, Array2<f32>> = HashMap::new();
    for item in SequentialReader::<Array2<f32>>::open(&a.rspecifier2)? {
        let (k, m) = item?;
        reference.insert(k, m);
    }
    let mut diff = FeatureDiff::new(a.groups.clone());
    for item in SequentialReader::<Array2<f32>>::open(&a.rspecifier1)? {
        let (key, m) = item?;
        let r = reference.remove(&key).with_context(|| {
            format!(
                "utterance {key} is in {} but not in {}",
                a.rspecifier1, a.rspecifier2
            )
        })?;
        diff.add(&key, m.view(), r.view())?;
    }
    if let Some(k) = reference.keys().next() {
        bail!(
            "{} utterances (e.g. {k}) are in {} but not in {}",
            reference.len(),
            a.rspecifier2,
            a.rspecifier1
        );
    }
    if diff.num_utts() > 0 {
        // A closed stdout is an error (or, for a pipe, success), never a panic.
        use std::io::Write;
        writeln!(std::io::stdout().lock(), "{}", diff.summary())?;
    }
    diff.check(a.tolerance, &a.max_mean_diff)?;
    Ok(())
}
