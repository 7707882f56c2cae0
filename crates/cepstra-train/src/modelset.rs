//! The model set: one JSON file holding every class's GMM and how it was trained.
//!
//! ```text
//! {
//!   "format": "cepstra-modelset",
//!   "version": 2,                         1 is read too (it has no "frontend")
//!   "options": {<FitOptions fields: num_gauss, covariance, num_iters, tol, init, ..., seed,
//!               "estimate": {<EstimateOptions>}>, "select_k": [..], "criterion": "bic"|"heldout"},
//!   "seed": S,
//!   "iteration": N,                       EM passes done since the initialisation
//!   "dim": D,
//!   "frontend": null | {<cepstra_feat::FrontEndOptions: "features": {"type": "mfcc"|"fbank",
//!                 <compute-*-feats options>}, "cmvn": "none"|"utterance"|"speaker",
//!                 "norm_vars": false, "deltas": null | {"order": 2, "window": 2}>},
//!   "classes": [                          C-locale (byte) order of the labels, one line each
//!     {"label": "1", "num_utts": 30, "num_frames": 1712, "num_gauss": 5,
//!      "num_gauss_requested": 5,          differs when the class had too few frames
//!      "loglikes": [-70.1, -66.3, ...],   average log-likelihood per frame before each update
//!      "converged": false,                |Δ loglike| < tol: not updated any more
//!      "overrides": {"num_gauss": 8},     per-class options (--class-opts), {} if none
//!      "selection": null | {"criterion": "bic", "candidates": [{"num_gauss": 1, "score": ..}, ..],
//!                           "chosen": 4},
//!      "model": {<a cepstra-gmm JSON model: "format": "cepstra-gmm", weights, means, covars|vars>}},
//!     ...
//!   ]
//! }
//! ```
//!
//! Writing is deterministic (same model set, same bytes) and atomic; numbers are written with
//! the shortest representation that reads back to the same f64.

use std::collections::BTreeMap;
use std::path::Path;

use cepstra_feat::FrontEndOptions;
use cepstra_gmm::io::JsonModel;
use cepstra_gmm::{FitOptions, Gmm};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::options::{apply_overrides, Criterion, Overrides, TrainOptions};

/// The `"format"` of a model set.
pub const MODELSET_FORMAT: &str = "cepstra-modelset";
/// The version written; version 1 (no front-end record) is read too.
pub const MODELSET_VERSION: u32 = 2;

/// One candidate of `--select-k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Number of components tried.
    pub num_gauss: usize,
    /// BIC (lower is better) or held-out average log-likelihood per frame (higher is better);
    /// `None` when the candidate was not tried.
    pub score: Option<f64>,
    /// Why it was not tried (too few frames), or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The outcome of per-class model selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// How candidates were scored.
    pub criterion: Criterion,
    /// Every candidate, in the order given.
    pub candidates: Vec<Candidate>,
    /// The chosen number of components.
    pub chosen: usize,
}

/// One class of a [`ModelSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClassModel {
    /// The class label (as in the `text` file).
    pub label: String,
    /// Training utterances.
    pub num_utts: usize,
    /// Training frames.
    pub num_frames: usize,
    /// Components asked for (by the options or the selection); the model has fewer when the class
    /// had too few frames, or after low-count components were removed.
    pub num_gauss_requested: usize,
    /// Average log-likelihood per frame of the training data before each EM update.
    pub loglikes: Vec<f64>,
    /// Whether EM stopped for this class (|Δ loglike| < tol); it is not updated again.
    pub converged: bool,
    /// Per-class option overrides.
    pub overrides: Overrides,
    /// The model selection record, when `--select-k` was used.
    pub selection: Option<Selection>,
    /// The GMM.
    pub model: Gmm,
}

/// A model set: one GMM per class plus how they were trained (see the [module docs](self)).
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_train::{ClassModel, ModelSet, TrainOptions};
/// use ndarray::array;
/// let model = Gmm::from(DiagGmm::new(array![1.0], array![[0.0, 1.0]], array![[1.0, 2.0]])?);
/// let class = ClassModel {
///     label: "7".into(), num_utts: 2, num_frames: 10, num_gauss_requested: 1,
///     loglikes: vec![], converged: false, overrides: Default::default(), selection: None, model,
/// };
/// let set = ModelSet::new(TrainOptions::default(), vec![class])?;
/// let bytes = set.to_bytes()?;
/// let back = ModelSet::from_bytes(&bytes, "in memory")?;
/// assert_eq!(back.to_bytes()?, bytes);
/// assert_eq!(back.labels().collect::<Vec<_>>(), ["7"]);
/// # Ok::<(), cepstra_train::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSet {
    /// Options (recorded; `est-classes` uses them).
    pub options: TrainOptions,
    /// EM passes done since the initialisation.
    pub iteration: usize,
    /// Classes in C-locale order of their labels.
    pub classes: Vec<ClassModel>,
    /// The feature pipeline the models were trained on (`None`: not recorded, e.g. a version-1
    /// file or features of unknown origin).
    pub frontend: Option<FrontEndOptions>,
}

/// One class's record as read, with its model (see [`ModelSetJson`]).
#[derive(Deserialize)]
struct ClassJson<M> {
    label: String,
    num_utts: usize,
    num_frames: usize,
    num_gauss: usize,
    num_gauss_requested: usize,
    loglikes: Vec<f64>,
    converged: bool,
    #[serde(default)]
    overrides: Overrides,
    #[serde(default)]
    selection: Option<Selection>,
    model: M,
}

/// One class's record as written: [`ClassJson`]'s fields in the same order, borrowed; `M` is the
/// model ([`ModelOut`], or `()` for [`ModelSet::fingerprint`]).
#[derive(Serialize)]
struct ClassOut<'a, M> {
    label: &'a str,
    num_utts: usize,
    num_frames: usize,
    num_gauss: usize,
    num_gauss_requested: usize,
    loglikes: &'a [f64],
    converged: bool,
    overrides: &'a Overrides,
    selection: &'a Option<Selection>,
    model: M,
}

impl<'a, M> ClassOut<'a, M> {
    fn new(c: &'a ClassModel, model: M) -> Self {
        Self {
            label: &c.label,
            num_utts: c.num_utts,
            num_frames: c.num_frames,
            num_gauss: c.model.num_gauss(),
            num_gauss_requested: c.num_gauss_requested,
            loglikes: &c.loglikes,
            converged: c.converged,
            overrides: &c.overrides,
            selection: &c.selection,
            model,
        }
    }
}

/// A model written straight from its arrays as the compact JSON that cepstra-gmm's
/// [`model_to_json`](cepstra_gmm::io::model_to_json) text becomes once read into a
/// `serde_json::Value` and written again (what model sets have always held): the keys in
/// byte order (`covariance`, `covars`, `dim`, `format`, `means`, `num_gauss`, `vars`,
/// `version`, `weights`), matrices as arrays of rows, numbers as serde_json writes an `f64`
/// (shortest round-trip form, `null` for a non-finite value).
struct ModelOut<'a>(&'a Gmm);

impl Serialize for ModelOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let g = self.0;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("covariance", &g.covariance_type())?;
        if let Gmm::Full(f) = g {
            m.serialize_entry("covars", &Rows3(f.covars()))?;
        }
        m.serialize_entry("dim", &g.dim())?;
        m.serialize_entry("format", cepstra_gmm::io::JSON_FORMAT)?;
        m.serialize_entry("means", &Rows(g.means()))?;
        m.serialize_entry("num_gauss", &g.num_gauss())?;
        if let Gmm::Diag(d) = g {
            m.serialize_entry("vars", &Rows(d.vars()))?;
        }
        m.serialize_entry("version", &cepstra_gmm::io::JSON_VERSION)?;
        m.serialize_entry("weights", &Row(g.weights()))?;
        m.end()
    }
}

/// A vector as a JSON array.
struct Row<'a>(ndarray::ArrayView1<'a, f64>);
/// A matrix as a JSON array of rows.
struct Rows<'a>(ndarray::ArrayView2<'a, f64>);
/// A stack of matrices as a JSON array of matrices.
struct Rows3<'a>(ndarray::ArrayView3<'a, f64>);

impl Serialize for Row<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}
impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.outer_iter().map(Row))
    }
}
impl Serialize for Rows3<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.outer_iter().map(Rows))
    }
}

/// A model set's document; `M` is each class's model: [`cepstra_gmm::io::JsonModel`] (read
/// in the same pass) or the raw text (the reading that names a bad model's class).
#[derive(Deserialize)]
struct ModelSetJson<M> {
    format: String,
    version: u32,
    options: TrainOptions,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    iteration: usize,
    #[serde(default)]
    dim: Option<usize>,
    #[serde(default)]
    frontend: Option<FrontEndOptions>,
    classes: Vec<ClassJson<M>>,
}

/// A class's model as read: parsed with its record, or its text.
enum ModelDoc {
    Parsed(JsonModel),
    Text(Box<serde_json::value::RawValue>),
}

impl<M> ModelSetJson<M> {
    fn map_models<N>(self, f: impl Fn(M) -> N) -> ModelSetJson<N> {
        ModelSetJson {
            format: self.format,
            version: self.version,
            options: self.options,
            seed: self.seed,
            iteration: self.iteration,
            dim: self.dim,
            frontend: self.frontend,
            classes: self
                .classes
                .into_iter()
                .map(|c| ClassJson {
                    label: c.label,
                    num_utts: c.num_utts,
                    num_frames: c.num_frames,
                    num_gauss: c.num_gauss,
                    num_gauss_requested: c.num_gauss_requested,
                    loglikes: c.loglikes,
                    converged: c.converged,
                    overrides: c.overrides,
                    selection: c.selection,
                    model: f(c.model),
                })
                .collect(),
        }
    }
}

/// The checks every kind of model set makes of its classes, given as `(label, dimension,
/// training log-likelihoods)` in file order: labels unique, in C-locale order, non-empty and
/// without whitespace; one dimension; finite log-likelihoods; a recorded front-end of that
/// dimension. The reason of the first failure, for the caller's error.
///
/// ```
/// use cepstra_train::modelset::check_classes;
/// assert!(check_classes(&[("a", 3, &[-1.0]), ("b", 3, &[])], None).is_ok());
/// let e = check_classes(&[("b", 3, &[]), ("a", 3, &[])], None).unwrap_err();
/// assert!(e.contains("C-locale order"));
/// ```
pub fn check_classes(
    classes: &[(&str, usize, &[f64])],
    frontend: Option<&FrontEndOptions>,
) -> std::result::Result<(), String> {
    for w in classes.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(format!(
                "classes must be unique and in C-locale order ('{}' before '{}')",
                w[0].0, w[1].0
            ));
        }
    }
    let Some(&(first, dim, _)) = classes.first() else {
        return Err("it has no classes".into());
    };
    for &(label, d, loglikes) in classes {
        if label.is_empty() || label.contains(char::is_whitespace) {
            return Err(format!("class label {label:?} is empty or has whitespace"));
        }
        if d != dim {
            return Err(format!(
                "class '{label}' has dimension {d}, class '{first}' has {dim}"
            ));
        }
        if loglikes.iter().any(|v| !v.is_finite()) {
            return Err(format!("class '{label}' has a non-finite log-likelihood"));
        }
    }
    if let Some(fe) = frontend {
        if fe.dim() != dim {
            return Err(format!(
                "the recorded front-end ({}) gives dimension {}, the models have {dim}",
                fe.describe(),
                fe.dim()
            ));
        }
    }
    Ok(())
}

impl ModelSet {
    /// A model set from classes (sorted here by label). Fails on duplicate labels, mixed
    /// dimensions, or invalid options.
    pub fn new(options: TrainOptions, mut classes: Vec<ClassModel>) -> Result<ModelSet> {
        classes.sort_by(|a, b| a.label.cmp(&b.label));
        let set = ModelSet {
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
        let classes: Vec<_> = self
            .classes
            .iter()
            .map(|c| (c.label.as_str(), c.model.dim(), c.loglikes.as_slice()))
            .collect();
        check_classes(&classes, self.frontend.as_ref()).map_err(bad)?;
        Ok(())
    }

    /// The model set with `frontend` recorded as the pipeline its features came from.
    ///
    /// # Errors
    /// [`Error::FrontEnd`] when the pipeline's dimension is not the models'.
    pub fn with_frontend(mut self, frontend: Option<FrontEndOptions>) -> Result<ModelSet> {
        if let Some(fe) = &frontend {
            if let Some(reason) = fe.explain_dim(self.dim()) {
                return Err(Error::FrontEnd {
                    what: "the training features".into(),
                    reason,
                });
            }
        }
        self.frontend = frontend;
        Ok(self)
    }

    /// Checks features for these models against the recorded front-end: their dimension
    /// `dim`, and the pipeline that made them when it is known (`declared`). The error says which
    /// step differs; `what` names the features in it. Nothing is checked when no front-end is
    /// recorded (the scorer still checks the dimension).
    ///
    /// # Errors
    /// [`Error::FrontEnd`] when the dimension or a step of the pipeline differs.
    pub fn check_frontend(
        &self,
        what: &str,
        dim: usize,
        declared: Option<&FrontEndOptions>,
    ) -> Result<()> {
        check_frontend(self.frontend.as_ref(), what, dim, declared)
    }

    /// The class labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.classes.iter().map(|c| c.label.as_str())
    }
    /// Feature dimension of the models.
    pub fn dim(&self) -> usize {
        self.classes.first().map_or(0, |c| c.model.dim())
    }
    /// The class with `label`.
    pub fn class(&self, label: &str) -> Option<&ClassModel> {
        self.index_of(label).map(|i| &self.classes[i])
    }
    /// Index of the class with `label`.
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.classes
            .binary_search_by(|c| c.label.as_str().cmp(label))
            .ok()
    }
    /// The seed of the initialisation.
    pub fn seed(&self) -> u64 {
        self.options.fit.seed
    }
    /// The effective options of class `i` (the model set's options with its overrides).
    pub fn class_options(&self, i: usize) -> Result<FitOptions> {
        let c = &self.classes[i];
        apply_overrides(&self.options.fit, &c.overrides, &c.label)
    }
    /// Class label → average log-likelihood per frame before each EM update (for plots).
    pub fn training_curves(&self) -> BTreeMap<String, Vec<f64>> {
        self.classes
            .iter()
            .map(|c| (c.label.clone(), c.loglikes.clone()))
            .collect()
    }

    /// The JSON text (see the [module docs](self)).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = String::with_capacity(1 << 16);
        out.push_str("{\n");
        out.push_str(&format!("  \"format\": \"{MODELSET_FORMAT}\",\n"));
        out.push_str(&format!("  \"version\": {MODELSET_VERSION},\n"));
        out.push_str(&format!(
            "  \"options\": {},\n",
            serde_json::to_string(&self.options)?
        ));
        out.push_str(&format!("  \"seed\": {},\n", self.seed()));
        out.push_str(&format!("  \"iteration\": {},\n", self.iteration));
        out.push_str(&format!("  \"dim\": {},\n", self.dim()));
        out.push_str(&format!(
            "  \"frontend\": {},\n",
            serde_json::to_string(&self.frontend)?
        ));
        out.push_str("  \"classes\": [\n");
        let mut out = out.into_bytes();
        for (i, c) in self.classes.iter().enumerate() {
            out.extend_from_slice(b"    ");
            serde_json::to_writer(&mut out, &ClassOut::new(c, ModelOut(&c.model)))?;
            out.extend_from_slice(if i + 1 < self.classes.len() {
                b",\n"
            } else {
                b"\n"
            });
        }
        out.extend_from_slice(b"  ]\n}\n");
        Ok(out)
    }

    /// Parses a model set; `path` names it in error messages.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<ModelSet> {
        let bad = |reason: String| Error::ModelSetFormat {
            path: path.to_string(),
            reason,
        };
        // One pass: every model read with its class record. A document that does not parse so
        // is read again with each model kept as text, for the message that names the file and
        // the field, or the class of the bad model.
        let doc: ModelSetJson<ModelDoc> = match serde_json::from_slice::<ModelSetJson<JsonModel>>(bytes)
        {
            Ok(d) => d.map_models(ModelDoc::Parsed),
            Err(_) => serde_json::from_slice::<ModelSetJson<Box<serde_json::value::RawValue>>>(bytes)
                .map_err(|e| {
                    bad(format!(
                        "{e} (a model set is the JSON file written by train-classes, init-classes or est-classes)"
                    ))
                })?
                .map_models(ModelDoc::Text),
        };
        if doc.format != MODELSET_FORMAT {
            return Err(bad(format!(
                "\"format\" is {:?}, expected {MODELSET_FORMAT:?}",
                doc.format
            )));
        }
        if doc.version != MODELSET_VERSION && doc.version != 1 {
            return Err(bad(format!(
                "version {} is not supported (this build reads versions 1 to {MODELSET_VERSION}: use a newer cepstra)",
                doc.version
            )));
        }
        if let Some(seed) = doc.seed {
            if seed != doc.options.fit.seed {
                return Err(bad(format!(
                    "\"seed\" {seed} differs from options.seed {}",
                    doc.options.fit.seed
                )));
            }
        }
        let mut classes = Vec::with_capacity(doc.classes.len());
        for c in doc.classes {
            let model = match c.model {
                ModelDoc::Parsed(m) => m.into_gmm(),
                ModelDoc::Text(t) => cepstra_gmm::io::model_from_json(t.get()),
            }
            .map_err(|e| bad(format!("model of class '{}': {e}", c.label)))?;
            if model.num_gauss() != c.num_gauss {
                return Err(bad(format!(
                    "class '{}' says num_gauss {} but its model has {}",
                    c.label,
                    c.num_gauss,
                    model.num_gauss()
                )));
            }
            classes.push(ClassModel {
                label: c.label,
                num_utts: c.num_utts,
                num_frames: c.num_frames,
                num_gauss_requested: c.num_gauss_requested,
                loglikes: c.loglikes,
                converged: c.converged,
                overrides: c.overrides,
                selection: c.selection,
                model,
            });
        }
        let set = ModelSet {
            options: doc.options,
            iteration: doc.iteration,
            classes,
            frontend: if doc.version == 1 { None } else { doc.frontend },
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

    /// Reads a model set from a file (or `-`, or a `cmd |` pipe).
    pub fn read(path: &str) -> Result<ModelSet> {
        let bytes = cepstra_io::filename::Input::open(path)?.read_all()?;
        Self::from_bytes(&bytes, path)
    }

    /// Writes the model set atomically (temporary file, then rename).
    pub fn write(&self, path: &str) -> Result<()> {
        let bytes = self.to_bytes()?;
        cepstra_io::filename::write_atomic(Path::new(path), &bytes)?;
        Ok(())
    }

    /// Identifies the model set an accumulator was made with: FNV-1a over the options, the
    /// iteration and, per class, its record (as JSON, without the model) and the exact bits of
    /// its model's parameters. Equal for a model set and what a process reading its file sees
    /// (the JSON numbers round-trip exactly), without formatting every parameter as text.
    pub fn fingerprint(&self) -> Result<u64> {
        let mut bytes = Vec::with_capacity(1 << 12);
        bytes.extend_from_slice(serde_json::to_string(&self.options)?.as_bytes());
        bytes.extend_from_slice(&(self.iteration as u64).to_le_bytes());
        if let Some(fe) = &self.frontend {
            bytes.extend_from_slice(serde_json::to_string(fe)?.as_bytes());
        }
        for c in &self.classes {
            serde_json::to_writer(&mut bytes, &ClassOut::new(c, ()))?;
            let g = &c.model;
            bytes.push(matches!(g, Gmm::Full(_)) as u8);
            let (weights, means) = (g.weights(), g.means());
            let mut put = |v: f64| bytes.extend_from_slice(&v.to_bits().to_le_bytes());
            weights.iter().for_each(|&v| put(v));
            means.iter().for_each(|&v| put(v));
            match g {
                Gmm::Full(f) => f.covars().iter().for_each(|&v| put(v)),
                Gmm::Diag(d) => d.vars().iter().for_each(|&v| put(v)),
            }
        }
        Ok(fnv1a(&bytes))
    }
}

/// Whether `bytes` look like a model set (a JSON object whose `"format"` is
/// [`MODELSET_FORMAT`]); a cheap test that does not parse the models, for commands that accept
/// a single model or a model set (`gmm-info`, `gmm-copy`).
pub fn is_model_set(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Head {
        format: String,
    }
    // Fast path: the format is the first key of every model set this crate writes.
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 64)];
    let needle = format!("\"format\": \"{MODELSET_FORMAT}\"");
    if head.windows(needle.len()).any(|w| w == needle.as_bytes()) {
        return true;
    }
    bytes.get(start) == Some(&b'{')
        && serde_json::from_slice::<Head>(bytes).is_ok_and(|h| h.format == MODELSET_FORMAT)
}

impl ModelSet {
    /// A human-readable summary (`gmm-info` on a model set): the training options, one line per
    /// class (`label`, components, covariance, utterances, frames, the last training
    /// log-likelihood per frame) and the recorded front-end.
    pub fn info(&self) -> String {
        let mut s = String::new();
        let fit = &self.options.fit;
        s.push_str(&format!(
            "model set: {} classes, feature dimension {}, {} EM passes done, seed {}\n",
            self.classes.len(),
            self.dim(),
            self.iteration,
            self.seed()
        ));
        s.push_str(&format!(
            "options: num-gauss {} covariance {} num-iters {} tol {} init {}{}\n",
            fit.num_gauss,
            covariance_name(fit.covariance),
            fit.num_iters,
            fit.tol,
            serde_json::to_value(fit.init)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", fit.init)),
            if self.options.select_k.is_empty() {
                String::new()
            } else {
                format!(
                    " select-k {} criterion {}",
                    self.options
                        .select_k
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    self.options.criterion
                )
            }
        ));
        s.push_str(&format!(
            "front-end: {}\n",
            self.frontend.as_ref().map_or(
                "not recorded (trained without --feature-config)".to_string(),
                |f| f.describe()
            )
        ));
        s.push_str("class\tnum-gauss\tcovariance\tutterances\tframes\tfinal-loglike-per-frame\n");
        for c in &self.classes {
            s.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                c.label,
                c.model.num_gauss(),
                covariance_name(c.model.covariance_type()),
                c.num_utts,
                c.num_frames,
                c.loglikes
                    .last()
                    .map_or("-".to_string(), |v| format!("{v:.4}"))
            ));
        }
        s
    }
}

impl ModelSet {
    /// The class models as a Kaldi archive, key = label: `<label> <FullGMM>…` per class, text
    /// (readable; `binary = false`) or binary (`<label> \0B<FullGMM>…`), as Kaldi's
    /// `ark:`/`ark,t:` writers would store the models.
    pub fn to_kaldi_archive(&self, binary: bool) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for c in &self.classes {
            out.extend_from_slice(c.label.as_bytes());
            out.push(b' ');
            if binary {
                out.extend_from_slice(b"\0B");
            }
            cepstra_gmm::io::write_kaldi_model(&c.model, &mut out, binary)?;
        }
        Ok(out)
    }
}

fn covariance_name(c: cepstra_gmm::CovarianceType) -> &'static str {
    match c {
        cepstra_gmm::CovarianceType::Full => "full",
        cepstra_gmm::CovarianceType::Diag => "diag",
    }
}

/// 64-bit FNV-1a (the model-set fingerprints of acc files; public for cepstra-hmm's).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The check of [`ModelSet::check_frontend`] for any model file that records a front-end
/// (`recorded`; `None`: nothing is checked): shared with the HMM model set of cepstra-hmm.
///
/// # Errors
/// [`Error::FrontEnd`] when the dimension or a step of the pipeline differs.
pub fn check_frontend(
    recorded: Option<&FrontEndOptions>,
    what: &str,
    dim: usize,
    declared: Option<&FrontEndOptions>,
) -> Result<()> {
    let Some(fe) = recorded else {
        return Ok(());
    };
    let mismatch = |reason: String| Error::FrontEnd {
        what: what.to_string(),
        reason,
    };
    if let Some(d) = declared {
        let diffs = d.differences(fe);
        if !diffs.is_empty() {
            return Err(mismatch(format!(
                "their pipeline differs from the model's: {} (\"here\" = the features, \"there\" = the model)",
                diffs.join("; ")
            )));
        }
    }
    match fe.explain_dim(dim) {
        Some(reason) => Err(mismatch(reason)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cepstra_gmm::{DiagGmm, FullGmm};
    use ndarray::{array, Array3};

    /// How a class's model was written before [`ModelOut`]: cepstra-gmm's JSON text, read into
    /// a `serde_json::Value` and written again compactly.
    fn model_via_value(g: &Gmm) -> String {
        let text = cepstra_gmm::io::model_to_json(g).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::to_string(&v).unwrap()
    }

    fn class(label: &str, model: Gmm) -> ClassModel {
        ClassModel {
            label: label.into(),
            num_utts: 3,
            num_frames: 40,
            num_gauss_requested: model.num_gauss(),
            loglikes: vec![-70.125, -66.3, 1e-300],
            converged: false,
            overrides: Default::default(),
            selection: None,
            model,
        }
    }

    /// Awkward numbers (negative zero, integers, tiny, huge, long fractions) written straight
    /// from the arrays give the bytes of the `Value` round trip, for both covariance types,
    /// and the whole file reads back to the same set and the same bytes.
    #[test]
    fn models_are_written_as_through_a_json_value() {
        let diag = Gmm::from(
            DiagGmm::new(
                array![0.25, 0.75],
                array![[-0.0, 1.0, 1e21], [0.1, -2.5e-8, 123456789.123]],
                array![[1.0, 2.0, 1e-300], [std::f64::consts::PI, 7.0, 0.3]],
            )
            .unwrap(),
        );
        let mut cov = Array3::zeros((2, 2, 2));
        cov.index_axis_mut(ndarray::Axis(0), 0)
            .assign(&array![[2.0, 0.1], [0.1, 1.0 / 3.0]]);
        cov.index_axis_mut(ndarray::Axis(0), 1)
            .assign(&array![[5e-7, -1e-9], [-1e-9, 4.0]]);
        let full = Gmm::from(
            FullGmm::new(
                array![1.0 / 3.0, 2.0 / 3.0],
                array![[0.0, -1.0], [1e-5, 9e15]],
                cov,
            )
            .unwrap(),
        );
        for g in [&diag, &full] {
            let mut direct = Vec::new();
            serde_json::to_writer(&mut direct, &ModelOut(g)).unwrap();
            assert_eq!(String::from_utf8(direct).unwrap(), model_via_value(g));
        }
        let full3 = {
            let mut m = Array3::zeros((1, 3, 3));
            for i in 0..3 {
                m[[0, i, i]] = 1.0 + i as f64;
            }
            Gmm::from(FullGmm::new(array![1.0], array![[1.0, 2.0, 3.0]], m).unwrap())
        };
        let set = ModelSet::new(
            TrainOptions::default(),
            vec![class("b", diag), class("a", full3)],
        )
        .unwrap();
        let bytes = set.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        for c in &set.classes {
            assert!(text.contains(&format!("\"model\":{}}}", model_via_value(&c.model))));
        }
        let back = ModelSet::from_bytes(&bytes, "x").unwrap();
        assert_eq!(back, set);
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    /// Read in one pass, the messages of a bad model are still the class's (the file, the
    /// class, the field), as when every model was parsed from its own text.
    #[test]
    fn bad_models_name_file_class_and_field() {
        let m = |mean: f64| {
            Gmm::from(DiagGmm::new(array![1.0], array![[mean]], array![[1.0]]).unwrap())
        };
        let set = ModelSet::new(
            TrainOptions::default(),
            vec![class("a", m(0.0)), class("b", m(1.0))],
        )
        .unwrap();
        let text = String::from_utf8(set.to_bytes().unwrap()).unwrap();
        let at = text.rfind("\"weights\":[").unwrap();
        let bad = format!(
            "{}\"weights\":\"x\"{}",
            &text[..at],
            &text[at + "\"weights\":[1.0]".len()..]
        );
        let e = ModelSet::from_bytes(bad.as_bytes(), "f.mdl")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.mdl")
                && e.contains("model of class 'b'")
                && e.contains("expected a sequence"),
            "{e}"
        );
        let two = text.replacen("\"weights\":[1.0]", "\"weights\":[0.5,0.5]", 1);
        let e = ModelSet::from_bytes(two.as_bytes(), "f.mdl")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.mdl")
                && e.contains("model of class 'a'")
                && e.contains("2 weights for num_gauss 1"),
            "{e}"
        );
        let e = ModelSet::from_bytes(
            text.replacen("\"num_utts\":3", "\"num_utts\":\"3\"", 1)
                .as_bytes(),
            "f.mdl",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("f.mdl")
                && e.contains("invalid type")
                && e.contains("a model set is the JSON file"),
            "{e}"
        );
    }
}
