//! Kaldi's extended filenames: `-` (stdin/stdout), `cmd |` (read a command's output),
//! `| cmd` (write into a command), `file:offset` (read from a byte offset), and plain files.
//!
//! Output files are written atomically: to a temporary file beside the target, renamed into place
//! by [`Output::commit`]. An `Output` dropped without `commit` removes its temporary file, so a
//! failed run never leaves a half-written file behind.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::error::{Error, Result};

/// What kind of input an rxfilename names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `-` or empty: standard input.
    Stdin,
    /// `cmd |`: the standard output of a shell command.
    Pipe(String),
    /// `path:offset`: a file read from a byte offset.
    Offset(PathBuf, u64),
    /// A plain file.
    File(PathBuf),
}

/// Classifies an rxfilename as Kaldi's `ClassifyRxfilename` does.
pub fn classify_input(name: &str) -> InputKind {
    let t = name.trim();
    if t.is_empty() || t == "-" {
        return InputKind::Stdin;
    }
    if let Some(cmd) = t.strip_suffix('|') {
        return InputKind::Pipe(cmd.trim_end().to_string());
    }
    if let Some((path, off)) = t.rsplit_once(':') {
        if !off.is_empty() && off.bytes().all(|b| b.is_ascii_digit()) && !path.is_empty() {
            if let Ok(o) = off.parse::<u64>() {
                return InputKind::Offset(PathBuf::from(path), o);
            }
        }
    }
    InputKind::File(PathBuf::from(t))
}

enum InputInner {
    Stdin(BufReader<io::Stdin>),
    File(BufReader<File>),
    Pipe {
        child: Child,
        reader: BufReader<ChildStdout>,
    },
}

/// An open input stream (see the module docs). Call [`Input::close`] to learn whether a piped
/// command succeeded.
pub struct Input {
    name: String,
    inner: InputInner,
}

impl Input {
    /// Opens an rxfilename.
    pub fn open(name: &str) -> Result<Input> {
        Self::open_kind(name, classify_input(name))
    }

    /// Opens an already classified input; `name` is used in messages.
    pub fn open_kind(name: &str, kind: InputKind) -> Result<Input> {
        let inner = match kind {
            InputKind::Stdin => InputInner::Stdin(BufReader::with_capacity(1 << 16, io::stdin())),
            InputKind::File(p) => InputInner::File(BufReader::with_capacity(
                1 << 16,
                File::open(&p).map_err(|e| Error::io(p.display().to_string(), e))?,
            )),
            InputKind::Offset(p, off) => {
                let mut f = File::open(&p).map_err(|e| Error::io(p.display().to_string(), e))?;
                let len = f
                    .metadata()
                    .map_err(|e| Error::io(p.display().to_string(), e))?
                    .len();
                if off >= len {
                    return Err(Error::Table {
                        spec: name.to_string(),
                        key: None,
                        reason: format!(
                            "offset {off} is past the end of {} ({len} bytes)",
                            p.display()
                        ),
                    });
                }
                f.seek(SeekFrom::Start(off))
                    .map_err(|e| Error::io(p.display().to_string(), e))?;
                InputInner::File(BufReader::with_capacity(1 << 16, f))
            }
            InputKind::Pipe(cmd) => {
                let mut child = Command::new("sh")
                    .arg("-c")
                    .arg(&cmd)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::io(cmd.clone(), e))?;
                let out = child
                    .stdout
                    .take()
                    .ok_or_else(|| Error::io(cmd.clone(), io::Error::other("no stdout")))?;
                InputInner::Pipe {
                    child,
                    reader: BufReader::with_capacity(1 << 16, out),
                }
            }
        };
        Ok(Input {
            name: name.to_string(),
            inner,
        })
    }

    /// The name this input was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the input; for a pipe, waits for the command and fails if it exited non-zero.
    pub fn close(self) -> Result<()> {
        match self.inner {
            InputInner::Pipe { mut child, reader } => {
                drop(reader);
                let status = child.wait().map_err(|e| Error::io(self.name.clone(), e))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(Error::Command {
                        command: self.name.trim_end_matches('|').trim().to_string(),
                        status: status.to_string(),
                    })
                }
            }
            _ => Ok(()),
        }
    }

    /// Reads everything into memory (closing the input).
    pub fn read_all(mut self) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_to_end(&mut buf)
            .map_err(|e| Error::io(self.name.clone(), e))?;
        self.close()?;
        Ok(buf)
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            InputInner::Stdin(r) => r.read(buf),
            InputInner::File(r) => r.read(buf),
            InputInner::Pipe { reader, .. } => reader.read(buf),
        }
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match &mut self.inner {
            InputInner::Stdin(r) => r.fill_buf(),
            InputInner::File(r) => r.fill_buf(),
            InputInner::Pipe { reader, .. } => reader.fill_buf(),
        }
    }
    fn consume(&mut self, amt: usize) {
        match &mut self.inner {
            InputInner::Stdin(r) => r.consume(amt),
            InputInner::File(r) => r.consume(amt),
            InputInner::Pipe { reader, .. } => reader.consume(amt),
        }
    }
}

/// What kind of output a wxfilename names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// `-` or empty: standard output.
    Stdout,
    /// `| cmd`: the standard input of a shell command.
    Pipe(String),
    /// A file (written atomically).
    File(PathBuf),
}

/// Classifies a wxfilename as Kaldi's `ClassifyWxfilename` does.
pub fn classify_output(name: &str) -> OutputKind {
    let t = name.trim();
    if t.is_empty() || t == "-" {
        OutputKind::Stdout
    } else if let Some(cmd) = t.strip_prefix('|') {
        OutputKind::Pipe(cmd.trim().to_string())
    } else {
        OutputKind::File(PathBuf::from(t))
    }
}

enum OutputInner {
    Stdout(BufWriter<io::Stdout>),
    Special(BufWriter<File>),
    File {
        writer: BufWriter<File>,
        tmp: PathBuf,
        target: PathBuf,
    },
    Pipe {
        child: Child,
        writer: BufWriter<ChildStdin>,
    },
    Done,
}

/// An open output stream (see the module docs). Bytes reach their destination only when
/// [`Output::commit`] succeeds.
pub struct Output {
    name: String,
    inner: OutputInner,
    written: u64,
}

/// Whether `path` exists and is not a regular file (a device such as `/dev/null`, a FIFO).
fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// A temporary path beside `target`, unique to this process.
pub fn temp_path_for(target: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = target
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{file}.tmp.{}.{n}", std::process::id()))
}

impl Output {
    /// Opens a wxfilename for writing.
    pub fn create(name: &str) -> Result<Output> {
        let inner = match classify_output(name) {
            OutputKind::Stdout => {
                OutputInner::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
            }
            OutputKind::File(target) if is_special_file(&target) => {
                // /dev/null, a FIFO, a terminal: write in place (a rename would replace it).
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .map_err(|e| Error::io(target.display().to_string(), e))?;
                OutputInner::Special(BufWriter::with_capacity(1 << 16, f))
            }
            OutputKind::File(target) => {
                if let Some(dir) = target.parent() {
                    if !dir.as_os_str().is_empty() && !dir.is_dir() {
                        return Err(Error::io(
                            target.display().to_string(),
                            io::Error::new(io::ErrorKind::NotFound, "directory does not exist"),
                        ));
                    }
                }
                let tmp = temp_path_for(&target);
                let f =
                    File::create(&tmp).map_err(|e| Error::io(target.display().to_string(), e))?;
                OutputInner::File {
                    writer: BufWriter::with_capacity(1 << 16, f),
                    tmp,
                    target,
                }
            }
            OutputKind::Pipe(cmd) => {
                let mut child = Command::new("sh")
                    .arg("-c")
                    .arg(&cmd)
                    .stdin(Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::io(cmd.clone(), e))?;
                let stdin = child
                    .stdin
                    .take()
                    .ok_or_else(|| Error::io(cmd.clone(), io::Error::other("no stdin")))?;
                OutputInner::Pipe {
                    child,
                    writer: BufWriter::with_capacity(1 << 16, stdin),
                }
            }
        };
        Ok(Output {
            name: name.to_string(),
            inner,
            written: 0,
        })
    }

    /// The name this output was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes written so far (the offset of the next byte, for `scp` entries).
    pub fn position(&self) -> u64 {
        self.written
    }

    /// Whether this output is a file (so offsets into it are meaningful).
    pub fn is_file(&self) -> bool {
        matches!(
            self.inner,
            OutputInner::File { .. } | OutputInner::Special(_)
        )
    }

    /// Flushes and finishes: renames a file into place, waits for a pipe's command.
    pub fn commit(mut self) -> Result<()> {
        let inner = std::mem::replace(&mut self.inner, OutputInner::Done);
        let name = self.name.clone();
        match inner {
            OutputInner::Stdout(mut w) => match w.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| Error::io("-", e)),
            },
            OutputInner::Special(mut w) => w.flush().map_err(|e| Error::io(name, e)),
            OutputInner::File {
                writer,
                tmp,
                target,
            } => {
                let f = writer
                    .into_inner()
                    .map_err(|e| Error::io(target.display().to_string(), e.into_error()))?;
                f.sync_data().ok();
                drop(f);
                std::fs::rename(&tmp, &target).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    Error::io(target.display().to_string(), e)
                })
            }
            OutputInner::Pipe { mut child, writer } => {
                let flushed = writer.into_inner().map(drop).map_err(|e| e.into_error());
                let status = child.wait().map_err(|e| Error::io(name.clone(), e))?;
                if !status.success() {
                    return Err(Error::Command {
                        command: name.trim_start_matches('|').trim().into(),
                        status: status.to_string(),
                    });
                }
                flushed.map_err(|e| Error::io(name, e))
            }
            OutputInner::Done => Ok(()),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let OutputInner::File { tmp, .. } = &self.inner {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            OutputInner::Stdout(w) => w.write(buf),
            OutputInner::Special(w) => w.write(buf),
            OutputInner::File { writer, .. } => writer.write(buf),
            OutputInner::Pipe { writer, .. } => writer.write(buf),
            OutputInner::Done => Err(io::Error::other("output already committed")),
        }?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            OutputInner::Stdout(w) => w.flush(),
            OutputInner::Special(w) => w.flush(),
            OutputInner::File { writer, .. } => writer.flush(),
            OutputInner::Pipe { writer, .. } => writer.flush(),
            OutputInner::Done => Ok(()),
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = Output::create(&path.to_string_lossy())?;
    out.write_all(bytes)
        .map_err(|e| Error::io(path.display().to_string(), e))?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn classifies_like_kaldi() {
        assert_eq!(classify_input("-"), InputKind::Stdin);
        assert_eq!(
            classify_input("gunzip -c x.gz |"),
            InputKind::Pipe("gunzip -c x.gz".into())
        );
        assert_eq!(
            classify_input("a/feats.ark:15"),
            InputKind::Offset("a/feats.ark".into(), 15)
        );
        assert_eq!(
            classify_input("a/feats.ark"),
            InputKind::File("a/feats.ark".into())
        );
        assert_eq!(
            classify_output("| gzip -c > x"),
            OutputKind::Pipe("gzip -c > x".into())
        );
        assert_eq!(classify_output("-"), OutputKind::Stdout);
    }

    #[test]
    fn dropped_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.ark");
        {
            let mut o = Output::create(target.to_str().unwrap()).unwrap();
            o.write_all(b"partial").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut o = Output::create(target.to_str().unwrap()).unwrap();
        o.write_all(b"whole").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
    }

    #[test]
    fn dev_null_is_written_in_place() {
        let mut o = Output::create("/dev/null").unwrap();
        o.write_all(b"discarded").unwrap();
        o.commit().unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn failing_pipe_is_an_error() {
        let i = Input::open("exit 3 |").unwrap();
        let e = i.read_all().unwrap_err();
        assert!(matches!(e, Error::Command { .. }), "{e}");
        let i = Input::open("printf hello |").unwrap();
        assert_eq!(i.read_all().unwrap(), b"hello");
    }
}
