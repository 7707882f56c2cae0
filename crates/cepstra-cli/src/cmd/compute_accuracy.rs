//! `cepstra compute-accuracy`: accuracy, %SER, per-class table, confusion matrix, reports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cepstra_hmm::{HmmSet, IntVector};
use cepstra_io::table::SequentialReader;
use cepstra_score::{
    compute_accuracy, compute_accuracy_runs, model_setting, ComputeAccuracyOptions, HmmDetails,
    StateDurations, TrainingCurves,
};
use cepstra_train::{ClassAccs, ModelSet};
use ndarray::Array2;

/// Compare hypotheses with the reference: per-class precision/recall and the confusion matrix
/// on stderr, then `%SER ...` and, last on stdout, `accuracy 0.9818 (108/110)`. With several
/// hypothesis files (one run per seed), one line per run and last `accuracy 0.9782 ± 0.0050 over 5
/// seeds (min 0.9727, max 0.9818)`; `--report` is then the summary page of the runs.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-accuracy --report exp/x/report.html --acc-out exp/x/acc.txt --models exp/x/final.mdl \\
  --data data/test_cmn --scores exp/x/scores.tsv --final-accs exp/x/final.1.acc,exp/x/final.2.acc data/test/text exp/x/hyp.txt
      cepstra compute-accuracy --report exp/hmm/s/report.html --models exp/hmm/final.mdl --feats scp:data/test_cmn/feats.scp \\
  --ali-ref ark:exp/hmm/s/ali_ref.ark --ali-hyp ark:exp/hmm/s/ali_hyp.ark data/test_cmn/text exp/hmm/s/hyp.txt
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
    /// The model set (GMM or HMM set): its options, front-end and training log-likelihood curves
    /// go in the report
    #[arg(long, value_name = "MODELSET")]
    models: Option<String>,
    /// HMM sets: the features of the scored utterances, drawn for each error with its state
    /// boundaries (--ali-ref, --ali-hyp)
    #[arg(long, value_name = "RSPECIFIER")]
    feats: Option<String>,
    /// HMM sets: the Viterbi state sequences against the reference words (align-hmms of the
    /// reference text); also the report's per-state durations
    #[arg(long = "ali-ref", value_name = "RSPECIFIER")]
    ali_ref: Option<String>,
    /// HMM sets: the Viterbi state sequences against the recognised words (align-hmms of the
    /// hypothesis file)
    #[arg(long = "ali-hyp", value_name = "RSPECIFIER")]
    ali_hyp: Option<String>,
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

/// The `--models` file: a GMM model set or an HMM set.
enum Models {
    Gmm(ModelSet),
    Hmm(HmmSet),
}

impl Models {
    fn read(path: &str) -> Result<Models> {
        let bytes = cepstra_io::filename::Input::open(path)?.read_all()?;
        Ok(if cepstra_hmm::is_hmm_set(&bytes) {
            Models::Hmm(HmmSet::from_bytes(&bytes, path)?)
        } else if cepstra_hmm::htk::looks_like_mmf(&bytes) {
            Models::Hmm(cepstra_hmm::htk::read_mmf(&bytes, path)?)
        } else {
            Models::Gmm(
                ModelSet::from_bytes(&bytes, path).with_context(|| format!("reading {path}"))?,
            )
        })
    }

    fn has_class(&self, label: &str) -> bool {
        match self {
            Models::Gmm(s) => s.class(label).is_some(),
            Models::Hmm(s) => s.index_of(label).is_some(),
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let set = match &a.models {
        Some(m) => {
            let set = Models::read(m)?;
            warn_missing_classes(&set, &a.ref_text, m);
            Some(set)
        }
        None => None,
    };
    let mut setting = Vec::new();
    if let (Some(m), Some(set)) = (&a.models, &set) {
        setting.push(("model file".to_string(), m.clone()));
        match set {
            Models::Gmm(set) => setting.extend(model_setting(set)),
            Models::Hmm(set) => setting.extend(hmm_setting(set)),
        }
    }
    let hmm_files = a.feats.is_some() || a.ali_ref.is_some() || a.ali_hyp.is_some();
    if a.hyp_texts.len() > 1 {
        if set.is_some() || !a.final_accs.is_empty() || hmm_files {
            bail!("--models, --final-accs, --feats, --ali-ref and --ali-hyp are options of one run: give one hypothesis file, or leave them out for the summary of several");
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
        Some(Models::Gmm(set)) => Some(curves_of(set, &a.final_accs)?),
        Some(Models::Hmm(set)) => {
            if !a.final_accs.is_empty() {
                bail!(
                    "--final-accs are acc-classes statistics of a GMM model set; {} is an HMM set",
                    a.models.as_deref().unwrap_or("")
                );
            }
            Some(TrainingCurves {
                first_iteration: 0,
                per_class: set
                    .classes
                    .iter()
                    .map(|c| (c.label.clone(), c.loglikes.clone()))
                    .collect(),
                ..Default::default()
            })
        }
        None if !a.final_accs.is_empty() => {
            bail!("--final-accs needs --models (the model set they were accumulated with)")
        }
        None => None,
    };
    let hmm = if hmm_files && a.report.is_some() {
        Some(hmm_details(&a)?)
    } else {
        None
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
        hmm,
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

/// An HMM set's report rows: the summary and options (the first lines of `hmm-info`), then each
/// class's states, Gaussians per state and training data.
fn hmm_setting(set: &HmmSet) -> Vec<(String, String)> {
    let info = set.info();
    let mut rows: Vec<(String, String)> = info
        .lines()
        .take_while(|l| !l.starts_with("class\t"))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let classes: Vec<String> = set
        .classes
        .iter()
        .map(|c| {
            let n = c.hmm.num_states();
            let g: BTreeSet<usize> = (0..n).map(|j| c.hmm.state(j).num_gauss()).collect();
            let g: Vec<String> = g.iter().map(usize::to_string).collect();
            format!(
                "{} (S={n}, M={}, {} utts, {} frames)",
                c.label,
                g.join("/"),
                c.num_utts,
                c.num_frames
            )
        })
        .collect();
    rows.push(("classes".into(), classes.join("; ")));
    rows
}

/// The report's HMM part: the errors' features (--feats), both words' state sequences
/// (--ali-ref, --ali-hyp) and the per-state durations of the reference alignments.
fn hmm_details(a: &Args) -> Result<HmmDetails> {
    let reference = cepstra_score::read_text(&a.ref_text)?;
    let hyp: BTreeMap<String, String> = cepstra_score::read_text(&a.hyp_texts[0])?
        .into_iter()
        .map(|u| (u.utt, u.label))
        .collect();
    let errors: BTreeSet<&str> = reference
        .iter()
        .filter(|u| hyp.get(&u.utt) != Some(&u.label))
        .map(|u| u.utt.as_str())
        .collect();
    let mut d = HmmDetails::default();
    if let Some(spec) = &a.feats {
        for item in SequentialReader::<Array2<f32>>::open(spec)? {
            let (utt, m) = item.with_context(|| format!("reading {spec}"))?;
            if errors.contains(utt.as_str()) {
                d.feats.insert(utt, m);
            }
        }
    }
    let read_states = |spec: &Option<String>| -> Result<BTreeMap<String, Vec<usize>>> {
        let mut out = BTreeMap::new();
        let Some(spec) = spec else { return Ok(out) };
        for item in SequentialReader::<IntVector>::open(spec)? {
            let (utt, v) = item.with_context(|| format!("reading {spec}"))?;
            let states = v
                .0
                .iter()
                .map(|&s| usize::try_from(s))
                .collect::<Result<Vec<usize>, _>>()
                .map_err(|_| {
                    anyhow::anyhow!("{spec}: utterance '{utt}': a negative state in its alignment")
                })?;
            out.insert(utt, states);
        }
        Ok(out)
    };
    d.ref_states = read_states(&a.ali_ref)?;
    d.hyp_states = read_states(&a.ali_hyp)?;
    d.durations = StateDurations::from_alignments(&reference, &d.ref_states);
    Ok(d)
}

/// Warns about reference classes the model set has no model for (their utterances cannot be
/// recognised).
fn warn_missing_classes(set: &Models, ref_text: &std::path::Path, models: &str) {
    let Ok(reference) = cepstra_score::read_text(ref_text) else {
        return; // compute_accuracy reports the error
    };
    let mut missing: Vec<&str> = reference
        .iter()
        .map(|u| u.label.as_str())
        .filter(|l| !set.has_class(l))
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
