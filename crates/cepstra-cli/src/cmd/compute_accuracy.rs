//! `cepstra compute-accuracy`: accuracy, %SER, per-class table, confusion matrix, reports.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cepstra_score::{compute_accuracy, ComputeAccuracyOptions, TrainingCurves};
use cepstra_train::ModelSet;

/// Compare hypotheses with the reference: per-class precision/recall and the confusion matrix
/// on stderr, then `%SER ...` and, last on stdout, `accuracy 0.9818 (108/110)`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-accuracy --report exp/x/report.html --acc-out exp/x/acc.txt --models exp/x/final.mdl data/test/text exp/x/hyp.txt
See also: classify"
)]
pub struct Args {
    /// Write a self-contained HTML report (confusion heat-map, training curves, tables)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the accuracy as one number (the coursework's acc.txt)
    #[arg(long = "acc-out", value_name = "FILE")]
    acc_out: Option<PathBuf>,
    /// The model set, for the training log-likelihood curves of the report
    #[arg(long, value_name = "MODELSET")]
    models: Option<String>,
    /// Title of the report (default: from the hypothesis file's directory)
    #[arg(long, default_value = "")]
    title: String,
    /// The reference text file (`utt label`)
    ref_text: PathBuf,
    /// The hypothesis text file (`utt label`)
    hyp_text: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let curves = match &a.models {
        Some(m) => {
            let set = ModelSet::read(m).with_context(|| format!("reading {m}"))?;
            warn_missing_classes(&set, &a.ref_text, m);
            Some(TrainingCurves {
                first_iteration: 0,
                per_class: set.training_curves(),
            })
        }
        None => None,
    };
    let opts = ComputeAccuracyOptions {
        report: a.report.clone(),
        acc_out: a.acc_out.clone(),
        curves,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        title: a.title.clone(),
    };
    let out = compute_accuracy(&a.ref_text, &a.hyp_text, &opts)?;
    eprint!("{}", out.details);
    for line in &out.summary {
        eprintln!("{line}");
        println!("{line}");
    }
    Ok(())
}

/// Warns about reference classes the model set has no model for (their utterances cannot be
/// recognised).
fn warn_missing_classes(set: &ModelSet, ref_text: &std::path::Path, models: &str) {
    let Ok(reference) = cepstra_score::read_text(ref_text) else {
        return; // compute_accuracy reports the error
    };
    let mut missing: Vec<&str> = reference
        .iter()
        .map(|u| u.label.as_str())
        .filter(|l| set.class(l).is_none())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        log::warn!(
            "the model set {models} has no model for class(es) {} of {}: their utterances are always wrong",
            missing.join(" "),
            ref_text.display()
        );
    }
}
