//! Scoring for isolated-word recognition: accuracy, per-class precision/recall, confusion
//! matrices and self-contained HTML reports (Kaldi's `compute-wer` and `sid/*_id.sh` scoring).
//!
//! - [`read_text`] reads a Kaldi `text` file (`<utt-id> <label>` lines) into [`UttLabel`]s,
//!   rejecting blank lines, missing labels and duplicate ids with the file and line.
//! - [`AccuracyReport::compute`] compares a hypothesis with a reference: accuracy, the Kaldi
//!   `%SER` line, per-class [`ClassMetrics`], a [`ConfusionMatrix`] (rows reference, columns
//!   hypothesis, `<unk>` or any other extra label as an extra column) and the error list.
//! - [`render_html`] / [`write_html_report`] make one HTML page with an SVG confusion heat-map,
//!   per-class [`TrainingCurves`] and the tables; no scripts, no network.
//! - The report also shows the setting ([`model_setting`]), per-speaker accuracy
//!   ([`SpeakerAccuracy`]), the margin and closest other class of every error ([`ErrorMargin`],
//!   from classify's [`ScoreTable`]) and an audio player per error ([`UttDetails`]); for an HMM
//!   set, each error's features with the Viterbi state boundaries of the reference and of the
//!   recognised word ([`alignment_svg`]) and per-state durations ([`HmmDetails`]).
//! - [`compute_accuracy`] is the whole `cepstra compute-accuracy` command;
//!   [`compute_accuracy_runs`] / [`render_seeds_html`] the summary page of several seeds.
//!
//! Conventions: labels are compared as exact strings and sorted in C-locale (byte) order;
//! utterances missing from the hypothesis count as errors; hypothesis utterances not in the
//! reference are ignored with a warning; precision of a never-hypothesised class is 0.
//!
//! ```
//! use cepstra_score::{AccuracyReport, UttLabel};
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("text"), "u1 1\nu2 2\nu3 2\nu4 o\n")?;
//! std::fs::write(dir.path().join("hyp"), "u1 1\nu2 2\nu3 o\nu4 o\n")?;
//! let reference = cepstra_score::read_text(&dir.path().join("text"))?;
//! let hypothesis = cepstra_score::read_text(&dir.path().join("hyp"))?;
//! let report = AccuracyReport::compute(&reference, &hypothesis)?;
//! assert_eq!(report.accuracy_line(), "accuracy 0.7500 (3/4)");
//! assert_eq!(report.ser_line(), "%SER 25.00 [ 1 / 4 ]");
//! eprint!("{}", report.render_text());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accuracy;
pub mod classify;
mod command;
mod details;
mod error;
mod fsutil;
mod report;
mod seeds;
mod svg;
mod text;

pub use accuracy::{
    python_float_repr, AccuracyReport, ClassMetrics, ConfusionMatrix, Misrecognition,
    MISSING_COLUMN,
};
pub use classify::{
    classify_utterance, ClassScorer, Classification, ClassifyError, ClassifyOptions,
    PreparedModelSet, UttResult,
};
pub use command::{
    compute_accuracy, compute_accuracy_runs, ComputeAccuracyOptions, ComputeAccuracyOutput,
};
pub use details::{
    local_wav, ErrorMargin, HmmDetails, ScoreTable, SpeakerAccuracy, StateDurations, UttDetails,
};
pub use error::{Error, Result};
pub use fsutil::{check_outputs, write_all_atomic, write_atomic};
pub use report::{
    format_utc, model_setting, render_html, utc_now, write_html_report, ReportContext,
};
pub use seeds::{accuracy_spread, render_seeds_html, seeds_line, SeedRun};
pub use svg::{alignment_svg, confusion_svg, training_curves_svg, StatePath, TrainingCurves};
pub use text::{parse_text, read_text, UttLabel};

#[cfg(test)]
mod autotraits {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::AccuracyReport>();
        assert_send_sync::<crate::ReportContext>();
        assert_send_sync::<crate::TrainingCurves>();
        assert_send_sync::<crate::ComputeAccuracyOptions>();
        assert_send_sync::<crate::ComputeAccuracyOutput>();
        assert_send_sync::<crate::UttLabel>();
        assert_send_sync::<crate::HmmDetails>();
    }
}
