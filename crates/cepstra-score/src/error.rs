//! The error type of `cepstra-score`.

use std::path::PathBuf;

/// Everything that can go wrong reading `text` files, computing accuracy or writing reports.
///
/// Messages name the file and line so a user can find the bad entry without a debugger, and say
/// what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (or the temporary file could not be renamed into place).
    #[error("cannot write {}: {source} (check that the directory exists and is writable)", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A blank line in a `text` file.
    #[error("{}:{line}: empty line; every line of a text file is `<utt-id> <label>` (remove the blank line)", path.display())]
    EmptyLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A line with an utterance id and nothing after it.
    #[error("{}:{line}: utterance '{utt}' has no label; every line of a text file is `<utt-id> <label>`", path.display())]
    MissingLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The utterance id.
        utt: String,
    },
    /// The same utterance id on two lines of one file.
    #[error("{}:{line}: utterance '{utt}' appears twice (first on line {first_line}); utterance ids must be unique (fix-data-dir removes duplicates)", path.display())]
    DuplicateUtt {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the second occurrence.
        line: usize,
        /// 1-based line number of the first occurrence.
        first_line: usize,
        /// The utterance id.
        utt: String,
    },
    /// A line that is not valid UTF-8.
    #[error("{}:{line}: not valid UTF-8; text files must be UTF-8 (or ASCII)", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A line of a score, `utt2num_frames` or similar file that cannot be used.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Several runs' hypotheses for one summary page, but not all of the same reference.
    #[error("{what}")]
    Usage {
        /// What is wrong and what to do.
        what: String,
    },
    /// An input or output failed in `cepstra-io` (a missing directory, a failing pipe, …).
    #[error(transparent)]
    File(#[from] cepstra_io::Error),
    /// The reference has no utterances, so accuracy is undefined.
    #[error("the reference text has no utterances; accuracy needs at least one (check REF_TEXT)")]
    EmptyReference,
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
