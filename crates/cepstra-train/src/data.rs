//! Training data grouped by class: features joined with the `text` file, checked once.

use std::collections::{BTreeMap, HashMap};

use ndarray::{Array2, Axis};

use crate::error::{examples, Error, Result};

/// One utterance: its id and features (frames × D).
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Utterance id.
    pub id: String,
    /// Features, frames × D.
    pub feats: Array2<f32>,
}

/// The utterances of one class, in C-locale order of their ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassData {
    /// The class label.
    pub label: String,
    /// Its utterances, sorted by id.
    pub utts: Vec<Utterance>,
}

impl ClassData {
    /// Total frames.
    pub fn num_frames(&self) -> usize {
        self.utts.iter().map(|u| u.feats.nrows()).sum()
    }
    /// All frames, utterances concatenated in id order.
    pub fn frames(&self) -> Array2<f32> {
        concat(self.utts.iter())
    }
}

pub(crate) fn concat<'a>(utts: impl Iterator<Item = &'a Utterance> + Clone) -> Array2<f32> {
    let d = utts.clone().next().map_or(0, |u| u.feats.ncols());
    let n: usize = utts.clone().map(|u| u.feats.nrows()).sum();
    let mut out = Array2::zeros((n, d));
    let mut row = 0;
    for u in utts {
        let r = u.feats.nrows();
        out.slice_mut(ndarray::s![row..row + r, ..])
            .assign(&u.feats);
        row += r;
    }
    debug_assert_eq!(out.len_of(Axis(0)), n);
    out
}

/// Training data: labelled utterances grouped by class, classes in C-locale order of labels.
///
/// ```
/// use cepstra_train::TrainingData;
/// use ndarray::Array2;
/// let feats = vec![("u1".to_string(), Array2::<f32>::zeros((3, 2))),
///                  ("u2".to_string(), Array2::<f32>::ones((4, 2)))];
/// let text = vec![("u2".to_string(), "b".to_string()), ("u1".to_string(), "a".to_string())];
/// let data = TrainingData::new(feats, &text)?;
/// assert_eq!(data.classes()[1].label, "b");
/// assert_eq!((data.dim(), data.num_frames()), (Some(2), 7));
/// # Ok::<(), cepstra_train::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingData {
    classes: Vec<ClassData>,
    dim: Option<usize>,
}

impl TrainingData {
    /// Joins features (`(utt, frames × D)`, any order) with `text` (`(utt, label)`).
    ///
    /// Errors (nothing is trained on partial data): [`Error::DuplicateUtterance`],
    /// [`Error::BadLabel`], [`Error::UnlabelledFeatures`] (features without a label),
    /// [`Error::MissingFeatures`] (text entries without features), [`Error::FeatureDimension`].
    /// Utterances with zero frames are dropped with a warning. Empty input gives empty data.
    pub fn new(feats: Vec<(String, Array2<f32>)>, text: &[(String, String)]) -> Result<Self> {
        let mut labels: HashMap<&str, &str> = HashMap::with_capacity(text.len());
        for (utt, label) in text {
            if label.is_empty() || label.contains(char::is_whitespace) {
                return Err(Error::BadLabel {
                    utt: utt.clone(),
                    label: label.clone(),
                });
            }
            if labels.insert(utt, label).is_some() {
                return Err(Error::DuplicateUtterance {
                    utt: utt.clone(),
                    what: "text",
                });
            }
        }
        let mut seen: HashMap<String, ()> = HashMap::with_capacity(feats.len());
        let mut unlabelled = Vec::new();
        let mut dim: Option<(usize, String)> = None;
        let mut by_class: BTreeMap<String, Vec<Utterance>> = BTreeMap::new();
        let mut dropped = 0usize;
        for (utt, m) in feats {
            if seen.insert(utt.clone(), ()).is_some() {
                return Err(Error::DuplicateUtterance {
                    utt,
                    what: "features",
                });
            }
            let Some(&label) = labels.get(utt.as_str()) else {
                unlabelled.push(utt);
                continue;
            };
            match &dim {
                None => dim = Some((m.ncols(), utt.clone())),
                Some((d, _)) if *d != m.ncols() => {
                    return Err(Error::FeatureDimension {
                        utt,
                        expected: *d,
                        got: m.ncols(),
                        context: "the first utterance read",
                    })
                }
                _ => {}
            }
            if m.nrows() == 0 {
                log::warn!("utterance {utt} has no frames: skipped");
                dropped += 1;
                continue;
            }
            by_class
                .entry(label.to_string())
                .or_default()
                .push(Utterance { id: utt, feats: m });
        }
        if !unlabelled.is_empty() {
            unlabelled.sort();
            return Err(Error::UnlabelledFeatures {
                count: unlabelled.len(),
                examples: examples(&unlabelled),
            });
        }
        let mut missing: Vec<String> = text
            .iter()
            .filter(|(u, _)| !seen.contains_key(u))
            .map(|(u, _)| u.clone())
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(Error::MissingFeatures {
                count: missing.len(),
                examples: examples(&missing),
            });
        }
        if dropped > 0 {
            log::warn!("{dropped} utterance(s) with no frames were skipped");
        }
        let classes = by_class
            .into_iter()
            .map(|(label, mut utts)| {
                utts.sort_by(|a, b| a.id.cmp(&b.id));
                ClassData { label, utts }
            })
            .collect();
        Ok(TrainingData {
            classes,
            dim: dim.map(|(d, _)| d),
        })
    }

    /// The classes, in C-locale order of their labels.
    pub fn classes(&self) -> &[ClassData] {
        &self.classes
    }
    /// Feature dimension (`None` when there are no utterances).
    pub fn dim(&self) -> Option<usize> {
        self.dim
    }
    /// Number of utterances.
    pub fn num_utts(&self) -> usize {
        self.classes.iter().map(|c| c.utts.len()).sum()
    }
    /// Number of frames.
    pub fn num_frames(&self) -> usize {
        self.classes.iter().map(ClassData::num_frames).sum()
    }
    /// Whether there is no utterance.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}
