//! Scoring: per-frame log-likelihood, per-utterance total and average, posteriors, BIC and AIC.
//! All in the log domain through the Cholesky factors (full) or natural parameters in f64 (diag),
//! with a log-sum-exp over components.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::engine::Prepared;
use crate::error::Result;
use crate::kernels::Kernels;
use crate::model::{DiagGmm, FullGmm, Gmm};

/// Score of one utterance (Kaldi's `gmm-global-get-frame-likes [--average]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UtteranceScore {
    /// Σ log p(x_t).
    pub total: f64,
    /// total / num_frames (0 for an empty utterance).
    pub average: f64,
    /// Number of frames.
    pub num_frames: usize,
}

impl Gmm {
    /// This model prepared for scoring and accumulating many feature matrices (f32 features):
    /// see [`Prepared`].
    pub fn prepare(&self) -> Prepared<f32> {
        Prepared::new(self)
    }
    /// Log-likelihood ln p(x_t) of every frame (frames × D, f32; E-step in f32, the rest f64).
    pub fn log_likelihoods(&self, feats: ArrayView2<'_, f32>) -> Result<Array1<f64>> {
        self.check_dim(feats.ncols())?;
        Prepared::<f32>::new(self).log_likelihoods(feats)
    }
    /// As [`Gmm::log_likelihoods`], all in f64.
    pub fn log_likelihoods_f64(&self, feats: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        self.check_dim(feats.ncols())?;
        Prepared::<f64>::new(self).log_likelihoods(feats)
    }
    /// Log-likelihood of one frame (f64 arithmetic).
    pub fn log_likelihood(&self, frame: ArrayView1<'_, f32>) -> Result<f64> {
        let x = frame.mapv(|v| v as f64).insert_axis(ndarray::Axis(0));
        Ok(self.log_likelihoods_f64(x.view())?[0])
    }
    /// Per-component weighted log-likelihoods ln w_k + ln N(x_t; μ_k, Σ_k) (frames × K).
    pub fn component_log_likelihoods(&self, feats: ArrayView2<'_, f32>) -> Result<Array2<f64>> {
        self.check_dim(feats.ncols())?;
        Prepared::<f32>::new(self).component_log_likelihoods(feats)
    }
    /// As [`Gmm::component_log_likelihoods`], all in f64 (e.g. an HMM's emissions).
    pub fn component_log_likelihoods_f64(&self, feats: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_dim(feats.ncols())?;
        Prepared::<f64>::new(self).component_log_likelihoods(feats)
    }
    /// Component posteriors (frames × K, rows sum to 1) and frame log-likelihoods.
    pub fn posteriors(&self, feats: ArrayView2<'_, f32>) -> Result<(Array2<f64>, Array1<f64>)> {
        self.check_dim(feats.ncols())?;
        Prepared::<f32>::new(self).posteriors(feats)
    }
    /// Total and average log-likelihood of an utterance.
    pub fn score(&self, feats: ArrayView2<'_, f32>) -> Result<UtteranceScore> {
        let ll = self.log_likelihoods(feats)?;
        Ok(UtteranceScore::from_frames(&ll))
    }
    /// As [`Gmm::score`] in f64.
    pub fn score_f64(&self, feats: ArrayView2<'_, f64>) -> Result<UtteranceScore> {
        let ll = self.log_likelihoods_f64(feats)?;
        Ok(UtteranceScore::from_frames(&ll))
    }
    /// Bayesian information criterion −2·ln L + p·ln N (lower is better).
    pub fn bic(&self, feats: ArrayView2<'_, f32>) -> Result<f64> {
        let s = self.score(feats)?;
        Ok(-2.0 * s.total + self.num_params() as f64 * (s.num_frames as f64).ln())
    }
    /// Akaike information criterion −2·ln L + 2p (lower is better).
    pub fn aic(&self, feats: ArrayView2<'_, f32>) -> Result<f64> {
        let s = self.score(feats)?;
        Ok(-2.0 * s.total + 2.0 * self.num_params() as f64)
    }
}

impl Gmm {
    /// Frame log-likelihoods as Kaldi computes them: from its float natural parameters
    /// ([`crate::io`]'s Kaldi form of this model) with Kaldi's float arithmetic
    /// (gconst + μᵀΣ⁻¹x − ½·xᵀΣ⁻¹x, then a float log-sum-exp). For comparing with Kaldi's logs and
    /// `gmm-global-get-frame-likes`; on ill-conditioned models this differs from
    /// [`Gmm::log_likelihoods`] by the float rounding of Kaldi's parameters and sums.
    pub fn kaldi_log_likelihoods(&self, feats: ArrayView2<'_, f32>) -> Result<Array1<f64>> {
        self.check_dim(feats.ncols())?;
        let raw = crate::io::kaldi_raw(self);
        let mut out = Array1::zeros(feats.nrows());
        let d = self.dim();
        for (t, x) in feats.outer_iter().enumerate() {
            let x: Vec<f32> = x.to_vec();
            let lls: Vec<f32> = match &raw {
                crate::model::KaldiRaw::Diag {
                    gconsts,
                    means_invvars,
                    inv_vars,
                    ..
                } => (0..gconsts.len())
                    .map(|k| {
                        let mut l = gconsts[k];
                        let mut t1 = 0.0f32;
                        let mut t2 = 0.0f32;
                        for i in 0..d {
                            t1 = means_invvars[[k, i]].mul_add(x[i], t1);
                            t2 = inv_vars[[k, i]].mul_add(x[i] * x[i], t2);
                        }
                        l += t1;
                        l = (-0.5f32).mul_add(t2, l);
                        l
                    })
                    .collect(),
                crate::model::KaldiRaw::Full {
                    gconsts,
                    means_invcovars,
                    inv_covars,
                    ..
                } => (0..gconsts.len())
                    .map(|k| {
                        let mut l = gconsts[k];
                        let p = &inv_covars[k];
                        let mut t1 = 0.0f32;
                        let mut tr = 0.0f32;
                        for i in 0..d {
                            t1 += means_invcovars[[k, i]] * x[i];
                            for j in 0..=i {
                                let xx = if i == j {
                                    0.5 * (x[i] * x[j])
                                } else {
                                    x[i] * x[j]
                                };
                                tr += p[[i, j]] * xx;
                            }
                        }
                        l += t1;
                        l -= tr;
                        l
                    })
                    .collect(),
            };
            let m = lls.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let s: f32 = lls.iter().map(|l| (l - m).exp()).sum();
            out[t] = (m + s.ln()) as f64;
        }
        Ok(out)
    }
}

impl UtteranceScore {
    /// From the frames' log-likelihoods.
    pub(crate) fn from_frames(ll: &Array1<f64>) -> UtteranceScore {
        let total = ll.sum();
        let n = ll.len();
        UtteranceScore {
            total,
            average: if n > 0 { total / n as f64 } else { 0.0 },
            num_frames: n,
        }
    }
}

impl DiagGmm {
    /// Log-likelihood of one frame.
    pub fn log_likelihood(&self, frame: ArrayView1<'_, f32>) -> Result<f64> {
        let x = frame.mapv(|v| v as f64).insert_axis(ndarray::Axis(0));
        Ok(Prepared::<f64>::diag(self, Kernels::best()).log_likelihoods(x.view())?[0])
    }
}

impl FullGmm {
    /// Log-likelihood of one frame.
    pub fn log_likelihood(&self, frame: ArrayView1<'_, f32>) -> Result<f64> {
        let x = frame.mapv(|v| v as f64).insert_axis(ndarray::Axis(0));
        Ok(Prepared::<f64>::full(self, Kernels::best()).log_likelihoods(x.view())?[0])
    }
}
