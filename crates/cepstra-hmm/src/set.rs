//! The HMM model set: one JSON file holding every class's HMM and how it was trained.
//!
//! ```text
//! {
//!   "format": "cepstra-hmmset",
//!   "version": 1,
//!   "options": {<HmmTrainOptions: num_states, num_gauss, covariance, num_iters, mode, topology,
//!               allow_any_end, self_loop, init, mix_up_at, perturb_factor, var_floor,
//!               rel_var_floor, min_gaussian_occupancy, trans_floor, seed>},
//!   "iteration": N,                        training passes done since the initialisation
//!   "dim": D,
//!   "frontend": null | {<cepstra_feat::FrontEndOptions, as in the GMM model set v2>},
//!   "classes": [                           C-locale (byte) order of the labels, one line each
//!     {"label": "1",
//!      "overrides": {"num_states": 5},    per-class options (--class-opts); left out if none
//!      "num_utts": 30, "num_frames": 1712, "num_skipped": 0,
//!      "loglikes": [-70.1, ...],           average log-likelihood per frame before each update
//!      "global_var": [D],                  the class's global variance (relative floor)
//!      "allow_any_end": false,
//!      "trans": [[S+2]…S+2],               HTK's layout: 0 entry, 1..=S emitting, S+1 exit
//!      "states": [<a cepstra-gmm JSON model>…S]},
//!     ...
//!   ]
//! }
//! ```
//!
//! A class's options are `"options"` with its `"overrides"` ([`HmmSet::class_options`]);
//! sets written before per-class options existed have no `"overrides"` and read as having none.
//!
//! Writing is deterministic (same set, same bytes) and atomic; numbers are written with the
//! shortest representation that reads back to the same f64.

use std::path::Path;

use cepstra_feat::FrontEndOptions;
use cepstra_train::Overrides;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Hmm;
use crate::options::{HmmTrainOptions, ScoreMode};

/// The `"format"` of an HMM model set.
pub const HMMSET_FORMAT: &str = "cepstra-hmmset";
/// The version written and read.
pub const HMMSET_VERSION: u32 = 1;

/// One class of an [`HmmSet`].
#[derive(Debug, Clone)]
pub struct HmmClass {
    /// The class label (as in the `text` file).
    pub label: String,
    /// This class's options that differ from the set's (`--class-opts`: option name → value,
    /// as [`HmmTrainOptions::for_class`] takes them); empty for most classes.
    pub overrides: Overrides,
    /// Training utterances.
    pub num_utts: usize,
    /// Training frames.
    pub num_frames: usize,
    /// Training utterances skipped as too short for the model (last pass).
    pub num_skipped: usize,
    /// Average log-likelihood per frame of the training data before each update.
    pub loglikes: Vec<f64>,
    /// The class's global variance per dimension (the relative variance floor's reference).
    pub global_var: Vec<f64>,
    /// The HMM.
    pub hmm: Hmm,
}

impl HmmClass {
    /// The class's own options as command-line options, e.g. `--num-gauss=2 --num-states=5`
    /// (empty when it has none).
    pub fn describe_overrides(&self) -> String {
        self.overrides
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => a
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    v => v.to_string(),
                };
                format!("--{}={v}", k.replace('_', "-"))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A model set of HMMs, one per class (see the [module docs](self)).
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_hmm::{Hmm, HmmClass, HmmSet, HmmTrainOptions, Topology};
/// use ndarray::array;
/// let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m]], array![[1.0]]).unwrap());
/// let hmm = Hmm::left_to_right(vec![g(0.0), g(3.0)], Topology::Linear, 0.5, false)?;
/// let class = HmmClass { label: "yes".into(), overrides: Default::default(), num_utts: 0,
///                        num_frames: 0, num_skipped: 0,
///                        loglikes: vec![], global_var: vec![1.0], hmm };
/// let set = HmmSet::new(HmmTrainOptions::default(), vec![class])?;
/// let bytes = set.to_bytes()?;
/// assert_eq!(HmmSet::from_bytes(&bytes, "in memory")?.to_bytes()?, bytes);
/// # Ok::<(), cepstra_hmm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HmmSet {
    /// Options (recorded; `est-hmms` uses them).
    pub options: HmmTrainOptions,
    /// Training passes done since the initialisation.
    pub iteration: usize,
    /// Classes in C-locale order of their labels.
    pub classes: Vec<HmmClass>,
    /// The feature pipeline the models were trained on (`None`: not recorded).
    pub frontend: Option<FrontEndOptions>,
}

#[derive(Serialize, Deserialize)]
struct ClassJson<M> {
    label: String,
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    overrides: Overrides,
    num_utts: usize,
    num_frames: usize,
    #[serde(default)]
    num_skipped: usize,
    loglikes: Vec<f64>,
    global_var: Vec<f64>,
    allow_any_end: bool,
    trans: Vec<Vec<f64>>,
    states: Vec<M>,
}

#[derive(Deserialize)]
struct SetJson {
    format: String,
    version: u32,
    options: HmmTrainOptions,
    #[serde(default)]
    iteration: usize,
    #[serde(default)]
    dim: Option<usize>,
    #[serde(default)]
    frontend: Option<FrontEndOptions>,
    classes: Vec<ClassJson<Box<serde_json::value::RawValue>>>,
}

/// Whether `bytes` look like an HMM model set (its `"format"` is [`HMMSET_FORMAT`]), without
/// parsing the models: for commands that take a GMM or an HMM model set (`classify`).
pub fn is_hmm_set(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 64)];
    let needle = format!("\"format\": \"{HMMSET_FORMAT}\"");
    head.windows(needle.len()).any(|w| w == needle.as_bytes())
}

impl HmmSet {
    /// A model set from classes (sorted here by label). Fails on duplicate labels, mixed
    /// dimensions or invalid options.
    pub fn new(options: HmmTrainOptions, mut classes: Vec<HmmClass>) -> Result<HmmSet> {
        classes.sort_by(|a, b| a.label.cmp(&b.label));
        let set = HmmSet {
            options,
            iteration: 0,
            classes,
            frontend: None,
        };
        set.check("model set")?;
        Ok(set)
    }

    fn check(&self, path: &str) -> Result<()> {
        let bad = |reason: String| Error::ModelSetFormat {
            path: path.to_string(),
            reason,
        };
        self.options.validate()?;
        for c in &self.classes {
            self.options
                .for_class(&c.overrides, &c.label)
                .map_err(|e| bad(e.to_string()))?;
            if c.global_var.len() != c.hmm.dim() {
                return Err(bad(format!(
                    "class '{}' has dimension {} but a global variance of {}",
                    c.label,
                    c.hmm.dim(),
                    c.global_var.len()
                )));
            }
        }
        let classes: Vec<_> = self
            .classes
            .iter()
            .map(|c| (c.label.as_str(), c.hmm.dim(), c.loglikes.as_slice()))
            .collect();
        cepstra_train::modelset::check_classes(&classes, self.frontend.as_ref()).map_err(bad)?;
        Ok(())
    }

    /// The set with `frontend` recorded as the pipeline its features came from.
    pub fn with_frontend(mut self, frontend: Option<FrontEndOptions>) -> Result<HmmSet> {
        if let Some(fe) = &frontend {
            if let Some(reason) = fe.explain_dim(self.dim()) {
                return Err(cepstra_train::Error::FrontEnd {
                    what: "the training features".into(),
                    reason,
                }
                .into());
            }
        }
        self.frontend = frontend;
        Ok(self)
    }

    /// Checks features for these models against the recorded front-end (as the GMM model set's
    /// [`cepstra_train::ModelSet::check_frontend`]).
    pub fn check_frontend(
        &self,
        what: &str,
        dim: usize,
        declared: Option<&FrontEndOptions>,
    ) -> Result<()> {
        Ok(cepstra_train::check_frontend(
            self.frontend.as_ref(),
            what,
            dim,
            declared,
        )?)
    }

    /// The options of class `i`: the set's options with the class's overrides (checked when the
    /// set was made or read).
    ///
    /// # Panics
    /// If `i` is not a class index.
    pub fn class_options(&self, i: usize) -> Result<HmmTrainOptions> {
        let c = &self.classes[i];
        self.options.for_class(&c.overrides, &c.label)
    }

    /// The class labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.classes.iter().map(|c| c.label.as_str())
    }
    /// Feature dimension of the models.
    pub fn dim(&self) -> usize {
        self.classes.first().map_or(0, |c| c.hmm.dim())
    }
    /// Index of the class with `label`.
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.classes
            .binary_search_by(|c| c.label.as_str().cmp(label))
            .ok()
    }

    /// The score of `feats` under class `class`: the Viterbi or forward log-likelihood (−∞ when
    /// the utterance is shorter than the model's shortest path).
    pub fn score(&self, class: usize, feats: ArrayView2<'_, f32>, mode: ScoreMode) -> Result<f64> {
        let hmm = &self.classes[class].hmm;
        Ok(match mode {
            ScoreMode::Viterbi => hmm.viterbi(&hmm.emissions_for_scoring(feats)?).score,
            ScoreMode::Forward => hmm.forward_total(feats)?,
        })
    }

    /// [`HmmSet::score`] of several utterances under class `class`, their frames stacked in
    /// `feats` (utterance u in rows `bounds[u]..bounds[u + 1]`), the utterances in parallel
    /// (each scored alone: the same bits as [`HmmSet::score`]; with the classes also in
    /// parallel, two threads do not wait on the class that is left over).
    ///
    /// # Errors
    /// The first utterance's error (as [`HmmSet::score`]), or bounds outside `feats`.
    pub fn score_batch(
        &self,
        class: usize,
        feats: ArrayView2<'_, f32>,
        bounds: &[usize],
        mode: ScoreMode,
    ) -> Result<Vec<f64>> {
        use rayon::prelude::*;
        if bounds.windows(2).any(|w| w[1] < w[0])
            || bounds.last().is_some_and(|&b| b > feats.nrows())
        {
            return Err(Error::InvalidModel(
                "utterance bounds outside the stacked frames".into(),
            ));
        }
        bounds
            .par_windows(2)
            .map(|w| self.score(class, feats.slice(ndarray::s![w[0]..w[1], ..]), mode))
            .collect()
    }

    /// The JSON text (see the [module docs](self)).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = String::with_capacity(1 << 16);
        out.push_str("{\n");
        out.push_str(&format!("  \"format\": \"{HMMSET_FORMAT}\",\n"));
        out.push_str(&format!("  \"version\": {HMMSET_VERSION},\n"));
        out.push_str(&format!(
            "  \"options\": {},\n",
            serde_json::to_string(&self.options)?
        ));
        out.push_str(&format!("  \"iteration\": {},\n", self.iteration));
        out.push_str(&format!("  \"dim\": {},\n", self.dim()));
        out.push_str(&format!(
            "  \"frontend\": {},\n",
            serde_json::to_string(&self.frontend)?
        ));
        out.push_str("  \"classes\": [\n");
        for (i, c) in self.classes.iter().enumerate() {
            let states = c
                .hmm
                .states
                .iter()
                .map(|g| Ok(serde_json::from_str(&cepstra_gmm::io::model_to_json(g)?)?))
                .collect::<Result<Vec<serde_json::Value>>>()?;
            let cj = ClassJson {
                label: c.label.clone(),
                overrides: c.overrides.clone(),
                num_utts: c.num_utts,
                num_frames: c.num_frames,
                num_skipped: c.num_skipped,
                loglikes: c.loglikes.clone(),
                global_var: c.global_var.clone(),
                allow_any_end: c.hmm.allow_any_end(),
                trans: c.hmm.trans().outer_iter().map(|r| r.to_vec()).collect(),
                states,
            };
            out.push_str("    ");
            out.push_str(&serde_json::to_string(&cj)?);
            out.push_str(if i + 1 < self.classes.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("  ]\n}\n");
        Ok(out.into_bytes())
    }

    /// Parses a model set; `path` names it in error messages.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<HmmSet> {
        let bad = |reason: String| Error::ModelSetFormat {
            path: path.to_string(),
            reason,
        };
        let doc: SetJson = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "{e} (an HMM model set is the JSON file written by init-hmms, est-hmms or train-hmms)"
            ))
        })?;
        if doc.format != HMMSET_FORMAT {
            return Err(bad(format!(
                "\"format\" is {:?}, expected {HMMSET_FORMAT:?}",
                doc.format
            )));
        }
        if doc.version != HMMSET_VERSION {
            return Err(bad(format!(
                "version {} is not supported (this build reads version {HMMSET_VERSION}: use a newer cepstra)",
                doc.version
            )));
        }
        let mut classes = Vec::with_capacity(doc.classes.len());
        for c in doc.classes {
            let states = c
                .states
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    cepstra_gmm::io::model_from_json(s.get())
                        .map_err(|e| bad(format!("class '{}', state {}: {e}", c.label, j + 1)))
                })
                .collect::<Result<Vec<_>>>()?;
            let n = c.trans.len();
            if c.trans.iter().any(|r| r.len() != n) {
                return Err(bad(format!(
                    "class '{}': the transition matrix is not square",
                    c.label
                )));
            }
            let trans = Array2::from_shape_fn((n, n), |(i, j)| c.trans[i][j]);
            let hmm = Hmm::new(states, trans, c.allow_any_end)
                .map_err(|e| bad(format!("class '{}': {e}", c.label)))?;
            classes.push(HmmClass {
                label: c.label,
                overrides: c.overrides,
                num_utts: c.num_utts,
                num_frames: c.num_frames,
                num_skipped: c.num_skipped,
                loglikes: c.loglikes,
                global_var: c.global_var,
                hmm,
            });
        }
        let set = HmmSet {
            options: doc.options,
            iteration: doc.iteration,
            classes,
            frontend: doc.frontend,
        };
        set.check(path)?;
        if let Some(d) = doc.dim {
            if d != set.dim() {
                return Err(bad(format!(
                    "\"dim\" is {d} but the models have dimension {}",
                    set.dim()
                )));
            }
        }
        Ok(set)
    }

    /// Reads a model set from a file (or `-`, or a `cmd |` pipe): cepstra's JSON, or an HTK
    /// MMF (detected by its first token, see [`crate::htk`]).
    pub fn read(path: &str) -> Result<HmmSet> {
        let bytes = cepstra_io::filename::Input::open(path)?.read_all()?;
        if crate::htk::looks_like_mmf(&bytes) {
            return crate::htk::read_mmf(&bytes, path);
        }
        Self::from_bytes(&bytes, path)
    }

    /// Writes the model set atomically (temporary file, then rename).
    pub fn write(&self, path: &str) -> Result<()> {
        let bytes = self.to_bytes()?;
        cepstra_io::filename::write_atomic(Path::new(path), &bytes)?;
        Ok(())
    }

    /// Identifies the model set an accumulator was made with: FNV-1a of its bytes.
    pub fn fingerprint(&self) -> Result<u64> {
        Ok(cepstra_train::modelset::fnv1a(&self.to_bytes()?))
    }

    /// A human-readable summary (`hmm-info`): the options, one line per class (label, states,
    /// Gaussians per state, utterances, frames, the last log-likelihood per frame, the class's
    /// own options or `-`) and the recorded front-end.
    pub fn info(&self) -> String {
        let o = &self.options;
        let mut s = format!(
            "HMM set: {} classes, feature dimension {}, {} training passes done\n",
            self.classes.len(),
            self.dim(),
            self.iteration
        );
        s.push_str(&format!(
            "options: {}\n",
            serde_json::to_string(o).unwrap_or_default()
        ));
        s.push_str(&format!(
            "front-end: {}\n",
            self.frontend
                .as_ref()
                .map_or("not recorded".to_string(), |f| f.describe())
        ));
        s.push_str("class\tstates\tgauss-per-state\tmin-frames\tutterances\tframes\tskipped\tfinal-loglike-per-frame\tclass-options\n");
        for c in &self.classes {
            let g: Vec<String> = (0..c.hmm.num_states())
                .map(|j| c.hmm.state(j).num_gauss().to_string())
                .collect();
            s.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                c.label,
                c.hmm.num_states(),
                g.join(","),
                c.hmm.min_frames(),
                c.num_utts,
                c.num_frames,
                c.num_skipped,
                c.loglikes
                    .last()
                    .map_or("-".to_string(), |v| format!("{v:.4}")),
                match c.describe_overrides() {
                    d if d.is_empty() => "-".to_string(),
                    d => d,
                }
            ));
        }
        s
    }
}
