//! `cepstra compute-accuracy`: accuracy, %SER, per-class table, confusion matrix, reports.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cepstra_score::{
    compute_accuracy, compute_accuracy_runs, model_setting, ComputeAccuracyOptions, TrainingCurves,
};
use cepstra_train::{ClassAccs, ModelSet};

/// Compare hypotheses with the reference: per-class precision/recall and the confusion matrix
/// on stderr, then `%SER ...` and, last on stdout, `accuracy 0.9818 (108/110)`. With several
/// hypothesis files (one run per seed), one line per run and last `accuracy 0.9782 ± 0.0050 over 5
/// seeds (min 0.9727, max 0.9818)`; `--report` is then the summary page of the runs.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-accuracy --report exp/x/report.html --acc-out exp/x/acc.txt --models exp/x/final.mdl \\
  --data data/test_cmn --scores exp/x/scores.tsv --final-accs exp/x/final.1.acc,exp/x/final.2.acc data/test/text exp/x/hyp.txt
      cepstra compute-accuracy --report exp/seeds/report.html data/test/text exp/s0/hyp.txt exp/s1/hyp.txt exp/s2/hyp.txt
See also: classify"
)]
pub struct Args {
    /// Write a self-contained HTML report (setting, confusion heat-map, per-speaker table,
    /// training curves, errors with their margins and audio)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the accuracy as one number (the coursework's acc.txt)
    #[arg(long = "acc-out", value_name = "FILE")]
    acc_out: Option<PathBuf>,
    /// The model set: its options, front-end and training log-likelihood curves go in the report
    #[arg(long, value_name = "MODELSET")]
    models: Option<String>,
    /// The final model's statistics on the training data (acc-classes of MODELSET, comma-separated
    /// parts): its log-likelihood becomes the curves' last point
    #[arg(long = "final-accs", value_name = "ACC,...", value_delimiter = ',')]
    final_accs: Vec<String>,
    /// The scored data dir: utt2spk (per-speaker table), utt2num_frames (margins per frame),
    /// wav.scp (audio players for local wavs) and its frontend record, each when present
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// classify's score file: the margin and closest other class of every error
    #[arg(long, value_name = "FILE")]
    scores: Option<PathBuf>,
    /// The score file holds averages per frame (classify --normalize-per-frame), not totals
    #[arg(long = "scores-per-frame")]
    scores_per_frame: bool,
    /// Title of the report (default: from the hypothesis file's directory)
    #[arg(long, default_value = "")]
    title: String,
    /// The reference text file (`utt label`)
    ref_text: PathBuf,
    /// The hypothesis text file(s) (`utt label`); several: one run each (e.g. one per seed)
    #[arg(required = true, num_args = 1..)]
    hyp_texts: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let set = match &a.models {
        Some(m) => {
            let set = ModelSet::read(m).with_context(|| format!("reading {m}"))?;
            warn_missing_classes(&set, &a.ref_text, m);
            Some(set)
        }
        None => None,
    };
    let mut setting = Vec::new();
    if let (Some(m), Some(set)) = (&a.models, &set) {
        setting.push(("model file".to_string(), m.clone()));
        setting.extend(model_setting(set));
    }
    if a.hyp_texts.len() > 1 {
        if set.is_some() || !a.final_accs.is_empty() {
            bail!("--models and --final-accs are options of one run: give one hypothesis file, or leave them out for the summary of several");
        }
        let opts = ComputeAccuracyOptions {
            report: a.report.clone(),
            acc_out: a.acc_out.clone(),
            command,
            title: a.title.clone(),
            data: a.data.clone(),
            scores: a.scores.clone(),
            ..Default::default()
        };
        let lines = compute_accuracy_runs(&a.ref_text, &a.hyp_texts, &opts)?;
        return print_summary(&lines, &a);
    }
    let curves = match &set {
        Some(set) => Some(curves_of(set, &a.final_accs)?),
        None if !a.final_accs.is_empty() => {
            bail!("--final-accs needs --models (the model set they were accumulated with)")
        }
        None => None,
    };
    let opts = ComputeAccuracyOptions {
        report: a.report.clone(),
        acc_out: a.acc_out.clone(),
        curves,
        command,
        title: a.title.clone(),
        data: a.data.clone(),
        scores: a.scores.clone(),
        scores_per_frame: a.scores_per_frame,
        setting,
    };
    let out = compute_accuracy(&a.ref_text, &a.hyp_texts[0], &opts)?;
    eprint!("{}", out.details);
    print_summary(&out.summary, &a)
}

/// The summary lines on stderr and, unless an output (`--acc-out=-`, `--report=-`) has taken
/// stdout for its data, on stdout too; a closed stdout is an error, not a panic.
fn print_summary(lines: &[String], a: &Args) -> Result<()> {
    use std::io::Write;
    for line in lines {
        eprintln!("{line}");
    }
    let stdout_taken = [&a.acc_out, &a.report]
        .iter()
        .any(|o| o.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    if !stdout_taken {
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
    Ok(())
}

/// The model set's training curves, and the final model's log-likelihood per class from its
/// statistics (the parts of one acc-classes run of this model set).
fn curves_of(set: &ModelSet, final_accs: &[String]) -> Result<TrainingCurves> {
    let mut curves = TrainingCurves {
        first_iteration: 0,
        per_class: set.training_curves(),
        ..Default::default()
    };
    let Some((first, rest)) = final_accs.split_first() else {
        return Ok(curves);
    };
    let mut sum = ClassAccs::read(first).with_context(|| format!("reading {first}"))?;
    sum.check_model_set(set, first)?;
    for p in rest {
        let acc = ClassAccs::read(p).with_context(|| format!("reading {p}"))?;
        sum.merge(&acc, p)?;
    }
    for c in &sum.classes {
        let frames = c.stats.num_frames();
        if !c.skipped && frames > 0.0 {
            curves
                .final_loglikes
                .insert(c.label.clone(), c.stats.total_loglike() / frames);
        }
    }
    Ok(curves)
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
