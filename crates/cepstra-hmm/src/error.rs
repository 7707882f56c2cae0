//! The one error type of cepstra-hmm.

/// Errors of cepstra-hmm. Messages say what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model is malformed (no states, a bad transition row, mixed dimensions).
    #[error("invalid HMM: {0}")]
    InvalidModel(String),
    /// Features and model disagree in dimension.
    #[error("feature dimension {got} does not match the HMM's {expected}")]
    Dimension {
        /// The model's dimension.
        expected: usize,
        /// The features' dimension.
        got: usize,
    },
    /// An option value is out of range.
    #[error("invalid option {0}")]
    InvalidOption(String),
    /// Training a class failed.
    #[error("class '{class}': {reason}")]
    Class {
        /// The class label.
        class: String,
        /// What went wrong.
        reason: String,
    },
    /// A per-class option (`--class-opts`, or a model set's per-class record) cannot be set per
    /// class, is unknown, or has a bad value.
    #[error("class '{class}': per-class option --{option}: {reason}")]
    ClassOption {
        /// The class label.
        class: String,
        /// The option (kebab-case; several joined by `,` when the value check cannot tell which).
        option: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A model set file is malformed.
    #[error("{path}: not a valid HMM model set: {reason}")]
    ModelSetFormat {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An HTK model definition file is malformed.
    #[error("{path}:{line}: {reason}")]
    Mmf {
        /// The file.
        path: String,
        /// 1-based line of the offending token.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A statistics (acc) file is malformed or does not belong to the model set.
    #[error("{path}: {reason}")]
    AccFormat {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file.
    #[error(transparent)]
    Io(#[from] cepstra_io::Error),
    /// JSON (de)serialisation.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The front-end check (shared with the GMM model sets).
    #[error(transparent)]
    Train(#[from] cepstra_train::Error),
    /// An error of the GMM engine computing the emissions.
    #[error(transparent)]
    Gmm(#[from] cepstra_gmm::Error),
}

impl Error {
    pub(crate) fn class(label: &str, e: impl std::fmt::Display) -> Error {
        Error::Class {
            class: label.to_string(),
            reason: e.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
