//! Accuracy, per-class precision/recall/F1, confusion matrix and error list (Kaldi's
//! `compute-wer` for isolated words, scikit-learn's `classification_report`).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::text::UttLabel;

/// Precision, recall and F1 of one reference class.
///
/// Conventions (scikit-learn's with `zero_division=0`): precision is `correct / predicted` and 0
/// when the class was never hypothesised; recall is `correct / support`; F1 is the harmonic mean,
/// 0 when precision and recall are both 0. Only utterances present in the reference count.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassMetrics {
    /// The class label.
    pub label: String,
    /// Reference utterances of this class recognised as this class (true positives).
    pub correct: usize,
    /// Reference utterances hypothesised as this class (true + false positives).
    pub predicted: usize,
    /// Reference utterances of this class (including those missing from the hypothesis).
    pub support: usize,
    /// `correct / predicted` (0 if `predicted == 0`).
    pub precision: f64,
    /// `correct / support`.
    pub recall: f64,
    /// `2 p r / (p + r)` (0 if both are 0).
    pub f1: f64,
}

/// Counts of (reference class, hypothesis label) pairs.
///
/// Rows are the reference classes, columns the hypothesis labels: the reference classes in the
/// same order, then any other label the hypothesis used (such as `<unk>`), sorted. Reference
/// utterances with no hypothesis are counted in [`missing`](Self::missing), so each row plus its
/// `missing` entry sums to the class support.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfusionMatrix {
    /// Row labels: the reference classes, in C-locale (byte) order.
    pub reference_labels: Vec<String>,
    /// Column labels: `reference_labels`, then extra hypothesis labels in byte order.
    pub hypothesis_labels: Vec<String>,
    /// `counts[[r, h]]`: reference utterances of class `r` hypothesised as label `h`.
    pub counts: Array2<usize>,
    /// Per reference class, utterances absent from the hypothesis.
    pub missing: Vec<usize>,
}

impl ConfusionMatrix {
    /// Whether any reference utterance had no hypothesis (the renderers then add a column).
    pub fn has_missing(&self) -> bool {
        self.missing.iter().any(|&m| m > 0)
    }
}

/// A reference utterance that was not recognised correctly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Misrecognition {
    /// Utterance id.
    pub utt: String,
    /// Reference label.
    pub reference: String,
    /// Hypothesis label, `None` if the utterance is missing from the hypothesis.
    pub hypothesis: Option<String>,
}

/// Everything `compute-accuracy` reports about a hypothesis against a reference.
///
/// Utterances missing from the hypothesis count as errors; hypothesis utterances not in the
/// reference are ignored and listed in [`extra_in_hyp`](Self::extra_in_hyp). Nothing is logged:
/// [`render_text`](Self::render_text) ends with a `WARNING:` line for each of these cases.
///
/// ```
/// use cepstra_score::{AccuracyReport, UttLabel};
/// let t = |u: &str, l: &str| UttLabel { utt: u.into(), label: l.into() };
/// let reference = [t("a", "1"), t("b", "1"), t("c", "2"), t("d", "2")];
/// let hypothesis = [t("a", "1"), t("b", "2"), t("c", "2"), t("d", "<unk>")];
/// let r = AccuracyReport::compute(&reference, &hypothesis)?;
/// assert_eq!((r.correct, r.total), (2, 4));
/// assert_eq!(r.ser_line(), "%SER 50.00 [ 2 / 4 ]");
/// assert_eq!(r.accuracy_line(), "accuracy 0.5000 (2/4)");
/// assert_eq!(r.acc_txt(), "0.5\n");
/// assert_eq!(r.confusion.hypothesis_labels, ["1", "2", "<unk>"]);
/// # Ok::<(), cepstra_score::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccuracyReport {
    /// Reference utterances.
    pub total: usize,
    /// Reference utterances whose hypothesis equals the reference label.
    pub correct: usize,
    /// `correct / total`.
    pub accuracy: f64,
    /// Per reference class, in the order of `confusion.reference_labels`.
    pub classes: Vec<ClassMetrics>,
    /// The confusion matrix.
    pub confusion: ConfusionMatrix,
    /// Wrongly recognised or missing utterances, in reference-file order.
    pub errors: Vec<Misrecognition>,
    /// Reference utterances with no hypothesis (also in `errors`), in reference-file order.
    pub missing_in_hyp: Vec<String>,
    /// Hypothesis utterances not in the reference (ignored), in hypothesis-file order.
    pub extra_in_hyp: Vec<String>,
}

impl AccuracyReport {
    /// Compares a hypothesis with a reference (both as read by [`read_text`](crate::read_text)).
    ///
    /// Fails with [`Error::EmptyReference`] if the reference is empty. Duplicate utterance ids
    /// are not re-checked here (the readers reject them); if present, the last one wins.
    pub fn compute(reference: &[UttLabel], hypothesis: &[UttLabel]) -> Result<Self> {
        if reference.is_empty() {
            return Err(Error::EmptyReference);
        }
        let hyp: HashMap<&str, &str> = hypothesis
            .iter()
            .map(|e| (e.utt.as_str(), e.label.as_str()))
            .collect();
        let ref_utts: std::collections::HashSet<&str> =
            reference.iter().map(|e| e.utt.as_str()).collect();

        let reference_labels: Vec<String> = reference
            .iter()
            .map(|e| e.label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let extra_labels: BTreeSet<String> = reference
            .iter()
            .filter_map(|e| hyp.get(e.utt.as_str()))
            .filter(|l| {
                reference_labels
                    .binary_search_by(|r| r.as_str().cmp(l))
                    .is_err()
            })
            .map(|l| l.to_string())
            .collect();
        let mut hypothesis_labels = reference_labels.clone();
        hypothesis_labels.extend(extra_labels);
        let col_of: HashMap<&str, usize> = hypothesis_labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();

        let n_ref = reference_labels.len();
        let mut counts = Array2::<usize>::zeros((n_ref, hypothesis_labels.len()));
        let mut missing = vec![0usize; n_ref];
        let mut errors = Vec::new();
        let mut missing_in_hyp = Vec::new();
        let mut correct = 0usize;
        for e in reference {
            let r = col_of[e.label.as_str()]; // reference labels come first, so row == column
            match hyp.get(e.utt.as_str()) {
                Some(&h) => {
                    counts[[r, col_of[h]]] += 1;
                    if h == e.label {
                        correct += 1;
                    } else {
                        errors.push(Misrecognition {
                            utt: e.utt.clone(),
                            reference: e.label.clone(),
                            hypothesis: Some(h.to_string()),
                        });
                    }
                }
                None => {
                    missing[r] += 1;
                    missing_in_hyp.push(e.utt.clone());
                    errors.push(Misrecognition {
                        utt: e.utt.clone(),
                        reference: e.label.clone(),
                        hypothesis: None,
                    });
                }
            }
        }
        let extra_in_hyp: Vec<String> = hypothesis
            .iter()
            .filter(|e| !ref_utts.contains(e.utt.as_str()))
            .map(|e| e.utt.clone())
            .collect();
        let classes = reference_labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let tp = counts[[i, i]];
                let predicted = counts.column(i).sum();
                let support = counts.row(i).sum() + missing[i];
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    label: label.clone(),
                    correct: tp,
                    predicted,
                    support,
                    precision,
                    recall,
                    f1,
                }
            })
            .collect();

        let total = reference.len();
        Ok(Self {
            total,
            correct,
            accuracy: correct as f64 / total as f64,
            classes,
            confusion: ConfusionMatrix {
                reference_labels,
                hypothesis_labels,
                counts,
                missing,
            },
            errors,
            missing_in_hyp,
            extra_in_hyp,
        })
    }

    /// Wrongly recognised plus missing utterances: `total - correct`.
    pub fn num_errors(&self) -> usize {
        self.total - self.correct
    }

    /// Sentence error rate in percent.
    pub fn ser_percent(&self) -> f64 {
        100.0 * self.num_errors() as f64 / self.total as f64
    }

    /// Kaldi `compute-wer`'s sentence-error line, e.g. `%SER 1.82 [ 2 / 110 ]`.
    pub fn ser_line(&self) -> String {
        format!(
            "%SER {:.2} [ {} / {} ]",
            self.ser_percent(),
            self.num_errors(),
            self.total
        )
    }

    /// The summary line recipes print last, e.g. `accuracy 0.9818 (108/110)`.
    pub fn accuracy_line(&self) -> String {
        format!(
            "accuracy {:.4} ({}/{})",
            self.accuracy, self.correct, self.total
        )
    }

    /// The content of `acc.txt` as the coursework writes it: the accuracy formatted like Python's
    /// `str(float)` (shortest round-trip digits, e.g. `0.9818181818181818`, `1.0`) and a newline.
    pub fn acc_txt(&self) -> String {
        format!("{}\n", python_float_repr(self.accuracy))
    }

    /// Writes [`acc_txt`](Self::acc_txt) to `path` atomically (temporary file, then rename).
    pub fn write_acc_txt(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomic(path, self.acc_txt().as_bytes())
    }

    /// Unweighted means of precision, recall and F1 over the reference classes.
    pub fn macro_average(&self) -> (f64, f64, f64) {
        let n = self.classes.len().max(1) as f64;
        let sum = |f: fn(&ClassMetrics) -> f64| self.classes.iter().map(f).sum::<f64>() / n;
        (sum(|c| c.precision), sum(|c| c.recall), sum(|c| c.f1))
    }

    /// The per-class table as fixed-width text (one row per class, then the macro average).
    pub fn render_class_table(&self) -> String {
        let w = self
            .classes
            .iter()
            .map(|c| c.label.chars().count())
            .max()
            .unwrap_or(0)
            .max("macro avg".len());
        let mut s = format!(
            "{:<w$}  {:>9}  {:>9}  {:>9}  {:>7}\n",
            "class", "precision", "recall", "f1", "support"
        );
        for c in &self.classes {
            let _ = writeln!(
                s,
                "{:<w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>7}",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        let (p, r, f) = self.macro_average();
        let _ = writeln!(
            s,
            "{:<w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>7}",
            "macro avg", p, r, f, self.total
        );
        s
    }

    /// The confusion matrix as fixed-width text: rows reference, columns hypothesis, plus a
    /// `(missing)` column when some reference utterances had no hypothesis.
    pub fn render_confusion(&self) -> String {
        let cm = &self.confusion;
        let mut cols: Vec<&str> = cm.hypothesis_labels.iter().map(String::as_str).collect();
        if cm.has_missing() {
            cols.push(MISSING_COLUMN);
        }
        let corner = "ref\\hyp";
        let w0 = cm
            .reference_labels
            .iter()
            .map(|l| l.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        // Each column as wide as its label or the largest count anywhere, whichever is wider.
        let max_count = cm
            .counts
            .iter()
            .chain(&cm.missing)
            .copied()
            .max()
            .unwrap_or(0);
        let count_w = max_count.to_string().len().max(2);
        let widths: Vec<usize> = cols
            .iter()
            .map(|label| label.chars().count().max(count_w))
            .collect();
        let mut s = format!("{corner:<w0$}");
        for (c, wc) in cols.iter().zip(&widths) {
            let _ = write!(s, " {c:>wc$}");
        }
        s.push('\n');
        for (i, label) in cm.reference_labels.iter().enumerate() {
            let _ = write!(s, "{label:<w0$}");
            let cells = cm
                .counts
                .row(i)
                .to_vec()
                .into_iter()
                .chain(cm.has_missing().then_some(cm.missing[i]));
            for (n, wc) in cells.zip(&widths) {
                let _ = write!(s, " {n:>wc$}");
            }
            s.push('\n');
        }
        s
    }

    /// The error list as text, one `utt ref hyp` line per error (`(missing)` for no hypothesis).
    pub fn render_errors(&self) -> String {
        let mut s = String::new();
        for e in &self.errors {
            let _ = writeln!(
                s,
                "{} {} {}",
                e.utt,
                e.reference,
                e.hypothesis.as_deref().unwrap_or(MISSING_COLUMN)
            );
        }
        s
    }

    /// Everything `compute-accuracy` prints on stderr: table, confusion matrix, errors, warnings.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        s.push_str("Per-class results:\n");
        s.push_str(&self.render_class_table());
        s.push_str("\nConfusion matrix (rows: reference, columns: hypothesis):\n");
        s.push_str(&self.render_confusion());
        if !self.errors.is_empty() {
            let _ = writeln!(s, "\nErrors ({}; utt ref hyp):", self.errors.len());
            s.push_str(&self.render_errors());
        }
        if !self.missing_in_hyp.is_empty() {
            let _ = writeln!(
                s,
                "\nWARNING: {} reference utterance(s) missing from the hypothesis (counted as errors)",
                self.missing_in_hyp.len()
            );
        }
        if !self.extra_in_hyp.is_empty() {
            let _ = writeln!(
                s,
                "\nWARNING: {} hypothesis utterance(s) not in the reference were ignored: {}",
                self.extra_in_hyp.len(),
                abbreviate(&self.extra_in_hyp, 10)
            );
        }
        s
    }
}

/// Column label used for reference utterances that have no hypothesis.
pub const MISSING_COLUMN: &str = "(missing)";

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

pub(crate) fn abbreviate(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if items.len() > max {
        let _ = write!(s, " ... ({} more)", items.len() - max);
    }
    s
}

/// Formats a float as Python's `repr`/`str` does: shortest round-trip digits, always with a `.0`
/// or exponent, scientific notation below 1e-4 and from 1e16 (`5e-05`, `1e+16`).
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let ax = x.abs();
    if ax != 0.0 && !(1e-4..1e16).contains(&ax) {
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Vec<UttLabel> {
        pairs
            .iter()
            .map(|(u, l)| UttLabel {
                utt: u.to_string(),
                label: l.to_string(),
            })
            .collect()
    }

    /// Three classes a, b, c with 4, 3, 3 utterances.
    /// a: 3 right, 1 → b.  b: 2 right, 1 → c.  c: 1 right, 1 → a, 1 → `<unk>`.
    /// Correct 6/10. Predicted: a 3+1=4, b 1+2=3, c 1+1=2.
    fn three_class() -> AccuracyReport {
        let reference = t(&[
            ("u01", "a"),
            ("u02", "a"),
            ("u03", "a"),
            ("u04", "a"),
            ("u05", "b"),
            ("u06", "b"),
            ("u07", "b"),
            ("u08", "c"),
            ("u09", "c"),
            ("u10", "c"),
        ]);
        // Hypothesis deliberately unsorted.
        let hypothesis = t(&[
            ("u10", "<unk>"),
            ("u01", "a"),
            ("u02", "a"),
            ("u03", "a"),
            ("u04", "b"),
            ("u05", "b"),
            ("u06", "b"),
            ("u07", "c"),
            ("u08", "c"),
            ("u09", "a"),
        ]);
        AccuracyReport::compute(&reference, &hypothesis).unwrap()
    }

    #[test]
    fn three_class_totals() {
        let r = three_class();
        assert_eq!((r.total, r.correct, r.num_errors()), (10, 6, 4));
        assert!((r.accuracy - 0.6).abs() < 1e-15);
        assert_eq!(r.ser_line(), "%SER 40.00 [ 4 / 10 ]");
        assert_eq!(r.accuracy_line(), "accuracy 0.6000 (6/10)");
        assert_eq!(r.acc_txt(), "0.6\n");
    }

    #[test]
    fn three_class_confusion() {
        let r = three_class();
        let cm = &r.confusion;
        assert_eq!(cm.reference_labels, ["a", "b", "c"]);
        assert_eq!(cm.hypothesis_labels, ["a", "b", "c", "<unk>"]);
        let expect = ndarray::arr2(&[[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 1, 1]]);
        assert_eq!(cm.counts, expect);
        assert!(!cm.has_missing());
    }

    #[test]
    fn three_class_metrics() {
        let r = three_class();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        let a = &r.classes[0];
        assert_eq!((a.correct, a.predicted, a.support), (3, 4, 4));
        assert!(close(a.precision, 0.75) && close(a.recall, 0.75) && close(a.f1, 0.75));
        let b = &r.classes[1];
        assert_eq!((b.correct, b.predicted, b.support), (2, 3, 3));
        assert!(close(b.precision, 2.0 / 3.0) && close(b.recall, 2.0 / 3.0));
        let c = &r.classes[2];
        assert_eq!((c.correct, c.predicted, c.support), (1, 2, 3));
        assert!(close(c.precision, 0.5) && close(c.recall, 1.0 / 3.0));
        // F1 = 2 * 0.5 * (1/3) / (0.5 + 1/3) = (1/3) / (5/6) = 0.4
        assert!(close(c.f1, 0.4));
        let (p, rec, f) = r.macro_average();
        assert!(close(p, (0.75 + 2.0 / 3.0 + 0.5) / 3.0));
        assert!(close(rec, (0.75 + 2.0 / 3.0 + 1.0 / 3.0) / 3.0));
        assert!(close(f, (0.75 + 2.0 / 3.0 + 0.4) / 3.0));
    }

    #[test]
    fn three_class_errors_in_reference_order() {
        let r = three_class();
        let got: Vec<(&str, &str, Option<&str>)> = r
            .errors
            .iter()
            .map(|e| {
                (
                    e.utt.as_str(),
                    e.reference.as_str(),
                    e.hypothesis.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("u04", "a", Some("b")),
                ("u07", "b", Some("c")),
                ("u09", "c", Some("a")),
                ("u10", "c", Some("<unk>")),
            ]
        );
    }

    #[test]
    fn missing_and_extra_utterances() {
        let reference = t(&[("x1", "1"), ("x2", "1"), ("x3", "2")]);
        let hypothesis = t(&[("x1", "1"), ("x3", "2"), ("zz", "2")]);
        let r = AccuracyReport::compute(&reference, &hypothesis).unwrap();
        assert_eq!((r.correct, r.total), (2, 3));
        assert_eq!(r.missing_in_hyp, ["x2"]);
        assert_eq!(r.extra_in_hyp, ["zz"]);
        assert_eq!(r.confusion.missing, [1, 0]);
        assert!(r.confusion.has_missing());
        // Class 1: support 2 (one missing), recall 1/2, precision 1/1.
        assert_eq!(r.classes[0].support, 2);
        assert!((r.classes[0].recall - 0.5).abs() < 1e-15);
        assert!((r.classes[0].precision - 1.0).abs() < 1e-15);
        assert_eq!(r.errors[0].hypothesis, None);
        let text = r.render_text();
        assert!(text.contains("(missing)"), "{text}");
        assert!(text.contains("x2 1 (missing)"), "{text}");
        assert!(
            text.contains("not in the reference were ignored: zz"),
            "{text}"
        );
        assert_eq!(r.ser_line(), "%SER 33.33 [ 1 / 3 ]");
    }

    #[test]
    fn never_predicted_class_has_zero_precision() {
        let reference = t(&[("a", "1"), ("b", "2")]);
        let hypothesis = t(&[("a", "1"), ("b", "1")]);
        let r = AccuracyReport::compute(&reference, &hypothesis).unwrap();
        let two = &r.classes[1];
        assert_eq!(
            (two.predicted, two.precision, two.recall, two.f1),
            (0, 0.0, 0.0, 0.0)
        );
        assert!((r.classes[0].precision - 0.5).abs() < 1e-15);
    }

    #[test]
    fn empty_reference_is_an_error() {
        let r = AccuracyReport::compute(&[], &t(&[("a", "1")]));
        assert!(matches!(r, Err(Error::EmptyReference)));
    }

    #[test]
    fn kaldi_ser_line_format() {
        // 108 of 110 right, as in the coursework: Kaldi prints two decimals.
        let reference: Vec<UttLabel> = (0..110)
            .map(|i| UttLabel {
                utt: format!("u{i:03}"),
                label: (i % 11).to_string(),
            })
            .collect();
        let mut hypothesis = reference.clone();
        hypothesis[5].label = "9".into();
        hypothesis[50].label = "<unk>".into();
        let r = AccuracyReport::compute(&reference, &hypothesis).unwrap();
        assert_eq!(r.ser_line(), "%SER 1.82 [ 2 / 110 ]");
        assert_eq!(r.accuracy_line(), "accuracy 0.9818 (108/110)");
        assert_eq!(r.acc_txt(), "0.9818181818181818\n");
    }

    #[test]
    fn python_repr() {
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(0.0), "0.0");
        assert_eq!(python_float_repr(108.0 / 110.0), "0.9818181818181818");
        assert_eq!(python_float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(python_float_repr(5e-5), "5e-05");
        assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(0.0001), "0.0001");
    }

    #[test]
    fn text_rendering_shapes() {
        let r = three_class();
        let table = r.render_class_table();
        assert_eq!(table.lines().count(), 1 + 3 + 1);
        assert!(
            table.lines().nth(3).unwrap_or("").starts_with("c "),
            "{table}"
        );
        let cm = r.render_confusion();
        let lines: Vec<&str> = cm.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].ends_with("<unk>"), "{cm}");
        let row_c: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(row_c, ["c", "1", "0", "1", "1"]);
    }
}
