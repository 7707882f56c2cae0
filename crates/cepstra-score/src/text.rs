//! Reading Kaldi `text` files: `<utt-id> <label>` per line.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};

/// One line of a Kaldi `text` file: an utterance id and its label.
///
/// The label is the rest of the line after the first token, with runs of whitespace collapsed to
/// one space (for isolated words it is a single token such as `7`, `o` or `<unk>`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct UttLabel {
    /// Utterance id (first token of the line).
    pub utt: String,
    /// Label (the rest of the line).
    pub label: String,
}

/// Reads a Kaldi `text` file, keeping the order of the file (it need not be sorted).
///
/// Errors name the file and 1-based line: [`Error::EmptyLine`], [`Error::MissingLabel`],
/// [`Error::DuplicateUtt`], [`Error::NotUtf8`], and [`Error::Read`] for I/O. An empty file gives an
/// empty vector. Whitespace is ASCII space, tab or `\r` (so CRLF files are read as expected).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("text");
/// std::fs::write(&path, "ae_1a 1\nac_zb z\n")?;
/// let text = cepstra_score::read_text(&path)?;
/// assert_eq!(text[1].utt, "ac_zb");
/// assert_eq!(text[1].label, "z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_text(path: &Path) -> Result<Vec<UttLabel>> {
    // Through cepstra-io: `-` is stdin and `cmd |` a pipe, as for every other input.
    let mut input = cepstra_io::filename::Input::open(&path.to_string_lossy())?;
    let text = parse_text(&mut input, path)?;
    input.close()?;
    Ok(text)
}

/// Parses `text` content from any reader; `path` is only used in error messages.
///
/// See [`read_text`] for the rules.
pub fn parse_text<R: BufRead>(mut reader: R, path: &Path) -> Result<Vec<UttLabel>> {
    let mut out = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = std::str::from_utf8(&buf).map_err(|_| Error::NotUtf8 {
            path: path.to_path_buf(),
            line: line_no,
        })?;
        let mut tokens = line
            .split([' ', '\t', '\r', '\n'])
            .filter(|t| !t.is_empty());
        let Some(utt) = tokens.next() else {
            return Err(Error::EmptyLine {
                path: path.to_path_buf(),
                line: line_no,
            });
        };
        let label = tokens.collect::<Vec<_>>().join(" ");
        if label.is_empty() {
            return Err(Error::MissingLabel {
                path: path.to_path_buf(),
                line: line_no,
                utt: utt.to_string(),
            });
        }
        if let Some(&first_line) = first_line_of.get(utt) {
            return Err(Error::DuplicateUtt {
                path: path.to_path_buf(),
                line: line_no,
                first_line,
                utt: utt.to_string(),
            });
        }
        first_line_of.insert(utt.to_string(), line_no);
        out.push(UttLabel {
            utt: utt.to_string(),
            label,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<UttLabel>> {
        parse_text(s.as_bytes(), Path::new("data/test/text"))
    }

    #[test]
    fn reads_unsorted_crlf_and_unk() {
        let t = parse("b 2\r\na\t<unk>\nc  two  words\nd 1").unwrap();
        let got: Vec<(&str, &str)> = t
            .iter()
            .map(|e| (e.utt.as_str(), e.label.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("b", "2"), ("a", "<unk>"), ("c", "two words"), ("d", "1")]
        );
    }

    #[test]
    fn empty_file_is_empty() {
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn empty_line_is_an_error() {
        match parse("a 1\n\nb 2\n") {
            Err(Error::EmptyLine { path, line }) => {
                assert_eq!(path, Path::new("data/test/text"));
                assert_eq!(line, 2);
            }
            other => panic!("expected EmptyLine, got {other:?}"),
        }
        assert!(matches!(
            parse("a 1\n  \t\n"),
            Err(Error::EmptyLine { line: 2, .. })
        ));
    }

    #[test]
    fn missing_label_is_an_error() {
        match parse("a 1\nb\n") {
            Err(Error::MissingLabel { line, utt, .. }) => {
                assert_eq!(line, 2);
                assert_eq!(utt, "b");
            }
            other => panic!("expected MissingLabel, got {other:?}"),
        }
        assert!(matches!(
            parse("a   \r\n"),
            Err(Error::MissingLabel { line: 1, .. })
        ));
    }

    #[test]
    fn duplicate_utt_is_an_error() {
        match parse("a 1\nb 2\na 1\n") {
            Err(Error::DuplicateUtt {
                line,
                first_line,
                utt,
                ..
            }) => {
                assert_eq!((line, first_line, utt.as_str()), (3, 1, "a"));
            }
            other => panic!("expected DuplicateUtt, got {other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let r = parse_text(&b"a 1\nb \xff\n"[..], Path::new("t"));
        assert!(matches!(r, Err(Error::NotUtf8 { line: 2, .. })));
    }

    #[test]
    fn error_messages_name_file_and_line() {
        let e = parse("a 1\nb 2\na 3\n").unwrap_err().to_string();
        assert!(e.starts_with("data/test/text:3:"), "{e}");
        assert!(e.contains("first on line 1"), "{e}");
    }

    #[test]
    fn missing_file_is_read_error() {
        // Read through cepstra-io, whose error names the file.
        let e = read_text(Path::new("/nonexistent/dir/text")).unwrap_err();
        assert!(matches!(e, Error::File(_)), "{e}");
        assert!(e.to_string().contains("/nonexistent/dir/text"), "{e}");
    }
}
