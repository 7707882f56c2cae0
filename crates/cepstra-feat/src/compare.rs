//! How far apart two feature tables are (Kaldi's `compare-feats`, with per-column-group mean
//! absolute differences and tolerances, for parity checks), and the finiteness check the
//! pipe-stage commands run on every matrix they read.

use ndarray::ArrayView2;

use crate::{Error, Result};

/// Running totals of the differences between matching utterances of two tables (Kaldi's
/// `compare-feats`): the largest |a − b|, the largest |a − b| / max(1, |b|) and the utterance it
/// is in, and the mean |a − b| per group of columns (`groups`: widths that add up to the
/// dimension; empty: one group of all columns).
///
/// ```
/// use cepstra_feat::FeatureDiff;
/// use ndarray::array;
/// let mut diff = FeatureDiff::new(vec![1, 1]);
/// diff.add("u1", array![[1.0f32, 2.0]].view(), array![[1.5f32, 2.0]].view())?;
/// assert_eq!(diff.group_means(), vec![0.5, 0.0]);
/// assert!(diff.check(1e-3, &[]).is_err());
/// assert!(diff.check(0.0, &[0.6, 0.1]).is_ok());
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureDiff {
    groups: Vec<usize>,
    max_abs: f64,
    max_scaled: f64,
    worst: String,
    group_sums: Vec<f64>,
    group_counts: Vec<usize>,
    frames: usize,
    utts: usize,
}

impl FeatureDiff {
    /// Empty totals for column groups of the given widths (empty: one group, the whole row).
    pub fn new(groups: Vec<usize>) -> Self {
        Self {
            groups,
            ..Default::default()
        }
    }

    /// Adds one utterance: `a` the features checked, `b` the reference.
    ///
    /// # Errors
    /// [`Error::CompareShape`] when the matrices differ in frames or dimension,
    /// [`Error::CompareGroups`] when the groups do not add up to the dimension.
    pub fn add(&mut self, key: &str, a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> Result<()> {
        if a.dim() != b.dim() {
            return Err(Error::CompareShape {
                utt: key.to_string(),
                rows: a.nrows(),
                cols: a.ncols(),
                ref_rows: b.nrows(),
                ref_cols: b.ncols(),
            });
        }
        if self.groups.is_empty() {
            self.groups = vec![a.ncols()];
        }
        if self.groups.iter().sum::<usize>() != a.ncols() {
            return Err(Error::CompareGroups {
                groups: self.groups.clone(),
                dim: a.ncols(),
            });
        }
        if self.group_sums.is_empty() {
            self.group_sums = vec![0.0; self.groups.len()];
            self.group_counts = vec![0; self.groups.len()];
        }
        for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
            let mut col = 0;
            for (g, &width) in self.groups.iter().enumerate() {
                for j in col..col + width {
                    let (x, y) = (ra[j] as f64, rb[j] as f64);
                    let d = (x - y).abs();
                    self.group_sums[g] += d;
                    self.group_counts[g] += 1;
                    self.max_abs = self.max_abs.max(d);
                    let scaled = d / y.abs().max(1.0);
                    if scaled > self.max_scaled {
                        self.max_scaled = scaled;
                        self.worst = key.to_string();
                    }
                }
                col += width;
            }
        }
        self.frames += a.nrows();
        self.utts += 1;
        Ok(())
    }

    /// Utterances added.
    pub fn num_utts(&self) -> usize {
        self.utts
    }

    /// Mean |a − b| of each column group.
    pub fn group_means(&self) -> Vec<f64> {
        self.group_sums
            .iter()
            .zip(&self.group_counts)
            .map(|(s, &c)| s / c.max(1) as f64)
            .collect()
    }

    /// The one-line summary compare-feats prints.
    pub fn summary(&self) -> String {
        let mean_text: Vec<String> = self
            .group_means()
            .iter()
            .map(|m| format!("{m:.4}"))
            .collect();
        format!(
            "utterances {} frames {} max|diff| {:.3e} max|diff|/max(1,|ref|) {:.3e} (utterance {}) mean|diff| per group {}",
            self.utts,
            self.frames,
            self.max_abs,
            self.max_scaled,
            self.worst,
            mean_text.join(" / ")
        )
    }

    /// Checks the tolerances: the largest relative difference against `tolerance` (0: not
    /// checked) and each group's mean against `max_mean_diff` (empty: not checked; otherwise
    /// one value per group).
    ///
    /// # Errors
    /// [`Error::CompareNothing`] when no utterance was added, [`Error::CompareTolerance`],
    /// [`Error::CompareMeanDiffCount`] or [`Error::CompareMeanDiff`] when a check fails.
    pub fn check(&self, tolerance: f64, max_mean_diff: &[f64]) -> Result<()> {
        if self.utts == 0 {
            return Err(Error::CompareNothing);
        }
        if tolerance > 0.0 && self.max_scaled > tolerance {
            return Err(Error::CompareTolerance {
                max: self.max_scaled,
                tolerance,
            });
        }
        if !max_mean_diff.is_empty() {
            let means = self.group_means();
            if max_mean_diff.len() != means.len() {
                return Err(Error::CompareMeanDiffCount {
                    groups: means.len(),
                });
            }
            for (g, (&mean, &limit)) in means.iter().zip(max_mean_diff).enumerate() {
                if mean > limit {
                    return Err(Error::CompareMeanDiff {
                        group: g + 1,
                        mean,
                        limit,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Checks that a feature matrix holds no NaN or infinity.
///
/// # Errors
/// [`Error::NonFiniteFeature`] naming the first bad value's frame and column.
///
/// ```
/// use cepstra_feat::check_finite;
/// use ndarray::array;
/// assert!(check_finite(array![[1.0f32, 2.0]].view()).is_ok());
/// let e = check_finite(array![[1.0f32, 2.0], [0.0, f32::NAN]].view()).unwrap_err();
/// assert!(e.to_string().contains("frame 1, column 1"));
/// ```
pub fn check_finite(feats: ArrayView2<'_, f32>) -> Result<()> {
    match feats.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((frame, column), &value)) => Err(Error::NonFiniteFeature {
            frame,
            column,
            value,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn totals_and_checks() {
        let mut d = FeatureDiff::new(vec![]);
        d.add(
            "a",
            array![[1.0f32, 4.0]].view(),
            array![[1.0f32, 2.0]].view(),
        )
        .unwrap();
        d.add(
            "b",
            array![[0.5f32, 2.0]].view(),
            array![[0.0f32, 2.0]].view(),
        )
        .unwrap();
        assert_eq!(d.num_utts(), 2);
        assert_eq!(d.group_means(), vec![(2.0 + 0.5) / 4.0]);
        assert_eq!(
            d.summary(),
            "utterances 2 frames 2 max|diff| 2.000e0 max|diff|/max(1,|ref|) 1.000e0 (utterance a) mean|diff| per group 0.6250"
        );
        assert!(matches!(
            d.check(0.5, &[]),
            Err(Error::CompareTolerance { max, tolerance }) if max == 1.0 && tolerance == 0.5
        ));
        assert!(matches!(
            d.check(0.0, &[0.1, 0.1]),
            Err(Error::CompareMeanDiffCount { groups: 1 })
        ));
        assert!(matches!(
            d.check(0.0, &[0.6]),
            Err(Error::CompareMeanDiff { group: 1, .. })
        ));
        assert!(d.check(2.0, &[0.7]).is_ok());
    }

    #[test]
    fn bad_inputs() {
        let mut d = FeatureDiff::new(vec![1, 2]);
        assert!(matches!(
            d.add("u", array![[1.0f32]].view(), array![[1.0f32], [2.0]].view()),
            Err(Error::CompareShape {
                rows: 1,
                ref_rows: 2,
                ..
            })
        ));
        let e = d
            .add(
                "u",
                array![[1.0f32, 2.0]].view(),
                array![[1.0f32, 2.0]].view(),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--groups [1, 2] do not add up to the dimension 2"
        );
        assert!(matches!(
            FeatureDiff::new(vec![]).check(0.0, &[]),
            Err(Error::CompareNothing)
        ));
        assert!(matches!(
            check_finite(array![[f32::INFINITY]].view()),
            Err(Error::NonFiniteFeature {
                frame: 0,
                column: 0,
                ..
            })
        ));
    }
}
