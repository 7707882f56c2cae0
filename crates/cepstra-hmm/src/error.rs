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
    /// An error of the GMM engine computing the emissions.
    #[error(transparent)]
    Gmm(#[from] cepstra_gmm::Error),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
