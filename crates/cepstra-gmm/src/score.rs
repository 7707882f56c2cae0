//! Scoring: per-frame log-likelihood, per-utterance total and average, posteriors, BIC and AIC.
//! All in the log domain through the Cholesky factors (full) or natural parameters in f64 (diag),
//! with a log-sum-exp over components.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::engine::{Prepared, WhiteningKernel, WhiteningStep};
use crate::error::{Error, Result};
use crate::kernels::exp::exp_shifted;
use crate::kernels::whiten::{transpose_frames, TILE};
use crate::kernels::{KernelSet, Kernels};
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

/// Several models prepared once for scoring the same frames (e.g. one GMM per class of a
/// classifier): each block of frames is checked, copied and transposed once for all of them,
/// and every model's E-step runs on it while it is in cache, instead of each model streaming
/// all the frames through its own load step.
///
/// The frame log-likelihoods are those of each model's [`Prepared::log_likelihoods`], bit for
/// bit, and so are the errors: the same kernels on the same values (each model's centred f32
/// frames, x − centre rounded once) in the same order, the same log-sum-exp. Models whose E-step
/// is not the f32 whitening (the portable kernel set) are scored by their own
/// [`Prepared::log_likelihoods`]. `Send + Sync`; blocks run in parallel on rayon's pool, with
/// the same bits for any thread count.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm, PreparedSet};
/// use ndarray::array;
/// let a = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let b = Gmm::from(DiagGmm::new(array![1.0], array![[3.0]], array![[2.0]])?);
/// let set = PreparedSet::new([&a, &b]);
/// let x = array![[0.5f32], [2.5], [3.0]];
/// let ll = set.log_likelihoods(x.view())?;
/// assert_eq!(ll[1], b.log_likelihoods(x.view())?);
/// // Per-utterance totals: utterance u is rows bounds[u]..bounds[u + 1].
/// let totals = set.utterance_totals(x.view(), &[0, 1, 3])?;
/// assert_eq!(totals[0][1], a.score(x.slice(ndarray::s![1..3, ..]))?.total);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub struct PreparedSet {
    models: Vec<Prepared<f32>>,
}

/// Frames per loaded block: the transposed frames (twice, raw and centred: 2·D·B f32) and a
/// model's B×K log-likelihoods stay in L2 while every model runs on them.
const SET_BLOCK: usize = 512;
/// Frames per parallel task (a multiple of `SET_BLOCK`).
const SET_CHUNK: usize = 8 * SET_BLOCK;

/// The scratch buffers of a [`PreparedSet`] pass (per thread, grown on demand).
#[derive(Default)]
struct SetScratch {
    /// Rows of the block, padded to a multiple of 8 columns.
    xs: Vec<f32>,
    /// The block transposed (D rows of `stride`), then centred per model.
    xr: Vec<f32>,
    xc: Vec<f32>,
    /// A model's B×K component log-likelihoods, then their exponentials.
    ll: Vec<f64>,
    /// Each frame's largest component log-likelihood.
    mx: Vec<f64>,
}

thread_local! {
    static SET_SCRATCH: std::cell::RefCell<SetScratch> = std::cell::RefCell::new(SetScratch::default());
}

fn grown<E: Copy + Default>(v: &mut Vec<E>, len: usize) -> &mut [E] {
    if v.len() < len {
        v.resize(len, E::default());
    }
    &mut v[..len]
}

impl PreparedSet {
    /// Prepares every model (with [`KernelSet::best`]).
    pub fn new<'a>(models: impl IntoIterator<Item = &'a Gmm>) -> Self {
        Self::from_prepared(models.into_iter().map(Prepared::new).collect())
    }

    /// From models already prepared.
    pub fn from_prepared(models: Vec<Prepared<f32>>) -> Self {
        Self { models }
    }

    /// The prepared models, in order.
    pub fn models(&self) -> &[Prepared<f32>] {
        &self.models
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether there are no models.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The whitening steps of all models when they can share loaded blocks: every model has
    /// one, with the same kernel set and dimension.
    fn steps(&self) -> Option<Vec<WhiteningStep<'_>>> {
        let steps: Vec<WhiteningStep<'_>> = self
            .models
            .iter()
            .map(|m| m.whitening_step())
            .collect::<Option<_>>()?;
        let first = steps.first()?;
        let (ks, d) = (first.kernels.set(), self.models[0].dim());
        let same =
            steps.iter().all(|s| s.kernels.set() == ks) && self.models.iter().all(|m| m.dim() == d);
        same.then_some(steps)
    }

    /// Log-likelihood ln p(x_t) of every frame under every model: `out[m]` is
    /// `self.models()[m].log_likelihoods(feats)`, bit for bit.
    ///
    /// # Errors
    /// As [`Prepared::log_likelihoods`] (a dimension mismatch, a non-finite feature naming its
    /// frame and dimension), the first model's error.
    pub fn log_likelihoods(&self, feats: ArrayView2<'_, f32>) -> Result<Vec<Array1<f64>>> {
        let Some(steps) = self.steps() else {
            return self
                .models
                .iter()
                .map(|m| m.log_likelihoods(feats))
                .collect();
        };
        self.fused(&steps, &Frames::new(&[feats]))
    }

    /// The frame log-likelihoods of `x` under every model through the shared loaded blocks.
    fn fused(&self, steps: &[WhiteningStep<'_>], x: &Frames<'_, '_>) -> Result<Vec<Array1<f64>>> {
        let d = self.models[0].dim();
        if let Some(p) = x.parts.iter().find(|p| p.ncols() != d) {
            return Err(Error::DimensionMismatch {
                what: "feature dimension vs model dimension",
                expected: d,
                got: p.ncols(),
            });
        }
        let n = x.nrows();
        let mut out: Vec<Vec<f64>> = (0..self.models.len())
            .map(|_| Vec::with_capacity(n))
            .collect();
        crate::sched::par_chunks_ordered(
            n,
            SET_CHUNK,
            |lo, hi| self.chunk(steps, x, lo, hi),
            |c| {
                let len = c.len() / out.len().max(1);
                for (o, part) in out.iter_mut().zip(c.chunks_exact(len.max(1))) {
                    o.extend_from_slice(part);
                }
                Ok(())
            },
        )?;
        Ok(out.into_iter().map(Array1::from).collect())
    }

    /// The total log-likelihood of several utterances under every model, their frames stacked
    /// in `feats`, utterance u in rows `bounds[u]..bounds[u + 1]`: `out[m][u]` is
    /// [`Gmm::score`]'s total of that utterance under model m, bit for bit.
    ///
    /// # Errors
    /// As [`PreparedSet::log_likelihoods`] (frame numbers within `feats`).
    ///
    /// # Panics
    /// If `bounds` is not increasing or goes past the frames.
    pub fn utterance_totals(
        &self,
        feats: ArrayView2<'_, f32>,
        bounds: &[usize],
    ) -> Result<Vec<Vec<f64>>> {
        let ll = self.log_likelihoods(feats)?;
        Ok(totals(&ll, bounds))
    }

    /// As [`PreparedSet::utterance_totals`] with each utterance's frames where they are (no
    /// stacked copy): `out[m][u]` is [`Gmm::score`]'s total of `utts[u]` under model m.
    ///
    /// # Errors
    /// As [`PreparedSet::log_likelihoods`], frame numbers counted over the utterances in order.
    pub fn utterance_totals_of(&self, utts: &[ArrayView2<'_, f32>]) -> Result<Vec<Vec<f64>>> {
        let x = Frames::new(utts);
        let ll = match self.steps() {
            Some(steps) => self.fused(&steps, &x)?,
            None => {
                let d = self.models.first().map_or(0, |m| m.dim());
                if let Some(u) = utts.iter().find(|u| u.ncols() != d) {
                    return Err(self.log_likelihoods(*u).err().unwrap_or(
                        Error::DimensionMismatch {
                            what: "feature dimension vs model dimension",
                            expected: d,
                            got: u.ncols(),
                        },
                    ));
                }
                let stacked = ndarray::concatenate(ndarray::Axis(0), utts)
                    .expect("the utterances have one dimension");
                self.log_likelihoods(stacked.view())?
            }
        };
        Ok(totals(&ll, &x.starts))
    }
}

/// Per model, the sums of the frame log-likelihoods of rows `bounds[u]..bounds[u + 1]` (the
/// same sum as [`Gmm::score`]'s: ndarray's over the contiguous slice).
fn totals(ll: &[Array1<f64>], bounds: &[usize]) -> Vec<Vec<f64>> {
    ll.iter()
        .map(|l| {
            bounds
                .windows(2)
                .map(|w| l.slice(ndarray::s![w[0]..w[1]]).sum())
                .collect()
        })
        .collect()
}

/// Frames in several matrices, numbered in order (utterance u's rows start at `starts[u]`).
struct Frames<'p, 'a> {
    parts: &'p [ArrayView2<'a, f32>],
    /// parts.len() + 1 row offsets.
    starts: Vec<usize>,
}

impl<'p, 'a> Frames<'p, 'a> {
    fn new(parts: &'p [ArrayView2<'a, f32>]) -> Self {
        let mut starts = Vec::with_capacity(parts.len() + 1);
        starts.push(0);
        for p in parts {
            starts.push(starts[starts.len() - 1] + p.nrows());
        }
        Self { parts, starts }
    }
    fn nrows(&self) -> usize {
        self.starts[self.parts.len()]
    }
    /// The part holding frame `i` and the frame's row in it.
    fn locate(&self, i: usize) -> (usize, usize) {
        let p = self.starts.partition_point(|&s| s <= i) - 1;
        (p, i - self.starts[p])
    }
}

impl PreparedSet {
    /// One parallel task: the frame log-likelihoods of `x` (frame numbers from `base`) under
    /// every model, model-major (model m's in `[m·n, (m + 1)·n)`).
    fn chunk(
        &self,
        steps: &[WhiteningStep<'_>],
        x: &Frames<'_, '_>,
        lo: usize,
        hi: usize,
    ) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.models.len() * (hi - lo)];
        SET_SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            match steps[0].kernels.set() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
                KernelSet::Avx512 => unsafe { self.chunk_avx512(steps, x, lo, hi, s, &mut out) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above (AVX2, FMA).
                KernelSet::Avx2Fma => unsafe { self.chunk_avx2(steps, x, lo, hi, s, &mut out) },
                _ => self.chunk_with(steps, x, lo, hi, s, &mut out),
            }
        })?;
        Ok(out)
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn chunk_avx512(
        &self,
        steps: &[WhiteningStep<'_>],
        x: &Frames<'_, '_>,
        lo: usize,
        hi: usize,
        s: &mut SetScratch,
        out: &mut [f64],
    ) -> Result<()> {
        self.chunk_with(steps, x, lo, hi, s, out)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn chunk_avx2(
        &self,
        steps: &[WhiteningStep<'_>],
        x: &Frames<'_, '_>,
        lo: usize,
        hi: usize,
        s: &mut SetScratch,
        out: &mut [f64],
    ) -> Result<()> {
        self.chunk_with(steps, x, lo, hi, s, out)
    }

    /// The steps of the engine's pass for frame log-likelihoods, the load shared: per block,
    /// the finiteness check and transpose once; per model, its centring (x − c, rounded once to
    /// f32, as the engine's load step), its kernel, and the log-sum-exp m + ln Σ e^(v − m) with
    /// the engine's exponentials and partial sums.
    #[inline(always)]
    fn chunk_with(
        &self,
        steps: &[WhiteningStep<'_>],
        x: &Frames<'_, '_>,
        base: usize,
        hi: usize,
        s: &mut SetScratch,
        out: &mut [f64],
    ) -> Result<()> {
        let (n, d) = (hi - base, self.models[0].dim());
        let ks = steps[0].kernels;
        let cpt = d.next_multiple_of(8);
        let kmax = self.models.iter().map(|m| m.num_gauss()).max().unwrap_or(0);
        let bmax = SET_BLOCK.min(n.max(1));
        let smax = bmax.next_multiple_of(TILE);
        let xs = grown(&mut s.xs, bmax * cpt);
        let xr = grown(&mut s.xr, cpt * smax);
        let xc = grown(&mut s.xc, cpt * smax);
        let llb = grown(&mut s.ll, bmax * kmax);
        let mx = grown(&mut s.mx, bmax);
        let mut row_buf = Vec::new();
        let mut r0 = 0;
        while r0 < n {
            let b = SET_BLOCK.min(n - r0);
            let stride = b.next_multiple_of(TILE);
            let (mut part, mut pr) = x.locate(base + r0);
            for bi in 0..b {
                while pr == x.parts[part].nrows() {
                    part += 1;
                    pr = 0;
                }
                let row = x.parts[part].row(pr);
                pr += 1;
                let row = match row.as_slice() {
                    Some(r) => r,
                    None => {
                        row_buf.clear();
                        row_buf.extend(row.iter().copied());
                        &row_buf[..]
                    }
                };
                if !row.iter().fold(true, |ok, v| ok & v.is_finite()) {
                    let (dim, &value) = row
                        .iter()
                        .enumerate()
                        .find(|(_, v)| !v.is_finite())
                        .expect("a non-finite value");
                    return Err(Error::NonFinite {
                        frame: base + r0 + bi,
                        dim,
                        value: value as f64,
                    });
                }
                let dst = &mut xs[bi * cpt..(bi + 1) * cpt];
                dst[..d].copy_from_slice(row);
                dst[d..].fill(0.0);
            }
            transpose_frames(ks, xs, cpt, b, xr, stride);
            for (mi, (st, model)) in steps.iter().zip(&self.models).enumerate() {
                let k = model.num_gauss();
                for (i, &c) in st.center.iter().enumerate().take(d) {
                    let src = &xr[i * stride..i * stride + b];
                    let dst = &mut xc[i * stride..(i + 1) * stride];
                    for (o, &v) in dst[..b].iter_mut().zip(src) {
                        *o = (v as f64 - c) as f32;
                    }
                    dst[b..].fill(0.0);
                }
                let ll = &mut llb[..b * k];
                match st.kernel {
                    WhiteningKernel::Full(t) => t.log_likes(ks, xc, stride, b, st.log_norm, ll, k),
                    WhiteningKernel::Diag(t) => t.log_likes(ks, xc, stride, b, st.log_norm, ll, k),
                }
                for (row, m) in ll.chunks_exact_mut(k).zip(mx.iter_mut()) {
                    let mut top = f64::NEG_INFINITY;
                    for &v in row.iter() {
                        top = if v > top { v } else { top };
                    }
                    for v in row.iter_mut() {
                        *v -= top;
                    }
                    *m = top;
                }
                // e^(v − m) of every value (already shifted: v − m − 0 is v − m).
                exp_shifted(ks, ll, 0.0);
                let o = &mut out[mi * n + r0..mi * n + r0 + b];
                for ((o, row), &m) in o.iter_mut().zip(ll.chunks_exact(k)).zip(mx.iter()) {
                    *o = m + exp_sum(row).ln();
                }
            }
            r0 += b;
        }
        Ok(())
    }
}

/// The sum of a row of exponentials in the order of the engine's `exp_shifted`: four partial
/// sums over chunks of 4, combined in pairs, then the rest one by one.
#[inline(always)]
fn exp_sum(row: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = row.chunks_exact(4);
    for c in &mut chunks {
        for j in 0..4 {
            acc[j] += c[j];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &e in chunks.remainder() {
        s += e;
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::CovarianceType;
    use ndarray::{Array1, Array2, Array3};

    fn val(a: usize, b: usize, m: usize) -> f64 {
        ((a * 31 + b * 17) % m) as f64 / m as f64 - 0.5
    }

    fn model(cov: CovarianceType, k: usize, d: usize, seed: usize) -> Gmm {
        let weights = Array1::from_iter((0..k).map(|c| 1.0 + c as f64));
        let weights = &weights / weights.sum();
        let means = Array2::from_shape_fn((k, d), |(c, i)| 3.0 * val(c + seed, i, 13));
        let covars = Array3::from_shape_fn((k, d, d), |(c, i, j)| {
            let off = if cov == CovarianceType::Full {
                0.005 * val(c + i + seed, j, 7)
            } else {
                0.0
            };
            if i == j {
                0.3 + 0.1 * (c as f64) + 0.01 * (i + seed) as f64
            } else {
                off * (i.min(j) % 3 == 0) as u8 as f64
            }
        });
        Gmm::from_params(cov, weights, means, covars).unwrap()
    }

    /// A set of models of mixed K, every kernel set this CPU has: the frame log-likelihoods,
    /// totals and errors of each model alone, bit for bit, for frame counts around the block
    /// and chunk sizes, and for 1 and 3 threads.
    #[test]
    fn prepared_set_equals_each_model() {
        let d = 39;
        let n_all = 2 * SET_CHUNK + SET_BLOCK + 37;
        let x = Array2::<f32>::from_shape_fn((n_all, d), |(f, i)| {
            (3.0 * val(f % 7, i, 13) + val(f, i, 101)) as f32
        });
        let mut sets = vec![KernelSet::Portable];
        sets.extend(
            KernelSet::ALL
                .into_iter()
                .filter(|s| *s != KernelSet::Portable && s.is_supported()),
        );
        for s in KernelSet::ALL {
            if !s.is_supported() {
                eprintln!(
                    "prepared_set_equals_each_model: kernel set {s} skipped: this CPU lacks it"
                );
            }
        }
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let gmms: Vec<Gmm> = [5, 1, 9, 4]
                .iter()
                .enumerate()
                .map(|(s, &k)| model(cov, k, d, s))
                .collect();
            for &ks in &sets {
                let prepared: Vec<Prepared<f32>> = gmms
                    .iter()
                    .map(|g| Prepared::with_kernel_set(g, ks).unwrap())
                    .collect();
                let set = PreparedSet::from_prepared(
                    gmms.iter()
                        .map(|g| Prepared::with_kernel_set(g, ks).unwrap())
                        .collect(),
                );
                for n in [0, 1, 31, SET_BLOCK + 1, SET_CHUNK + 3, n_all] {
                    let xs = x.slice(ndarray::s![..n, ..]);
                    for threads in [1, 3] {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()
                            .unwrap();
                        let got = pool.install(|| set.log_likelihoods(xs)).unwrap();
                        for (m, p) in prepared.iter().enumerate() {
                            let want = p.log_likelihoods(xs).unwrap();
                            assert!(
                                got[m]
                                    .iter()
                                    .zip(&want)
                                    .all(|(a, b)| a.to_bits() == b.to_bits())
                                    && got[m].len() == want.len(),
                                "{cov:?} {ks} n {n} model {m} threads {threads}"
                            );
                        }
                    }
                }
                let bounds = [0, 3, 3 + SET_BLOCK, 2 * SET_CHUNK, n_all];
                let totals = set.utterance_totals(x.view(), &bounds).unwrap();
                for (m, g) in gmms.iter().enumerate() {
                    for (u, w) in bounds.windows(2).enumerate() {
                        let want = g.score(x.slice(ndarray::s![w[0]..w[1], ..])).unwrap().total;
                        if ks == KernelSet::best() {
                            assert_eq!(
                                totals[m][u].to_bits(),
                                want.to_bits(),
                                "{cov:?} {ks} total {m} {u}"
                            );
                        }
                    }
                }
                // Frames left where they are: the same totals as stacked.
                let parts: Vec<ArrayView2<'_, f32>> = bounds
                    .windows(2)
                    .map(|w| x.slice(ndarray::s![w[0]..w[1], ..]))
                    .chain([x.slice(ndarray::s![..0, ..])])
                    .collect();
                let of = set.utterance_totals_of(&parts).unwrap();
                for (m, t) in totals.iter().enumerate() {
                    assert_eq!(&of[m][..t.len()], &t[..], "{cov:?} {ks} parts {m}");
                    assert_eq!(of[m][t.len()], 0.0);
                }
                // The same errors as a model alone.
                let mut bad = x.clone();
                bad[[SET_CHUNK + 5, 7]] = f32::NAN;
                bad[[SET_CHUNK + 9, 2]] = f32::INFINITY;
                let e = set.log_likelihoods(bad.view()).unwrap_err().to_string();
                assert_eq!(
                    e,
                    prepared[0]
                        .log_likelihoods(bad.view())
                        .unwrap_err()
                        .to_string()
                );
                let short = x.slice(ndarray::s![.., ..d - 1]);
                let e = set.log_likelihoods(short).unwrap_err().to_string();
                assert_eq!(
                    e,
                    prepared[0].log_likelihoods(short).unwrap_err().to_string()
                );
            }
        }
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync>() {}
        check::<PreparedSet>();
    }
}
