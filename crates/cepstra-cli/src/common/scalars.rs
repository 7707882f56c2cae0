//! Text tables of one value per key (`utt2num_frames`, `utt2dur`): `key value` lines, as the
//! files Kaldi's data directories hold.

use std::io::Write;

use anyhow::{Context, Result};
use cepstra_io::filename::Output;

/// Writes `key value` lines to a wspecifier (`ark,t:F`, `ark:F`) or a plain file name.
pub struct ScalarWriter {
    out: Output,
}

impl ScalarWriter {
    /// Opens `ark,t:F`, `ark:F`, `F` or `-`.
    pub fn open(spec: &str) -> Result<ScalarWriter> {
        let name = match spec.split_once(':') {
            Some((head, rest)) if head.split(',').any(|o| o == "ark") => rest,
            _ => spec,
        };
        Ok(ScalarWriter {
            out: Output::create(name)?,
        })
    }

    /// Writes one line.
    pub fn write(&mut self, key: &str, value: &str) -> Result<()> {
        writeln!(self.out, "{key} {value}").with_context(|| format!("writing {}", self.out.name()))
    }

    /// Flushes to the temporary file without making it visible ([`Output::prepare`]).
    pub fn prepare(&mut self) -> Result<()> {
        Ok(self.out.prepare()?)
    }

    /// Finishes the file (atomic rename).
    pub fn commit(self) -> Result<()> {
        Ok(self.out.commit()?)
    }
}
