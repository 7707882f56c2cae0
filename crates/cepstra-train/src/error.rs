//! The one error type of cepstra-train.

/// Errors of cepstra-train. Messages name the class, utterance or file and say what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option value is out of range.
    #[error("invalid option --{option}={value}: {reason}")]
    InvalidOption {
        /// Kebab-case option name, as on the command line.
        option: String,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A per-class override names an option that does not exist.
    #[error("unknown option '{name}' in the per-class options of class '{class}': use the names of `cepstra train-classes --help` (e.g. num-gauss, covariance)")]
    UnknownOverride {
        /// The class.
        class: String,
        /// The option name.
        name: String,
    },
    /// No labelled utterance with features at all.
    #[error("no training data: {0}")]
    NoTrainingData(String),
    /// The same utterance id twice in the features or in the text.
    #[error("utterance '{utt}' appears twice in the {what}: utterance ids must be unique (fix-data-dir removes duplicates)")]
    DuplicateUtterance {
        /// The utterance id.
        utt: String,
        /// "features" or "text".
        what: &'static str,
    },
    /// An utterance of the text has an empty label, or one with whitespace.
    #[error("utterance '{utt}' has label {label:?} in the text file: a class label is one non-empty token (`<utt-id> <label>` per line)")]
    BadLabel {
        /// The utterance id.
        utt: String,
        /// The label found.
        label: String,
    },
    /// Utterances that have features but no label.
    #[error("{count} utterance(s) have features but no label in the text file (e.g. {examples}): add them to the text file, or run fix-data-dir on the data directory")]
    UnlabelledFeatures {
        /// How many.
        count: usize,
        /// Up to five utterance ids.
        examples: String,
    },
    /// Utterances of the text that have no features.
    #[error("{count} utterance(s) of the text file have no features (e.g. {examples}): compute their features, or run fix-data-dir to drop them from the text")]
    MissingFeatures {
        /// How many.
        count: usize,
        /// Up to five utterance ids.
        examples: String,
    },
    /// An utterance whose feature dimension differs from the others (or from the models).
    #[error("utterance '{utt}' has feature dimension {got}, expected {expected} ({context}): use the same feature pipeline for every utterance")]
    FeatureDimension {
        /// The utterance id.
        utt: String,
        /// The expected dimension.
        expected: usize,
        /// The dimension found.
        got: usize,
        /// Where the expectation comes from.
        context: &'static str,
    },
    /// A class has no frames.
    #[error("class '{class}' has no training frames ({utts} utterance(s), all empty): remove its utterances from the text file or give it data")]
    EmptyClass {
        /// The class label.
        class: String,
        /// Its utterances.
        utts: usize,
    },
    /// A class has too few frames for even one component.
    #[error("class '{class}' has {frames} frames: not enough for one {covariance}-covariance Gaussian of dimension {dim} (needs {needed}); give it more data or use --covariance=diag")]
    TooFewFrames {
        /// The class label.
        class: String,
        /// Frames of the class.
        frames: usize,
        /// Feature dimension.
        dim: usize,
        /// "full" or "diag".
        covariance: &'static str,
        /// Frames needed per component.
        needed: usize,
    },
    /// A label of the data has no model in the model set.
    #[error("class '{class}' (utterance '{utt}') has no model in the model set (classes: {known}): train the model set on data that includes it (init-classes)")]
    UnknownClass {
        /// The class label.
        class: String,
        /// An utterance of it.
        utt: String,
        /// The model set's classes.
        known: String,
    },
    /// An error of the GMM engine, for one class.
    #[error("class '{class}': {source}")]
    Class {
        /// The class label.
        class: String,
        /// The engine's error.
        #[source]
        source: cepstra_gmm::Error,
    },
    /// An error of the GMM engine (not tied to one class).
    #[error(transparent)]
    Gmm(#[from] cepstra_gmm::Error),
    /// Heldout selection needs at least two utterances per class.
    #[error("class '{class}' has {utts} utterance(s): --criterion=heldout needs at least 2 (use --criterion=bic)")]
    HeldoutTooFewUtterances {
        /// The class label.
        class: String,
        /// Its utterances.
        utts: usize,
    },
    /// No candidate of --select-k fits the class.
    #[error("class '{class}': no candidate of --select-k fits its {frames} frames (at most {max} components): add smaller values such as 1")]
    NoCandidate {
        /// The class label.
        class: String,
        /// Frames of the class.
        frames: usize,
        /// Largest number of components that fits.
        max: usize,
    },
    /// A fixed-point statistic overflowed or a statistic is not finite.
    #[error("statistics of class '{class}': {reason}")]
    Statistics {
        /// The class label.
        class: String,
        /// What went wrong.
        reason: String,
    },
    /// Statistics files that do not belong to the model set, or to each other.
    #[error("{what}: {reason}")]
    AccMismatch {
        /// Which file or object.
        what: String,
        /// What differs and what to do.
        reason: String,
    },
    /// A class has no statistics in any accumulator.
    #[error("class '{class}' has no statistics in the accumulators: every class needs data in some job (check the data splits)")]
    NoStatistics {
        /// The class label.
        class: String,
    },
    /// A malformed statistics (`.acc`) file.
    #[error("bad class statistics file {path}: {reason}")]
    AccFormat {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Features that do not come from the model set's recorded front-end.
    #[error("{what}: {reason}; make the features with the model's pipeline (`cepstra gmm-info MODEL` shows it), or pass --ignore-frontend to use them anyway")]
    FrontEnd {
        /// The features (rspecifier).
        what: String,
        /// Which step differs.
        reason: String,
    },
    /// A malformed model set.
    #[error("bad model set {path}: {reason}")]
    ModelSetFormat {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// I/O through cepstra-io (files, pipes, atomic writes).
    #[error(transparent)]
    Io(#[from] cepstra_io::Error),
    /// JSON (de)serialisation.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn class(class: &str, source: cepstra_gmm::Error) -> Self {
        Error::Class {
            class: class.to_string(),
            source,
        }
    }
    pub(crate) fn invalid(option: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Error::InvalidOption {
            option: option.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Up to five items joined by ", " (for messages).
pub(crate) fn examples(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(5)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 5 {
        s.push_str(", ...");
    }
    s
}
