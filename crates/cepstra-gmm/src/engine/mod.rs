//! The EM engine: a model prepared once for block scoring ([`Prepared`]), the pass over fixed
//! blocks of frames in named steps ([`pass`]), rayon over fixed chunks of blocks through the
//! ordered scheduler ([`crate::sched`]), per-chunk f64 accumulators summed in chunk order. Block
//! and chunk boundaries depend only on (K, D) and the kernel set, never on the thread count, so
//! results are bit-identical for any number of threads.
//!
//! Full covariance, per block X (B×D):
//! - E-step, f32 features with a SIMD kernel set: [`crate::kernels::whiten::Whitening`], the
//!   triangular whitening z_k = U_kᵀ(x − μ_k) (U_k = L_k⁻ᵀ) and ‖z_k‖² of 16 or 32 frames at a
//!   time, skipping the zeros below U's diagonal and never storing z. Otherwise (f64 features,
//!   or the portable set): one faer GEMM `[X−c, 1]·W` (B×(D+1) · (D+1)×(K·D)) where W stacks
//!   every U_k over the row −(μ_k−c)ᵀU_k, then the row sums of squares. Both work on x − c, c
//!   the weighted mean of the model's means (it keeps f32 products small); log-sum-exp in f64.
//! - M-step: per component, the frames with a non-zero posterior (posteriors below 2⁻⁵³ are 0),
//!   gathered by number into the f64 register-tiled SYRK over the lower triangle of
//!   Σr·[x,1][x,1]ᵀ: Σr·xxᵀ, Σr·x and Σr in one (D+1)×(D+1) block.
//!
//! Diagonal covariance: E-step by [`crate::kernels::whiten::DiagWhitening`] ((x − μ)/σ in f32)
//! or the f64 tile GEMM `[X, X², 1]·[M/V; −½/V; g]` (natural parameters); M-step
//! `Rᵀ·[X, X², 1]` (f64 tiles).

mod accumulate;
mod pass;
mod pool;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::elem::Elem;
use crate::error::{Error, Result};
use crate::kernels::tile::{diag_cols, syrk_cols};
use crate::kernels::whiten::{self, DiagWhitening, Whitening};
use crate::kernels::{KernelSet, Kernels};
use crate::model::{DiagGmm, FullGmm, Gmm};
use crate::options::CovarianceType;
use crate::score::UtteranceScore;
use crate::stats::GmmStats;

pub(crate) use pass::{ChunkOut, Want};

enum Kind<T> {
    Diag {
        /// (2D+1)×K8 row-major natural parameters (K8 = K rounded up to a multiple of 8, zero
        /// columns after K).
        w: Vec<f64>,
        /// The f32 whitening kernel with its log-normalisers and centre, when T is f32 and the
        /// kernel set has SIMD kernels (then `w` is not used).
        fast: Option<(DiagWhitening, Vec<f64>, Vec<f64>)>,
    },
    Full {
        /// (D+1)×(K·D) row-major.
        w: Vec<T>,
        log_norm: Vec<f64>,
        center: Vec<f64>,
        /// The triangular f32 kernel's packing, when T is f32 and the kernel set has SIMD
        /// kernels (then `w` is not used).
        tri: Option<Whitening>,
    },
}

/// A GMM prepared once for scoring and accumulation: whitening factors or natural parameters
/// packed for the kernels, block sizes, and the [`KernelSet`] chosen when it was built (the
/// planner step: nothing is detected per call). `T` is the element type of the features: f32
/// (the E-step in f32 on the SIMD sets, the rest in f64) or f64 (everything in f64).
///
/// Build it once per model and reuse it for every utterance: [`Gmm::log_likelihoods`] and
/// friends build one per call, which costs the whitening of every component (K Cholesky-factor
/// packings) each time. `Prepared` is `Send + Sync`: share one across rayon workers.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm, GmmStats, Prepared};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![0.5, 0.5], array![[0.0], [4.0]], array![[1.0], [1.0]])?);
/// let prep = Prepared::<f32>::new(&gmm);
/// println!("scoring with the {} kernels", prep.kernel_set());
/// // Many utterances, one preparation (e.g. per class in a classifier).
/// for utt in [array![[0.1f32], [3.9]], array![[4.2f32]]] {
///     let score = prep.score(utt.view())?;
///     assert_eq!(score, gmm.score(utt.view())?);
/// }
/// // Statistics through the same prepared model.
/// let mut stats = GmmStats::for_model(&gmm);
/// prep.accumulate(&mut stats, array![[0.0f32], [4.0]].view(), None)?;
/// assert_eq!(stats.num_frames(), 2.0);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub struct Prepared<T: Elem = f32> {
    k: usize,
    d: usize,
    cov: CovarianceType,
    block: usize,
    chunk: usize,
    kernels: Kernels,
    kind: Kind<T>,
}

fn block_size(work_per_frame: usize) -> usize {
    (262_144 / work_per_frame.max(1)).clamp(16, 2048)
}

fn chunk_for(block: usize) -> usize {
    block * (4096 / block).max(1)
}

impl<T: Elem> Prepared<T> {
    /// The model prepared with [`KernelSet::best`].
    pub fn new(gmm: &Gmm) -> Self {
        Self::with_kernels(gmm, Kernels::best())
    }

    /// The model prepared with a given kernel set (e.g. to compare sets, or
    /// [`KernelSet::Portable`] for the plain-Rust path).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when this CPU lacks the set's instructions
    /// ([`KernelSet::is_supported`]).
    pub fn with_kernel_set(gmm: &Gmm, set: KernelSet) -> Result<Self> {
        let ks = Kernels::new(set).ok_or_else(|| Error::InvalidOption {
            option: "kernels",
            value: set.to_string(),
            reason: "this CPU lacks the kernel set's instructions (see KernelSet::best)",
        })?;
        Ok(Self::with_kernels(gmm, ks))
    }

    pub(crate) fn with_kernels(gmm: &Gmm, ks: Kernels) -> Self {
        match gmm {
            Gmm::Diag(g) => Self::diag(g, ks),
            Gmm::Full(g) => Self::full(g, ks),
        }
    }

    /// The kernel set this model runs.
    pub fn kernel_set(&self) -> KernelSet {
        self.kernels.set()
    }

    /// Number of components K.
    pub fn num_gauss(&self) -> usize {
        self.k
    }

    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Diagonal or full covariance.
    pub fn covariance_type(&self) -> CovarianceType {
        self.cov
    }

    pub(crate) fn diag(g: &DiagGmm, ks: Kernels) -> Self {
        let (k, d) = (g.num_gauss(), g.dim());
        let cols = 2 * d + 1;
        let k8 = k.next_multiple_of(8);
        let mut w = vec![0.0; cols * k8];
        let gc = g.gconsts();
        for c in 0..k {
            for i in 0..d {
                let iv = g.inv_vars()[[c, i]];
                w[i * k8 + c] = g.means()[[c, i]] * iv;
                w[(d + i) * k8 + c] = -0.5 * iv;
            }
            w[2 * d * k8 + c] = gc[c];
        }
        let fast = (T::IS_F32 && ks.has_whitening()).then(|| {
            let center = weighted_center(g.weights(), g.means());
            let kernel = DiagWhitening::new(
                k,
                d,
                |c, i| g.means()[[c, i]] - center[i],
                |c, i| g.inv_vars()[[c, i]].sqrt(),
            );
            (kernel, g.log_norm().to_vec(), center)
        });
        let block = block_size(k * cols).next_multiple_of(4);
        Self {
            k,
            d,
            cov: CovarianceType::Diag,
            block,
            chunk: chunk_for(block),
            kernels: ks,
            kind: Kind::Diag { w, fast },
        }
    }

    pub(crate) fn full(g: &FullGmm, ks: Kernels) -> Self {
        let (k, d) = (g.num_gauss(), g.dim());
        let center = weighted_center(g.weights(), g.means());
        let kd = k * d;
        let u = g.precisions_cholesky();
        let mut offs = vec![0.0f64; kd];
        for c in 0..k {
            for j in 0..d {
                let mut off = 0.0;
                for i in 0..d {
                    off -= (g.means()[[c, i]] - center[i]) * u[[c, i, j]];
                }
                offs[c * d + j] = off;
            }
        }
        let tri = (T::IS_F32 && ks.has_whitening())
            .then(|| Whitening::new(k, d, |c, i, j| u[[c, i, j]], |c, j| offs[c * d + j]));
        let mut w = Vec::new();
        if tri.is_none() {
            w = vec![T::from_f64(0.0); (d + 1) * kd];
            for c in 0..k {
                for j in 0..d {
                    for i in 0..d {
                        w[i * kd + c * d + j] = T::from_f64(u[[c, i, j]]);
                    }
                    w[d * kd + c * d + j] = T::from_f64(offs[c * d + j]);
                }
            }
        }
        // The f32 kernel's buffers per frame: [x, 1] in f64 (M-step), the centred frame twice in
        // f32 (rows, transposed), the K log-likelihoods: a block of them stays in L2 (≈ 192 KB)
        // while every component's M-step passes over it. (The dense GEMM path sizes its block
        // by the B×K·D product instead.) Block sizes change no result: see `pass`.
        let block = if tri.is_some() {
            (196_608 / (8 * (syrk_cols(d) + d.next_multiple_of(8) + k)))
                .clamp(whiten::TILE, 2048)
                .next_multiple_of(whiten::TILE)
        } else {
            block_size(k * d)
        };
        Self {
            k,
            d,
            cov: CovarianceType::Full,
            block,
            chunk: chunk_for(block),
            kernels: ks,
            kind: Kind::Full {
                w,
                log_norm: g.log_norm().to_vec(),
                center,
                tri,
            },
        }
    }

    /// Length of a chunk accumulator.
    fn acc_len(&self) -> usize {
        match self.kind {
            Kind::Diag { .. } => self.k.next_multiple_of(8) * diag_cols(self.d),
            Kind::Full { .. } => self.k * syrk_cols(self.d) * syrk_cols(self.d),
        }
    }

    fn check_feats(&self, x: ArrayView2<'_, T>) -> Result<()> {
        if x.ncols() != self.d {
            return Err(Error::DimensionMismatch {
                what: "feature dimension vs model dimension",
                expected: self.d,
                got: x.ncols(),
            });
        }
        Ok(())
    }

    /// Log-likelihood ln p(x_t) of every frame (frames × D).
    ///
    /// # Errors
    /// A dimension mismatch, or a non-finite feature (naming its frame and dimension).
    pub fn log_likelihoods(&self, feats: ArrayView2<'_, T>) -> Result<Array1<f64>> {
        let mut out = Vec::with_capacity(feats.nrows());
        self.run_all(feats, None, Want::FrameLl, |c| {
            out.extend_from_slice(&c.frame_ll);
            Ok(())
        })?;
        Ok(Array1::from(out))
    }

    /// Total and average log-likelihood of an utterance (as [`Gmm::score`]).
    ///
    /// # Errors
    /// As [`Self::log_likelihoods`].
    pub fn score(&self, feats: ArrayView2<'_, T>) -> Result<UtteranceScore> {
        Ok(UtteranceScore::from_frames(&self.log_likelihoods(feats)?))
    }

    /// Per-component weighted log-likelihoods ln w_k + ln N(x_t; μ_k, Σ_k) (frames × K), in f64
    /// (with `Prepared<f64>` every step is f64: what an HMM's emissions need).
    ///
    /// ```
    /// use cepstra_gmm::{DiagGmm, Gmm, Prepared};
    /// use ndarray::array;
    /// let gmm = Gmm::from(DiagGmm::new(array![0.25, 0.75], array![[0.0], [2.0]], array![[1.0], [1.0]])?);
    /// let prep = Prepared::<f64>::new(&gmm);
    /// let ll = prep.component_log_likelihoods(array![[0.0f64], [2.0]].view())?;
    /// assert_eq!(ll.dim(), (2, 2));
    /// let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    /// assert!((ll[[0, 0]] - (0.25f64.ln() - half_ln_2pi)).abs() < 1e-12);
    /// # Ok::<(), cepstra_gmm::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Self::log_likelihoods`].
    pub fn component_log_likelihoods(&self, feats: ArrayView2<'_, T>) -> Result<Array2<f64>> {
        let mut out = Vec::with_capacity(feats.nrows() * self.k);
        self.run_all(feats, None, Want::CompLl, |c| {
            out.extend_from_slice(&c.per_comp);
            Ok(())
        })?;
        Ok(Array2::from_shape_vec((feats.nrows(), self.k), out).expect("shape by construction"))
    }

    /// Component posteriors (frames × K, rows sum to 1) and frame log-likelihoods.
    ///
    /// # Errors
    /// As [`Self::log_likelihoods`].
    pub fn posteriors(&self, feats: ArrayView2<'_, T>) -> Result<(Array2<f64>, Array1<f64>)> {
        let mut post = Vec::with_capacity(feats.nrows() * self.k);
        let mut ll = Vec::with_capacity(feats.nrows());
        self.run_all(feats, None, Want::Posteriors, |c| {
            post.extend_from_slice(&c.per_comp);
            ll.extend_from_slice(&c.frame_ll);
            Ok(())
        })?;
        Ok((
            Array2::from_shape_vec((feats.nrows(), self.k), post).expect("shape by construction"),
            Array1::from(ll),
        ))
    }

    /// Adds the statistics of `feats` under this model to `stats` (each frame weighted by
    /// `weights` when given, Kaldi's `--weights`); returns the total (weighted) log-likelihood.
    /// The same as [`GmmStats::accumulate`] without preparing the model again.
    ///
    /// # Errors
    /// Statistics of another shape, a dimension mismatch, a negative or non-finite weight, a
    /// non-finite feature.
    pub fn accumulate(
        &self,
        stats: &mut GmmStats,
        feats: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
    ) -> Result<f64> {
        stats.check_shape(self.k, self.d, self.cov)?;
        let mut total = 0.0;
        self.run_all(feats, weights, Want::Stats, |out| {
            total += out.loglike;
            out.add_to(self, stats);
            Ok(())
        })?;
        Ok(total)
    }

    /// Runs the pass over all frames in parallel (fixed chunks), handing the chunk outputs to
    /// `consume` in chunk order.
    pub(crate) fn run_all(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        want: Want,
        mut consume: impl FnMut(ChunkOut) -> Result<()>,
    ) -> Result<()> {
        let n = x.nrows();
        if let Some(w) = weights {
            check_frame_weights(w, n)?;
        }
        self.check_feats(x)?;
        crate::sched::par_chunks_ordered(
            n,
            self.chunk,
            |lo, hi| {
                let xs = x.slice(ndarray::s![lo..hi, ..]);
                let ws = weights.as_ref().map(|w| w.slice(ndarray::s![lo..hi]));
                self.run_chunk(xs, ws, lo, want)
            },
            &mut consume,
        )
    }
}

/// The f32 whitening E-step of a prepared model, for a scorer that loads a block of frames once
/// for several models ([`crate::score::PreparedSet`]): the kernel, the kernel set, the
/// log-normalisers and the centre the kernel's frames are taken from (x − centre, in f32).
pub(crate) struct WhiteningStep<'a> {
    pub kernels: Kernels,
    pub kernel: WhiteningKernel<'a>,
    pub log_norm: &'a [f64],
    pub center: &'a [f64],
}

/// The full- or diagonal-covariance whitening kernel of a [`WhiteningStep`].
pub(crate) enum WhiteningKernel<'a> {
    Full(&'a Whitening),
    Diag(&'a DiagWhitening),
}

impl<T: Elem> Prepared<T> {
    /// This model's E-step when it is the f32 whitening (f32 features, a SIMD kernel set):
    /// what [`Prepared::log_likelihoods`] runs on each loaded block.
    pub(crate) fn whitening_step(&self) -> Option<WhiteningStep<'_>> {
        let (kernel, log_norm, center) = match &self.kind {
            Kind::Full {
                tri: Some(t),
                log_norm,
                center,
                ..
            } => (WhiteningKernel::Full(t), log_norm, center),
            Kind::Diag {
                fast: Some((t, log_norm, center)),
                ..
            } => (WhiteningKernel::Diag(t), log_norm, center),
            _ => return None,
        };
        Some(WhiteningStep {
            kernels: self.kernels,
            kernel,
            log_norm,
            center,
        })
    }
}

/// Frame weights: one per frame, finite and ≥ 0.
fn check_frame_weights(w: ArrayView1<'_, f32>, n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::DimensionMismatch {
            what: "number of frame weights vs frames",
            expected: n,
            got: w.len(),
        });
    }
    if let Some((i, v)) = w
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(Error::NonFinite {
            frame: i,
            dim: 0,
            value: *v as f64,
        });
    }
    Ok(())
}

/// The weighted mean of a model's means: the f32 kernels work on x − centre, which keeps the
/// products small.
fn weighted_center(weights: ArrayView1<'_, f64>, means: ArrayView2<'_, f64>) -> Vec<f64> {
    let wsum: f64 = weights.sum();
    (0..means.ncols())
        .map(|i| {
            (0..means.nrows())
                .map(|c| weights[c] * means[[c, i]])
                .sum::<f64>()
                / wsum
        })
        .collect()
}

#[cfg(test)]
mod tests;
