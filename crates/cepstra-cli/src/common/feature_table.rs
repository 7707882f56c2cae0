//! Reading feature tables for the commands that model or copy them: every matrix is checked for
//! NaN and infinity as it is read, so a non-finite entry is a bad entry like an unreadable one:
//! an error naming the utterance, or, with Kaldi's `p` (`ark,p:`, `scp,p:`), skipped with a
//! warning.

use anyhow::Result;
use cepstra_io::table::{RSpecifier, SequentialReader};
use ndarray::Array2;

/// A [`SequentialReader`] of feature matrices whose non-finite entries are errors.
pub struct FeatureTable {
    inner: SequentialReader<Array2<f32>>,
    spec: String,
    permissive: bool,
}

impl FeatureTable {
    /// Opens `rspecifier`.
    pub fn open(rspecifier: &str) -> Result<Self> {
        Ok(Self {
            inner: SequentialReader::open(rspecifier)?,
            spec: rspecifier.to_string(),
            permissive: RSpecifier::parse(rspecifier)?.permissive,
        })
    }

    /// Whether the rspecifier has `p`: bad entries are skipped, not fatal.
    pub fn permissive(&self) -> bool {
        self.permissive
    }

    /// The next good entry; bad ones are skipped with a warning when permissive.
    pub fn next_good(&mut self) -> Option<Result<(String, Array2<f32>)>> {
        let permissive = self.permissive;
        for item in self.by_ref() {
            match item {
                Ok(kv) => return Some(Ok(kv)),
                Err(e) if permissive => log::warn!("{e} (skipped)"),
                Err(e) => return Some(Err(e.into())),
            }
        }
        None
    }

    /// Every good entry, in order (bad ones skipped with a warning when permissive).
    pub fn read_all(mut self) -> Result<Vec<(String, Array2<f32>)>> {
        let mut out = Vec::new();
        while let Some(kv) = self.next_good() {
            out.push(kv?);
        }
        Ok(out)
    }
}

impl Iterator for FeatureTable {
    type Item = cepstra_io::Result<(String, Array2<f32>)>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.inner.next()?.and_then(|(key, m)| {
            match m.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                None => Ok((key, m)),
                Some((i, v)) => {
                    let cols = m.ncols().max(1);
                    Err(cepstra_io::Error::Table {
                        spec: self.spec.clone(),
                        key: Some(key),
                        reason: format!(
                            "non-finite value {v} at frame {}, column {} (fix the features upstream)",
                            i / cols,
                            i % cols
                        ),
                    })
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_entries_are_bad_entries() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f.txt");
        std::fs::write(
            &f,
            "u1 [ 1 2\n 3 4 ]\nu2 [ 1 nan ]\nu3 [ 5 inf ]\nu4 [ 7 8 ]\n",
        )
        .unwrap();
        let strict = format!("ark:{}", f.display());
        let e = FeatureTable::open(&strict).unwrap().read_all().unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("utterance u2") && e.contains("frame 0, column 1"),
            "{e}"
        );
        let keys: Vec<String> = FeatureTable::open(&format!("ark,p:{}", f.display()))
            .unwrap()
            .read_all()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["u1", "u4"]);
    }
}
