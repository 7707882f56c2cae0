//! Writing outputs through `cepstra-io`: `-` is stdout, `| cmd` a pipe, devices and FIFOs are
//! written in place, symbolic links followed, and regular files replaced atomically.

use std::io::Write;
use std::path::Path;

use cepstra_io::filename::Output;

use crate::error::{Error, Result};

/// Writes `bytes` to the wxfilename `path` so that readers see either the old file or the
/// complete new one (a temporary file beside the target, then a rename); `-` writes to stdout,
/// and a device or FIFO is written in place (see [`cepstra_io::filename::Output`]). On failure
/// nothing is left behind and the destination is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes several outputs of one run so that all of them appear or none does: every output is
/// opened and flushed to its temporary file before any is renamed into place.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a.txt"), dir.path().join("no/such/dir/b.txt"));
/// assert!(cepstra_score::write_all_atomic(&[(&a, b"1\n"), (&b, b"2\n")]).is_err());
/// assert!(!a.exists()); // the first output was not committed either
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_all_atomic(outputs: &[(&Path, &[u8])]) -> Result<()> {
    let mut open = Vec::with_capacity(outputs.len());
    for (path, bytes) in outputs {
        let name = path.to_string_lossy();
        let mut out = Output::create(&name)?;
        out.write_all(bytes).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        out.prepare()?;
        open.push(out);
    }
    for out in open {
        out.commit()?;
    }
    Ok(())
}

/// Checks before any work that every path can be written (its directory exists).
pub fn check_outputs<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    for p in paths {
        cepstra_io::filename::check_output(&p.to_string_lossy())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acc.txt");
        write_atomic(&p, b"0.5\n").unwrap();
        write_atomic(&p, b"0.75\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0.75\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("acc.txt")]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/report.html");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("report.html"), "{e}");
        assert!(check_outputs([p.as_path()]).is_err());
        assert!(!p.exists());
    }

    #[test]
    fn all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "old\n").unwrap();
        let bad = dir.path().join("missing/b.txt");
        assert!(write_all_atomic(&[(&a, b"new\n"), (&bad, b"x")]).is_err());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlink_target_is_written_and_link_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.tsv");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.tsv");
        std::os::unix::fs::symlink("real.tsv", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }
}
