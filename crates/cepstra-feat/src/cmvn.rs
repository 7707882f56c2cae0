//! Cepstral mean and variance normalisation (Kaldi's `transform/cmvn.cc`).

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2};

use crate::{Error, Result};

/// CMVN statistics as Kaldi stores them: a `2 × (dim + 1)` `f64` matrix whose first row holds
/// `Σ w·x` and the total weight (last column) and whose second row holds `Σ w·x²` (Kaldi's
/// `compute-cmvn-stats`). Statistics merge by adding, so per-speaker stats are sums of
/// per-utterance ones.
///
/// ```
/// use cepstra_feat::{apply_cmvn, CmvnStats};
/// use ndarray::array;
/// let mut feats = array![[1.0f32, 10.0], [3.0, 30.0]];
/// let mut stats = CmvnStats::new(2);
/// stats.accumulate(feats.view(), None)?;
/// assert_eq!(stats.count(), 2.0);
/// apply_cmvn(&stats, feats.view_mut(), true)?;
/// assert_eq!(feats, array![[-1.0f32, -1.0], [1.0, 1.0]]);
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CmvnStats {
    stats: Array2<f64>,
}

impl CmvnStats {
    /// Empty statistics for `dim`-dimensional features (Kaldi's `InitCmvnStats`).
    pub fn new(dim: usize) -> Self {
        Self {
            stats: Array2::zeros((2, dim + 1)),
        }
    }

    /// Wraps a matrix read from a Kaldi archive: `2 × (dim + 1)`, or `1 × (dim + 1)` for
    /// means-only statistics (usable with `norm_vars = false` only).
    ///
    /// # Errors
    /// [`Error::CmvnStatsShape`] for any other shape.
    pub fn from_array(stats: Array2<f64>) -> Result<Self> {
        let (rows, cols) = stats.dim();
        if !(1..=2).contains(&rows) || cols < 1 {
            return Err(Error::CmvnStatsShape { rows, cols });
        }
        Ok(Self { stats })
    }

    /// The underlying matrix.
    pub fn as_array(&self) -> &Array2<f64> {
        &self.stats
    }

    /// The underlying matrix, by value (to write it to an archive).
    pub fn into_array(self) -> Array2<f64> {
        self.stats
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.stats.ncols() - 1
    }

    /// Total weight (number of frames when unweighted).
    pub fn count(&self) -> f64 {
        self.stats[[0, self.dim()]]
    }

    /// Adds one frame with weight `weight` (Kaldi's `AccCmvnStats` on a vector; the products
    /// are formed in `f32` as Kaldi does, the sums in `f64`).
    ///
    /// # Errors
    /// [`Error::CmvnDim`] if the frame has another dimension, [`Error::CmvnStatsShape`] for
    /// means-only statistics.
    pub fn accumulate_frame(&mut self, frame: ArrayView1<'_, f32>, weight: f32) -> Result<()> {
        self.check_accumulable(frame.len())?;
        let dim = self.dim();
        self.stats[[0, dim]] += f64::from(weight);
        for (d, &x) in frame.iter().enumerate() {
            self.stats[[0, d]] += f64::from(x * weight);
            self.stats[[1, d]] += f64::from(x * x * weight);
        }
        Ok(())
    }

    /// Adds every frame of `feats`, each with its weight from `weights` (1 if `None`); frames
    /// of weight 0 are skipped.
    ///
    /// # Errors
    /// [`Error::CmvnDim`], [`Error::WeightsLength`], [`Error::CmvnStatsShape`].
    pub fn accumulate(
        &mut self,
        feats: ArrayView2<'_, f32>,
        weights: Option<ArrayView1<'_, f32>>,
    ) -> Result<()> {
        self.check_accumulable(feats.ncols())?;
        if let Some(w) = &weights {
            if w.len() != feats.nrows() {
                return Err(Error::WeightsLength {
                    weights: w.len(),
                    frames: feats.nrows(),
                });
            }
        }
        for (t, row) in feats.rows().into_iter().enumerate() {
            let w = weights.as_ref().map_or(1.0, |w| w[t]);
            if w != 0.0 {
                self.accumulate_frame(row, w)?;
            }
        }
        Ok(())
    }

    /// Adds `other` into `self` (`acc(A) + acc(B) = acc(A ∪ B)`).
    ///
    /// # Errors
    /// [`Error::CmvnDim`] or [`Error::CmvnStatsShape`] if the shapes differ.
    pub fn merge(&mut self, other: &CmvnStats) -> Result<()> {
        if self.stats.nrows() != other.stats.nrows() {
            let (rows, cols) = other.stats.dim();
            return Err(Error::CmvnStatsShape { rows, cols });
        }
        if self.dim() != other.dim() {
            return Err(Error::CmvnDim {
                stats_dim: self.dim(),
                feats_dim: other.dim(),
            });
        }
        self.stats += &other.stats;
        Ok(())
    }

    fn check_accumulable(&self, feats_dim: usize) -> Result<()> {
        if self.stats.nrows() != 2 {
            let (rows, cols) = self.stats.dim();
            return Err(Error::CmvnStatsShape { rows, cols });
        }
        if feats_dim != self.dim() {
            return Err(Error::CmvnDim {
                stats_dim: self.dim(),
                feats_dim,
            });
        }
        Ok(())
    }

    /// Mean, count and (with `norm_vars`) variance checks shared by both directions.
    fn check_apply(&self, feats_dim: usize, norm_vars: bool) -> Result<f64> {
        if feats_dim != self.dim() {
            return Err(Error::CmvnDim {
                stats_dim: self.dim(),
                feats_dim,
            });
        }
        if norm_vars && self.stats.nrows() < 2 {
            return Err(Error::CmvnNoVarianceStats);
        }
        let count = self.count();
        // NaN counts fail too.
        if count.is_nan() || count < 1.0 {
            return Err(Error::CmvnCount { count });
        }
        Ok(count)
    }

    /// Per-dimension variance as Kaldi computes it, floored at 1e-20.
    fn variance(&self, d: usize, count: f64) -> f64 {
        let mean = self.stats[[0, d]] / count;
        let var = self.stats[[1, d]] / count - mean * mean;
        // Not `max`: a NaN variance must stay NaN (and be reported), as in Kaldi.
        if var < 1.0e-20 {
            1.0e-20
        } else {
            var
        }
    }
}

/// Statistics of one utterance (Kaldi's `AccCmvnStats` on a matrix).
///
/// # Errors
/// [`Error::WeightsLength`] if `weights` is not one per frame.
pub fn acc_cmvn_stats(
    feats: ArrayView2<'_, f32>,
    weights: Option<ArrayView1<'_, f32>>,
) -> Result<CmvnStats> {
    let mut s = CmvnStats::new(feats.ncols());
    s.accumulate(feats, weights)?;
    Ok(s)
}

/// Normalises `feats` in place with `stats` (Kaldi's `ApplyCmvn` / `apply-cmvn`): subtracts the
/// mean, and with `norm_vars` also scales to unit variance (variance floored at 1e-20). Offsets
/// and scales are computed in `f64` and applied in `f32`, as Kaldi does.
///
/// # Errors
/// [`Error::CmvnDim`] for a dimension mismatch, [`Error::CmvnCount`] if the count is below 1,
/// [`Error::CmvnNoVarianceStats`] for `norm_vars` with means-only stats,
/// [`Error::CmvnNotFinite`] if a scale is NaN or infinite.
pub fn apply_cmvn(
    stats: &CmvnStats,
    mut feats: ArrayViewMut2<'_, f32>,
    norm_vars: bool,
) -> Result<()> {
    let dim = stats.dim();
    let count = stats.check_apply(feats.ncols(), norm_vars)?;
    let mut offset = vec![0.0f32; dim];
    let mut scale = vec![1.0f32; dim];
    if !norm_vars {
        // Kaldi: offset.AddVec(-1.0 / count, mean_stats) with a float alpha.
        let alpha = f64::from((-1.0 / count) as f32);
        for (d, o) in offset.iter_mut().enumerate() {
            *o = (alpha * stats.stats[[0, d]]) as f32;
        }
        for mut row in feats.rows_mut() {
            row.zip_mut_with(&ArrayView1::from(&offset[..]), |x, &o| *x += o);
        }
        return Ok(());
    }
    for d in 0..dim {
        let mean = stats.stats[[0, d]] / count;
        let s = 1.0 / stats.variance(d, count).sqrt();
        if !s.is_finite() {
            return Err(Error::CmvnNotFinite { dim: d });
        }
        offset[d] = (-(mean * s)) as f32;
        scale[d] = s as f32;
    }
    for mut row in feats.rows_mut() {
        for ((x, &s), &o) in row.iter_mut().zip(&scale).zip(&offset) {
            *x = *x * s + o;
        }
    }
    Ok(())
}

/// Options of `apply-cmvn` (Kaldi's, same defaults): normalise means (and variances), or undo
/// a normalisation.
///
/// ```
/// use cepstra_feat::{acc_cmvn_stats, ApplyCmvnOptions};
/// use ndarray::array;
/// let mut feats = array![[1.0f32, 10.0], [3.0, 30.0]];
/// let stats = acc_cmvn_stats(feats.view(), None)?;
/// let opts = ApplyCmvnOptions { norm_vars: true, ..Default::default() };
/// opts.validate()?;
/// opts.apply(&stats, feats.view_mut())?;
/// assert_eq!(feats, array![[-1.0f32, -1.0], [1.0, 1.0]]);
/// assert!(ApplyCmvnOptions { norm_means: false, norm_vars: true, reverse: false }.validate().is_err());
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ApplyCmvnOptions {
    /// Normalise means
    #[cfg_attr(feature = "clap", arg(long = "norm-means", default_value_t = true, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub norm_means: bool,
    /// Normalise variances
    #[cfg_attr(feature = "clap", arg(long = "norm-vars", default_value_t = false, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub norm_vars: bool,
    /// Undo a previous normalisation with the same statistics
    #[cfg_attr(feature = "clap", arg(long = "reverse", default_value_t = false, action = clap::ArgAction::Set,
        num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub reverse: bool,
}

impl Default for ApplyCmvnOptions {
    /// Kaldi's: `--norm-means=true --norm-vars=false --reverse=false`.
    fn default() -> Self {
        Self {
            norm_means: true,
            norm_vars: false,
            reverse: false,
        }
    }
}

impl ApplyCmvnOptions {
    /// Checks the combination.
    ///
    /// # Errors
    /// [`Error::CmvnOptions`] for variance normalisation without mean normalisation.
    pub fn validate(&self) -> Result<()> {
        if self.norm_vars && !self.norm_means {
            return Err(Error::CmvnOptions);
        }
        Ok(())
    }

    /// Applies the options to `feats` with `stats`: [`apply_cmvn`] or, with `reverse`,
    /// [`apply_cmvn_reverse`]; nothing without `norm_means`.
    ///
    /// # Errors
    /// As [`apply_cmvn`].
    pub fn apply(&self, stats: &CmvnStats, feats: ArrayViewMut2<'_, f32>) -> Result<()> {
        match (self.norm_means, self.reverse) {
            (false, _) => Ok(()),
            (true, false) => apply_cmvn(stats, feats, self.norm_vars),
            (true, true) => apply_cmvn_reverse(stats, feats, self.norm_vars),
        }
    }
}

/// Where `apply-cmvn` takes an utterance's statistics from (Kaldi's apply-cmvn argument forms).
#[derive(Debug, Clone, PartialEq)]
pub enum CmvnSource {
    /// No statistics given: each utterance's own (per-utterance normalisation).
    PerUtterance,
    /// One statistics matrix (a file) for every utterance.
    Global(CmvnStats),
    /// A table keyed by utterance, or by speaker through `utt2spk`.
    Table {
        /// Utterance → speaker (`--utt2spk`), when the table is per speaker.
        utt2spk: Option<std::collections::HashMap<String, String>>,
    },
}

/// The statistics [`CmvnSource::select`] chose for an utterance.
#[derive(Debug, Clone, PartialEq)]
pub enum CmvnChoice<'a> {
    /// These statistics.
    Stats(std::borrow::Cow<'a, CmvnStats>),
    /// The table entry with this key (the caller reads the table).
    Key(&'a str),
}

impl CmvnSource {
    /// The statistics of utterance `utt` (features `feats`): its own, the global ones, or the key
    /// to look up in the table.
    ///
    /// # Errors
    /// [`Error::CmvnNoSpeaker`] when `utt` is not in `utt2spk`.
    ///
    /// ```
    /// use cepstra_feat::{CmvnChoice, CmvnSource};
    /// use ndarray::array;
    /// let utt2spk = [("u1".to_string(), "spk".to_string())].into_iter().collect();
    /// let source = CmvnSource::Table { utt2spk: Some(utt2spk) };
    /// let feats = array![[1.0f32]];
    /// assert_eq!(source.select("u1", feats.view())?, CmvnChoice::Key("spk"));
    /// assert!(source.select("u2", feats.view()).is_err());
    /// # Ok::<(), cepstra_feat::Error>(())
    /// ```
    pub fn select<'a>(
        &'a self,
        utt: &'a str,
        feats: ArrayView2<'_, f32>,
    ) -> Result<CmvnChoice<'a>> {
        Ok(match self {
            CmvnSource::PerUtterance => {
                CmvnChoice::Stats(std::borrow::Cow::Owned(acc_cmvn_stats(feats, None)?))
            }
            CmvnSource::Global(s) => CmvnChoice::Stats(std::borrow::Cow::Borrowed(s)),
            CmvnSource::Table { utt2spk: None } => CmvnChoice::Key(utt),
            CmvnSource::Table { utt2spk: Some(map) } => {
                CmvnChoice::Key(map.get(utt).ok_or_else(|| Error::CmvnNoSpeaker {
                    utt: utt.to_string(),
                })?)
            }
        })
    }
}

/// Undoes [`apply_cmvn`] (Kaldi's `ApplyCmvnReverse`, `apply-cmvn --reverse`): gives
/// zero-mean (unit-variance with `norm_vars`) input the mean (and variance) of `stats`.
///
/// # Errors
/// As [`apply_cmvn`].
pub fn apply_cmvn_reverse(
    stats: &CmvnStats,
    mut feats: ArrayViewMut2<'_, f32>,
    norm_vars: bool,
) -> Result<()> {
    let dim = stats.dim();
    let count = stats.check_apply(feats.ncols(), norm_vars)?;
    let mut offset = vec![0.0f32; dim];
    let mut scale = vec![1.0f32; dim];
    for d in 0..dim {
        offset[d] = (stats.stats[[0, d]] / count) as f32;
        if norm_vars {
            scale[d] = stats.variance(d, count).sqrt() as f32;
        }
    }
    for mut row in feats.rows_mut() {
        for ((x, &s), &o) in row.iter_mut().zip(&scale).zip(&offset) {
            if norm_vars {
                *x *= s;
            }
            *x += o;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn feats() -> Array2<f32> {
        Array2::from_shape_fn((50, 3), |(t, d)| {
            ((t * 7 + d * 3) % 11) as f32 * (d + 1) as f32 - 2.0
        })
    }

    #[test]
    fn merge_equals_union() {
        let f = feats();
        let all = acc_cmvn_stats(f.view(), None).expect("ok");
        let mut a = acc_cmvn_stats(f.slice(ndarray::s![..20, ..]), None).expect("ok");
        let b = acc_cmvn_stats(f.slice(ndarray::s![20.., ..]), None).expect("ok");
        a.merge(&b).expect("same dim");
        for (x, y) in a.as_array().iter().zip(all.as_array()) {
            assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0));
        }
        assert_eq!(a.count(), 50.0);
    }

    #[test]
    fn normalise_and_reverse() {
        let f = feats();
        let stats = acc_cmvn_stats(f.view(), None).expect("ok");
        for norm_vars in [false, true] {
            let mut g = f.clone();
            apply_cmvn(&stats, g.view_mut(), norm_vars).expect("ok");
            let s2 = acc_cmvn_stats(g.view(), None).expect("ok");
            for d in 0..3 {
                assert!(s2.as_array()[[0, d]].abs() < 1e-4);
                if norm_vars {
                    assert!((s2.as_array()[[1, d]] / 50.0 - 1.0).abs() < 1e-5);
                }
            }
            apply_cmvn_reverse(&stats, g.view_mut(), norm_vars).expect("ok");
            for (a, b) in g.iter().zip(f.iter()) {
                assert!((a - b).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn weights_and_errors() {
        let f = array![[1.0f32, 2.0], [3.0, 4.0]];
        let s = acc_cmvn_stats(f.view(), Some(array![0.0f32, 2.0].view())).expect("ok");
        assert_eq!(s.as_array(), &array![[6.0, 8.0, 2.0], [18.0, 32.0, 0.0]]);
        assert_eq!(
            acc_cmvn_stats(f.view(), Some(array![1.0f32].view())),
            Err(Error::WeightsLength {
                weights: 1,
                frames: 2
            })
        );
        let mut g = f.clone();
        assert_eq!(
            apply_cmvn(&CmvnStats::new(2), g.view_mut(), false),
            Err(Error::CmvnCount { count: 0.0 })
        );
        assert_eq!(
            apply_cmvn(&s, Array2::zeros((2, 3)).view_mut(), false),
            Err(Error::CmvnDim {
                stats_dim: 2,
                feats_dim: 3
            })
        );
        let means_only = CmvnStats::from_array(array![[6.0, 8.0, 2.0]]).expect("1 row ok");
        assert_eq!(
            apply_cmvn(&means_only, g.view_mut(), true),
            Err(Error::CmvnNoVarianceStats)
        );
        apply_cmvn(&means_only, g.view_mut(), false).expect("means only");
        assert_eq!(g, array![[-2.0f32, -2.0], [0.0, 0.0]]);
        assert_eq!(
            CmvnStats::from_array(Array2::zeros((3, 3))),
            Err(Error::CmvnStatsShape { rows: 3, cols: 3 })
        );
        let mut nan = CmvnStats::new(1);
        nan.accumulate_frame(array![f32::INFINITY].view(), 1.0)
            .expect("ok");
        assert!(matches!(
            apply_cmvn(&nan, Array2::zeros((1, 1)).view_mut(), true),
            Err(Error::CmvnNotFinite { dim: 0 })
        ));
        // constant dimension: variance floored, no error
        let c = array![[5.0f32], [5.0]];
        let cs = acc_cmvn_stats(c.view(), None).expect("ok");
        let mut c2 = c.clone();
        apply_cmvn(&cs, c2.view_mut(), true).expect("floored");
        assert!(c2.iter().all(|x| x.abs() < 1e-3));
    }
}
