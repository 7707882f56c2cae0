//! [`GmmStats`] accumulation through the engine: from a model's own posteriors (the E-step and
//! M-step of EM) or from given per-frame per-component weights (e.g. HMM state occupancies).

use ndarray::{ArrayView1, ArrayView2};

use super::Prepared;
use crate::elem::Elem;
use crate::error::{Error, Result};
use crate::model::Gmm;
use crate::stats::GmmStats;

impl GmmStats {
    fn check_model(&self, gmm: &Gmm) -> Result<()> {
        self.check_shape(gmm.num_gauss(), gmm.dim(), gmm.covariance_type())
    }

    /// Accumulates the statistics of `feats` (frames × D, f32) under `gmm`, each frame weighted by
    /// `weights` (Kaldi's `--weights`) when given; returns the total (weighted) log-likelihood.
    /// The E-step runs in f32, statistics are accumulated in f64. To accumulate many chunks
    /// under one model, prepare it once ([`Prepared::accumulate`]).
    pub fn accumulate(
        &mut self,
        gmm: &Gmm,
        feats: ArrayView2<'_, f32>,
        weights: Option<ArrayView1<'_, f32>>,
    ) -> Result<f64> {
        self.accumulate_generic(gmm, feats, weights)
    }

    /// As [`Self::accumulate`] with f64 features and an f64 E-step.
    pub fn accumulate_f64(
        &mut self,
        gmm: &Gmm,
        feats: ArrayView2<'_, f64>,
        weights: Option<ArrayView1<'_, f32>>,
    ) -> Result<f64> {
        self.accumulate_generic(gmm, feats, weights)
    }

    pub(crate) fn accumulate_generic<T: Elem>(
        &mut self,
        gmm: &Gmm,
        feats: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
    ) -> Result<f64> {
        self.check_model(gmm)?;
        gmm.check_dim(feats.ncols())?;
        Prepared::<T>::new(gmm).accumulate(self, feats, weights)
    }

    /// Accumulates the statistics of `feats` (frames × D, f32 or f64) with given per-frame
    /// per-component weights `post` (frames × K, finite, ≥ 0): Σγ, Σγx and Σγx² (diagonal) or
    /// Σγxxᵀ (full) in f64 with the engine's M-step kernels, no E-step. For models whose
    /// posteriors come from elsewhere, e.g. an HMM state's GMM with the state-component
    /// occupancies of forward-backward. The frame count grows by Σγ, the log-likelihood not at
    /// all. Any split of the frames gives the same statistics up to the f64 rounding of `merge`.
    ///
    /// ```
    /// use cepstra_gmm::{DiagGmm, Gmm, GmmStats};
    /// use ndarray::array;
    /// let gmm = Gmm::from(DiagGmm::new(array![0.5, 0.5], array![[0.0], [4.0]], array![[1.0], [1.0]])?);
    /// let mut st = GmmStats::for_model(&gmm);
    /// let x = array![[1.0f64], [3.0]];
    /// st.accumulate_weighted(&gmm, x.view(), array![[1.0, 0.0], [0.25, 0.75]].view())?;
    /// assert_eq!(st.occupancy().to_vec(), vec![1.25, 0.75]);
    /// assert_eq!(st.first()[[1, 0]], 2.25);
    /// # Ok::<(), cepstra_gmm::Error>(())
    /// ```
    ///
    /// # Errors
    /// Statistics of another shape than the model, a dimension mismatch (features vs model,
    /// `post` vs frames × K), a non-finite feature or a negative or non-finite weight (naming
    /// its frame and component).
    pub fn accumulate_weighted<T: Elem>(
        &mut self,
        gmm: &Gmm,
        feats: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
    ) -> Result<()> {
        self.check_model(gmm)?;
        gmm.check_dim(feats.ncols())?;
        Prepared::<T>::new(gmm).accumulate_posteriors(self, feats, post)
    }
}

impl<T: Elem> Prepared<T> {
    /// [`GmmStats::accumulate_weighted`] with this prepared model.
    ///
    /// # Errors
    /// As [`GmmStats::accumulate_weighted`].
    pub fn accumulate_posteriors(
        &self,
        stats: &mut GmmStats,
        feats: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
    ) -> Result<()> {
        stats.check_shape(self.k, self.d, self.cov)?;
        self.check_feats(feats)?;
        if post.dim() != (feats.nrows(), self.k) {
            return Err(Error::DimensionMismatch {
                what: "weights (frames × components) vs frames",
                expected: feats.nrows(),
                got: if post.ncols() == self.k {
                    post.nrows()
                } else {
                    post.ncols()
                },
            });
        }
        self.accumulate_given(feats, post, stats)
    }
}
