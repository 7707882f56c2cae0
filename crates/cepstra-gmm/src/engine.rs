//! The E-step and M-step kernels over fixed-size blocks of frames, rayon over fixed chunks of
//! blocks, per-chunk f64 accumulators summed in chunk order. Block and chunk boundaries depend only
//! on (K, D), never on the thread count, so results are bit-identical for any number of threads.
//!
//! Full covariance, per block X (B×D):
//! - E-step, f32 features on a CPU with AVX2+FMA: [`Whitening`] (`whiten.rs`), the triangular
//!   whitening z_k = U_kᵀ(x − μ_k) (U_k = L_k⁻ᵀ) and ‖z_k‖² of 16 frames at a time, skipping the
//!   zeros below U's diagonal and never storing z. Otherwise (f64 features, or no AVX2/FMA): one
//!   faer GEMM `[X−c, 1]·W` (B×(D+1) · (D+1)×(K·D)) where W stacks every U_k over the row
//!   −(μ_k−c)ᵀU_k, then the row sums of squares. Both work on x − c, c the weighted mean of the
//!   model's means (it keeps f32 products small); log-sum-exp in f64.
//! - M-step: per component, the frames with a non-zero posterior (posteriors below 2⁻⁵³ are 0),
//!   gathered by number into an f64 register-tiled kernel over the lower triangle of
//!   Σr·[x,1][x,1]ᵀ: Σr·xxᵀ, Σr·x and Σr in one (D+1)×(D+1) block.
//!
//! Diagonal covariance: E-step by [`DiagWhitening`] ((x − μ)/σ in f32, AVX2+FMA) or the f64 tile
//! GEMM `[X, X², 1]·[M/V; −½/V; g]` (natural parameters); M-step `Rᵀ·[X, X², 1]` (f64 tiles).

use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{DiagGmm, FullGmm, Gmm};
use crate::whiten::{self, DiagWhitening, Whitening};

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
    /// Whether this is f32 (the type of the AVX2 whitening kernel).
    const IS_F32: bool;
    /// Conversion from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Conversion to f64 (exact).
    fn to_f64(self) -> f64;
}
impl Elem for f32 {
    const IS_F32: bool = true;
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
    const IS_F32: bool = false;
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
pub(crate) fn vzeroupper() {
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
        /// (2D+1)×K8 row-major natural parameters (K8 = K rounded up to a multiple of 8, zero
        /// columns after K).
        w: Vec<f64>,
        /// The f32 whitening kernel with its log-normalisers and centre, when T is f32 and the
        /// CPU has AVX2 and FMA (then `w` is not used).
        fast: Option<(DiagWhitening, Vec<f64>, Vec<f64>)>,
    },
    Full {
        /// (D+1)×(K·D) row-major.
        w: Vec<T>,
        log_norm: Vec<f64>,
        center: Vec<f64>,
        /// The triangular f32 kernel's packing, when T is f32 and the CPU has AVX2 and FMA
        /// (then `w` is not used).
        tri: Option<Whitening>,
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
    /// The model prepared with the f32 AVX2 kernels when T is f32 and the CPU has AVX2 and FMA.
    pub fn new(gmm: &Gmm) -> Self {
        Self::with_kernels(gmm, Whitening::available())
    }

    /// `f32_kernels` false: the f64 tile GEMM (diagonal) or faer's GEMM (full) whatever T is
    /// (the portable path, also what f64 features use).
    pub fn with_kernels(gmm: &Gmm, f32_kernels: bool) -> Self {
        match gmm {
            Gmm::Diag(g) => Self::diag(g, f32_kernels),
            Gmm::Full(g) => Self::full(g, f32_kernels),
        }
    }

    /// A diagonal model ([`Self::with_kernels`]).
    pub fn diag(g: &DiagGmm, f32_kernels: bool) -> Self {
        let fast = T::IS_F32 && f32_kernels;
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
        let fast = fast.then(|| {
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
            block,
            chunk: chunk_for(block),
            kind: Kind::Diag { w, fast },
        }
    }

    /// A full-covariance model ([`Self::with_kernels`]).
    pub fn full(g: &FullGmm, f32_kernels: bool) -> Self {
        let fast = T::IS_F32 && f32_kernels;
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
        let tri =
            fast.then(|| Whitening::new(k, d, |c, i, j| u[[c, i, j]], |c, j| offs[c * d + j]));
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
        // by the B×K·D product instead.) Block sizes change no result: see `run_chunk`.
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
            block,
            chunk: chunk_for(block),
            kind: Kind::Full {
                w,
                log_norm: g.log_norm().to_vec(),
                center,
                tri,
            },
        }
    }
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
            Kind::Diag { .. } => self.k.next_multiple_of(8) * diag_cols(self.d),
            Kind::Full { .. } => self.k * syrk_cols(self.d) * syrk_cols(self.d),
        }
    }

    /// Runs the kernels over frames `x` (rows), frame numbers starting at `base`, block by
    /// block. The block size changes no bit of the result: a frame's log-likelihoods depend on
    /// the frame alone, and every accumulator element is one chain of FMAs over the frames in
    /// order (the kernels load and store the accumulators between blocks).
    pub fn run_chunk(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
    ) -> Result<ChunkOut> {
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let out = self.run_chunk_dispatch(x, weights, base, want, &mut scratch);
        SCRATCH.with(|s| *s.borrow_mut() = scratch);
        out
    }

    /// The chunk pass compiled for AVX2 when the CPU has it (the loading, log-sum-exp and
    /// M-step loops vectorise 4 or 8 wide instead of 2): no FMA contraction either way (Rust
    /// never fuses a multiply and an add on its own), so both versions give the same bits.
    fn run_chunk_dispatch(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        scratch: &mut Scratch,
    ) -> Result<ChunkOut> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.run_chunk_avx2(x, weights, base, want, scratch) };
            }
        }
        self.run_chunk_with(x, weights, base, want, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_chunk_avx2(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        scratch: &mut Scratch,
    ) -> Result<ChunkOut> {
        self.run_chunk_with(x, weights, base, want, scratch)
    }

    #[inline(always)]
    fn run_chunk_with(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        scratch: &mut Scratch,
    ) -> Result<ChunkOut> {
        let (k, d) = (self.k, self.d);
        let n = x.nrows();
        let stats = want == Want::Stats;
        let mut out = ChunkOut {
            loglike: 0.0,
            weight: 0.0,
            acc: if stats {
                take_acc(self.acc_len())
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
        if stats {
            // The M-step kernels accumulate.
            out.acc.iter_mut().for_each(|v| *v = 0.0);
        }
        let bmax = self.block.min(n.max(1));
        let cp = syrk_cols(d);
        let full = matches!(self.kind, Kind::Full { .. });
        // Row stride of ll; the diagonal kernels work on 8 components and 4 frames at a time.
        let (lk, bpad) = if full {
            (k, bmax)
        } else {
            (k.next_multiple_of(8), bmax.next_multiple_of(4))
        };
        let cd = diag_cols(d);
        let [b_ll, b_xr, b_xs, b_z, b_w, b_xt] = &mut scratch.bufs;
        // Scratch buffers (stale contents: every element used is written first).
        let ll: &mut [f64] = buf(b_ll, bpad * lk);
        let xr: &mut [f64] = match &self.kind {
            Kind::Diag { .. } => buf(b_xr, bpad * cd),
            Kind::Full { .. } if stats => buf(b_xr, bmax * cp),
            Kind::Full { .. } => &mut [][..],
        };
        let f32_kernel = match &self.kind {
            Kind::Full { tri, .. } => tri.is_some(),
            Kind::Diag { fast, .. } => fast.is_some(),
        };
        // Centred frames: for the triangular kernel rows of cpt floats, then transposed (frames
        // padded to its tile); for the dense GEMM rows [x − c, 1] and its product z.
        let cpt = d.next_multiple_of(8);
        let xt_stride = bmax.next_multiple_of(whiten::TILE);
        type Bufs<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [f32], &'a mut [f32]);
        let (xs, z, xsf, xt): Bufs<'_, T> = if f32_kernel {
            let (xsf, xt) = (buf(b_xs, bmax * cpt), buf(b_xt, cpt * xt_stride));
            (&mut [][..], &mut [][..], xsf, xt)
        } else if full {
            let (xs, z) = (buf(b_xs, bmax * (d + 1)), buf(b_z, bmax * k * d));
            (xs, z, &mut [][..], &mut [][..])
        } else {
            (&mut [][..], &mut [][..], &mut [][..], &mut [][..])
        };
        let wk: &mut [f64] = if full && stats {
            buf(b_w, SYRK_ROWS * cp)
        } else {
            &mut [][..]
        };
        let mut rows = [0u32; SYRK_ROWS];
        let mut r0 = 0;
        while r0 < n {
            let b = self.block.min(n - r0);
            let xb = x.slice(ndarray::s![r0..r0 + b, ..]);
            // 1. Load the block, check finiteness, compute component log-likelihoods.
            match &self.kind {
                Kind::Diag { w, fast } => {
                    // [x, x², 1, 0…] (cd columns), rows padded to a multiple of 4 with zeros;
                    // for the f32 kernel also the centred frames.
                    let bp = b.next_multiple_of(4);
                    let mut row_buf = Vec::new();
                    for (bi, row) in xb.outer_iter().enumerate() {
                        let row = row_slice(&row, &mut row_buf);
                        let dst = &mut xr[bi * cd..(bi + 1) * cd];
                        let (lin, rest) = dst.split_at_mut(d);
                        let mut finite = true;
                        for ((l, q), &v) in lin.iter_mut().zip(rest.iter_mut()).zip(row) {
                            let v = v.to_f64();
                            finite &= v.is_finite();
                            *l = v;
                            *q = v * v;
                        }
                        if !finite {
                            return Err(non_finite(row, base + r0 + bi));
                        }
                        dst[2 * d] = 1.0;
                        dst[2 * d + 1..].iter_mut().for_each(|v| *v = 0.0);
                        if let Some((_, _, center)) = fast {
                            load_centred(row, center, &mut xsf[bi * cpt..(bi + 1) * cpt]);
                        }
                    }
                    xr[b * cd..bp * cd].iter_mut().for_each(|v| *v = 0.0);
                    if let Some((kernel, log_norm, _)) = fast {
                        transpose_padded(xsf, cpt, b, xt, xt_stride, d);
                        kernel.log_likes(xt, xt_stride, b, log_norm, ll, lk);
                        // The M-step reads K8 columns: the padding components get 0.
                        for bi in 0..b {
                            ll[bi * lk + k..(bi + 1) * lk].fill(0.0);
                        }
                    } else {
                        // ll (bp×lk) = [x, x², 1]·W: tiles of 4 frames × 8 components.
                        tile_gemm(
                            TileOperands {
                                acc: &mut ll[..bp * lk],
                                ld: lk,
                                a: &xr[..bp * cd],
                                a_rs: 1,
                                a_cs: cd,
                                b: w,
                                b_rs: lk,
                                b_rows: None,
                                depth: 2 * d + 1,
                            },
                            true,
                            bp / 4,
                            |_| lk / 8,
                        );
                    }
                }
                Kind::Full {
                    w,
                    log_norm,
                    center,
                    tri,
                } => {
                    let cols = d + 1;
                    let mut row_buf = Vec::new();
                    for (bi, row) in xb.outer_iter().enumerate() {
                        let row = row_slice(&row, &mut row_buf);
                        // Branch-free (vectorised) loading; the finiteness check is one
                        // reduction per row, the offending element is looked up on failure.
                        let mut finite = true;
                        if tri.is_some() {
                            finite = load_centred(row, center, &mut xsf[bi * cpt..(bi + 1) * cpt]);
                        } else {
                            let ds = &mut xs[bi * cols..(bi + 1) * cols];
                            for ((dst, &v), &c) in ds[..d].iter_mut().zip(row).zip(center) {
                                let v = v.to_f64();
                                finite &= v.is_finite();
                                *dst = T::from_f64(v - c);
                            }
                            ds[d] = T::from_f64(1.0);
                        }
                        if !finite {
                            return Err(non_finite(row, base + r0 + bi));
                        }
                        if stats {
                            // [x, 1, 0…] padded to a multiple of 8 columns for the kernel.
                            let dr = &mut xr[bi * cp..(bi + 1) * cp];
                            for (dst, &v) in dr[..d].iter_mut().zip(row) {
                                *dst = v.to_f64();
                            }
                            dr[d] = 1.0;
                            dr[d + 1..].iter_mut().for_each(|v| *v = 0.0);
                        }
                    }
                    if let Some(tri) = tri {
                        transpose_padded(xsf, cpt, b, xt, xt_stride, d);
                        tri.log_likes(xt, xt_stride, b, log_norm, ll, lk);
                    } else {
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
            }
            if want == Want::CompLl {
                for bi in 0..b {
                    out.per_comp.extend_from_slice(&ll[bi * lk..bi * lk + k]);
                }
                r0 += b;
                continue;
            }
            // 2. log-sum-exp and posteriors (in place in ll).
            for bi in 0..b {
                let lrow = &mut ll[bi * lk..bi * lk + k];
                let m = lrow.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                // A posterior below 2⁻⁵³ (half an ulp of 1) is 0: see EXP_MIN.
                let s = exp_shifted(lrow, m);
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
                for bi in 0..b {
                    out.per_comp.extend_from_slice(&ll[bi * lk..bi * lk + k]);
                }
            }
            // 3. M-step statistics.
            if stats {
                match &self.kind {
                    Kind::Diag { .. } => {
                        // acc (K8×cd) += Rᵀ·[x, x², 1]: tiles of 4 components × 8 columns
                        // (ll's padding columns are 0: zero columns of W).
                        tile_gemm(
                            TileOperands {
                                acc: &mut out.acc,
                                ld: cd,
                                a: &ll[..b * lk],
                                a_rs: lk,
                                a_cs: 1,
                                b: &xr[..b * cd],
                                b_rs: cd,
                                b_rows: None,
                                depth: b,
                            },
                            false,
                            lk / 4,
                            |_| cd / 8,
                        );
                    }
                    Kind::Full { .. } => {
                        // Per component: the frames with a non-zero posterior, in groups of
                        // ≤ SYRK_ROWS, into the lower triangle of Σ r·[x,1][x,1]ᵀ.
                        // (The kernel gathers the frames' rows of xr by number.)
                        let cc = cp * cp;
                        let xb = &xr[..b * cp];
                        for c in 0..k {
                            let acc = &mut out.acc[c * cc..(c + 1) * cc];
                            let mut m = 0;
                            for bi in 0..b {
                                let r = ll[bi * lk + c];
                                if r == 0.0 {
                                    continue;
                                }
                                let xrow = &xb[bi * cp..(bi + 1) * cp];
                                for (wv, &v) in wk[m * cp..(m + 1) * cp].iter_mut().zip(xrow) {
                                    *wv = r * v;
                                }
                                rows[m] = bi as u32;
                                m += 1;
                                if m == SYRK_ROWS {
                                    syrk_lower(acc, &wk[..m * cp], xb, Some(&rows[..m]), cp);
                                    m = 0;
                                }
                            }
                            if m > 0 {
                                syrk_lower(acc, &wk[..m * cp], xb, Some(&rows[..m]), cp);
                            }
                        }
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
    // Up to 8 chunks per thread in flight between two ordered hand-overs: enough to keep the
    // threads busy past the uneven ends of a window, few enough to bound the chunk outputs held.
    let window = (rayon::current_num_threads().max(1) * 8).max(1);
    let mut c0 = 0;
    while c0 < nchunks {
        let c1 = (c0 + window).min(nchunks);
        if c1 - c0 == 1 {
            // One chunk: run it here rather than hand it to a pool thread and wait.
            consume(f(c0 * chunk, (c1 * chunk).min(n))?)?;
            c0 = c1;
            continue;
        }
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

/// The row as a slice (copied into `buf` when its elements are not contiguous).
fn row_slice<'a, T: Elem>(row: &'a ArrayView1<'_, T>, buf: &'a mut Vec<T>) -> &'a [T] {
    match row.as_slice() {
        Some(r) => r,
        None => {
            buf.clear();
            buf.extend(row.iter().copied());
            buf
        }
    }
}

/// dst = (row − centre) in f32, then zeros; returns whether every value of the row is finite.
#[inline(always)]
fn load_centred<T: Elem>(row: &[T], center: &[f64], dst: &mut [f32]) -> bool {
    let mut finite = true;
    let d = row.len();
    for ((o, &v), &c) in dst[..d].iter_mut().zip(row).zip(center) {
        let v = v.to_f64();
        finite &= v.is_finite();
        *o = (v - c) as f32;
    }
    dst[d..].fill(0.0);
    finite
}

/// The centred frames of a block (rows of `cols` floats) into the f32 kernels' transposed
/// layout, the padding frames of the last tile zeroed (their results are dropped).
fn transpose_padded(xs: &[f32], cols: usize, n: usize, xt: &mut [f32], stride: usize, d: usize) {
    whiten::transpose_frames(xs, cols, n, xt, stride);
    for i in 0..d {
        xt[i * stride + n..(i + 1) * stride].fill(0.0);
    }
}

/// The error for the first non-finite value of a frame.
#[cold]
fn non_finite<T: Elem>(row: &[T], frame: usize) -> Error {
    let (dim, value) = row
        .iter()
        .map(|v| v.to_f64())
        .enumerate()
        .find(|(_, v)| !v.is_finite())
        .unwrap_or((0, f64::NAN));
    Error::NonFinite { frame, dim, value }
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

/// Rows per call of [`syrk_lower`] (the frames and weighted frames stay in L1/L2 while every
/// tile of the triangle passes over them).
const SYRK_ROWS: usize = 96;

/// Columns of the augmented frames [x, 1] padded to a multiple of 8 (the kernel's tile width).
pub(crate) fn syrk_cols(d: usize) -> usize {
    (d + 1).next_multiple_of(8)
}

/// Columns of the diagonal-covariance frame rows [x, x², 1] padded to a multiple of 8.
pub(crate) fn diag_cols(d: usize) -> usize {
    (2 * d + 1).next_multiple_of(8)
}

/// acc (cp×cp, row-major) += Σ_b w_b·x_bᵀ on the tiles that cover the lower triangle (4 rows × 8
/// columns each; elements above the diagonal inside those tiles get values too and are ignored).
/// `w` and `x` hold the same number of rows of cp values. The M-step of a full-covariance
/// component: w_b = r_b·[x_b, 1], so the lower triangle is Σr·xxᵀ, Σr·x and Σr.
/// With `rows`, w_b pairs with row `rows[b]` of x (a gather: no copy of the frames).
fn syrk_lower(acc: &mut [f64], w: &[f64], x: &[f64], rows: Option<&[u32]>, cp: usize) {
    let depth = w.len() / cp;
    assert!(cp % 8 == 0 && w.len() % cp == 0 && x.len() % cp == 0);
    assert!(rows.map_or(w.len() == x.len(), |r| r.len() == depth));
    tile_gemm(
        TileOperands {
            acc,
            ld: cp,
            a: w,
            a_rs: cp,
            a_cs: 1,
            b: x,
            b_rs: cp,
            b_rows: rows,
            depth,
        },
        false,
        cp / 4,
        |ig| (4 * ig + 3) / 8 + 1,
    );
}

/// Operands of [`tile_gemm`]: acc[i·ld + c] (+)= Σ_{r<depth} a[r·a_rs + i·a_cs]·b[row(r)·b_rs + c]
/// with row(r) = b_rows[r], or r when `b_rows` is `None`.
struct TileOperands<'a> {
    acc: &'a mut [f64],
    ld: usize,
    a: &'a [f64],
    a_rs: usize,
    a_cs: usize,
    b: &'a [f64],
    b_rs: usize,
    /// The rows of b to use, in order (a gather), or all rows from 0.
    b_rows: Option<&'a [u32]>,
    depth: usize,
}

impl TileOperands<'_> {
    /// Offset in b of row r.
    #[inline(always)]
    fn b_off(&self, r: usize) -> usize {
        match self.b_rows {
            Some(rows) => rows[r] as usize * self.b_rs,
            None => r * self.b_rs,
        }
    }
}

/// A small f64 GEMM over register tiles of 4 rows (i) × 8 columns (c): tiles ig < n_ig, and for
/// each ig the column tiles jg < jg_end(ig) (a triangle or a rectangle). `replace`: the tiles
/// start from 0 instead of acc. Summation over r in order, one FMA chain per element: the result
/// does not depend on the thread count. AVX2+FMA kernel when available, else the same loops in
/// portable code (separate multiply and add: the last bits can differ between machines).
///
/// # Panics
/// If an index of a tile falls outside a slice.
fn tile_gemm(t: TileOperands<'_>, replace: bool, n_ig: usize, jg_end: impl Fn(usize) -> usize) {
    if n_ig == 0 || t.depth == 0 && !replace {
        return;
    }
    let max_jg = (0..n_ig).map(&jg_end).max().unwrap_or(0);
    if max_jg == 0 {
        return;
    }
    assert!((4 * n_ig - 1) * t.ld + 8 * max_jg <= t.acc.len());
    if t.depth > 0 {
        assert!((t.depth - 1) * t.a_rs + (4 * n_ig - 1) * t.a_cs < t.a.len());
        match t.b_rows {
            Some(rows) => {
                assert!(rows.len() >= t.depth);
                let last = rows[..t.depth].iter().max().map_or(0, |&r| r as usize);
                assert!(last * t.b_rs + 8 * max_jg <= t.b.len());
            }
            None => assert!((t.depth - 1) * t.b_rs + 8 * max_jg <= t.b.len()),
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA are available (checked above); every index is in bounds
            // (asserted above).
            unsafe { tile_gemm_avx2(t, replace, n_ig, jg_end) };
            return;
        }
    }
    tile_gemm_body(t, replace, n_ig, jg_end);
}

fn tile_gemm_body(
    t: TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
) {
    for ig in 0..n_ig {
        for jg in 0..jg_end(ig) {
            let mut tile = [[0.0f64; 8]; 4];
            if !replace {
                for (ii, row) in tile.iter_mut().enumerate() {
                    row.copy_from_slice(&t.acc[(4 * ig + ii) * t.ld + 8 * jg..][..8]);
                }
            }
            for r in 0..t.depth {
                let bv = &t.b[t.b_off(r) + 8 * jg..][..8];
                for (ii, row) in tile.iter_mut().enumerate() {
                    let av = t.a[r * t.a_rs + (4 * ig + ii) * t.a_cs];
                    for (acc, &bx) in row.iter_mut().zip(bv) {
                        *acc += av * bx;
                    }
                }
            }
            for (ii, row) in tile.iter().enumerate() {
                t.acc[(4 * ig + ii) * t.ld + 8 * jg..][..8].copy_from_slice(row);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn tile_gemm_avx2(
    mut t: TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
) {
    let b_rs = t.b_rs;
    match t.b_rows {
        // SAFETY (both): the caller checked every row offset against b.
        Some(rows) => tile_gemm_avx2_rows(&mut t, replace, n_ig, jg_end, |r| {
            *rows.get_unchecked(r) as usize * b_rs
        }),
        None => tile_gemm_avx2_rows(&mut t, replace, n_ig, jg_end, |r| r * b_rs),
    }
}

/// [`tile_gemm_avx2`] with row r of b at offset `b_off(r)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn tile_gemm_avx2_rows(
    t: &mut TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
    b_off: impl Fn(usize) -> usize,
) {
    use core::arch::x86_64::*;
    let (ap, wp, xp) = (t.acc.as_mut_ptr(), t.a.as_ptr(), t.b.as_ptr());
    let (ld, a_rs, a_cs) = (t.ld, t.a_rs, t.a_cs);
    for ig in 0..n_ig {
        for jg in 0..jg_end(ig) {
            let a0 = ap.add(4 * ig * ld + 8 * jg);
            let (a1, a2, a3) = (a0.add(ld), a0.add(2 * ld), a0.add(3 * ld));
            let ld2 = |p: *mut f64| {
                if replace {
                    (_mm256_setzero_pd(), _mm256_setzero_pd())
                } else {
                    (_mm256_loadu_pd(p), _mm256_loadu_pd(p.add(4)))
                }
            };
            let (mut c00, mut c01) = ld2(a0);
            let (mut c10, mut c11) = ld2(a1);
            let (mut c20, mut c21) = ld2(a2);
            let (mut c30, mut c31) = ld2(a3);
            let xb0 = xp.add(8 * jg);
            let mut wb = wp.add(4 * ig * a_cs);
            for r in 0..t.depth {
                let xb = xb0.add(b_off(r));
                let x0 = _mm256_loadu_pd(xb);
                let x1 = _mm256_loadu_pd(xb.add(4));
                let w0 = _mm256_broadcast_sd(&*wb);
                c00 = _mm256_fmadd_pd(w0, x0, c00);
                c01 = _mm256_fmadd_pd(w0, x1, c01);
                let w1 = _mm256_broadcast_sd(&*wb.add(a_cs));
                c10 = _mm256_fmadd_pd(w1, x0, c10);
                c11 = _mm256_fmadd_pd(w1, x1, c11);
                let w2 = _mm256_broadcast_sd(&*wb.add(2 * a_cs));
                c20 = _mm256_fmadd_pd(w2, x0, c20);
                c21 = _mm256_fmadd_pd(w2, x1, c21);
                let w3 = _mm256_broadcast_sd(&*wb.add(3 * a_cs));
                c30 = _mm256_fmadd_pd(w3, x0, c30);
                c31 = _mm256_fmadd_pd(w3, x1, c31);
                wb = wb.add(a_rs);
            }
            _mm256_storeu_pd(a0, c00);
            _mm256_storeu_pd(a0.add(4), c01);
            _mm256_storeu_pd(a1, c10);
            _mm256_storeu_pd(a1.add(4), c11);
            _mm256_storeu_pd(a2, c20);
            _mm256_storeu_pd(a2.add(4), c21);
            _mm256_storeu_pd(a3, c30);
            _mm256_storeu_pd(a3.add(4), c31);
        }
    }
}

/// Per-thread scratch buffers of [`Prepared::run_chunk`] (reused across calls: no allocation,
/// zeroing or page faults per chunk). Stored as u64 words, viewed as f32 or f64.
#[derive(Default)]
pub(crate) struct Scratch {
    bufs: [Vec<u64>; 6],
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Pool of chunk accumulators (handed to the consumer, given back with [`recycle_acc`]).
static ACC_POOL: std::sync::Mutex<Vec<Vec<f64>>> = std::sync::Mutex::new(Vec::new());

fn take_acc(len: usize) -> Vec<f64> {
    let v = ACC_POOL.lock().ok().and_then(|mut p| p.pop());
    match v {
        // Zeroed or overwritten by the caller before use.
        Some(mut v) => {
            v.resize(len, 0.0);
            v.truncate(len);
            v
        }
        None => vec![0.0; len],
    }
}

/// Gives a chunk accumulator back to the pool.
pub(crate) fn recycle_acc(v: Vec<f64>) {
    if let Ok(mut p) = ACC_POOL.lock() {
        if p.len() < 16 {
            p.push(v);
        }
    }
}

/// `len` elements of type E (f32 or f64) from a word buffer, growing it when needed.
fn buf<E: Elem>(v: &mut Vec<u64>, len: usize) -> &mut [E] {
    assert!(
        std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>()
            || std::any::TypeId::of::<E>() == std::any::TypeId::of::<f64>()
    );
    let words = (len * std::mem::size_of::<E>()).div_ceil(8);
    if v.len() < words {
        v.resize(words, 0);
    }
    // SAFETY: E is f32 or f64 (asserted): align ≤ 8, every bit pattern valid, and the buffer
    // holds at least len·size_of::<E>() bytes.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<E>(), len) }
}

/// exp(v − m) for every v of the row in place (0 where v − m ≤ [`EXP_MIN`]), returning their sum.
#[inline]
fn exp_shifted(row: &mut [f64], m: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { exp_shifted_avx2(row, m) };
        }
    }
    exp_shifted_body(row, m)
}

/// AVX2 version of [`exp_shifted_body`]: the same operations, four lanes at a time, the same
/// four partial sums (bit-identical results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_shifted_avx2(row: &mut [f64], m: f64) -> f64 {
    // SAFETY: AVX2 and FMA are enabled (the caller checked); loads and stores stay within row.
    unsafe { exp_avx2_body(row, m) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn exp_avx2_body(row: &mut [f64], m: f64) -> f64 {
    use core::arch::x86_64::*;
    let n4 = row.len() / 4 * 4;
    let mv = _mm256_set1_pd(m);
    let lim = _mm256_set1_pd(EXP_MIN);
    let log2e = _mm256_set1_pd(std::f64::consts::LOG2_E);
    let shift = _mm256_set1_pd(EXP_SHIFT);
    let ln2_hi = _mm256_set1_pd(LN2_HI);
    let ln2_lo = _mm256_set1_pd(LN2_LO);
    let bias = _mm256_set1_epi64x((1023u64 << 52) as i64);
    let exp4 = |t: __m256d| {
        let keep = _mm256_cmp_pd::<_CMP_GT_OQ>(t, lim);
        let tc = _mm256_and_pd(t, keep);
        let kf = _mm256_add_pd(_mm256_mul_pd(tc, log2e), shift);
        let n = _mm256_sub_pd(kf, shift);
        let r = _mm256_sub_pd(
            _mm256_sub_pd(tc, _mm256_mul_pd(n, ln2_hi)),
            _mm256_mul_pd(n, ln2_lo),
        );
        let p = exp_poly(
            r,
            |a, b| _mm256_mul_pd(a, b),
            |a, b, c| _mm256_fmadd_pd(a, b, c),
            |v| _mm256_set1_pd(v),
        );
        let two_n = _mm256_castsi256_pd(_mm256_add_epi64(
            _mm256_slli_epi64::<52>(_mm256_castpd_si256(kf)),
            bias,
        ));
        _mm256_and_pd(_mm256_mul_pd(p, two_n), keep)
    };
    let mut acc = _mm256_setzero_pd();
    let ptr = row.as_mut_ptr();
    let mut i = 0;
    // Two independent vectors per step; the sums are added in element order, as in the
    // portable version.
    while i + 8 <= n4 {
        let e0 = exp4(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i)), mv));
        let e1 = exp4(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i + 4)), mv));
        _mm256_storeu_pd(ptr.add(i), e0);
        _mm256_storeu_pd(ptr.add(i + 4), e1);
        acc = _mm256_add_pd(_mm256_add_pd(acc, e0), e1);
        i += 8;
    }
    while i < n4 {
        let e = exp4(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i)), mv));
        _mm256_storeu_pd(ptr.add(i), e);
        acc = _mm256_add_pd(acc, e);
        i += 4;
    }
    let mut a = [0.0f64; 4];
    _mm256_storeu_pd(a.as_mut_ptr(), acc);
    let mut s = (a[0] + a[1]) + (a[2] + a[3]);
    if n4 < row.len() {
        // The last 1–3 values through the vector path too (padding lanes give 0), then added
        // one by one as in the portable version.
        let rest = &mut row[n4..];
        let mut t = [f64::NEG_INFINITY; 4];
        t[..rest.len()].copy_from_slice(rest);
        _mm256_storeu_pd(
            t.as_mut_ptr(),
            exp4(_mm256_sub_pd(_mm256_loadu_pd(t.as_ptr()), mv)),
        );
        for (v, &e) in rest.iter_mut().zip(&t) {
            *v = e;
            s += e;
        }
    }
    s
}

/// Portable version of [`exp_shifted_avx2`] (same arithmetic, same four partial sums).
#[inline(always)]
fn exp_shifted_body(row: &mut [f64], m: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = row.chunks_exact_mut(4);
    for c in &mut chunks {
        for j in 0..4 {
            let e = exp_nonpos(c[j] - m);
            c[j] = e;
            acc[j] += e;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for v in chunks.into_remainder() {
        let e = exp_nonpos(*v - m);
        *v = e;
        s += e;
    }
    s
}

/// ln 2⁻⁵³: a component whose weighted likelihood is below 2⁻⁵³ times the frame's largest gets
/// posterior 0, i.e. every posterior under half an ulp of 1 is dropped. Such a term changes the
/// frame's log-likelihood by less than K·2⁻⁵³ relative, and its share of a component's
/// statistics is below the f64 rounding of any component that owns one frame; dropping it lets
/// the full-covariance M-step skip the frame (on the TI-digits coursework classes, K = 5, the
/// frames skipped per component go from 32 % with a cut at e⁻⁶⁴ to 54 %).
const EXP_MIN: f64 = -53.0 * std::f64::consts::LN_2;
const EXP_SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
/// ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 leading bits (n·LN2_HI is exact): fdlibm's split.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1/j!, j = 0..=13: the Taylor coefficients of e^r.
const EXP_TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// Σ_{j≤13} r^j/j! by Estrin's scheme (pairs, then r², r⁴, r⁸: a dependency chain of 4 FMAs
/// instead of Horner's 13), for a scalar or a vector type: `fma(a, b, c)` = a·b + c rounded once.
/// One definition for both, so the AVX2 lanes and the portable code give the same bits.
#[inline(always)]
fn exp_poly<V: Copy>(
    r: V,
    mul: impl Fn(V, V) -> V,
    fma: impl Fn(V, V, V) -> V,
    splat: impl Fn(f64) -> V,
) -> V {
    let q = |j: usize| fma(splat(EXP_TAYLOR[j + 1]), r, splat(EXP_TAYLOR[j]));
    let r2 = mul(r, r);
    let r4 = mul(r2, r2);
    let r8 = mul(r4, r4);
    let s0 = fma(q(2), r2, q(0));
    let s1 = fma(q(6), r2, q(4));
    let s2 = fma(q(10), r2, q(8));
    let t0 = fma(s1, r4, s0);
    let t1 = fma(q(12), r4, s2);
    fma(t1, r8, t0)
}

/// e^t for t ≤ 0 (0 for t ≤ [`EXP_MIN`] or NaN), branch-free: t = n·ln2 + r with |r| ≤ ½ln2, e^r by
/// its degree-13 Taylor polynomial ([`exp_poly`]; truncation < 1e-17), 2ⁿ from the exponent
/// bits. Relative error ≲ 2e-16 (a few ulps). `f64::mul_add` rounds once on every machine (in
/// software where the CPU has no FMA), so the result is the same everywhere.
#[inline(always)]
fn exp_nonpos(t: f64) -> f64 {
    let keep = t > EXP_MIN;
    let tc = if keep { t } else { 0.0 };
    let kf = tc * std::f64::consts::LOG2_E + EXP_SHIFT;
    let n = kf - EXP_SHIFT;
    let r = (tc - n * LN2_HI) - n * LN2_LO;
    let p = exp_poly(r, |a, b| a * b, f64::mul_add, |v| v);
    // The low bits of kf hold n (two's complement); shifted into the exponent field with the
    // bias: the bits of 2ⁿ (n ∈ [−93, 0], a normal number).
    let two_n = f64::from_bits((kf.to_bits() << 52).wrapping_add(1023u64 << 52));
    if keep {
        p * two_n
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 kernels (triangular whitening, diagonal whitening) against the portable GEMM
    /// path on the same frames: per-frame log-likelihoods and statistics.
    #[test]
    fn f32_kernels_match_portable_path() {
        use crate::model::Gmm;
        use crate::CovarianceType;
        use ndarray::{Array1, Array2, Array3};
        if !Whitening::available() {
            return;
        }
        let (k, d, n) = (6usize, 39usize, 3001usize);
        let val = |a: usize, b: usize, m: usize| ((a * 31 + b * 17) % m) as f64 / m as f64 - 0.5;
        let x = Array2::<f32>::from_shape_fn((n, d), |(f, i)| {
            (3.0 * val(f % 7, i, 13) + val(f, i, 101)) as f32
        });
        let weights = Array1::from_iter((0..k).map(|c| 1.0 + c as f64));
        let weights = &weights / weights.sum();
        let means = Array2::from_shape_fn((k, d), |(c, i)| 3.0 * val(c, i, 13));
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let covars = Array3::from_shape_fn((k, d, d), |(c, i, j)| {
                let off = if cov == CovarianceType::Full {
                    0.005 * val(c + i, j, 7)
                } else {
                    0.0
                };
                if i == j {
                    0.3 + 0.1 * (c as f64) + 0.01 * i as f64
                } else {
                    off * (i.min(j) % 3 == 0) as u8 as f64
                }
            });
            let g = Gmm::from_params(cov, weights.clone(), means.clone(), covars).unwrap();
            let fast = Prepared::<f32>::with_kernels(&g, true);
            let portable = Prepared::<f32>::with_kernels(&g, false);
            for want in [Want::CompLl, Want::Stats] {
                let a = fast.run_chunk(x.view(), None, 0, want).unwrap();
                let b = portable.run_chunk(x.view(), None, 0, want).unwrap();
                let close = |u: &[f64], v: &[f64], tol: f64| {
                    assert_eq!(u.len(), v.len());
                    let scale = v.iter().fold(1.0f64, |m, y| m.max(y.abs()));
                    let worst = u
                        .iter()
                        .zip(v)
                        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
                    assert!(
                        worst <= tol * scale,
                        "{cov:?} {:?}: {worst:e} of {scale:e}",
                        want as u8
                    );
                };
                close(&a.per_comp, &b.per_comp, 1e-6);
                close(&a.acc, &b.acc, 1e-6);
                assert!((a.loglike - b.loglike).abs() <= 1e-6 * b.loglike.abs());
            }
        }
    }

    #[test]
    fn exp_matches_libm() {
        let mut worst = 0.0f64;
        let mut t = EXP_MIN + 1e-9;
        while t <= 0.0 {
            let rel = (exp_nonpos(t) - t.exp()).abs() / t.exp();
            worst = worst.max(rel);
            t += 0.001_37;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_nonpos(EXP_MIN), 0.0);
        assert!(exp_nonpos(EXP_MIN + 1e-9) > 0.0);
        assert_eq!(exp_nonpos(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(f64::NAN), 0.0);
        assert_eq!(exp_nonpos(0.0), 1.0);
    }

    #[test]
    fn exp_row_paths_agree() {
        let row: Vec<f64> = (0..67).map(|i| -(i as f64) * 1.01 + 3.0).collect();
        let mut a = row.clone();
        let mut b = row.clone();
        let sa = exp_shifted(&mut a, 3.0);
        let sb = exp_shifted_body(&mut b, 3.0);
        assert_eq!(sa.to_bits(), sb.to_bits());
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn syrk_kernel_matches_naive_lower_triangle() {
        for (d, rows) in [(3usize, 5usize), (39, 77), (15, SYRK_ROWS)] {
            let cp = syrk_cols(d);
            let xk: Vec<f64> = (0..rows * cp)
                .map(|i| {
                    if i % cp <= d {
                        ((i * 37) % 19) as f64 / 7.0 - 1.3
                    } else {
                        0.0
                    }
                })
                .collect();
            let wk: Vec<f64> = xk
                .iter()
                .enumerate()
                .map(|(i, v)| v * (0.1 + (i / cp) as f64 * 0.01))
                .collect();
            let mut acc = vec![0.5; cp * cp];
            let mut acc_portable = acc.clone();
            syrk_lower(&mut acc, &wk, &xk, None, cp);
            tile_gemm_body(
                TileOperands {
                    acc: &mut acc_portable,
                    ld: cp,
                    a: &wk,
                    a_rs: cp,
                    a_cs: 1,
                    b: &xk,
                    b_rs: cp,
                    b_rows: None,
                    depth: rows,
                },
                false,
                cp / 4,
                |ig| (4 * ig + 3) / 8 + 1,
            );
            for i in 0..cp {
                for j in 0..=i {
                    let want: f64 = 0.5
                        + (0..rows)
                            .map(|b| wk[b * cp + i] * xk[b * cp + j])
                            .sum::<f64>();
                    for got in [acc[i * cp + j], acc_portable[i * cp + j]] {
                        assert!(
                            (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                            "d={d} ({i},{j}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tile_gemm_strided_rectangle_matches_naive() {
        // ll (8×16) = A·B with A(r, i) = a[i·11 + r] (frames as rows of 11 values), replace.
        let (rows_i, cols, depth, a_cs) = (8usize, 16usize, 9usize, 11usize);
        let a: Vec<f64> = (0..rows_i * a_cs)
            .map(|v| ((v * 13) % 7) as f64 - 2.5)
            .collect();
        let b: Vec<f64> = (0..depth * cols)
            .map(|v| ((v * 5) % 11) as f64 * 0.25)
            .collect();
        let mut acc = vec![99.0; rows_i * cols];
        fn ops<'a>(acc: &'a mut [f64], a: &'a [f64], b: &'a [f64]) -> TileOperands<'a> {
            TileOperands {
                acc,
                ld: 16,
                a,
                a_rs: 1,
                a_cs: 11,
                b,
                b_rs: 16,
                b_rows: None,
                depth: 9,
            }
        }
        tile_gemm(ops(&mut acc, &a, &b), true, rows_i / 4, |_| cols / 8);
        let mut portable = vec![99.0; rows_i * cols];
        tile_gemm_body(ops(&mut portable, &a, &b), true, rows_i / 4, |_| cols / 8);
        for i in 0..rows_i {
            for c in 0..cols {
                let want: f64 = (0..depth).map(|r| a[i * a_cs + r] * b[r * cols + c]).sum();
                for got in [acc[i * cols + c], portable[i * cols + c]] {
                    assert!((got - want).abs() < 1e-12, "({i},{c}): {got} vs {want}");
                }
            }
        }
    }
}
