//! `cepstra compare-feats`: how far apart two feature tables are (Kaldi's compare-feats, with
//! per-column-group mean absolute differences and tolerances, for parity checks).

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
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

/// Running totals of the differences.
#[derive(Default)]
struct Diff {
    max_abs: f64,
    max_scaled: f64,
    worst: String,
    group_sums: Vec<f64>,
    group_counts: Vec<usize>,
    frames: usize,
    utts: usize,
}

impl Diff {
    fn add(&mut self, key: &str, a: &Array2<f32>, b: &Array2<f32>, groups: &[usize]) {
        for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
            let mut col = 0;
            for (g, &width) in groups.iter().enumerate() {
                for j in col..col + width {
                    let (x, y) = (ra[j] as f64, rb[j] as f64);
                    let d = (x - y).abs();
                    self.group_sums[g] += d;
                    self.group_counts[g] += 1;
                    self.max_abs = self.max_abs.max(d);
                    let scaled = d / y.abs().max(1.0);
                    if scaled > self.max_scaled {
                        self.max_scaled = scaled;
                        self.worst = key.to_string();
                    }
                }
                col += width;
            }
        }
        self.frames += a.nrows();
        self.utts += 1;
    }
}

pub fn run(a: Args) -> Result<()> {
    let mut reference: HashMap<String, Array2<f32>> = HashMap::new();
    for item in SequentialReader::<Array2<f32>>::open(&a.rspecifier2)? {
        let (k, m) = item?;
        reference.insert(k, m);
    }
    let mut diff = Diff::default();
    let mut groups = a.groups.clone();
    for item in SequentialReader::<Array2<f32>>::open(&a.rspecifier1)? {
        let (key, m) = item?;
        let r = reference.remove(&key).with_context(|| {
            format!(
                "utterance {key} is in {} but not in {}",
                a.rspecifier1, a.rspecifier2
            )
        })?;
        if m.dim() != r.dim() {
            bail!(
                "utterance {key}: {}x{} vs {}x{} (frame counts or dimensions differ)",
                m.nrows(),
                m.ncols(),
                r.nrows(),
                r.ncols()
            );
        }
        if groups.is_empty() {
            groups = vec![m.ncols()];
        }
        if groups.iter().sum::<usize>() != m.ncols() {
            bail!(
                "--groups {:?} do not add up to the dimension {}",
                groups,
                m.ncols()
            );
        }
        if diff.group_sums.is_empty() {
            diff.group_sums = vec![0.0; groups.len()];
            diff.group_counts = vec![0; groups.len()];
        }
        diff.add(&key, &m, &r, &groups);
    }
    if let Some(k) = reference.keys().next() {
        bail!(
            "{} utterances (e.g. {k}) are in {} but not in {}",
            reference.len(),
            a.rspecifier2,
            a.rspecifier1
        );
    }
    if diff.utts == 0 {
        bail!("no utterances to compare");
    }
    let means: Vec<f64> = diff
        .group_sums
        .iter()
        .zip(&diff.group_counts)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    let mean_text: Vec<String> = means.iter().map(|m| format!("{m:.4}")).collect();
    println!(
        "utterances {} frames {} max|diff| {:.3e} max|diff|/max(1,|ref|) {:.3e} (utterance {}) mean|diff| per group {}",
        diff.utts,
        diff.frames,
        diff.max_abs,
        diff.max_scaled,
        diff.worst,
        mean_text.join(" / ")
    );
    if a.tolerance > 0.0 && diff.max_scaled > a.tolerance {
        bail!(
            "max relative difference {:.3e} exceeds --tolerance={}",
            diff.max_scaled,
            a.tolerance
        );
    }
    if !a.max_mean_diff.is_empty() {
        if a.max_mean_diff.len() != means.len() {
            bail!(
                "--max-mean-diff needs {} values (one per group)",
                means.len()
            );
        }
        for (g, (m, lim)) in means.iter().zip(&a.max_mean_diff).enumerate() {
            if m > lim {
                bail!("group {} mean |diff| {m:.4} exceeds {lim}", g + 1);
            }
        }
    }
    Ok(())
}
