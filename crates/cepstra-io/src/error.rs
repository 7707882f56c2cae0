//! The error type of `cepstra-io`.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing Kaldi-style files.
///
/// Messages name the file, and where it helps the key (utterance id) or line, so a user can find
/// the bad entry without a debugger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a named file or command.
    #[error("{path}: {source}")]
    Io {
        /// The file, `-` (stdin/stdout) or pipe command.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed object data (a matrix, vector, token, ...), before context is added.
    #[error("{0}")]
    Format(String),
    /// An error reading or writing one entry of a Kaldi table.
    #[error("{spec}{}: {reason}", key.as_ref().map(|k| format!(", utterance {k}")).unwrap_or_default())]
    Table {
        /// The r/wspecifier (or file) being read or written.
        spec: String,
        /// The key of the entry, when known.
        key: Option<String>,
        /// What went wrong.
        reason: String,
    },
    /// A malformed rspecifier or wspecifier.
    #[error("bad specifier '{spec}': {reason}")]
    Spec {
        /// The specifier as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of a text file (`wav.scp`, `text`, `utt2spk`, an `scp` ...) is malformed.
    #[error("{}:{line}: {reason}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A WAV file that cannot be used.
    #[error("{}{reason}", if source_name.is_empty() { String::new() } else { format!("{source_name}: ") })]
    Wav {
        /// File name or `wav.scp` entry.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A piped command (`cmd |` or `| cmd`) failed.
    #[error("command '{command}' failed: {status}")]
    Command {
        /// The shell command.
        command: String,
        /// Its exit status, as text.
        status: String,
    },
    /// A data directory is inconsistent (see `validate-data-dir`).
    #[error("{dir}: {reason}")]
    DataDir {
        /// The data directory.
        dir: String,
        /// The problem found.
        reason: String,
    },
}

impl Error {
    /// Wraps an `std::io::Error` with the file it concerns.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A `Format` error from anything printable.
    pub fn format(msg: impl Into<String>) -> Self {
        Error::Format(msg.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        // Low-level readers do not know the file name; table code adds it.
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Format("unexpected end of file (truncated data?)".into())
        } else {
            Error::Io {
                path: String::from("<stream>"),
                source: e,
            }
        }
    }
}

/// The reason of an I/O error without Rust's ` (os error N)` suffix, for messages that already
/// say which file.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The 1-based line and byte column of the first invalid UTF-8 byte of a file's text.
pub(crate) fn utf8_error_position(e: &std::string::FromUtf8Error) -> (usize, usize) {
    let at = e.utf8_error().valid_up_to();
    let before = &e.as_bytes()[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, column)
}

/// A file's bytes as text, or an error naming the file, the line and the byte of the first
/// invalid UTF-8.
pub(crate) fn utf8_text(bytes: Vec<u8>, path: impl Into<PathBuf>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = utf8_error_position(&e);
        Error::Line {
            path: path.into(),
            line,
            reason: format!("not valid UTF-8 (byte {column} of the line)"),
        }
    })
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    #[test]
    fn utf8_error_position_is_line_and_column() {
        let e = String::from_utf8(b"a 1\nb 2\nc \xff\n".to_vec()).unwrap_err();
        assert_eq!(super::utf8_error_position(&e), (3, 3));
        let e = String::from_utf8(b"\xfe".to_vec()).unwrap_err();
        assert_eq!(super::utf8_error_position(&e), (1, 1));
    }
}
