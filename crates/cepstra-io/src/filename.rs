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
///
/// Where the bytes go:
/// - `-`: standard output; `| cmd`: a command's standard input.
/// - An existing destination that is not a regular file (`/dev/null`, a terminal, a FIFO, a
///   socket, anything reached through `/dev/stdout` or `/proc/self/fd/N`) is opened and written
///   in place: it is never renamed over.
/// - A symbolic link is followed to its final target; the temporary file goes beside that target
///   and is renamed onto it, so the link stays a link.
/// - Anything else is written to a hidden temporary file `.NAME.tmp.PID.N` beside the target and
///   renamed into place by [`Output::commit`]. Temporary files of processes that have died
///   (`kill -9`) are removed by the next run that writes the same target;
///   [`remove_temp_files`] removes this process's own (for a SIGTERM/SIGINT handler).
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir()?;
/// let target = dir.path().join("out.txt");
/// let mut out = cepstra_io::filename::Output::create(target.to_str().unwrap())?;
/// out.write_all(b"hello\n")?;
/// assert!(!target.exists()); // nothing visible before the commit
/// out.commit()?;
/// assert_eq!(std::fs::read(&target)?, b"hello\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Output {
    name: String,
    inner: OutputInner,
    written: u64,
    prepared: bool,
}

/// The temporary files this process has open, for [`remove_temp_files`].
static LIVE_TEMPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live_temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget_temp(tmp: &Path) {
    let mut live = live_temps();
    if let Some(i) = live.iter().position(|p| p == tmp) {
        live.swap_remove(i);
    }
}

/// Removes every temporary file of an [`Output`] of this process that is not committed yet.
///
/// Meant for a SIGTERM/SIGINT handler (run on an ordinary thread, as `signal-hook`'s iterator
/// does) just before the process exits: the destinations keep their old contents.
pub fn remove_temp_files() {
    remove_temps_where(|_| true);
}

/// Removes the registered temporary files for which `which` holds.
fn remove_temps_where(which: impl Fn(&Path) -> bool) {
    let mut live = live_temps();
    live.retain(|tmp| {
        if which(tmp) {
            let _ = std::fs::remove_file(tmp);
            false
        } else {
            true
        }
    });
}

/// Where a file output's bytes go once symbolic links are resolved.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// Open the name as given and write in place (devices, FIFOs, `/proc/self/fd/N`).
    InPlace { truncate: bool },
    /// A regular file (or nothing yet) at this path: temporary file and rename.
    Replace(PathBuf),
}

/// Follows symbolic links at the end of `path` and decides how to write it.
fn destination(path: &Path) -> io::Result<Destination> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        // /dev/stdout, /dev/fd/N and /proc/PID/fd/N are the kernel's links to open files, which
        // may be pipes or sockets: only opening them by name reaches the right object.
        if p.starts_with("/proc") || p.starts_with("/dev/fd") {
            let truncate = std::fs::metadata(path).is_ok_and(|m| m.is_file());
            return Ok(Destination::InPlace { truncate });
        }
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                ))
            }
            Ok(m) if !m.is_file() => return Ok(Destination::InPlace { truncate: false }),
            _ => return Ok(Destination::Replace(p)),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A temporary path beside `target`, unique to this process: `.NAME.tmp.PID.N`.
pub fn temp_path_for(target: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    target.with_file_name(format!("{}{}.{n}", temp_prefix(target), std::process::id()))
}

/// `.NAME.tmp.`: the start of every temporary file name for `target`.
fn temp_prefix(target: &Path) -> String {
    let file = target
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    format!(".{file}.tmp.")
}

/// Removes temporary files for `target` left by processes that no longer exist (killed with
/// SIGKILL, or a machine crash). Only names of the form `.NAME.tmp.PID.N` whose PID is not a
/// running process are touched; on systems without `/proc` nothing is removed.
fn remove_stale_temps(target: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = temp_prefix(target);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('.') else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(pid) || !digits(n) || pid == std::process::id().to_string() {
            continue;
        }
        if !Path::new("/proc").join(pid).exists() {
            log::warn!(
                "removing {}, left by process {pid} which no longer runs",
                entry.path().display()
            );
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Checks, before any work is done, that `name` can be created as an output: its directory
/// exists and it is not a directory. `-`, pipes and in-place destinations always pass.
///
/// ```
/// assert!(cepstra_io::filename::check_output("-").is_ok());
/// assert!(cepstra_io::filename::check_output("/no/such/dir/x.txt").is_err());
/// ```
pub fn check_output(name: &str) -> Result<()> {
    let OutputKind::File(target) = classify_output(name) else {
        return Ok(());
    };
    match destination(&target).map_err(|e| Error::io(target.display().to_string(), e))? {
        Destination::InPlace { .. } => Ok(()),
        Destination::Replace(real) => check_parent(&target, &real),
    }
}

fn check_parent(target: &Path, real: &Path) -> Result<()> {
    match real.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(Error::io(
            target.display().to_string(),
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("directory {} does not exist", dir.display()),
            ),
        )),
        _ => Ok(()),
    }
}

impl Output {
    /// Opens a wxfilename for writing (see [`Output`] for where the bytes go).
    pub fn create(name: &str) -> Result<Output> {
        let inner = match classify_output(name) {
            OutputKind::Stdout => {
                OutputInner::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
            }
            OutputKind::File(target) => {
                let shown = || target.display().to_string();
                match destination(&target).map_err(|e| Error::io(shown(), e))? {
                    Destination::InPlace { truncate } => {
                        let f = std::fs::OpenOptions::new()
                            .write(true)
                            .truncate(truncate)
                            .open(&target)
                            .map_err(|e| Error::io(shown(), e))?;
                        OutputInner::Special(BufWriter::with_capacity(1 << 16, f))
                    }
                    Destination::Replace(real) => {
                        check_parent(&target, &real)?;
                        remove_stale_temps(&real);
                        let tmp = temp_path_for(&real);
                        let f = File::create(&tmp).map_err(|e| Error::io(shown(), e))?;
                        live_temps().push(tmp.clone());
                        // A replaced file keeps its permissions (a private file stays private).
                        if let Ok(m) = std::fs::metadata(&real) {
                            let _ = f.set_permissions(m.permissions());
                        }
                        OutputInner::File {
                            writer: BufWriter::with_capacity(1 << 16, f),
                            tmp,
                            target: real,
                        }
                    }
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
            prepared: false,
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

    /// The first half of a commit: flushes every byte to its destination (for a file, to the
    /// temporary file, synced to disk) without making it visible. This is the step that fails
    /// on a full disk; after it, [`Output::commit`] only renames.
    ///
    /// A run with several outputs prepares all of them before committing any, so that either
    /// all outputs appear or none (a failure drops the outputs, which removes their temporary
    /// files).
    pub fn prepare(&mut self) -> Result<()> {
        if self.prepared {
            return Ok(());
        }
        let name = &self.name;
        match &mut self.inner {
            OutputInner::Stdout(w) => match w.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| Error::io("-", e)),
            },
            OutputInner::Special(w) => w.flush().map_err(|e| Error::io(name.clone(), e)),
            OutputInner::File { writer, target, .. } => {
                let shown = || target.display().to_string();
                writer.flush().map_err(|e| Error::io(shown(), e))?;
                writer
                    .get_ref()
                    .sync_data()
                    .map_err(|e| Error::io(shown(), e))
            }
            OutputInner::Pipe { .. } | OutputInner::Done => Ok(()),
        }?;
        self.prepared = true;
        Ok(())
    }

    /// Flushes and finishes: renames a file into place, waits for a pipe's command.
    pub fn commit(mut self) -> Result<()> {
        self.prepare()?;
        let inner = std::mem::replace(&mut self.inner, OutputInner::Done);
        let name = self.name.clone();
        match inner {
            OutputInner::Stdout(_) | OutputInner::Special(_) | OutputInner::Done => Ok(()),
            OutputInner::File {
                writer,
                tmp,
                target,
            } => {
                drop(writer);
                let renamed = std::fs::rename(&tmp, &target);
                if renamed.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                forget_temp(&tmp);
                renamed.map_err(|e| Error::io(target.display().to_string(), e))
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
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let OutputInner::File { tmp, .. } = &self.inner {
            let _ = std::fs::remove_file(tmp);
            forget_temp(tmp);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.prepared = false;
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

    /// A character device to write to: as root, a fresh `mknod` copy of /dev/null in `dir` (the
    /// real one is never touched); otherwise /dev/null itself, which a user without root cannot
    /// replace whatever the code does.
    fn char_device(dir: &Path) -> PathBuf {
        let dev = dir.join("null");
        let made = std::process::Command::new("mknod")
            .arg(&dev)
            .args(["c", "1", "3"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if made {
            dev
        } else {
            eprintln!(
                "mknod not permitted (not root): testing on /dev/null, which cannot be replaced"
            );
            PathBuf::from("/dev/null")
        }
    }

    #[test]
    fn char_device_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let dev = char_device(dir.path());
        let mut o = Output::create(dev.to_str().unwrap()).unwrap();
        o.write_all(b"discarded").unwrap();
        o.commit().unwrap();
        assert!(std::fs::metadata(&dev)
            .unwrap()
            .file_type()
            .is_char_device());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            usize::from(dev.starts_with(dir.path()))
        );
    }

    fn write_through(name: &str, bytes: &[u8]) {
        let mut o = Output::create(name).unwrap();
        o.write_all(bytes).unwrap();
        o.commit().unwrap();
    }

    #[test]
    fn fifo_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_through(fifo.to_str().unwrap(), b"through the pipe");
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/x.txt");
        std::fs::write(&target, "old").unwrap();
        // a chain of two links, the first relative
        let mid = dir.path().join("mid.txt");
        std::os::unix::fs::symlink(&target, &mid).unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("mid.txt", &link).unwrap();
        write_through(link.to_str().unwrap(), b"new");
        for l in [&link, &mid] {
            assert!(std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // a dangling link creates its target
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink("real/created.txt", &dangling).unwrap();
        write_through(dangling.to_str().unwrap(), b"made");
        assert!(std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read(dir.path().join("real/created.txt")).unwrap(),
            b"made"
        );
        // no temporary file anywhere
        for d in [dir.path().to_path_buf(), dir.path().join("real")] {
            for e in std::fs::read_dir(d).unwrap() {
                let name = e.unwrap().file_name();
                assert!(!name.to_string_lossy().contains(".tmp."), "{name:?}");
            }
        }
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let e = Output::create(a.to_str().unwrap()).err().unwrap();
        assert!(e.to_string().contains("symbolic links"), "{e}");
    }

    #[test]
    fn directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Output::create(dir.path().to_str().unwrap()).err().unwrap();
        assert!(e.to_string().contains("directory"), "{e}");
        assert!(check_output(dir.path().to_str().unwrap()).is_err());
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("feats.ark");
        // A process that has exited: its pid is free (reuse within the test is improbable).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".feats.ark.tmp.{dead}.0"));
        let live = dir
            .path()
            .join(format!(".feats.ark.tmp.{}.99", std::process::id()));
        let other = dir.path().join(format!(".other.ark.tmp.{dead}.0"));
        for p in [&stale, &live, &other] {
            std::fs::write(p, "x").unwrap();
        }
        write_through(target.to_str().unwrap(), b"new");
        assert!(!stale.exists(), "a dead process's temp file is removed");
        assert!(live.exists(), "a running process's temp file is kept");
        assert!(other.exists(), "another target's temp file is kept");
    }

    #[test]
    fn remove_temp_files_clears_uncommitted_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.json");
        std::fs::write(&target, "old").unwrap();
        let mut o = Output::create(target.to_str().unwrap()).unwrap();
        o.write_all(b"half").unwrap();
        o.prepare().unwrap();
        // Only this test's: the other tests of this process have live temporary files too.
        remove_temps_where(|p| p.starts_with(dir.path()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::mem::forget(o); // as if the process exited now
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }

    #[test]
    fn replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("private.txt");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_through(target.to_str().unwrap(), b"new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
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
