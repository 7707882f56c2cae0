//! Per-class statistics of one EM pass over some utterances (`acc-classes` output), exact so
//! that they sum to the same bits in any grouping; their binary file format.
//!
//! File format (little-endian), version 1:
//!
//! ```text
//! magic "CPSTCACC"            8 bytes
//! version                     u32 (1)
//! model set fingerprint       u64 (ModelSet::fingerprint: FNV-1a of its records and parameter bits)
//! iteration                   u32 (the model set's "iteration")
//! number of classes           u32
//! per class, in the model set's order:
//!   label length, label       u32, UTF-8 bytes
//!   covariance                u8 (0 diag, 1 full)
//!   skipped                   u8 (1: converged class, no statistics)
//!   K, D                      u32, u32
//!   utterances                u64
//!   frames, log-likelihood    i128, i128 (fixed point, value · 2^56)
//!   occupancy                 K × i128
//!   first order               K·D × i128 (row-major)
//!   second order              diag: K·D × i128; full: per component the lower triangle row by
//!                             row, D(D+1)/2 × i128 (raw Σγxxᵀ, not centred)
//! ```

use std::path::Path;

use crate::error::{Error, Result};
use crate::exact::ExactStats;
use crate::modelset::ModelSet;
use cepstra_gmm::CovarianceType;

/// Magic bytes of a class statistics file.
pub const ACC_MAGIC: &[u8; 8] = b"CPSTCACC";
/// Version of the class statistics format.
pub const ACC_VERSION: u32 = 1;

/// The statistics of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassAcc {
    /// The class label.
    pub label: String,
    /// True for a converged class (no statistics gathered; it is not updated).
    pub skipped: bool,
    /// Exact statistics.
    pub stats: ExactStats,
}

/// Statistics of every class of a model set over some utterances (Kaldi's per-job `.acc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassAccs {
    /// [`ModelSet::fingerprint`] of the model set used.
    pub fingerprint: u64,
    /// [`ModelSet::iteration`] of the model set used.
    pub iteration: usize,
    /// One entry per class of the model set, in its order.
    pub classes: Vec<ClassAcc>,
}

impl ClassAccs {
    /// Zero statistics for every class of `models`.
    pub fn for_model_set(models: &ModelSet) -> Result<ClassAccs> {
        Ok(Self::for_model_set_fp(models, models.fingerprint()?))
    }

    pub(crate) fn for_model_set_fp(models: &ModelSet, fingerprint: u64) -> ClassAccs {
        ClassAccs {
            fingerprint,
            iteration: models.iteration,
            classes: models
                .classes
                .iter()
                .map(|c| ClassAcc {
                    label: c.label.clone(),
                    skipped: c.converged,
                    stats: ExactStats::for_model(&c.model),
                })
                .collect(),
        }
    }

    /// Adds `other` (same model set) exactly: Kaldi's `gmm-global-sum-accs`.
    pub fn merge(&mut self, other: &ClassAccs, what: &str) -> Result<()> {
        self.check_compatible(other.fingerprint, other.iteration, what)?;
        if other.classes.len() != self.classes.len() {
            return Err(Error::AccMismatch {
                what: what.to_string(),
                reason: format!(
                    "{} classes, expected {}",
                    other.classes.len(),
                    self.classes.len()
                ),
            });
        }
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            if a.label != b.label || a.skipped != b.skipped {
                return Err(Error::AccMismatch {
                    what: what.to_string(),
                    reason: format!("class '{}' where '{}' was expected", b.label, a.label),
                });
            }
            a.stats
                .merge(&b.stats)
                .map_err(|reason| Error::Statistics {
                    class: a.label.clone(),
                    reason,
                })?;
        }
        Ok(())
    }

    fn check_compatible(&self, fingerprint: u64, iteration: usize, what: &str) -> Result<()> {
        if fingerprint != self.fingerprint || iteration != self.iteration {
            return Err(Error::AccMismatch {
                what: what.to_string(),
                reason: format!(
                    "made with another model set (fingerprint {fingerprint:016x}, iteration {iteration}; \
                     expected {:016x}, iteration {}): re-run acc-classes with this model set",
                    self.fingerprint, self.iteration
                ),
            });
        }
        Ok(())
    }

    /// Checks that these statistics were made with `models`.
    pub fn check_model_set(&self, models: &ModelSet, what: &str) -> Result<()> {
        self.check_compatible(models.fingerprint()?, models.iteration, what)
    }

    pub(crate) fn check_fingerprint(
        &self,
        fingerprint: u64,
        iteration: usize,
        what: &str,
    ) -> Result<()> {
        self.check_compatible(fingerprint, iteration, what)
    }

    /// The binary file contents (see the [module docs](self)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(ACC_MAGIC);
        b.extend_from_slice(&ACC_VERSION.to_le_bytes());
        b.extend_from_slice(&self.fingerprint.to_le_bytes());
        b.extend_from_slice(&(self.iteration as u32).to_le_bytes());
        b.extend_from_slice(&(self.classes.len() as u32).to_le_bytes());
        for c in &self.classes {
            let s = &c.stats;
            b.extend_from_slice(&(c.label.len() as u32).to_le_bytes());
            b.extend_from_slice(c.label.as_bytes());
            b.push(match s.covariance {
                CovarianceType::Diag => 0,
                CovarianceType::Full => 1,
            });
            b.push(u8::from(c.skipped));
            s.write_body(&mut b);
        }
        b
    }

    /// Parses a statistics file; `path` names it in errors. Sizes are checked against the bytes
    /// present before allocating.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<ClassAccs> {
        let mut r = AccCursor::new(bytes, path, |path, reason| Error::AccFormat {
            path: path.to_string(),
            reason,
        });
        if r.take(8, "magic")? != ACC_MAGIC {
            return Err(r.err(
                "not a cepstra class statistics file (bad magic; acc-classes writes them)".into(),
            ));
        }
        let version = r.u32("header")?;
        if version != ACC_VERSION {
            return Err(r.err(format!(
                "version {version} is not supported (this build reads version {ACC_VERSION})"
            )));
        }
        let fingerprint = r.u64("header")?;
        let iteration = r.u32("header")? as usize;
        let n = r.u32("header")? as usize;
        let mut classes = Vec::with_capacity(n.min(bytes.len()));
        for _ in 0..n {
            let len = r.u32("class header")? as usize;
            let label = std::str::from_utf8(r.take(len, "class label")?)
                .map_err(|_| r.err("a class label is not UTF-8".into()))?
                .to_string();
            let cov = match r.take(1, "class header")?[0] {
                0 => CovarianceType::Diag,
                1 => CovarianceType::Full,
                x => return Err(r.err(format!("class '{label}': unknown covariance code {x}"))),
            };
            let skipped = match r.take(1, "class header")?[0] {
                0 => false,
                1 => true,
                x => return Err(r.err(format!("class '{label}': bad skipped flag {x}"))),
            };
            let st = ExactStats::read_body(cov, bytes, &mut r.pos)
                .map_err(|reason| r.err(format!("class '{label}': {reason}")))?;
            classes.push(ClassAcc {
                label,
                skipped,
                stats: st,
            });
        }
        if r.pos != bytes.len() {
            return Err(r.err(format!("{} bytes of trailing garbage", bytes.len() - r.pos)));
        }
        Ok(ClassAccs {
            fingerprint,
            iteration,
            classes,
        })
    }

    /// Writes the statistics atomically.
    pub fn write(&self, path: &str) -> Result<()> {
        cepstra_io::filename::write_atomic(Path::new(path), &self.to_bytes())?;
        Ok(())
    }

    /// Reads a statistics file (or `-`, or a `cmd |` pipe).
    pub fn read(path: &str) -> Result<ClassAccs> {
        let bytes = cepstra_io::filename::Input::open(path)?.read_all()?;
        Self::from_bytes(&bytes, path)
    }
}

/// A little-endian reader over the bytes of a statistics file whose errors name the file and
/// where the bytes end; `make_error(path, reason)` builds the caller's error type (the class
/// accs here, the HMM accs of cepstra-hmm).
///
/// ```
/// use cepstra_train::acc::AccCursor;
/// let mut r = AccCursor::new(&[1, 0, 0, 0], "x.acc", |p, why| format!("{p}: {why}"));
/// assert_eq!(r.u32("count"), Ok(1));
/// assert_eq!(r.u64("size").unwrap_err(), "x.acc: truncated: ends inside the size (at byte 4 of 4)");
/// ```
pub struct AccCursor<'a, E> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// The next byte to read.
    pub pos: usize,
    path: &'a str,
    make_error: fn(&str, String) -> E,
}

impl<'a, E> AccCursor<'a, E> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8], path: &'a str, make_error: fn(&str, String) -> E) -> Self {
        Self {
            bytes,
            pos: 0,
            path,
            make_error,
        }
    }
    /// An error about this file.
    pub fn err(&self, reason: String) -> E {
        (self.make_error)(self.path, reason)
    }
    /// The next `n` bytes; `what` names them if the file ends first.
    pub fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], E> {
        if self.bytes.len() - self.pos < n {
            return Err(self.err(format!(
                "truncated: ends inside the {what} (at byte {} of {})",
                self.pos,
                self.bytes.len()
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// A little-endian `u32`.
    pub fn u32(&mut self, what: &str) -> std::result::Result<u32, E> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &str) -> std::result::Result<u64, E> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A little-endian `i128`.
    pub fn i128(&mut self, what: &str) -> std::result::Result<i128, E> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16, what)?);
        Ok(i128::from_le_bytes(a))
    }
}
