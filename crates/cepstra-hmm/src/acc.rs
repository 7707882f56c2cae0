//! Per-class HMM statistics of one training pass over some utterances (`acc-hmms` output),
//! exact so that they sum to the same bits in any grouping; their binary file format.
//!
//! File format (little-endian), version 1:
//!
//! ```text
//! magic "CPSTHACC"             8 bytes
//! version                      u32 (1)
//! model set fingerprint        u64 (HmmSet::fingerprint)
//! iteration                    u32 (the model set's "iteration")
//! mode                         u8 (0 viterbi, 1 baum-welch)
//! number of classes            u32
//! per class, in the model set's order:
//!   label length, label        u32, UTF-8 bytes
//!   covariance                 u8 (0 diag, 1 full)
//!   S                          u32 (emitting states)
//!   utterances, skipped        u64, u64
//!   frames, log-likelihood     i128, i128 (fixed point, value · 2^56)
//!   transition counts          (S+2)² × i128, row-major
//!   per state                  cepstra-train's ExactStats body (K, D, utterances, frames,
//!                              log-likelihood, occupancy, first and second order)
//! ```

use std::path::Path;

use cepstra_gmm::CovarianceType;
use cepstra_train::acc::AccCursor;
use cepstra_train::ExactStats;

use crate::error::{Error, Result};
use crate::exact::ExactHmmStats;
use crate::options::TrainMode;
use crate::set::HmmSet;

/// Magic bytes of an HMM statistics file.
pub const HMM_ACC_MAGIC: &[u8; 8] = b"CPSTHACC";
/// Version of the HMM statistics format.
pub const HMM_ACC_VERSION: u32 = 1;

/// The statistics of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmmClassAcc {
    /// The class label.
    pub label: String,
    /// Exact statistics.
    pub stats: ExactHmmStats,
}

/// Statistics of every class of an HMM set over some utterances (Kaldi's per-job `.acc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmmAccs {
    /// [`HmmSet::fingerprint`] of the model set used.
    pub fingerprint: u64,
    /// [`HmmSet::iteration`] of the model set used.
    pub iteration: usize,
    /// How the statistics were gathered.
    pub mode: TrainMode,
    /// One entry per class of the model set, in its order.
    pub classes: Vec<HmmClassAcc>,
}

impl HmmAccs {
    /// Zero statistics for every class of `set`.
    pub fn for_set(set: &HmmSet, mode: TrainMode) -> Result<HmmAccs> {
        Ok(HmmAccs {
            fingerprint: set.fingerprint()?,
            ..HmmAccs::for_set_unsigned(set, mode)
        })
    }

    /// As [`HmmAccs::for_set`] with fingerprint 0 (statistics that stay in the process, as
    /// `train-hmms`' passes: no serialisation of the set to hash).
    pub(crate) fn for_set_unsigned(set: &HmmSet, mode: TrainMode) -> HmmAccs {
        HmmAccs {
            fingerprint: 0,
            iteration: set.iteration,
            mode,
            classes: set
                .classes
                .iter()
                .map(|c| HmmClassAcc {
                    label: c.label.clone(),
                    stats: ExactHmmStats::for_model(&c.hmm),
                })
                .collect(),
        }
    }

    /// Checks that these statistics were made with `set`; `what` names the file.
    pub fn check_set(&self, set: &HmmSet, what: &str) -> Result<()> {
        let fp = set.fingerprint()?;
        if fp != self.fingerprint || set.iteration != self.iteration {
            return Err(Error::AccFormat {
                path: what.to_string(),
                reason: format!(
                    "made with another model set (fingerprint {:016x}, iteration {}; expected {fp:016x}, \
                     iteration {}): re-run acc-hmms with this model set",
                    self.fingerprint, self.iteration, set.iteration
                ),
            });
        }
        Ok(())
    }

    /// Adds `other` (same model set, same mode) exactly; `what` names its file.
    pub fn merge(&mut self, other: &HmmAccs, what: &str) -> Result<()> {
        let bad = |reason: String| Error::AccFormat {
            path: what.to_string(),
            reason,
        };
        if other.fingerprint != self.fingerprint || other.iteration != self.iteration {
            return Err(bad(format!(
                "made with another model set than the first statistics file (fingerprint {:016x} \
                 iteration {} vs {:016x} iteration {})",
                other.fingerprint, other.iteration, self.fingerprint, self.iteration
            )));
        }
        if other.mode != self.mode {
            return Err(bad(format!(
                "--mode {:?} statistics cannot be added to --mode {:?} ones",
                other.mode, self.mode
            )));
        }
        if other.classes.len() != self.classes.len() {
            return Err(bad(format!(
                "{} classes, expected {}",
                other.classes.len(),
                self.classes.len()
            )));
        }
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            if a.label != b.label {
                return Err(bad(format!(
                    "class '{}' where '{}' was expected",
                    b.label, a.label
                )));
            }
            a.stats.merge(&b.stats, &a.label)?;
        }
        Ok(())
    }

    /// The binary file contents (see the [module docs](self)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(HMM_ACC_MAGIC);
        b.extend_from_slice(&HMM_ACC_VERSION.to_le_bytes());
        b.extend_from_slice(&self.fingerprint.to_le_bytes());
        b.extend_from_slice(&(self.iteration as u32).to_le_bytes());
        b.push(match self.mode {
            TrainMode::Viterbi => 0,
            TrainMode::BaumWelch => 1,
        });
        b.extend_from_slice(&(self.classes.len() as u32).to_le_bytes());
        for c in &self.classes {
            let s = &c.stats;
            b.extend_from_slice(&(c.label.len() as u32).to_le_bytes());
            b.extend_from_slice(c.label.as_bytes());
            let cov = s
                .states
                .first()
                .map_or(CovarianceType::Diag, |st| st.covariance_type());
            b.push(u8::from(cov == CovarianceType::Full));
            b.extend_from_slice(&(s.states.len() as u32).to_le_bytes());
            b.extend_from_slice(&s.num_utts.to_le_bytes());
            b.extend_from_slice(&s.num_skipped.to_le_bytes());
            b.extend_from_slice(&s.num_frames.to_le_bytes());
            b.extend_from_slice(&s.loglike.to_le_bytes());
            for v in &s.trans {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for st in &s.states {
                st.write_body(&mut b);
            }
        }
        b
    }

    /// Parses a statistics file; `path` names it in errors. Sizes are checked against the bytes
    /// present before allocating.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<HmmAccs> {
        let mut r = AccCursor::new(bytes, path, |path, reason| Error::AccFormat {
            path: path.to_string(),
            reason,
        });
        if r.take(8, "magic")? != HMM_ACC_MAGIC {
            return Err(r.err(
                "not a cepstra HMM statistics file (bad magic; acc-hmms writes them)".into(),
            ));
        }
        let version = r.u32("header")?;
        if version != HMM_ACC_VERSION {
            return Err(r.err(format!(
                "version {version} is not supported (this build reads version {HMM_ACC_VERSION})"
            )));
        }
        let fingerprint = r.u64("header")?;
        let iteration = r.u32("header")? as usize;
        let mode = match r.take(1, "header")?[0] {
            0 => TrainMode::Viterbi,
            1 => TrainMode::BaumWelch,
            x => return Err(r.err(format!("unknown mode code {x}"))),
        };
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
            let s = r.u32("class header")? as usize;
            let num_utts = r.u64("class header")?;
            let num_skipped = r.u64("class header")?;
            let num_frames = r.i128("class header")?;
            let loglike = r.i128("class header")?;
            let nn = (s + 2)
                .checked_mul(s + 2)
                .filter(|&x| x.saturating_mul(16) <= bytes.len() - r.pos)
                .ok_or_else(|| {
                    r.err(format!(
                        "class '{label}': truncated inside the transition counts of {s} states"
                    ))
                })?;
            let mut trans = Vec::with_capacity(nn);
            for _ in 0..nn {
                trans.push(r.i128("transition counts")?);
            }
            let mut states = Vec::with_capacity(s.min(bytes.len()));
            for j in 0..s {
                states.push(
                    ExactStats::read_body(cov, bytes, &mut r.pos).map_err(|reason| {
                        r.err(format!("class '{label}', state {}: {reason}", j + 1))
                    })?,
                );
            }
            classes.push(HmmClassAcc {
                label,
                stats: ExactHmmStats {
                    states,
                    trans,
                    loglike,
                    num_frames,
                    num_utts,
                    num_skipped,
                },
            });
        }
        if r.pos != bytes.len() {
            return Err(r.err(format!("{} bytes of trailing garbage", bytes.len() - r.pos)));
        }
        Ok(HmmAccs {
            fingerprint,
            iteration,
            mode,
            classes,
        })
    }

    /// Writes the statistics atomically.
    pub fn write(&self, path: &str) -> Result<()> {
        cepstra_io::filename::write_atomic(Path::new(path), &self.to_bytes())?;
        Ok(())
    }

    /// Reads a statistics file (or `-`, or a `cmd |` pipe).
    pub fn read(path: &str) -> Result<HmmAccs> {
        let bytes = cepstra_io::filename::Input::open(path)?.read_all()?;
        Self::from_bytes(&bytes, path)
    }
}
