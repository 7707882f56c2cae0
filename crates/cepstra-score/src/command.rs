//! The whole `compute-accuracy` command as one library call.

use std::path::{Path, PathBuf};

use crate::accuracy::AccuracyReport;
use crate::details::{ScoreTable, SpeakerAccuracy, UttDetails};
use crate::error::{Error, Result};
use crate::report::{render_html, utc_now, ReportContext};
use crate::seeds::{render_seeds_html, seeds_line, SeedRun};
use crate::svg::TrainingCurves;
use crate::text::read_text;

/// Options of `cepstra compute-accuracy` (besides the two positional text files).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComputeAccuracyOptions {
    /// `--report`: where to write the HTML report.
    pub report: Option<PathBuf>,
    /// `--acc-out`: where to write `acc.txt` (the accuracy as one number).
    pub acc_out: Option<PathBuf>,
    /// Training curves for the report (from `--models`); ignored without `report`.
    pub curves: Option<TrainingCurves>,
    /// The command line, shown in the report.
    pub command: String,
    /// Report title; empty = the hypothesis file's parent directory.
    pub title: String,
    /// `--data`: the scored data dir; its `utt2spk` (per-speaker table), `utt2num_frames`
    /// (per-frame margins), `wav.scp` (audio players) and `frontend` are used when present.
    pub data: Option<PathBuf>,
    /// `--scores`: classify's score file, for the margin and closest other class of each error.
    pub scores: Option<PathBuf>,
    /// `--scores-per-frame`: the score file holds averages per frame (`classify
    /// --normalize-per-frame`), not totals.
    pub scores_per_frame: bool,
    /// The setting rows of the report (e.g. [`model_setting`](crate::model_setting)).
    pub setting: Vec<(String, String)>,
    /// HMM sets: the errors' features, state sequences and per-state durations for the report.
    pub hmm: Option<crate::details::HmmDetails>,
}

/// What `compute-accuracy` prints: `details` on stderr, then `summary` lines on stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeAccuracyOutput {
    /// The computed figures.
    pub report: AccuracyReport,
    /// Per-class table, confusion matrix, error list and warnings (for stderr).
    pub details: String,
    /// `%SER 1.82 [ 2 / 110 ]` then `accuracy 0.9818 (108/110)` (for stdout, the last line last).
    pub summary: Vec<String>,
}

/// Runs `compute-accuracy`: reads the reference and hypothesis `text` files, computes the
/// figures, writes `acc.txt` and the HTML report if asked, and returns what to print.
///
/// Every output is rendered before anything is written, and each file is written atomically, so
/// a failure leaves no half-written file.
///
/// ```
/// use cepstra_score::{compute_accuracy, ComputeAccuracyOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let (r, h) = (dir.path().join("text"), dir.path().join("hyp.txt"));
/// std::fs::write(&r, "u1 1\nu2 2\nu3 z\n")?;
/// std::fs::write(&h, "u3 z\nu1 1\nu2 o\n")?;
/// let opts = ComputeAccuracyOptions {
///     acc_out: Some(dir.path().join("acc.txt")),
///     report: Some(dir.path().join("report.html")),
///     ..Default::default()
/// };
/// let out = compute_accuracy(&r, &h, &opts)?;
/// assert_eq!(out.summary, ["%SER 33.33 [ 1 / 3 ]", "accuracy 0.6667 (2/3)"]);
/// assert_eq!(std::fs::read_to_string(dir.path().join("acc.txt"))?, "0.6666666666666666\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compute_accuracy(
    ref_text: &Path,
    hyp_text: &Path,
    opts: &ComputeAccuracyOptions,
) -> Result<ComputeAccuracyOutput> {
    let reference = read_text(ref_text)?;
    let hypothesis = read_text(hyp_text)?;
    let report = AccuracyReport::compute(&reference, &hypothesis)?;

    let html = match &opts.report {
        None => None,
        Some(_) => {
            let mut details = match &opts.data {
                Some(d) => UttDetails::read_data_dir(d)?,
                None => UttDetails::default(),
            };
            if let Some(p) = &opts.scores {
                details.scores = Some(ScoreTable::read(p)?);
            }
            details.scores_per_frame = opts.scores_per_frame;
            details.hmm = opts.hmm.clone();
            let mut setting = opts.setting.clone();
            if let (Some(d), Some(f)) = (&opts.data, &details.frontend) {
                setting.push((format!("features ({})", d.display()), f.clone()));
            }
            let speakers = if details.speaker.is_empty() {
                Vec::new()
            } else {
                SpeakerAccuracy::compute(&reference, &report, &details.speaker)
            };
            Some(render_html(
                &report,
                &ReportContext {
                    title: title_for(&opts.title, hyp_text, "Accuracy"),
                    command: opts.command.clone(),
                    date: utc_now(),
                    curves: opts.curves.clone(),
                    setting,
                    speakers,
                    details,
                },
            ))
        }
    };
    let acc_txt = report.acc_txt();
    let mut outputs: Vec<(&Path, &[u8])> = Vec::new();
    if let Some(path) = &opts.acc_out {
        outputs.push((path, acc_txt.as_bytes()));
    }
    if let (Some(path), Some(html)) = (&opts.report, &html) {
        outputs.push((path, html.as_bytes()));
    }
    crate::fsutil::write_all_atomic(&outputs)?;
    Ok(ComputeAccuracyOutput {
        details: report.render_text(),
        summary: vec![report.ser_line(), report.accuracy_line()],
        report,
    })
}

fn title_for(title: &str, hyp_text: &Path, what: &str) -> String {
    if !title.is_empty() {
        return title.to_string();
    }
    match hyp_text.parent().map(Path::display).map(|d| d.to_string()) {
        Some(d) if !d.is_empty() => format!("{what}: {d}"),
        _ => format!("{what} report"),
    }
}

/// `compute-accuracy REF HYP1 HYP2 …`: several runs of one setting (e.g. one per seed) against
/// one reference. Writes the summary page ([`render_seeds_html`]) to `opts.report` if asked;
/// each run's row links to the `report.html` beside its hypothesis when there is one. The
/// summary's last line is [`seeds_line`]. `acc_out`, `data` and `scores` are per-run options
/// and are refused here.
///
/// ```
/// use cepstra_score::{compute_accuracy_runs, ComputeAccuracyOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let p = |n: &str| dir.path().join(n);
/// std::fs::write(p("text"), "u1 1\nu2 2\n")?;
/// std::fs::write(p("h0"), "u1 1\nu2 2\n")?;
/// std::fs::write(p("h1"), "u1 1\nu2 1\n")?;
/// let opts = ComputeAccuracyOptions { report: Some(p("seeds.html")), ..Default::default() };
/// let out = compute_accuracy_runs(&p("text"), &[p("h0"), p("h1")], &opts)?;
/// assert_eq!(out.last().unwrap(), "accuracy 0.7500 ± 0.3536 over 2 seeds (min 0.5000, max 1.0000)");
/// assert!(std::fs::read_to_string(p("seeds.html"))?.contains("id=\"runs\""));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compute_accuracy_runs(
    ref_text: &Path,
    hyp_texts: &[PathBuf],
    opts: &ComputeAccuracyOptions,
) -> Result<Vec<String>> {
    if hyp_texts.len() < 2 {
        return Err(Error::Usage {
            what: "a summary over runs needs at least two hypothesis files".into(),
        });
    }
    if opts.acc_out.is_some() || opts.data.is_some() || opts.scores.is_some() {
        return Err(Error::Usage {
            what: "--acc-out, --data and --scores are options of one run; with several hypothesis \
                   files give only --report (the summary page)"
                .into(),
        });
    }
    let reference = read_text(ref_text)?;
    let page_dir = opts
        .report
        .as_deref()
        .and_then(Path::parent)
        .map(|d| {
            std::fs::canonicalize(if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            })
        })
        .transpose()
        .map_err(|source| Error::Read {
            path: opts.report.clone().unwrap_or_default(),
            source,
        })?;
    let mut runs = Vec::with_capacity(hyp_texts.len());
    let mut lines = Vec::new();
    for h in hyp_texts {
        let report = AccuracyReport::compute(&reference, &read_text(h)?)?;
        let dir = h.parent().unwrap_or(Path::new(""));
        let link = match &page_dir {
            Some(pd) if dir.join("report.html").is_file() => {
                let target = std::fs::canonicalize(dir.join("report.html")).map_err(|source| {
                    Error::Read {
                        path: dir.join("report.html"),
                        source,
                    }
                })?;
                Some(relative(pd, &target))
            }
            _ => None,
        };
        lines.push(format!("{}: {}", h.display(), report.accuracy_line()));
        runs.push(SeedRun {
            name: dir.display().to_string(),
            report,
            link,
        });
    }
    lines.push(seeds_line(&runs));
    if let Some(path) = &opts.report {
        let html = render_seeds_html(
            &runs,
            &ReportContext {
                title: if opts.title.is_empty() {
                    format!("Accuracy over {} runs", runs.len())
                } else {
                    opts.title.clone()
                },
                command: opts.command.clone(),
                date: utc_now(),
                setting: opts.setting.clone(),
                ..Default::default()
            },
        );
        crate::fsutil::write_atomic(path, html.as_bytes())?;
    }
    Ok(lines)
}

/// `target` relative to the directory `from` (both absolute), with `/` separators.
fn relative(from: &Path, target: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}
