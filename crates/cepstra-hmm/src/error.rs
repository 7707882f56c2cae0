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
    /// A given alignment (`acc-hmms --alignments`) does not fit its utterance or its class's
    /// HMM.
    #[error("class '{class}': utterance '{utt}': the alignment {fault}: realign with align-hmms under this model set")]
    Alignment {
        /// The class label.
        class: String,
        /// The utterance.
        utt: String,
        /// What is wrong with the state sequence.
        fault: AlignmentFault,
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

/// What is wrong with a state sequence given as an alignment ([`Error::Alignment`],
/// [`crate::Hmm::path_posteriors`]). Its `Display` completes "the alignment …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlignmentFault {
    /// The alignment has `got` states for an utterance of `frames` frames.
    Length {
        /// Frames of the utterance.
        frames: usize,
        /// States in the alignment.
        got: usize,
    },
    /// A state outside 0..S (0-based emitting states).
    StateOutOfRange {
        /// 0-based frame.
        frame: usize,
        /// The state given.
        state: i64,
        /// The model's emitting states S.
        num_states: usize,
    },
    /// The first state cannot follow the entry.
    Start {
        /// The first state (0-based).
        state: usize,
    },
    /// A transition the topology does not allow (probability 0).
    Transition {
        /// 0-based frame of the state entered.
        frame: usize,
        /// 0-based state left.
        from: usize,
        /// 0-based state entered.
        to: usize,
    },
    /// The last state cannot go to the exit (and the model may not end anywhere else).
    End {
        /// The last state (0-based).
        state: usize,
    },
    /// The path has likelihood 0 under the model (an emission of −∞).
    Impossible,
}

impl std::fmt::Display for AlignmentFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            AlignmentFault::Length { frames, got } => {
                write!(f, "has {got} states for {frames} frames")
            }
            AlignmentFault::StateOutOfRange {
                frame,
                state,
                num_states,
            } => write!(
                f,
                "has state {state} at frame {frame}, outside the model's 0..{num_states} (0-based emitting states)"
            ),
            AlignmentFault::Start { state } => {
                write!(f, "starts in state {state}, which the entry does not lead to")
            }
            AlignmentFault::Transition { frame, from, to } => write!(
                f,
                "goes from state {from} to state {to} at frame {frame}, a transition of probability 0"
            ),
            AlignmentFault::End { state } => write!(
                f,
                "ends in state {state}, from which the model cannot end (no transition to the exit)"
            ),
            AlignmentFault::Impossible => write!(f, "has likelihood 0 under the model"),
        }
    }
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
