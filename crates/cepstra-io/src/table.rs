//! Kaldi tables: archives (`ark:`) and script files (`scp:`) addressed by r/wspecifiers.
//!
//! Read specifiers: `ark:F`, `scp:F`, with options `o`, `s`, `cs`, `p` (and their `n…`
//! negations, `b`/`t` accepted and ignored) as in `ark,s,cs:-`; `F` is any extended filename
//! (`-`, `cmd |`, a file). Write specifiers: `ark:F`, `scp:F`, `ark,scp:F.ark,F.scp`, with `t`
//! (text), `b` (binary, the default), `f`/`nf` (flush) and `p` (permissive).
//!
//! - `p` (permissive) turns a bad entry into a warning and skips it, as in Kaldi.
//! - `s` (sorted) makes a sequential reader check that keys come in C-locale order.
//! - `scp` entries are extended filenames with optional `:offset`; a relative path that does not
//!   exist is also tried against the directory of the `scp` file and its ancestors (the coursework
//!   layout: `train/wav.scp` lists paths relative to `train/`, `feats.scp` paths relative to the
//!   parent).
//! - Offsets written into an `scp` point at the object (its `\0B` header), as Kaldi's do.
//!
//! ```no_run
//! use cepstra_io::table::{SequentialReader, Writer};
//! use ndarray::Array2;
//! let mut w = Writer::<Array2<f32>>::open("ark,scp:/tmp/f.ark,/tmp/f.scp")?;
//! for entry in SequentialReader::<Array2<f32>>::open("scp:data/train/feats.scp")? {
//!     let (key, feats) = entry?;
//!     w.write(&key, &feats)?;
//! }
//! w.commit()?;
//! # Ok::<(), cepstra_io::Error>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};

use crate::basic;
use crate::compressed::CompressedMatrix;
use crate::error::{Error, Result};
use crate::filename::{classify_input, Input, InputKind, Output};

/// An object stored in Kaldi tables.
pub trait KaldiObject: Sized + Send + 'static {
    /// Reads the object; `binary` tells whether a `\0B` header preceded it.
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self>;
    /// Writes the object (without the `\0B` header).
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()>;
}

impl KaldiObject for Array2<f32> {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_matrix_f32(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_matrix_f32(w, binary, self.view())
    }
}

impl KaldiObject for Array2<f64> {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_matrix_f64(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_matrix_f64(w, binary, self.view())
    }
}

impl KaldiObject for Array1<f32> {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_vector_f32(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_vector_f32(w, binary, self.view())
    }
}

impl KaldiObject for Array1<f64> {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_vector_f64(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_vector_f64(w, binary, self.view())
    }
}

impl KaldiObject for f32 {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_f32(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_f32(w, binary, *self)?;
        if !binary {
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl KaldiObject for f64 {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        basic::read_f64(r, binary)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        basic::write_f64(w, binary, *self)?;
        if !binary {
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl KaldiObject for CompressedMatrix {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> Result<Self> {
        if !binary {
            return Err(Error::format(
                "compressed matrices exist only in binary form",
            ));
        }
        let tok = basic::read_token(r, true)?;
        CompressedMatrix::read_after_token(&tok, r)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> Result<()> {
        if binary {
            self.write(w)
        } else {
            basic::write_matrix_f32(w, false, self.to_matrix().view())
        }
    }
}

/// A parsed read specifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RSpecifier {
    /// `true` for `scp:`, `false` for `ark:`.
    pub is_scp: bool,
    /// The extended filename.
    pub filename: String,
    /// `o`: each key is read once.
    pub once: bool,
    /// `s`: keys are sorted.
    pub sorted: bool,
    /// `cs`: keys will be requested in sorted order.
    pub called_sorted: bool,
    /// `p`: skip bad entries with a warning.
    pub permissive: bool,
}

impl RSpecifier {
    /// Parses `ark[,opts]:F` or `scp[,opts]:F`.
    pub fn parse(spec: &str) -> Result<RSpecifier> {
        let bad = |reason: &str| Error::Spec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (head, filename) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected ark:FILE or scp:FILE"))?;
        let mut r = RSpecifier {
            is_scp: false,
            filename: filename.to_string(),
            once: false,
            sorted: false,
            called_sorted: false,
            permissive: false,
        };
        let mut kind = None;
        for opt in head.split(',').map(str::trim) {
            match opt {
                "ark" | "scp" if kind.is_some() => return Err(bad("ark and scp both given")),
                "ark" => kind = Some(false),
                "scp" => kind = Some(true),
                "o" => r.once = true,
                "no" => r.once = false,
                "s" => r.sorted = true,
                "ns" => r.sorted = false,
                "cs" => r.called_sorted = true,
                "ncs" => r.called_sorted = false,
                "p" => r.permissive = true,
                "np" => r.permissive = false,
                "b" | "t" | "bg" => {}
                other => return Err(bad(&format!("unknown option '{other}'"))),
            }
        }
        r.is_scp = kind.ok_or_else(|| bad("expected ark or scp before ':'"))?;
        Ok(r)
    }
}

/// A parsed write specifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WSpecifier {
    /// The archive to write, if any.
    pub ark: Option<String>,
    /// The script file to write, if any.
    pub scp: Option<String>,
    /// Binary (default) or text.
    pub binary: bool,
    /// Flush after every entry.
    pub flush: bool,
    /// Permissive.
    pub permissive: bool,
}

impl WSpecifier {
    /// Parses `ark:F`, `scp:F`, `ark,scp:F.ark,F.scp` with options.
    pub fn parse(spec: &str) -> Result<WSpecifier> {
        let bad = |reason: &str| Error::Spec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (head, rest) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected ark:FILE, scp:FILE or ark,scp:FILE.ark,FILE.scp"))?;
        let (mut ark, mut scp, mut binary, mut flush, mut permissive) =
            (false, false, true, false, false);
        let mut order = Vec::new();
        for opt in head.split(',').map(str::trim) {
            match opt {
                "ark" => {
                    ark = true;
                    order.push("ark");
                }
                "scp" => {
                    scp = true;
                    order.push("scp");
                }
                "t" => binary = false,
                "b" => binary = true,
                "f" => flush = true,
                "nf" => flush = false,
                "p" => permissive = true,
                other => return Err(bad(&format!("unknown option '{other}'"))),
            }
        }
        let (ark_file, scp_file) = match (ark, scp) {
            (true, true) => {
                if order.first() != Some(&"ark") {
                    return Err(bad("write ark,scp (ark first)"));
                }
                let (a, s) = rest
                    .split_once(',')
                    .ok_or_else(|| bad("ark,scp needs two filenames: F.ark,F.scp"))?;
                (Some(a.to_string()), Some(s.to_string()))
            }
            (true, false) => (Some(rest.to_string()), None),
            (false, true) => (None, Some(rest.to_string())),
            (false, false) => return Err(bad("expected ark or scp before ':'")),
        };
        if ark_file.as_deref() == Some("") || scp_file.as_deref() == Some("") {
            return Err(bad("empty filename"));
        }
        Ok(WSpecifier {
            ark: ark_file,
            scp: scp_file,
            binary,
            flush,
            permissive,
        })
    }
}

/// One line of an `scp` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScpEntry {
    /// The key.
    pub key: String,
    /// The extended filename (possibly `path:offset` or `cmd |`).
    pub rxfilename: String,
    /// 1-based line number in the `scp` file.
    pub line: usize,
}

/// Parses an `scp` file's text. Lines are `key rxfilename`; blank lines are an error.
pub fn parse_scp(text: &str, origin: &Path) -> Result<Vec<ScpEntry>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let (key, rest) = match line.split_once(char::is_whitespace) {
            Some((k, r)) => (k, r.trim()),
            None => (line, ""),
        };
        if key.is_empty() || rest.is_empty() {
            return Err(Error::Line {
                path: origin.to_path_buf(),
                line: i + 1,
                reason: format!("expected '<key> <filename>', got '{raw}'"),
            });
        }
        out.push(ScpEntry {
            key: key.to_string(),
            rxfilename: rest.to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Resolves a relative path from an `scp` entry: as given (relative to the working directory,
/// as Kaldi does) if it exists, else relative to the `scp` file's directory, else to the nearest
/// ancestor of that directory where it exists.
pub fn resolve_scp_path(path: &Path, scp_dir: Option<&Path>) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    if let Some(dir) = scp_dir {
        for base in dir.ancestors().filter(|b| !b.as_os_str().is_empty()) {
            let cand = base.join(path);
            if cand.exists() {
                return cand;
            }
        }
    }
    path.to_path_buf()
}

fn resolve_kind(kind: InputKind, scp_dir: Option<&Path>) -> InputKind {
    match kind {
        InputKind::File(p) => InputKind::File(resolve_scp_path(&p, scp_dir)),
        InputKind::Offset(p, o) => InputKind::Offset(resolve_scp_path(&p, scp_dir), o),
        k => k,
    }
}

/// Reads an `scp` file (any rxfilename) into entries; returns them and the directory used to
/// resolve relative paths.
pub fn read_scp(rxfilename: &str) -> Result<(Vec<ScpEntry>, Option<PathBuf>)> {
    let bytes = Input::open(rxfilename)?.read_all()?;
    let text = crate::error::utf8_text(bytes, rxfilename)?;
    let dir = match classify_input(rxfilename) {
        InputKind::File(p) => p.parent().map(Path::to_path_buf),
        _ => None,
    };
    Ok((parse_scp(&text, Path::new(rxfilename))?, dir))
}

/// Keeps the last opened file of an `scp` so consecutive entries in one archive reuse it.
#[derive(Default)]
struct FileCache {
    path: Option<PathBuf>,
    reader: Option<BufReader<File>>,
}

impl FileCache {
    fn read_at<T: KaldiObject>(&mut self, path: &Path, offset: Option<u64>) -> Result<T> {
        if self.path.as_deref() != Some(path) {
            let f = File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
            self.reader = Some(BufReader::with_capacity(1 << 16, f));
            self.path = Some(path.to_path_buf());
        }
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| Error::format("internal: no reader"))?;
        let off = offset.unwrap_or(0);
        let len = reader
            .get_ref()
            .metadata()
            .map_err(|e| Error::io(path.display().to_string(), e))?
            .len();
        if offset.is_some() && off >= len {
            return Err(Error::format(format!(
                "offset {off} is past the end of {} ({len} bytes)",
                path.display()
            )));
        }
        reader
            .seek(SeekFrom::Start(off))
            .map_err(|e| Error::io(path.display().to_string(), e))?;
        let binary = basic::read_binary_flag(reader)?;
        T::read_object(reader, binary)
    }
}

fn read_scp_object<T: KaldiObject>(
    cache: &mut FileCache,
    rx: &str,
    dir: Option<&Path>,
) -> Result<T> {
    match resolve_kind(classify_input(rx), dir) {
        InputKind::File(p) => cache.read_at(&p, None),
        InputKind::Offset(p, o) => cache.read_at(&p, Some(o)),
        kind => {
            let mut input = Input::open_kind(rx, kind)?;
            let obj = basic::read_binary_flag(&mut input)
                .and_then(|binary| T::read_object(&mut input, binary));
            match (obj, input.close()) {
                (Ok(obj), closed) => closed.map(|()| obj),
                // A command that failed is the cause of whatever its output lacked (`false |`,
                // `cat missing.wav |`), unless it only died of the pipe we closed on the error.
                (Err(e), Err(c @ Error::Command { .. })) if !killed_by_sigpipe(&c) => {
                    drop(e);
                    Err(c)
                }
                (Err(e), _) => Err(e),
            }
        }
    }
}

fn killed_by_sigpipe(e: &Error) -> bool {
    matches!(e, Error::Command { status, .. } if status.contains("SIGPIPE"))
}

/// Reads the object one `scp` entry points at (an extended filename, relative paths resolved
/// against `scp_dir` as [`resolve_scp_path`] does). Lets callers read entries in parallel.
///
/// An error names the `scp` file (`scp_name`), the line, the utterance and the entry, once:
/// `wav.scp:2: utterance u2 (b.wav): truncated: …`, or for a failed command
/// `wav.scp:3: utterance u3: command 'cat missing.wav' failed: exit status: 1`.
pub fn read_scp_entry<T: KaldiObject>(
    entry: &ScpEntry,
    scp_dir: Option<&Path>,
    scp_name: &str,
) -> Result<T> {
    read_scp_object::<T>(&mut FileCache::default(), &entry.rxfilename, scp_dir).map_err(|e| {
        let reason = match e {
            e @ Error::Command { .. } => format!("utterance {}: {e}", entry.key),
            Error::Wav {
                source_name,
                reason,
            } if source_name.is_empty() || source_name == entry.rxfilename => {
                format!("utterance {} ({}): {reason}", entry.key, entry.rxfilename)
            }
            Error::Io { path, source }
                if path == entry.rxfilename || path.ends_with(entry.rxfilename.as_str()) =>
            {
                format!(
                    "utterance {} ({path}): {}",
                    entry.key,
                    crate::error::io_reason(&source)
                )
            }
            Error::Format(m) => format!("utterance {} ({}): {m}", entry.key, entry.rxfilename),
            other => format!("utterance {} ({}): {other}", entry.key, entry.rxfilename),
        };
        Error::Line {
            path: PathBuf::from(scp_name),
            line: entry.line,
            reason,
        }
    })
}

enum Source {
    Ark {
        input: Option<Input>,
    },
    Scp {
        entries: std::vec::IntoIter<ScpEntry>,
        dir: Option<PathBuf>,
        cache: FileCache,
    },
}

/// Reads a table entry by entry, in order (Kaldi's `SequentialTableReader`).
///
/// Yields `Result<(key, object)>`; an error names the specifier, the key and what went wrong.
/// After an error in an archive (without `p`) iteration ends.
pub struct SequentialReader<T> {
    spec: RSpecifier,
    spec_text: String,
    source: Source,
    last_key: Option<String>,
    finished: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T: KaldiObject> SequentialReader<T> {
    /// Opens an rspecifier.
    pub fn open(rspecifier: &str) -> Result<Self> {
        let spec = RSpecifier::parse(rspecifier)?;
        let source = if spec.is_scp {
            let (entries, dir) = read_scp(&spec.filename)?;
            Source::Scp {
                entries: entries.into_iter(),
                dir,
                cache: FileCache::default(),
            }
        } else {
            Source::Ark {
                input: Some(Input::open(&spec.filename)?),
            }
        };
        Ok(SequentialReader {
            spec,
            spec_text: rspecifier.to_string(),
            source,
            last_key: None,
            finished: false,
            _marker: PhantomData,
        })
    }

    /// The specifier this reader was opened with.
    pub fn spec(&self) -> &str {
        &self.spec_text
    }

    fn table_error(&self, key: Option<&str>, e: Error) -> Error {
        let reason = match e {
            Error::Format(m) => m,
            other => other.to_string(),
        };
        Error::Table {
            spec: self.spec_text.clone(),
            key: key.map(str::to_string),
            reason,
        }
    }

    fn check_sorted(&mut self, key: &str) -> Result<()> {
        if self.spec.sorted {
            if let Some(prev) = &self.last_key {
                if prev.as_bytes() >= key.as_bytes() {
                    return Err(Error::Table {
                        spec: self.spec_text.clone(),
                        key: Some(key.to_string()),
                        reason: format!(
                            "keys are not in sorted (C-locale) order: '{key}' after '{prev}' \
                             (sort with LC_ALL=C, or drop the 's' option)"
                        ),
                    });
                }
            }
            self.last_key = Some(key.to_string());
        }
        Ok(())
    }

    fn next_ark(&mut self) -> Option<Result<(String, T)>> {
        let Source::Ark { input } = &mut self.source else {
            return None;
        };
        let inp = input.as_mut()?;
        // Skip whitespace between entries; end of data ends the archive.
        let key = loop {
            match inp.fill_buf() {
                Ok([]) => {
                    let i = input.take()?;
                    return match i.close() {
                        Ok(()) => None,
                        Err(e) => Some(Err(self.table_error(None, e))),
                    };
                }
                Ok(buf) => {
                    let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
                    if n == 0 {
                        break basic::read_token(inp, true);
                    }
                    inp.consume(n);
                }
                Err(e) => {
                    return Some(Err(
                        self.table_error(None, Error::io(self.spec.filename.clone(), e))
                    ))
                }
            }
        };
        let key = match key {
            Ok(k) => k,
            Err(e) => return Some(Err(self.table_error(None, e))),
        };
        let obj = basic::read_binary_flag(inp).and_then(|binary| T::read_object(inp, binary));
        match obj {
            Ok(o) => Some(Ok((key, o))),
            Err(e) => Some(Err(self.table_error(Some(&key), e))),
        }
    }

    fn next_scp(&mut self) -> Option<Result<(String, T)>> {
        let Source::Scp {
            entries,
            dir,
            cache,
        } = &mut self.source
        else {
            return None;
        };
        let entry = entries.next()?;
        match read_scp_object::<T>(cache, &entry.rxfilename, dir.as_deref()) {
            Ok(o) => Some(Ok((entry.key, o))),
            Err(e) => Some(Err(Error::Table {
                spec: self.spec_text.clone(),
                key: Some(entry.key),
                reason: format!(
                    "{} (scp line {}: {})",
                    match e {
                        Error::Format(m) => m,
                        other => other.to_string(),
                    },
                    entry.line,
                    entry.rxfilename
                ),
            })),
        }
    }
}

impl<T: KaldiObject> Iterator for SequentialReader<T> {
    type Item = Result<(String, T)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished {
                return None;
            }
            let item = if self.spec.is_scp {
                self.next_scp()
            } else {
                self.next_ark()
            };
            match item {
                None => {
                    self.finished = true;
                    return None;
                }
                Some(Ok((key, obj))) => {
                    if let Err(e) = self.check_sorted(&key) {
                        self.finished = true;
                        return Some(Err(e));
                    }
                    return Some(Ok((key, obj)));
                }
                Some(Err(e)) => {
                    let in_archive = !self.spec.is_scp;
                    if self.spec.permissive {
                        log::warn!("{e} (skipped: permissive)");
                        if in_archive {
                            // An archive cannot be resynchronised after a bad entry.
                            self.finished = true;
                            return None;
                        }
                        continue;
                    }
                    if in_archive {
                        self.finished = true;
                    }
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Random access to a table by key (Kaldi's `RandomAccessTableReader`).
///
/// An `scp` is indexed and objects are read on demand; an archive is read whole on open.
pub struct RandomAccessReader<T> {
    spec_text: String,
    permissive: bool,
    loaded: HashMap<String, T>,
    index: HashMap<String, String>,
    dir: Option<PathBuf>,
    cache: FileCache,
}

impl<T: KaldiObject> RandomAccessReader<T> {
    /// Opens an rspecifier for random access.
    pub fn open(rspecifier: &str) -> Result<Self> {
        let spec = RSpecifier::parse(rspecifier)?;
        let mut r = RandomAccessReader {
            spec_text: rspecifier.to_string(),
            permissive: spec.permissive,
            loaded: HashMap::new(),
            index: HashMap::new(),
            dir: None,
            cache: FileCache::default(),
        };
        if spec.is_scp {
            let (entries, dir) = read_scp(&spec.filename)?;
            r.dir = dir;
            for e in entries {
                if r.index.insert(e.key.clone(), e.rxfilename).is_some() {
                    return Err(Error::Table {
                        spec: rspecifier.to_string(),
                        key: Some(e.key),
                        reason: format!("duplicate key (scp line {})", e.line),
                    });
                }
            }
        } else {
            for item in SequentialReader::<T>::open(rspecifier)? {
                let (k, v) = item?;
                if r.loaded.insert(k.clone(), v).is_some() {
                    return Err(Error::Table {
                        spec: rspecifier.to_string(),
                        key: Some(k),
                        reason: "duplicate key in archive".into(),
                    });
                }
            }
        }
        Ok(r)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.loaded.contains_key(key) || self.index.contains_key(key)
    }

    /// Returns the object for `key`, or `None` if absent (or unreadable with `p`).
    pub fn get(&mut self, key: &str) -> Result<Option<T>>
    where
        T: Clone,
    {
        if let Some(v) = self.loaded.get(key) {
            return Ok(Some(v.clone()));
        }
        let Some(rx) = self.index.get(key).cloned() else {
            return Ok(None);
        };
        match read_scp_object::<T>(&mut self.cache, &rx, self.dir.as_deref()) {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.permissive => {
                log::warn!("{}: {key}: {e} (skipped: permissive)", self.spec_text);
                Ok(None)
            }
            Err(e) => Err(Error::Table {
                spec: self.spec_text.clone(),
                key: Some(key.into()),
                reason: e.to_string(),
            }),
        }
    }
}

/// Writes a table (Kaldi's `TableWriter`). Nothing is visible at the destination until
/// [`Writer::commit`]: archive and `scp` go to temporary files renamed into place.
pub struct Writer<T> {
    spec: WSpecifier,
    spec_text: String,
    ark: Option<Output>,
    scp: Option<Output>,
    count: usize,
    keys: std::collections::HashSet<String>,
    _marker: PhantomData<fn(&T)>,
}

impl<T: KaldiObject> Writer<T> {
    /// Opens a wspecifier.
    pub fn open(wspecifier: &str) -> Result<Self> {
        let spec = WSpecifier::parse(wspecifier)?;
        if spec.ark.is_none() {
            return Err(Error::Spec {
                spec: wspecifier.to_string(),
                reason: "writing a bare scp: is not supported; use ark,scp:F.ark,F.scp".into(),
            });
        }
        let ark = spec.ark.as_deref().map(Output::create).transpose()?;
        if spec.scp.is_some() && !ark.as_ref().is_some_and(Output::is_file) {
            return Err(Error::Spec {
                spec: wspecifier.to_string(),
                reason: "ark,scp needs a regular file for the archive (offsets)".into(),
            });
        }
        let scp = spec.scp.as_deref().map(Output::create).transpose()?;
        Ok(Writer {
            spec,
            spec_text: wspecifier.to_string(),
            ark,
            scp,
            count: 0,
            keys: std::collections::HashSet::new(),
            _marker: PhantomData,
        })
    }

    /// Number of entries written.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends one entry.
    pub fn write(&mut self, key: &str, obj: &T) -> Result<()> {
        if key.is_empty() || key.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(Error::Table {
                spec: self.spec_text.clone(),
                key: Some(key.to_string()),
                reason: "keys must be non-empty and contain no whitespace".into(),
            });
        }
        if !self.keys.insert(key.to_string()) {
            return Err(Error::Table {
                spec: self.spec_text.clone(),
                key: Some(key.to_string()),
                reason:
                    "duplicate key: it was already written (duplicate utterance id in the input?)"
                        .into(),
            });
        }
        let spec_text = &self.spec_text;
        let wrap = |e: Error| match e {
            // A closed output pipe is not a table error: callers treat it as the end of output.
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
                Error::io(spec_text.clone(), source)
            }
            e => Error::Table {
                spec: spec_text.clone(),
                key: Some(key.to_string()),
                reason: e.to_string(),
            },
        };
        let ark = self
            .ark
            .as_mut()
            .ok_or_else(|| Error::format("internal: no archive"))?;
        ark.write_all(key.as_bytes())
            .and_then(|_| ark.write_all(b" "))
            .map_err(|e| wrap(e.into()))?;
        let offset = ark.position();
        basic::write_binary_flag(ark, self.spec.binary).map_err(wrap)?;
        obj.write_object(ark, self.spec.binary).map_err(wrap)?;
        if self.spec.flush {
            ark.flush().map_err(|e| wrap(e.into()))?;
        }
        if let (Some(scp), Some(ark_name)) = (self.scp.as_mut(), self.spec.ark.as_deref()) {
            writeln!(scp, "{key} {ark_name}:{offset}").map_err(|e| wrap(e.into()))?;
        }
        self.count += 1;
        Ok(())
    }

    /// The first half of [`Writer::commit`]: flushes the archive and `scp` to their temporary
    /// files ([`Output::prepare`]) without making them visible. A run writing several tables
    /// prepares all of them, then commits all, so a full disk leaves none of them half done.
    pub fn prepare(&mut self) -> Result<()> {
        for out in [self.ark.as_mut(), self.scp.as_mut()].into_iter().flatten() {
            out.prepare()?;
        }
        Ok(())
    }

    /// Finishes: renames files into place / waits for pipes. Dropping a writer without
    /// `commit` leaves nothing behind.
    pub fn commit(mut self) -> Result<()> {
        self.prepare()?;
        if let Some(a) = self.ark.take() {
            a.commit()?;
        }
        if let Some(s) = self.scp.take() {
            s.commit()?;
        }
        Ok(())
    }
}

/// Reads a text table of `key value…` lines (e.g. `utt2spk`, `text`, `spk2utt`) from a plain
/// path or an `ark:`/`ark,t:` rspecifier. Returns `(key, rest of line)` in file order.
pub fn read_text_table(spec_or_path: &str) -> Result<Vec<(String, String)>> {
    let name = match spec_or_path.split_once(':') {
        Some((head, rest)) if head.split(',').any(|o| o == "ark" || o == "scp") => rest,
        _ => spec_or_path,
    };
    let bytes = Input::open(name)?.read_all()?;
    let text = crate::error::utf8_text(bytes, name)?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            return Err(Error::Line {
                path: name.into(),
                line: i + 1,
                reason: "empty line".into(),
            });
        }
        let (k, v) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn parses_specifiers() {
        let r = RSpecifier::parse("ark,s,cs:-").unwrap();
        assert!(!r.is_scp && r.sorted && r.called_sorted && r.filename == "-");
        let r = RSpecifier::parse("scp,p:data/feats.scp").unwrap();
        assert!(r.is_scp && r.permissive);
        assert!(RSpecifier::parse("feats.ark").is_err());
        assert!(RSpecifier::parse("ark,zz:x").is_err());
        let w = WSpecifier::parse("ark,scp,t:a.ark,a.scp").unwrap();
        assert_eq!(
            (w.ark.as_deref(), w.scp.as_deref(), w.binary),
            (Some("a.ark"), Some("a.scp"), false)
        );
        assert!(WSpecifier::parse("ark,scp:a.ark").is_err());
    }

    #[test]
    fn ark_scp_round_trip_with_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let ark = dir.path().join("f.ark");
        let scp = dir.path().join("f.scp");
        let spec = format!("ark,scp:{},{}", ark.display(), scp.display());
        let a = array![[1.0f32, 2.0], [3.0, 4.0]];
        let b = array![[5.0f32, 6.0, 7.0]];
        let mut w = Writer::<Array2<f32>>::open(&spec).unwrap();
        w.write("utt1", &a).unwrap();
        w.write("utt2", &b).unwrap();
        w.commit().unwrap();
        let scp_text = std::fs::read_to_string(&scp).unwrap();
        assert!(scp_text.starts_with(&format!("utt1 {}:5\n", ark.display())));
        let got: Vec<_> = SequentialReader::<Array2<f32>>::open(&format!("scp:{}", scp.display()))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            got,
            vec![
                ("utt1".to_string(), a.clone()),
                ("utt2".to_string(), b.clone())
            ]
        );
        let got: Vec<_> = SequentialReader::<Array2<f32>>::open(&format!("ark:{}", ark.display()))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got.len(), 2);
        let mut ra =
            RandomAccessReader::<Array2<f32>>::open(&format!("scp:{}", scp.display())).unwrap();
        assert_eq!(ra.get("utt2").unwrap(), Some(b));
        assert_eq!(ra.get("nope").unwrap(), None);
    }

    #[test]
    fn text_archive_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let ark = dir.path().join("t.ark");
        let a = array![[1.5f32, -2.0], [3.0, 4.0]];
        let mut w = Writer::<Array2<f32>>::open(&format!("ark,t:{}", ark.display())).unwrap();
        w.write("u", &a).unwrap();
        w.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(&ark).unwrap(),
            "u  [\n  1.5 -2 \n  3 4 ]\n"
        );
        let got: Vec<_> = SequentialReader::<Array2<f32>>::open(&format!("ark:{}", ark.display()))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got[0].1, a);
    }

    #[test]
    fn sorted_option_rejects_unsorted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ark = dir.path().join("u.ark");
        let m = array![[1.0f32]];
        let mut w = Writer::<Array2<f32>>::open(&format!("ark:{}", ark.display())).unwrap();
        w.write("b", &m).unwrap();
        w.write("a", &m).unwrap();
        w.commit().unwrap();
        let res: Result<Vec<_>> =
            SequentialReader::<Array2<f32>>::open(&format!("ark,s:{}", ark.display()))
                .unwrap()
                .collect();
        let e = res.unwrap_err().to_string();
        assert!(e.contains("sorted"), "{e}");
    }
}
