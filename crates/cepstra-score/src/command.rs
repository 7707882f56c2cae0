//! The whole `compute-accuracy` command as one library call.

use std::path::{Path, PathBuf};

use crate::accuracy::AccuracyReport;
use crate::error::Result;
use crate::report::{render_html, utc_now, ReportContext};
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

    let html = opts.report.as_ref().map(|_| {
        let title = if opts.title.is_empty() {
            match hyp_text.parent().map(Path::display).map(|d| d.to_string()) {
                Some(d) if !d.is_empty() => format!("Accuracy: {d}"),
                _ => "Accuracy report".to_string(),
            }
        } else {
            opts.title.clone()
        };
        render_html(
            &report,
            &ReportContext {
                title,
                command: opts.command.clone(),
                date: utc_now(),
                curves: opts.curves.clone(),
            },
        )
    });
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
