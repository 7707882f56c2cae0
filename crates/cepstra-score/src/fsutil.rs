//! Atomic file writes: a temporary file in the same directory, then a rename.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` so that readers see either the old file or the complete new one:
/// the data goes to `.<name>.tmp.<pid>` in the same directory, is flushed to disk, then renamed
/// over `path`. On failure the temporary file is removed and `path` is left untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let werr = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        werr(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(source));
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
    fn missing_directory_is_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/report.html");
        assert!(matches!(write_atomic(&p, b"x"), Err(Error::Write { .. })));
        assert!(!p.exists());
    }
}
