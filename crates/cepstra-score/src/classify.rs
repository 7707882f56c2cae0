//! The maximum-likelihood scorer (`cepstra classify`): each utterance goes to the class whose GMM
//! gives it the highest total log-likelihood.
//!
//! For every utterance and class the score is Σ_t ln p(x_t | class) ([`cepstra_gmm::Gmm::score`]);
//! with `normalize_per_frame` it is divided by the number of frames (the argmax is the same, the
//! threshold and the score file change). With a `threshold`, an utterance whose best score is
//! below it is answered `unk` (`<unk>` by default): the verification step of the classic
//! single-Gaussian notes. Ties go to the first class in C-locale order.
//!
//! Outputs: a score file, tab-separated, header `utt\t<class1>\t<class2>…`, then one row per
//! utterance with the scores (shortest representation that reads back to the same f64), rows in
//! C-locale order of utterance ids; and a Kaldi `text`-style hypothesis file `utt label`, same
//! order. Both are rendered before anything is written and written atomically.
//!
//! ```
//! use cepstra_gmm::{DiagGmm, Gmm};
//! use cepstra_score::classify::{classify_utterance, ClassifyOptions, Classification};
//! use cepstra_train::{ClassModel, ModelSet, TrainOptions};
//! use ndarray::array;
//! let class = |label: &str, mean: f64| -> Result<ClassModel, cepstra_gmm::Error> {
//!     Ok(ClassModel {
//!         label: label.into(), num_utts: 1, num_frames: 1, num_gauss_requested: 1,
//!         loglikes: vec![], converged: false, overrides: Default::default(), selection: None,
//!         model: Gmm::from(DiagGmm::new(array![1.0], array![[mean]], array![[1.0]])?),
//!     })
//! };
//! let set = ModelSet::new(TrainOptions::default(), vec![class("no", -3.0)?, class("yes", 3.0)?])?;
//! let opts = ClassifyOptions::default();
//! let r = classify_utterance(&set, "u1", array![[2.5f32], [3.5]].view(), &opts)?;
//! assert_eq!(r.label, "yes");
//! let out = Classification::new(&set, vec![r])?;
//! assert!(out.scores_tsv().starts_with("utt\tno\tyes\nu1\t"));
//! assert_eq!(out.hypothesis_text(), "u1 yes\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use cepstra_train::ModelSet;
use ndarray::ArrayView2;

/// Errors of classification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifyError {
    /// The features of an utterance do not have the models' dimension.
    #[error("utterance '{utt}' has feature dimension {got}, but the model set has {expected}: use the features the models were trained on (same MFCC options, CMN and deltas)")]
    Dimension {
        /// The utterance.
        utt: String,
        /// The models' dimension.
        expected: usize,
        /// The utterance's.
        got: usize,
    },
    /// An utterance without frames.
    #[error("utterance '{utt}' has no frames: it cannot be classified (remove it, or use a permissive rspecifier such as scp,p:)")]
    EmptyUtterance {
        /// The utterance.
        utt: String,
    },
    /// The same utterance twice.
    #[error("utterance '{utt}' appears twice in the features: utterance ids must be unique")]
    DuplicateUtterance {
        /// The utterance.
        utt: String,
    },
    /// No class can explain the utterance (every score −∞: e.g. fewer frames than any HMM's
    /// shortest path).
    #[error("utterance '{utt}' ({num_frames} frames) cannot be explained by any class (every score is -inf: it is shorter than every model's shortest path); remove it or use models with fewer states or skips")]
    Unexplained {
        /// The utterance.
        utt: String,
        /// Its number of frames.
        num_frames: usize,
    },
    /// No utterance at all.
    #[error("no utterances to classify (check the features rspecifier)")]
    NoUtterances,
    /// The GMM engine failed, or gave a non-finite score.
    #[error("utterance '{utt}', class '{class}': {reason}")]
    Score {
        /// The utterance.
        utt: String,
        /// The class.
        class: String,
        /// What went wrong.
        reason: String,
    },
    /// A score or hypothesis file could not be written.
    #[error(transparent)]
    Output(#[from] crate::Error),
}

/// Options of `cepstra classify`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyOptions {
    /// Divide each score by the utterance's number of frames (average log-likelihood per frame).
    pub normalize_per_frame: bool,
    /// Below this best score (normalised or total, as chosen) the answer is `unk`.
    pub threshold: Option<f64>,
    /// The label of rejected utterances.
    pub unk: String,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        Self {
            normalize_per_frame: false,
            threshold: None,
            unk: "<unk>".to_string(),
        }
    }
}

/// The scores and decision for one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct UttResult {
    /// Utterance id.
    pub utt: String,
    /// Number of frames.
    pub num_frames: usize,
    /// One score per class, in the model set's order (total, or per frame if normalised).
    pub scores: Vec<f64>,
    /// Index of the best class.
    pub best: usize,
    /// The hypothesis: the best class's label, or `unk` below the threshold.
    pub label: String,
}

/// What classification needs from a model set: its class labels (in score-column order), its
/// feature dimension and a score per class and utterance. [`ModelSet`] (one GMM per class,
/// Σ_t ln p(x_t)) implements it; cepstra-hmm's HMM model sets implement it with Viterbi or
/// forward scores. A score of −∞ means the class cannot explain the utterance.
pub trait ClassScorer: Sync {
    /// Class labels, in order.
    fn class_labels(&self) -> Vec<String>;
    /// Feature dimension of the models.
    fn feature_dim(&self) -> usize;
    /// The total log-likelihood of `feats` under class `class` (index into
    /// [`ClassScorer::class_labels`]); the error is a message (the caller names utterance and
    /// class).
    fn score_class(&self, class: usize, feats: ArrayView2<'_, f32>) -> Result<f64, String>;
    /// The scores of several utterances under class `class`: their frames stacked in `feats`,
    /// utterance u in rows `bounds[u]..bounds[u + 1]`. Must equal [`ClassScorer::score_class`]
    /// on each utterance, bit for bit (the default calls it per utterance; [`ModelSet`] scores
    /// every frame in one pass of its prepared GMM). An error is a message for the whole batch:
    /// [`classify_utterances`] then scores that class utterance by utterance to name the one.
    fn score_class_batch(
        &self,
        class: usize,
        feats: ArrayView2<'_, f32>,
        bounds: &[usize],
    ) -> Result<Vec<f64>, String> {
        bounds
            .windows(2)
            .map(|w| self.score_class(class, feats.slice(ndarray::s![w[0]..w[1], ..])))
            .collect()
    }
    /// The scores of several utterances under every class at once, `out[class][utt]`, when the
    /// scorer can do better than class by class (e.g. load each block of frames once for all
    /// classes: [`PreparedModelSet`]); `None` (the default) to be scored class by class. Must
    /// equal [`ClassScorer::score_class`] of each utterance and class bit for bit; an error
    /// sends the batch class by class.
    fn score_all_batch(
        &self,
        _utts: &[ArrayView2<'_, f32>],
    ) -> Option<Result<Vec<Vec<f64>>, String>> {
        None
    }
}

impl ClassScorer for ModelSet {
    fn class_labels(&self) -> Vec<String> {
        self.labels().map(str::to_string).collect()
    }
    fn feature_dim(&self) -> usize {
        self.dim()
    }
    fn score_class(&self, class: usize, feats: ArrayView2<'_, f32>) -> Result<f64, String> {
        self.classes[class]
            .model
            .score(feats)
            .map(|s| s.total)
            .map_err(|e| e.to_string())
    }
    /// One pass of the class's GMM over all the frames (a frame's log-likelihood depends on that
    /// frame alone), then per utterance the same sum as [`cepstra_gmm::Gmm::score`] (ndarray's
    /// sum of the utterance's contiguous frame log-likelihoods): the same bits as
    /// [`ClassScorer::score_class`].
    fn score_class_batch(
        &self,
        class: usize,
        feats: ArrayView2<'_, f32>,
        bounds: &[usize],
    ) -> Result<Vec<f64>, String> {
        let ll = self.classes[class]
            .model
            .log_likelihoods(feats)
            .map_err(|e| e.to_string())?;
        Ok(bounds
            .windows(2)
            .map(|w| ll.slice(ndarray::s![w[0]..w[1]]).sum())
            .collect())
    }
}

/// A GMM model set with every class's model prepared once ([`cepstra_gmm::PreparedSet`]), for
/// scoring many utterances: each batch's blocks of frames are loaded once for all classes.
/// The same scores as the [`ModelSet`] itself, bit for bit.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_score::classify::{classify_utterances, ClassifyOptions, PreparedModelSet};
/// use cepstra_train::{ClassModel, ModelSet, TrainOptions};
/// use ndarray::array;
/// let class = |label: &str, mean: f64| -> Result<ClassModel, cepstra_gmm::Error> {
///     Ok(ClassModel {
///         label: label.into(), num_utts: 1, num_frames: 1, num_gauss_requested: 1,
///         loglikes: vec![], converged: false, overrides: Default::default(), selection: None,
///         model: Gmm::from(DiagGmm::new(array![1.0], array![[mean]], array![[1.0]])?),
///     })
/// };
/// let set = ModelSet::new(TrainOptions::default(), vec![class("no", -3.0)?, class("yes", 3.0)?])?;
/// let prepared = PreparedModelSet::new(&set);
/// let (a, b) = (array![[2.5f32], [3.5]], array![[-3.0f32]]);
/// let utts = [("u1", a.view()), ("u2", b.view())];
/// let opts = ClassifyOptions::default();
/// let fast = classify_utterances(&prepared, &utts, &opts);
/// let plain = classify_utterances(&set, &utts, &opts);
/// assert_eq!(fast[0].as_ref().ok(), plain[0].as_ref().ok());
/// assert_eq!(fast[1].as_ref().map(|r| r.label.as_str()).ok(), Some("no"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PreparedModelSet<'a> {
    set: &'a ModelSet,
    prepared: cepstra_gmm::PreparedSet,
}

impl<'a> PreparedModelSet<'a> {
    /// Prepares every class's model of `set`.
    pub fn new(set: &'a ModelSet) -> Self {
        Self {
            set,
            prepared: cepstra_gmm::PreparedSet::new(set.classes.iter().map(|c| &c.model)),
        }
    }

    /// The model set.
    pub fn set(&self) -> &'a ModelSet {
        self.set
    }
}

impl ClassScorer for PreparedModelSet<'_> {
    fn class_labels(&self) -> Vec<String> {
        self.set.class_labels()
    }
    fn feature_dim(&self) -> usize {
        self.set.dim()
    }
    fn score_class(&self, class: usize, feats: ArrayView2<'_, f32>) -> Result<f64, String> {
        self.set.score_class(class, feats)
    }
    fn score_class_batch(
        &self,
        class: usize,
        feats: ArrayView2<'_, f32>,
        bounds: &[usize],
    ) -> Result<Vec<f64>, String> {
        self.set.score_class_batch(class, feats, bounds)
    }
    fn score_all_batch(
        &self,
        utts: &[ArrayView2<'_, f32>],
    ) -> Option<Result<Vec<Vec<f64>>, String>> {
        Some(
            self.prepared
                .utterance_totals_of(utts)
                .map_err(|e| e.to_string()),
        )
    }
}

/// Scores one utterance against every class of `models` and picks the best.
pub fn classify_utterance<M: ClassScorer + ?Sized>(
    models: &M,
    utt: &str,
    feats: ArrayView2<'_, f32>,
    opts: &ClassifyOptions,
) -> Result<UttResult, ClassifyError> {
    check_utterance(utt, feats, models.feature_dim())?;
    let n = feats.nrows();
    let labels = models.class_labels();
    let totals = (0..labels.len())
        .map(|i| models.score_class(i, feats))
        .collect();
    decide(utt, n, totals, &labels, opts)
}

/// Checks an utterance's features before scoring (dimension, frames).
fn check_utterance(utt: &str, feats: ArrayView2<'_, f32>, dim: usize) -> Result<(), ClassifyError> {
    if feats.ncols() != dim {
        return Err(ClassifyError::Dimension {
            utt: utt.to_string(),
            expected: dim,
            got: feats.ncols(),
        });
    }
    if feats.nrows() == 0 {
        return Err(ClassifyError::EmptyUtterance {
            utt: utt.to_string(),
        });
    }
    Ok(())
}

/// Scores and classifies several utterances (e.g. a batch read from a feature table): each
/// class scores all their frames in one [`ClassScorer::score_class_batch`] (classes in
/// parallel), so a GMM is prepared once per class and batch instead of once per utterance.
/// One result per utterance, in input order, equal to [`classify_utterance`]'s for it (same
/// scores, same decision, same error).
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_score::classify::{classify_utterance, classify_utterances, ClassifyOptions};
/// use cepstra_train::{ClassModel, ModelSet, TrainOptions};
/// use ndarray::array;
/// let class = |label: &str, mean: f64| -> Result<ClassModel, cepstra_gmm::Error> {
///     Ok(ClassModel {
///         label: label.into(), num_utts: 1, num_frames: 1, num_gauss_requested: 1,
///         loglikes: vec![], converged: false, overrides: Default::default(), selection: None,
///         model: Gmm::from(DiagGmm::new(array![1.0], array![[mean]], array![[1.0]])?),
///     })
/// };
/// let set = ModelSet::new(TrainOptions::default(), vec![class("no", -3.0)?, class("yes", 3.0)?])?;
/// let opts = ClassifyOptions::default();
/// let (a, b) = (array![[2.5f32], [3.5]], array![[-3.0f32]]);
/// let all = classify_utterances(&set, &[("u1", a.view()), ("u2", b.view())], &opts);
/// assert_eq!(all[0].as_ref().map(|r| r.label.as_str()).ok(), Some("yes"));
/// assert_eq!(all[1].as_ref().ok(), classify_utterance(&set, "u2", b.view(), &opts).as_ref().ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn classify_utterances<M: ClassScorer + ?Sized>(
    models: &M,
    utts: &[(&str, ArrayView2<'_, f32>)],
    opts: &ClassifyOptions,
) -> Vec<Result<UttResult, ClassifyError>> {
    let dim = models.feature_dim();
    let ok: Vec<usize> = (0..utts.len())
        .filter(|&u| check_utterance(utts[u].0, utts[u].1, dim).is_ok())
        .collect();
    let labels = models.class_labels();
    // Per class, the totals of the utterances that passed the checks: all classes at once
    // when the scorer can, else class by class (a failed batch is scored utterance by
    // utterance, so that each error belongs to its utterance).
    let views: Vec<ArrayView2<'_, f32>> = ok.iter().map(|&u| utts[u].1).collect();
    let all = match models.score_all_batch(&views) {
        Some(Ok(v)) if v.len() == labels.len() && v.iter().all(|c| c.len() == ok.len()) => Some(v),
        _ => None,
    };
    let per_class: Vec<Vec<Result<f64, String>>> = match all {
        Some(v) => v
            .into_iter()
            .map(|c| c.into_iter().map(Ok).collect())
            .collect(),
        None => {
            let mut bounds = Vec::with_capacity(ok.len() + 1);
            bounds.push(0);
            for &u in &ok {
                bounds.push(bounds[bounds.len() - 1] + utts[u].1.nrows());
            }
            let mut stacked = ndarray::Array2::<f32>::zeros((bounds[ok.len()], dim));
            for (i, &u) in ok.iter().enumerate() {
                stacked
                    .slice_mut(ndarray::s![bounds[i]..bounds[i + 1], ..])
                    .assign(&utts[u].1);
            }
            class_by_class(models, utts, &ok, &stacked, &bounds, labels.len())
        }
    };
    let mut out: Vec<Result<UttResult, ClassifyError>> = Vec::with_capacity(utts.len());
    let mut next = 0;
    for (u, &(utt, feats)) in utts.iter().enumerate() {
        if let Err(e) = check_utterance(utt, feats, dim) {
            out.push(Err(e));
            continue;
        }
        debug_assert_eq!(ok[next], u);
        let totals = per_class.iter().map(|c| c[next].clone()).collect();
        next += 1;
        out.push(decide(utt, feats.nrows(), totals, &labels, opts));
    }
    out
}

/// Per class (classes in parallel), the totals of the utterances `ok` (stacked in `stacked`,
/// rows `bounds`): one batch per class, or utterance by utterance when the batch fails, so that
/// each error belongs to its utterance.
fn class_by_class<M: ClassScorer + ?Sized>(
    models: &M,
    utts: &[(&str, ArrayView2<'_, f32>)],
    ok: &[usize],
    stacked: &ndarray::Array2<f32>,
    bounds: &[usize],
    num_classes: usize,
) -> Vec<Vec<Result<f64, String>>> {
    use rayon::prelude::*;
    (0..num_classes)
        .into_par_iter()
        .map(
            |c| match models.score_class_batch(c, stacked.view(), bounds) {
                Ok(v) if v.len() == ok.len() => v.into_iter().map(Ok).collect(),
                _ => ok
                    .iter()
                    .map(|&u| models.score_class(c, utts[u].1))
                    .collect(),
            },
        )
        .collect()
}

/// The decision for one utterance of `n` frames from its per-class totals (class order): the
/// first class whose score failed or is NaN is the error; else the best class, or `unk` below
/// the threshold.
fn decide(
    utt: &str,
    n: usize,
    totals: Vec<Result<f64, String>>,
    labels: &[String],
    opts: &ClassifyOptions,
) -> Result<UttResult, ClassifyError> {
    let mut scores = Vec::with_capacity(labels.len());
    for (total, label) in totals.into_iter().zip(labels) {
        let err = |reason: String| ClassifyError::Score {
            utt: utt.to_string(),
            class: label.clone(),
            reason,
        };
        let total = total.map_err(err)?;
        let v = if opts.normalize_per_frame {
            total / n as f64
        } else {
            total
        };
        if v.is_nan() {
            return Err(err("the log-likelihood is NaN (check the features)".into()));
        }
        scores.push(v);
    }
    let mut best = 0;
    for (i, &v) in scores.iter().enumerate() {
        if v > scores[best] {
            best = i;
        }
    }
    if scores[best] == f64::NEG_INFINITY {
        return Err(ClassifyError::Unexplained {
            utt: utt.to_string(),
            num_frames: n,
        });
    }
    let rejected = opts.threshold.is_some_and(|t| scores[best] < t);
    Ok(UttResult {
        utt: utt.to_string(),
        num_frames: n,
        label: if rejected {
            opts.unk.clone()
        } else {
            labels[best].clone()
        },
        scores,
        best,
    })
}

/// The results of a classification run, sorted by utterance id, with the class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Class labels, in the model set's order (the score columns).
    pub labels: Vec<String>,
    /// One result per utterance, C-locale order of ids.
    pub results: Vec<UttResult>,
}

impl Classification {
    /// Sorts `results` by utterance id; fails on duplicates or when there are none.
    pub fn new<M: ClassScorer + ?Sized>(
        models: &M,
        mut results: Vec<UttResult>,
    ) -> Result<Self, ClassifyError> {
        if results.is_empty() {
            return Err(ClassifyError::NoUtterances);
        }
        results.sort_by(|a, b| a.utt.cmp(&b.utt));
        if let Some(w) = results.windows(2).find(|w| w[0].utt == w[1].utt) {
            return Err(ClassifyError::DuplicateUtterance {
                utt: w[0].utt.clone(),
            });
        }
        Ok(Self {
            labels: models.class_labels(),
            results,
        })
    }

    /// The score file: header `utt\t<class>…`, one row per utterance.
    pub fn scores_tsv(&self) -> String {
        let mut s = String::from("utt");
        for l in &self.labels {
            s.push('\t');
            s.push_str(l);
        }
        s.push('\n');
        for r in &self.results {
            s.push_str(&r.utt);
            for v in &r.scores {
                s.push('\t');
                s.push_str(&v.to_string());
            }
            s.push('\n');
        }
        s
    }

    /// The hypothesis file: `utt label` lines.
    pub fn hypothesis_text(&self) -> String {
        let mut s = String::new();
        for r in &self.results {
            s.push_str(&r.utt);
            s.push(' ');
            s.push_str(&r.label);
            s.push('\n');
        }
        s
    }

    /// How many utterances were rejected (answered something that is not a class).
    pub fn num_rejected(&self) -> usize {
        self.results
            .iter()
            .filter(|r| !self.labels.contains(&r.label))
            .count()
    }

    /// Writes the score file and the hypothesis file (both rendered first, each atomic).
    pub fn write(&self, scores_path: &Path, hyp_path: &Path) -> Result<(), ClassifyError> {
        let (tsv, hyp) = (self.scores_tsv(), self.hypothesis_text());
        crate::fsutil::write_all_atomic(&[
            (scores_path, tsv.as_bytes()),
            (hyp_path, hyp.as_bytes()),
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cepstra_gmm::{DiagGmm, Gmm};
    use cepstra_train::{ClassModel, TrainOptions};
    use ndarray::{array, Array2};

    fn set() -> ModelSet {
        let class = |label: &str, mean: f64| ClassModel {
            label: label.into(),
            num_utts: 1,
            num_frames: 1,
            num_gauss_requested: 1,
            loglikes: vec![],
            converged: false,
            overrides: Default::default(),
            selection: None,
            model: Gmm::from(
                DiagGmm::new(array![1.0], array![[mean, 0.0]], array![[1.0, 1.0]]).unwrap(),
            ),
        };
        ModelSet::new(
            TrainOptions::default(),
            vec![class("b", 5.0), class("a", -5.0), class("c", 0.0)],
        )
        .unwrap()
    }

    #[test]
    fn argmax_normalisation_threshold() {
        let s = set();
        let x: Array2<f32> = array![[4.0, 0.0], [6.0, 0.5], [5.0, -0.5]];
        let o = ClassifyOptions::default();
        let r = classify_utterance(&s, "u", x.view(), &o).unwrap();
        assert_eq!((r.best, r.label.as_str()), (1, "b"));
        // Exact log-likelihoods of the best class: Σ −ln2π − ½(Δ²), Δ = (−1,0),(1,0.5),(0,−0.5).
        let expect = -3.0 * (2.0 * std::f64::consts::PI).ln() - 0.5 * (1.0 + 1.25 + 0.25);
        assert!(
            (r.scores[1] - expect).abs() < 1e-5,
            "{} vs {expect}",
            r.scores[1]
        );
        let n = ClassifyOptions {
            normalize_per_frame: true,
            ..Default::default()
        };
        let rn = classify_utterance(&s, "u", x.view(), &n).unwrap();
        assert_eq!(rn.best, 1);
        assert!((rn.scores[1] - r.scores[1] / 3.0).abs() < 1e-12);
        let t = ClassifyOptions {
            normalize_per_frame: true,
            threshold: Some(rn.scores[1] + 0.01),
            unk: "<reject>".into(),
        };
        assert_eq!(
            classify_utterance(&s, "u", x.view(), &t).unwrap().label,
            "<reject>"
        );
        let t = ClassifyOptions {
            threshold: Some(rn.scores[1] - 0.01),
            normalize_per_frame: true,
            ..Default::default()
        };
        assert_eq!(
            classify_utterance(&s, "u", x.view(), &t).unwrap().label,
            "b"
        );
    }

    #[test]
    fn outputs_are_sorted_and_complete() {
        let s = set();
        let o = ClassifyOptions::default();
        let r1 = classify_utterance(&s, "z1", array![[-5.0f32, 0.0]].view(), &o).unwrap();
        let r2 = classify_utterance(&s, "a2", array![[0.2f32, 0.0]].view(), &o).unwrap();
        let c = Classification::new(&s, vec![r1.clone(), r2]).unwrap();
        assert_eq!(c.hypothesis_text(), "a2 c\nz1 a\n");
        let tsv = c.scores_tsv();
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines[0], "utt\ta\tb\tc");
        let row: Vec<f64> = lines[2]
            .split('\t')
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(row, r1.scores); // full precision
        assert_eq!(c.num_rejected(), 0);
        let dir = tempfile::tempdir().unwrap();
        let (p, h) = (dir.path().join("scores.tsv"), dir.path().join("hyp.txt"));
        c.write(&p, &h).unwrap();
        assert_eq!(std::fs::read_to_string(&h).unwrap(), c.hypothesis_text());
        assert!(matches!(
            Classification::new(&s, vec![r1.clone(), r1]),
            Err(ClassifyError::DuplicateUtterance { .. })
        ));
        assert!(matches!(
            Classification::new(&s, vec![]),
            Err(ClassifyError::NoUtterances)
        ));
    }

    #[test]
    fn bad_utterances() {
        let s = set();
        let o = ClassifyOptions::default();
        assert!(matches!(
            classify_utterance(&s, "u", Array2::<f32>::zeros((3, 5)).view(), &o),
            Err(ClassifyError::Dimension {
                expected: 2,
                got: 5,
                ..
            })
        ));
        assert!(matches!(
            classify_utterance(&s, "u", Array2::<f32>::zeros((0, 2)).view(), &o),
            Err(ClassifyError::EmptyUtterance { .. })
        ));
        assert!(classify_utterance(&s, "u", array![[f32::NAN, 0.0]].view(), &o).is_err());
    }

    #[test]
    fn a_scorer_that_explains_nothing_is_an_error() {
        struct Never;
        impl ClassScorer for Never {
            fn class_labels(&self) -> Vec<String> {
                vec!["a".into(), "b".into()]
            }
            fn feature_dim(&self) -> usize {
                1
            }
            fn score_class(&self, c: usize, _: ArrayView2<'_, f32>) -> Result<f64, String> {
                Ok(if c == 1 { -1.0 } else { f64::NEG_INFINITY })
            }
        }
        let o = ClassifyOptions::default();
        let r = classify_utterance(&Never, "u", array![[0.0f32]].view(), &o).unwrap();
        assert_eq!(r.label, "b");
        struct None_;
        impl ClassScorer for None_ {
            fn class_labels(&self) -> Vec<String> {
                vec!["a".into()]
            }
            fn feature_dim(&self) -> usize {
                1
            }
            fn score_class(&self, _: usize, _: ArrayView2<'_, f32>) -> Result<f64, String> {
                Ok(f64::NEG_INFINITY)
            }
        }
        assert!(matches!(
            classify_utterance(&None_, "u", array![[0.0f32]].view(), &o),
            Err(ClassifyError::Unexplained { num_frames: 1, .. })
        ));
    }

    /// A model set of `k`-component GMMs of dimension 3 (full or diagonal), well conditioned.
    fn random_set(cov: cepstra_gmm::CovarianceType, seed: u64) -> ModelSet {
        let mut state = seed;
        let mut r = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        let (k, d) = (3, 3);
        let classes = ["x", "y"]
            .iter()
            .map(|label| {
                let weights = ndarray::Array1::from_shape_fn(k, |_| 1.0 + r());
                let means = Array2::from_shape_fn((k, d), |_| 4.0 * r());
                let covars = ndarray::Array3::from_shape_fn((k, d, d), |(_, i, j)| {
                    if i == j {
                        1.0 + r()
                    } else if cov == cepstra_gmm::CovarianceType::Full {
                        0.1 * (i + j) as f64 / d as f64
                    } else {
                        0.0
                    }
                });
                let w = &weights / weights.sum();
                ClassModel {
                    label: label.to_string(),
                    num_utts: 1,
                    num_frames: 1,
                    num_gauss_requested: k,
                    loglikes: vec![],
                    converged: false,
                    overrides: Default::default(),
                    selection: None,
                    model: Gmm::from_params(cov, w, means, covars).unwrap(),
                }
            })
            .collect();
        ModelSet::new(TrainOptions::default(), classes).unwrap()
    }

    #[test]
    fn batch_equals_one_by_one() {
        for cov in [
            cepstra_gmm::CovarianceType::Full,
            cepstra_gmm::CovarianceType::Diag,
        ] {
            let s = random_set(cov, 11);
            // Utterances of 1 to 300 frames (across the engine's blocks), one of the wrong
            // dimension, one empty.
            let mut utts: Vec<(String, Array2<f32>)> = [1usize, 7, 64, 300, 17, 5]
                .iter()
                .enumerate()
                .map(|(u, &n)| {
                    let m = Array2::from_shape_fn((n, 3), |(t, j)| {
                        ((t * 31 + j * 17 + u * 7) % 23) as f32 / 3.0 - 3.5
                    });
                    (format!("u{u}"), m)
                })
                .collect();
            utts.insert(2, ("wrong-dim".into(), Array2::zeros((4, 2))));
            utts.insert(4, ("empty".into(), Array2::zeros((0, 3))));
            for opts in [
                ClassifyOptions::default(),
                ClassifyOptions {
                    normalize_per_frame: true,
                    threshold: Some(-5.0),
                    ..Default::default()
                },
            ] {
                let views: Vec<(&str, ArrayView2<'_, f32>)> =
                    utts.iter().map(|(k, m)| (k.as_str(), m.view())).collect();
                let batch = classify_utterances(&s, &views, &opts);
                assert_eq!(batch.len(), utts.len());
                for ((k, m), b) in utts.iter().zip(&batch) {
                    let one = classify_utterance(&s, k, m.view(), &opts);
                    match (one, b) {
                        (Ok(a), Ok(b)) => {
                            let bits = |r: &UttResult| -> Vec<u64> {
                                r.scores.iter().map(|v| v.to_bits()).collect()
                            };
                            assert_eq!(bits(&a), bits(b), "{cov:?} {k}");
                            assert_eq!(&a, b);
                        }
                        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                        (a, b) => panic!("{k}: one by one {a:?}, batched {b:?}"),
                    }
                }
                assert!(matches!(batch[2], Err(ClassifyError::Dimension { .. })));
                assert!(matches!(
                    batch[4],
                    Err(ClassifyError::EmptyUtterance { .. })
                ));
            }
            // A non-finite frame fails the batched pass: that utterance gets the engine's error
            // (as one by one), the others their scores.
            let mut bad = utts[0].1.clone();
            bad[[0, 1]] = f32::NAN;
            let views = [("ok", utts[3].1.view()), ("nan", bad.view())];
            let batch = classify_utterances(&s, &views, &ClassifyOptions::default());
            let one = classify_utterance(&s, "nan", bad.view(), &ClassifyOptions::default());
            assert_eq!(
                batch[1].as_ref().unwrap_err().to_string(),
                one.unwrap_err().to_string()
            );
            assert_eq!(
                batch[0].as_ref().unwrap(),
                &classify_utterance(&s, "ok", utts[3].1.view(), &ClassifyOptions::default())
                    .unwrap()
            );
        }
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync>() {}
        check::<ClassifyError>();
        check::<Classification>();
        check::<ClassifyOptions>();
    }
}
