//! The one error type of cepstra-gmm.

/// Errors of cepstra-gmm. Messages say what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option value is out of range.
    #[error("invalid option --{option}={value}: {reason}")]
    InvalidOption {
        /// Kebab-case option name, as on the command line.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// Fewer frames than components.
    #[error("{frames} frames are not enough for {components} components: lower --num-gauss or give more data")]
    TooFewFrames {
        /// Frames given.
        frames: usize,
        /// Components requested.
        components: usize,
    },
    /// Features contain NaN or infinity.
    #[error(
        "frame {frame}, dimension {dim} is not finite ({value}): clean the features (NaN/Inf)"
    )]
    NonFinite {
        /// Frame index (within the call).
        frame: usize,
        /// Dimension index.
        dim: usize,
        /// The offending value.
        value: f64,
    },
    /// Model and features (or two statistics) disagree in dimension or component count.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was compared.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Size found.
        got: usize,
    },
    /// Covariance types differ (diag vs full).
    #[error("covariance type mismatch: {0}")]
    CovarianceMismatch(&'static str),
    /// A dimension of the data has (near) zero variance.
    #[error("dimension {dim} of the data is constant (variance {variance:e}): drop it or set --var-floor > 0")]
    ConstantDimension {
        /// Dimension index.
        dim: usize,
        /// Its variance.
        variance: f64,
    },
    /// A covariance is not positive definite.
    #[error("component {component} has a singular covariance (pivot {pivot}){context}: lower --num-gauss, or raise --var-floor/--reg-covar")]
    SingularCovariance {
        /// Component index.
        component: usize,
        /// 0-based pivot where Cholesky failed.
        pivot: usize,
        /// Where it happened, e.g. " after iteration 4".
        context: String,
    },
    /// A model parameter is invalid (negative weight, NaN...).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// No statistics (zero occupancy) or no data.
    #[error("no data: {0}")]
    NoData(String),
    /// All components would be removed or every component starved.
    #[error("component {component} has occupancy {occupancy} (below --min-gaussian-occupancy {min}) and cannot be removed: lower --num-gauss or --min-gaussian-occupancy")]
    StarvedComponent {
        /// Component index.
        component: usize,
        /// Its occupancy.
        occupancy: f64,
        /// The minimum.
        min: f64,
    },
    /// A statistics or model file is malformed.
    #[error("bad {what} file: {reason}")]
    Format {
        /// "stats", "model"...
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file ended before the object did.
    #[error("truncated {what} file: {reason}")]
    Truncated {
        /// "stats", "model"...
        what: &'static str,
        /// Detail.
        reason: String,
    },
    /// I/O error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// Path (or `"<stream>"`).
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Error from the Kaldi I/O layer.
    #[error(transparent)]
    KaldiIo(#[from] cepstra_io::Error),
    /// JSON (de)serialisation error. Not a `source`: the message already holds it (as a source
    /// it was printed twice by `{:#}`).
    #[error("JSON model: {0}")]
    Json(serde_json::Error),
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            return Error::Truncated {
                what: "input",
                reason: format!("{}: {source}", path.into()),
            };
        }
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
