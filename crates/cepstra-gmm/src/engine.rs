//! The E-step and M-step kernels: GEMMs over fixed-size blocks of frames (faer, single-threaded
//! per block), rayon over fixed chunks of blocks, per-chunk f64 accumulators summed in chunk order.
//! Block and chunk boundaries depend only on (K, D), never on the thread count, so results are
//! bit-identical for any number of threads.
//!
//! Full covariance, per block X (B×D):
//! - E-step: one GEMM `[X−c, 1]·W` (B×(D+1) · (D+1)×(K·D)) where W stacks every component's
//!   U_k = L_k⁻ᵀ over the row −(μ_k−c)ᵀU_k: every whitened residual at once; then the row sums of
//!   squares, log-normalisers, log-sum-exp (f64). c is the weighted mean of the model's means
//!   (it keeps f32 products small). The GEMM runs in the feature type (f32 or f64).
//! - M-step: one f64 GEMM `[X, 1]ᵀ·[r_k∘[X, 1]]_k` ((D+1)×B · B×(K·(D+1))): for every component
//!   Σr·xxᵀ, Σr·x and Σr in one (D+1)×(D+1) block.
//!
//! Diagonal covariance: `[X, X², 1]·[M/V; −½/V; g]` (f64, natural parameters) for the E-step and
//! `Rᵀ·[X, X², 1]` for the M-step.

use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{DiagGmm, FullGmm, Gmm};

/// Element type of features and of the E-step GEMM.
pub trait Elem:
    faer::traits::ComplexField
    + Copy
    + Send
    + Sync
    + 'static
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
    /// Conversion from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Conversion to f64 (exact).
    fn to_f64(self) -> f64;
}
impl Elem for f32 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl Elem for f64 {
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// Clears the upper halves of the AVX registers after a faer call (faer's kernels leave them
/// dirty, which slows down the SSE/AVX-128 code that follows by 25–40 %: linalg.md §3).
#[inline]
fn vzeroupper() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            unsafe { vzeroupper_avx() }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn vzeroupper_avx() {
    core::arch::x86_64::_mm256_zeroupper();
}

#[inline]
fn gemm<T: Elem>(dst: MatMut<'_, T>, accum: Accum, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>) {
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::from_f64(1.0), Par::Seq);
    vzeroupper();
}

pub(crate) enum Kind<T> {
    Diag {
        /// (2D+1)×K row-major natural parameters.
        w: Vec<f64>,
    },
    Full {
        /// (D+1)×(K·D) row-major.
        w: Vec<T>,
        log_norm: Vec<f64>,
        center: Vec<f64>,
    },
}

/// A model prepared for block scoring in element type T.
pub(crate) struct Prepared<T> {
    pub k: usize,
    pub d: usize,
    pub block: usize,
    pub chunk: usize,
    kind: Kind<T>,
}

fn block_size(work_per_frame: usize) -> usize {
    (262_144 / work_per_frame.max(1)).clamp(16, 2048)
}

impl<T: Elem> Prepared<T> {
    pub fn new(gmm: &Gmm) -> Self {
        match gmm {
            Gmm::Diag(g) => Self::diag(g),
            Gmm::Full(g) => Self::full(g),
        }
    }

    pub fn diag(g: &DiagGmm) -> Self {
        let (k, d) = (g.num_gauss(), g.dim());
        let cols = 2 * d + 1;
        let mut w = vec![0.0; cols * k];
        let gc = g.gconsts();
        for c in 0..k {
            for i in 0..d {
                let iv = g.inv_vars()[[c, i]];
                w[i * k + c] = g.means()[[c, i]] * iv;
                w[(d + i) * k + c] = -0.5 * iv;
            }
            w[2 * d * k + c] = gc[c];
        }
        let block = block_size(k * cols);
        Self {
            k,
            d,
            block,
            chunk: chunk_for(block),
            kind: Kind::Diag { w },
        }
    }

    pub fn full(g: &FullGmm) -> Self {
        let (k, d) = (g.num_gauss(), g.dim());
        let wsum: f64 = g.weights().sum();
        let center: Vec<f64> = (0..d)
            .map(|i| {
                (0..k)
                    .map(|c| g.weights()[c] * g.means()[[c, i]])
                    .sum::<f64>()
                    / wsum
            })
            .collect();
        let kd = k * d;
        let mut w = vec![T::from_f64(0.0); (d + 1) * kd];
        let u = g.precisions_cholesky();
        for c in 0..k {
            for j in 0..d {
                let mut off = 0.0;
                for i in 0..d {
                    let uij = u[[c, i, j]];
                    w[i * kd + c * d + j] = T::from_f64(uij);
                    off -= (g.means()[[c, i]] - center[i]) * uij;
                }
                w[d * kd + c * d + j] = T::from_f64(off);
            }
        }
        let block = block_size(k * d);
        Self {
            k,
            d,
            block,
            chunk: chunk_for(block),
            kind: Kind::Full {
                w,
                log_norm: g.log_norm().to_vec(),
                center,
            },
        }
    }
}

fn chunk_for(block: usize) -> usize {
    block * (4096 / block).max(1)
}

/// What a chunk pass produces besides the total log-likelihood.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Sufficient statistics (accumulator layout of [`Prepared::acc_len`]).
    Stats,
    /// Per-frame log-likelihoods.
    FrameLl,
    /// Per-frame posteriors (B×K) and log-likelihoods.
    Posteriors,
    /// Per-frame per-component weighted log-likelihoods (B×K).
    CompLl,
}

/// The output of one chunk.
pub(crate) struct ChunkOut {
    pub loglike: f64,
    pub weight: f64,
    pub acc: Vec<f64>,
    pub frame_ll: Vec<f64>,
    pub per_comp: Vec<f64>,
}

impl<T: Elem> Prepared<T> {
    /// Length of a chunk accumulator.
    pub fn acc_len(&self) -> usize {
        match self.kind {
            Kind::Diag { .. } => self.k * (2 * self.d + 1),
            Kind::Full { .. } => (self.d + 1) * self.k * (self.d + 1),
        }
    }

    /// Runs the kernels over frames `x` (rows), frame numbers starting at `base`.
    pub fn run_chunk(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
    ) -> Result<ChunkOut> {
        let (k, d) = (self.k, self.d);
        let n = x.nrows();
        let mut out = ChunkOut {
            loglike: 0.0,
            weight: 0.0,
            acc: if want == Want::Stats {
                vec![0.0; self.acc_len()]
            } else {
                Vec::new()
            },
            frame_ll: if want != Want::Stats && want != Want::CompLl {
                Vec::with_capacity(n)
            } else {
                Vec::new()
            },
            per_comp: if want == Want::Posteriors || want == Want::CompLl {
                Vec::with_capacity(n * k)
            } else {
                Vec::new()
            },
        };
        let bmax = self.block.min(n.max(1));
        let mut ll = vec![0.0f64; bmax * k];
        // Scratch buffers.
        let (mut xr, mut xs, mut z, mut y);
        match &self.kind {
            Kind::Diag { .. } => {
                xr = vec![0.0f64; bmax * (2 * d + 1)];
                xs = Vec::new();
                z = Vec::new();
                y = Vec::new();
            }
            Kind::Full { .. } => {
                xr = vec![0.0f64; bmax * (d + 1)];
                xs = vec![T::from_f64(0.0); bmax * (d + 1)];
                z = vec![T::from_f64(0.0); bmax * k * d];
                y = if want == Want::Stats {
                    vec![0.0f64; bmax * k * (d + 1)]
                } else {
                    Vec::new()
                };
            }
        }
        let mut r0 = 0;
        while r0 < n {
            let b = self.block.min(n - r0);
            let xb = x.slice(ndarray::s![r0..r0 + b, ..]);
            // 1. Load the block, check finiteness, compute component log-likelihoods.
            match &self.kind {
                Kind::Diag { w } => {
                    let cols = 2 * d + 1;
                    for (bi, row) in xb.outer_iter().enumerate() {
                        let dst = &mut xr[bi * cols..(bi + 1) * cols];
                        for (i, &v) in row.iter().enumerate() {
                            let v = v.to_f64();
                            if !v.is_finite() {
                                return Err(Error::NonFinite {
                                    frame: base + r0 + bi,
                                    dim: i,
                                    value: v,
                                });
                            }
                            dst[i] = v;
                            dst[d + i] = v * v;
                        }
                        dst[2 * d] = 1.0;
                    }
                    gemm(
                        MatMut::from_row_major_slice_mut(&mut ll[..b * k], b, k),
                        Accum::Replace,
                        MatRef::from_row_major_slice(&xr[..b * cols], b, cols),
                        MatRef::from_row_major_slice(w, cols, k),
                    );
                }
                Kind::Full {
                    w,
                    log_norm,
                    center,
                } => {
                    let cols = d + 1;
                    for (bi, row) in xb.outer_iter().enumerate() {
                        let dr = &mut xr[bi * cols..(bi + 1) * cols];
                        let ds = &mut xs[bi * cols..(bi + 1) * cols];
                        for (i, &v) in row.iter().enumerate() {
                            let v = v.to_f64();
                            if !v.is_finite() {
                                return Err(Error::NonFinite {
                                    frame: base + r0 + bi,
                                    dim: i,
                                    value: v,
                                });
                            }
                            dr[i] = v;
                            ds[i] = T::from_f64(v - center[i]);
                        }
                        dr[d] = 1.0;
                        ds[d] = T::from_f64(1.0);
                    }
                    let kd = k * d;
                    gemm(
                        MatMut::from_row_major_slice_mut(&mut z[..b * kd], b, kd),
                        Accum::Replace,
                        MatRef::from_row_major_slice(&xs[..b * cols], b, cols),
                        MatRef::from_row_major_slice(w, cols, kd),
                    );
                    for bi in 0..b {
                        let zrow = &z[bi * kd..(bi + 1) * kd];
                        let lrow = &mut ll[bi * k..(bi + 1) * k];
                        for c in 0..k {
                            let ss = sum_sq(&zrow[c * d..(c + 1) * d]);
                            lrow[c] = log_norm[c] - 0.5 * ss;
                        }
                    }
                }
            }
            if want == Want::CompLl {
                out.per_comp.extend_from_slice(&ll[..b * k]);
                r0 += b;
                continue;
            }
            // 2. log-sum-exp and posteriors (in place in ll).
            for bi in 0..b {
                let lrow = &mut ll[bi * k..(bi + 1) * k];
                let m = lrow.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for v in lrow.iter_mut() {
                    // exp(−64) ≈ 1.6e-28: below that a posterior is 0 (and libm's slow underflow
                    // path is avoided).
                    let t = *v - m;
                    *v = if t > -64.0 { t.exp() } else { 0.0 };
                    s += *v;
                }
                let lse = m + s.ln();
                let fw = weights.map_or(1.0, |w| w[r0 + bi] as f64);
                let scale = fw / s;
                for v in lrow.iter_mut() {
                    *v *= scale;
                }
                out.loglike += fw * lse;
                out.weight += fw;
                if want != Want::Stats {
                    out.frame_ll.push(lse);
                }
            }
            if want == Want::Posteriors {
                out.per_comp.extend_from_slice(&ll[..b * k]);
            }
            // 3. M-step statistics.
            if want == Want::Stats {
                match &self.kind {
                    Kind::Diag { .. } => {
                        let cols = 2 * d + 1;
                        gemm(
                            MatMut::from_row_major_slice_mut(&mut out.acc, k, cols),
                            Accum::Add,
                            MatRef::from_row_major_slice(&ll[..b * k], b, k).transpose(),
                            MatRef::from_row_major_slice(&xr[..b * cols], b, cols),
                        );
                    }
                    Kind::Full { .. } => {
                        let cols = d + 1;
                        let yc = k * cols;
                        for bi in 0..b {
                            let xrow = &xr[bi * cols..(bi + 1) * cols];
                            let yrow = &mut y[bi * yc..(bi + 1) * yc];
                            for c in 0..k {
                                let r = ll[bi * k + c];
                                for (dst, &xv) in
                                    yrow[c * cols..(c + 1) * cols].iter_mut().zip(xrow)
                                {
                                    *dst = r * xv;
                                }
                            }
                        }
                        gemm(
                            MatMut::from_row_major_slice_mut(&mut out.acc, cols, yc),
                            Accum::Add,
                            MatRef::from_row_major_slice(&xr[..b * cols], b, cols).transpose(),
                            MatRef::from_row_major_slice(&y[..b * yc], b, yc),
                        );
                    }
                }
            }
            r0 += b;
        }
        Ok(out)
    }

    /// Runs [`Self::run_chunk`] over all frames in parallel (fixed chunks), handing the chunk
    /// outputs to `consume` in chunk order.
    pub fn run_all(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        want: Want,
        mut consume: impl FnMut(ChunkOut) -> Result<()>,
    ) -> Result<()> {
        let n = x.nrows();
        if let Some(w) = weights {
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
        }
        if x.ncols() != self.d {
            return Err(Error::DimensionMismatch {
                what: "feature dimension vs model dimension",
                expected: self.d,
                got: x.ncols(),
            });
        }
        par_chunks_ordered(
            n,
            self.chunk,
            |lo, hi| {
                let xs = x.slice_axis(Axis(0), (lo..hi).into());
                let ws = weights.as_ref().map(|w| w.slice(ndarray::s![lo..hi]));
                self.run_chunk(xs, ws, lo, want)
            },
            &mut consume,
        )
    }
}

/// Runs `f(lo, hi)` on fixed chunks [lo, hi) of `n` items in parallel (rayon), handing the
/// results to `consume` in chunk order: deterministic for any thread count.
pub(crate) fn par_chunks_ordered<R: Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, usize) -> Result<R> + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let chunk = chunk.max(1);
    let nchunks = n.div_ceil(chunk);
    let window = (rayon::current_num_threads().max(1) * 2).max(1);
    let mut c0 = 0;
    while c0 < nchunks {
        let c1 = (c0 + window).min(nchunks);
        let outs: Vec<Result<R>> = (c0..c1)
            .into_par_iter()
            .map(|c| f(c * chunk, ((c + 1) * chunk).min(n)))
            .collect();
        for o in outs {
            consume(o?)?;
        }
        c0 = c1;
    }
    Ok(())
}

#[inline]
fn sum_sq<T: Elem>(v: &[T]) -> f64 {
    // Four partial sums in the element type, combined in f64.
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let rem = chunks.remainder();
    let mut a = [T::from_f64(0.0); 4];
    for c in chunks {
        for j in 0..4 {
            a[j] += c[j] * c[j];
        }
    }
    for j in 0..4 {
        acc[j] = a[j].to_f64();
    }
    let mut s = acc[0] + acc[1] + acc[2] + acc[3];
    for &r in rem {
        s += (r * r).to_f64();
    }
    s
}
