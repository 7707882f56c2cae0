//! One chunk of the EM pass, block by block, in named steps: [`Prepared::load_block`] (frames
//! into the kernels' layouts, finiteness), [`Prepared::log_likelihoods_block`] (the E-step
//! kernels), [`posteriors_block`] (log-sum-exp) and [`Prepared::mstep_block`] (the statistics).
//! The chunk's accumulator is private to this module: [`ChunkOut::add_to`] adds it to
//! [`GmmStats`].
//!
//! The block size changes no bit of the result: a frame's log-likelihoods depend on the frame
//! alone, and every accumulator element is one chain of FMAs over the frames in order (the
//! kernels load and store the accumulators between blocks).

use faer::{Accum, MatMut, MatRef};
use ndarray::{ArrayView1, ArrayView2};

use super::pool::{self, grow, Scratch};
use super::{Kind, Prepared};
use crate::elem::Elem;
use crate::error::{Error, Result};
use crate::kernels::exp::exp_shifted;
use crate::kernels::tile::{diag_cols, syrk_cols, syrk_lower, tile_gemm, TileOperands, SYRK_ROWS};
use crate::kernels::whiten::{self, transpose_frames};
use crate::kernels::{gemm, KernelSet};
use crate::options::CovarianceType;
use crate::stats::{GmmStats, SecondOrder};

/// What a chunk pass produces besides the total log-likelihood.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Want {
    /// Sufficient statistics (the chunk's accumulator).
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
    /// Diagonal: K8 rows of [Σr·x, Σr·x², Σr, 0…] (`diag_cols(d)` columns); full: per
    /// component the lower triangle of Σr·[x,1][x,1]ᵀ (cp×cp, row-major, cp = `syrk_cols(d)`).
    pub(in crate::engine) acc: Vec<f64>,
    pub frame_ll: Vec<f64>,
    pub per_comp: Vec<f64>,
}

impl ChunkOut {
    /// Adds the chunk's statistics, frame count and log-likelihood to `stats` (of the model's
    /// shape) and gives the accumulator back to the pool.
    pub(crate) fn add_to<T: Elem>(self, prep: &Prepared<T>, stats: &mut GmmStats) {
        let (k, d) = (prep.k, prep.d);
        let (occ, first, second) = stats.parts_mut(self.loglike, self.weight);
        let acc = &self.acc;
        match second {
            SecondOrder::Diag(s) => {
                let cols = diag_cols(d);
                for c in 0..k {
                    let row = &acc[c * cols..(c + 1) * cols];
                    for i in 0..d {
                        first[[c, i]] += row[i];
                        s[[c, i]] += row[d + i];
                    }
                    occ[c] += row[2 * d];
                }
            }
            SecondOrder::Full(s) => {
                // Rows 0..d hold Σr·xxᵀ, row d holds Σr·xᵀ and Σr. Mirrored: exactly symmetric.
                let cp = syrk_cols(d);
                for c in 0..k {
                    let a = &acc[c * cp * cp..(c + 1) * cp * cp];
                    for i in 0..d {
                        for j in 0..=i {
                            let v = a[i * cp + j];
                            s[[c, i, j]] += v;
                            if j != i {
                                s[[c, j, i]] += v;
                            }
                        }
                        first[[c, i]] += a[d * cp + i];
                    }
                    occ[c] += a[d * cp + d];
                }
            }
        }
        pool::recycle_acc(self.acc);
    }
}

/// Views of the scratch buffers for one block (B ≤ `bmax` frames).
struct BlockBufs<'a, T> {
    /// Component log-likelihoods, then posteriors: rows of `lk` (K, or K8 for diagonal).
    ll: &'a mut [f64],
    lk: usize,
    /// M-step frame rows (`diag_cols` or `syrk_cols` wide), or empty.
    xr: &'a mut [f64],
    /// Dense full E-step: rows [x − c, 1] and their product with W.
    xs: &'a mut [T],
    z: &'a mut [T],
    /// Whitening kernels: centred frames (rows of `cpt`) and transposed (`xt_stride`).
    xsf: &'a mut [f32],
    xt: &'a mut [f32],
    cpt: usize,
    xt_stride: usize,
    /// Weighted frames of one SYRK call.
    wk: &'a mut [f64],
}

impl<T: Elem> Prepared<T> {
    /// Whether the f32 whitening kernels run the E-step.
    fn whitening(&self) -> bool {
        match &self.kind {
            Kind::Full { tri, .. } => tri.is_some(),
            Kind::Diag { fast, .. } => fast.is_some(),
        }
    }

    /// The scratch buffers of a pass over blocks of at most `bmax` frames.
    fn block_bufs<'a>(
        &self,
        s: &'a mut Scratch,
        bmax: usize,
        stats: bool,
        e_step: bool,
    ) -> BlockBufs<'a, T> {
        let (k, d) = (self.k, self.d);
        let full = self.cov == CovarianceType::Full;
        // The diagonal kernels work on 8 components and 4 frames at a time.
        let (lk, bpad) = if full {
            (k, bmax)
        } else {
            (k.next_multiple_of(8), bmax.next_multiple_of(4))
        };
        let cpt = d.next_multiple_of(8);
        let xt_stride = bmax.next_multiple_of(whiten::TILE);
        let fast = e_step && self.whitening();
        let [b_xs, b_z] = T::bufs(&mut s.elem);
        BlockBufs {
            ll: grow(&mut s.ll, bpad * lk),
            lk,
            xr: match (full, stats) {
                (false, _) => grow(&mut s.xr, bpad * diag_cols(d)),
                (true, true) => grow(&mut s.xr, bmax * syrk_cols(d)),
                (true, false) => &mut [],
            },
            xs: if full && e_step && !fast {
                grow(b_xs, bmax * (d + 1))
            } else {
                &mut []
            },
            z: if full && e_step && !fast {
                grow(b_z, bmax * k * d)
            } else {
                &mut []
            },
            xsf: if fast {
                grow(&mut s.xsf, bmax * cpt)
            } else {
                &mut []
            },
            xt: if fast {
                grow(&mut s.xt, cpt * xt_stride)
            } else {
                &mut []
            },
            cpt,
            xt_stride,
            wk: if full && stats {
                grow(&mut s.wk, SYRK_ROWS * syrk_cols(d))
            } else {
                &mut []
            },
        }
    }

    /// Runs the kernels over frames `x` (rows), frame numbers starting at `base`, block by
    /// block, with this model's kernel set: the loops of the pass are compiled for the set's
    /// instructions too (no FMA contraction either way: Rust never fuses a multiply and an add
    /// on its own, so the compiled loops give the same bits).
    pub(crate) fn run_chunk(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
    ) -> Result<ChunkOut> {
        pool::with_scratch(|s| match self.kernels.set() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
            KernelSet::Avx512 => unsafe { self.run_chunk_avx512(x, weights, base, want, s) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            KernelSet::Avx2Fma => unsafe { self.run_chunk_avx2(x, weights, base, want, s) },
            _ => self.run_chunk_with(x, weights, base, want, s),
        })
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_chunk_avx2(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        self.run_chunk_with(x, weights, base, want, s)
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn run_chunk_avx512(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        self.run_chunk_with(x, weights, base, want, s)
    }

    #[inline(always)]
    fn run_chunk_with(
        &self,
        x: ArrayView2<'_, T>,
        weights: Option<ArrayView1<'_, f32>>,
        base: usize,
        want: Want,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        let (k, n) = (self.k, x.nrows());
        let stats = want == Want::Stats;
        let mut out = ChunkOut {
            loglike: 0.0,
            weight: 0.0,
            acc: if stats {
                pool::take_acc(self.acc_len())
            } else {
                Vec::new()
            },
            frame_ll: if want == Want::FrameLl || want == Want::Posteriors {
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
        let mut bb = self.block_bufs(s, bmax, stats, true);
        let lk = bb.lk;
        let mut r0 = 0;
        while r0 < n {
            let b = self.block.min(n - r0);
            let xb = x.slice(ndarray::s![r0..r0 + b, ..]);
            self.load_block(xb, base + r0, stats, true, &mut bb)?;
            self.log_likelihoods_block(b, &mut bb);
            if want == Want::CompLl {
                for bi in 0..b {
                    out.per_comp.extend_from_slice(&bb.ll[bi * lk..bi * lk + k]);
                }
                r0 += b;
                continue;
            }
            let fw = weights.as_ref().map(|w| w.slice(ndarray::s![r0..r0 + b]));
            let keep_ll = want != Want::Stats;
            posteriors_block(self.kernels(), bb.ll, lk, k, b, fw, &mut out, keep_ll);
            if want == Want::Posteriors {
                for bi in 0..b {
                    out.per_comp.extend_from_slice(&bb.ll[bi * lk..bi * lk + k]);
                }
            }
            if stats {
                self.mstep_block(b, &mut bb, &mut out.acc);
            }
            r0 += b;
        }
        Ok(out)
    }

    fn kernels(&self) -> crate::kernels::Kernels {
        self.kernels
    }

    /// The steps are `#[inline(always)]`: each is compiled inside the kernel set's copy of the pass
    /// (`run_chunk_avx512` / `run_chunk_avx2`), so its loops vectorise for that set.
    ///
    /// Step 1: the block's frames into the kernels' layouts, checking finiteness: the M-step
    /// rows (`stats`, and always for diagonal models, whose E-step GEMM reads them too) and the
    /// E-step's (centred f32 frames for the whitening kernels, [x − c, 1] for the dense GEMM)
    /// when `e_step`.
    #[inline(always)]
    fn load_block(
        &self,
        xb: ArrayView2<'_, T>,
        first_frame: usize,
        stats: bool,
        e_step: bool,
        bb: &mut BlockBufs<'_, T>,
    ) -> Result<()> {
        let d = self.d;
        let b = xb.nrows();
        let mut row_buf = Vec::new();
        match &self.kind {
            Kind::Diag { fast, .. } => {
                // [x, x², 1, 0…] (cd columns), rows padded to a multiple of 4 with zeros; for
                // the f32 kernel also the centred frames.
                let cd = diag_cols(d);
                let cpt = bb.cpt;
                // The rows feed the M-step and the GEMM E-step; an E-step alone on the f32
                // kernel reads only the centred frames.
                let rows = stats || !e_step || fast.is_none();
                for (bi, row) in xb.outer_iter().enumerate() {
                    let row = row_slice(&row, &mut row_buf);
                    let mut finite = true;
                    if rows {
                        let dst = &mut bb.xr[bi * cd..(bi + 1) * cd];
                        let (lin, rest) = dst.split_at_mut(d);
                        for ((l, q), &v) in lin.iter_mut().zip(rest.iter_mut()).zip(row) {
                            let v = v.to_f64();
                            finite &= v.is_finite();
                            *l = v;
                            *q = v * v;
                        }
                        dst[2 * d] = 1.0;
                        dst[2 * d + 1..].iter_mut().for_each(|v| *v = 0.0);
                    }
                    if let (true, Some((_, _, center))) = (e_step, fast) {
                        finite &= load_centred(row, center, &mut bb.xsf[bi * cpt..(bi + 1) * cpt]);
                    }
                    if !finite {
                        return Err(non_finite(row, first_frame + bi));
                    }
                }
                if rows {
                    let bp = b.next_multiple_of(4);
                    bb.xr[b * cd..bp * cd].iter_mut().for_each(|v| *v = 0.0);
                }
            }
            Kind::Full { center, tri, .. } => {
                let (cols, cp, cpt) = (d + 1, syrk_cols(d), bb.cpt);
                for (bi, row) in xb.outer_iter().enumerate() {
                    let row = row_slice(&row, &mut row_buf);
                    // Branch-free (vectorised) loading; the finiteness check is one reduction
                    // per row, the offending element is looked up on failure.
                    let mut finite = true;
                    if !e_step {
                        finite = row.iter().all(|v| v.to_f64().is_finite());
                    } else if tri.is_some() {
                        finite = load_centred(row, center, &mut bb.xsf[bi * cpt..(bi + 1) * cpt]);
                    } else {
                        let ds = &mut bb.xs[bi * cols..(bi + 1) * cols];
                        for ((dst, &v), &c) in ds[..d].iter_mut().zip(row).zip(center) {
                            let v = v.to_f64();
                            finite &= v.is_finite();
                            *dst = T::from_f64(v - c);
                        }
                        ds[d] = T::from_f64(1.0);
                    }
                    if !finite {
                        return Err(non_finite(row, first_frame + bi));
                    }
                    if stats {
                        // [x, 1, 0…] padded to a multiple of 8 columns for the kernel.
                        let dr = &mut bb.xr[bi * cp..(bi + 1) * cp];
                        for (dst, &v) in dr[..d].iter_mut().zip(row) {
                            *dst = v.to_f64();
                        }
                        dr[d] = 1.0;
                        dr[d + 1..].iter_mut().for_each(|v| *v = 0.0);
                    }
                }
            }
        }
        Ok(())
    }

    /// Step 2: the weighted component log-likelihoods of the loaded block's b frames into ll
    /// (rows of lk; a diagonal model's padding components get 0).
    #[inline(always)]
    fn log_likelihoods_block(&self, b: usize, bb: &mut BlockBufs<'_, T>) {
        let (k, d, lk) = (self.k, self.d, bb.lk);
        let ks = self.kernels;
        match &self.kind {
            Kind::Diag { w, fast } => {
                let cd = diag_cols(d);
                if let Some((kernel, log_norm, _)) = fast {
                    transpose_padded(ks, bb.xsf, bb.cpt, b, bb.xt, bb.xt_stride, d);
                    kernel.log_likes(ks, bb.xt, bb.xt_stride, b, log_norm, bb.ll, lk);
                    // The M-step reads K8 columns: the padding components get 0.
                    for bi in 0..b {
                        bb.ll[bi * lk + k..(bi + 1) * lk].fill(0.0);
                    }
                } else {
                    // ll (bp×lk) = [x, x², 1]·W: tiles of 4 frames × 8 components.
                    let bp = b.next_multiple_of(4);
                    tile_gemm(
                        ks,
                        TileOperands {
                            acc: &mut bb.ll[..bp * lk],
                            ld: lk,
                            a: &bb.xr[..bp * cd],
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
                w, log_norm, tri, ..
            } => {
                if let Some(tri) = tri {
                    transpose_padded(ks, bb.xsf, bb.cpt, b, bb.xt, bb.xt_stride, d);
                    tri.log_likes(ks, bb.xt, bb.xt_stride, b, log_norm, bb.ll, lk);
                } else {
                    let (kd, cols) = (k * d, d + 1);
                    gemm(
                        MatMut::from_row_major_slice_mut(&mut bb.z[..b * kd], b, kd),
                        Accum::Replace,
                        MatRef::from_row_major_slice(&bb.xs[..b * cols], b, cols),
                        MatRef::from_row_major_slice(w, cols, kd),
                    );
                    for bi in 0..b {
                        let zrow = &bb.z[bi * kd..(bi + 1) * kd];
                        let lrow = &mut bb.ll[bi * k..(bi + 1) * k];
                        for c in 0..k {
                            let ss = sum_sq(&zrow[c * d..(c + 1) * d]);
                            lrow[c] = log_norm[c] - 0.5 * ss;
                        }
                    }
                }
            }
        }
    }

    /// Step 4: the M-step statistics of the block's b frames with the posteriors (or given
    /// weights) in ll, added to `acc`.
    #[inline(always)]
    fn mstep_block(&self, b: usize, bb: &mut BlockBufs<'_, T>, acc: &mut [f64]) {
        let (k, d, lk) = (self.k, self.d, bb.lk);
        let ks = self.kernels;
        match &self.kind {
            Kind::Diag { .. } => {
                // acc (K8×cd) += Rᵀ·[x, x², 1]: tiles of 4 components × 8 columns (ll's padding
                // columns are 0: zero rows of acc).
                let cd = diag_cols(d);
                tile_gemm(
                    ks,
                    TileOperands {
                        acc,
                        ld: cd,
                        a: &bb.ll[..b * lk],
                        a_rs: lk,
                        a_cs: 1,
                        b: &bb.xr[..b * cd],
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
                // Per component: the frames with a non-zero posterior, in groups of ≤ SYRK_ROWS,
                // into the lower triangle of Σ r·[x,1][x,1]ᵀ (the kernel gathers the frames'
                // rows of xr by number).
                let cp = syrk_cols(d);
                let cc = cp * cp;
                let xb = &bb.xr[..b * cp];
                let wk = &mut *bb.wk;
                let mut rows = [0u32; SYRK_ROWS];
                for c in 0..k {
                    let acc = &mut acc[c * cc..(c + 1) * cc];
                    let mut m = 0;
                    for bi in 0..b {
                        let r = bb.ll[bi * lk + c];
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
                            syrk_lower(ks, acc, &wk[..m * cp], xb, Some(&rows[..m]), cp);
                            m = 0;
                        }
                    }
                    if m > 0 {
                        syrk_lower(ks, acc, &wk[..m * cp], xb, Some(&rows[..m]), cp);
                    }
                }
            }
        }
    }

    /// The statistics of frames `x` with given per-frame per-component weights `post` (N×K,
    /// e.g. an HMM state's occupancies): the load and M-step steps of the pass, no E-step.
    pub(crate) fn accumulate_given(
        &self,
        x: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
        stats: &mut GmmStats,
    ) -> Result<()> {
        crate::sched::par_chunks_ordered(
            x.nrows(),
            self.chunk,
            |lo, hi| {
                let xs = x.slice(ndarray::s![lo..hi, ..]);
                let ps = post.slice(ndarray::s![lo..hi, ..]);
                pool::with_scratch(|s| match self.kernels.set() {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
                    KernelSet::Avx512 => unsafe { self.given_chunk_avx512(xs, ps, lo, s) },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: as above (AVX2, FMA).
                    KernelSet::Avx2Fma => unsafe { self.given_chunk_avx2(xs, ps, lo, s) },
                    _ => self.given_chunk(xs, ps, lo, s),
                })
            },
            |out| {
                out.add_to(self, stats);
                Ok(())
            },
        )
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn given_chunk_avx2(
        &self,
        x: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
        base: usize,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        self.given_chunk(x, post, base, s)
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn given_chunk_avx512(
        &self,
        x: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
        base: usize,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        self.given_chunk(x, post, base, s)
    }

    /// One chunk of [`Self::accumulate_given`]: steps 1 and 4 of the pass with the given
    /// weights in place of the posteriors (frame numbers from `base`).
    #[inline(always)]
    fn given_chunk(
        &self,
        x: ArrayView2<'_, T>,
        post: ArrayView2<'_, f64>,
        base: usize,
        s: &mut Scratch,
    ) -> Result<ChunkOut> {
        let (k, n) = (self.k, x.nrows());
        let mut out = ChunkOut {
            loglike: 0.0,
            weight: 0.0,
            acc: pool::take_acc(self.acc_len()),
            frame_ll: Vec::new(),
            per_comp: Vec::new(),
        };
        let bmax = self.block.min(n.max(1));
        let mut bb = self.block_bufs(s, bmax, true, false);
        let lk = bb.lk;
        let mut r0 = 0;
        while r0 < n {
            let b = self.block.min(n - r0);
            let xb = x.slice(ndarray::s![r0..r0 + b, ..]);
            self.load_block(xb, base + r0, true, false, &mut bb)?;
            for bi in 0..b {
                let row = &mut bb.ll[bi * lk..(bi + 1) * lk];
                let mut fw = 0.0;
                for c in 0..k {
                    let v = post[[r0 + bi, c]];
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(Error::NonFinite {
                            frame: base + r0 + bi,
                            dim: c,
                            value: v,
                        });
                    }
                    row[c] = v;
                    fw += v;
                }
                row[k..].fill(0.0);
                out.weight += fw;
            }
            self.mstep_block(b, &mut bb, &mut out.acc);
            r0 += b;
        }
        Ok(out)
    }
}

/// Step 3: log-sum-exp of each of the b rows of ll (K values, row stride lk), in place: the
/// posteriors times the frame weight; adds each frame's weighted log-likelihood to `out`
/// (and keeps it when `keep_ll`). A posterior below 2⁻⁵³ (half an ulp of 1) is 0: see
/// `kernels::exp::EXP_MIN`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn posteriors_block(
    ks: crate::kernels::Kernels,
    ll: &mut [f64],
    lk: usize,
    k: usize,
    b: usize,
    weights: Option<ArrayView1<'_, f32>>,
    out: &mut ChunkOut,
    keep_ll: bool,
) {
    for bi in 0..b {
        let lrow = &mut ll[bi * lk..bi * lk + k];
        let m = row_max(lrow);
        let s = exp_shifted(ks, lrow, m);
        let lse = m + s.ln();
        let fw = weights.map_or(1.0, |w| w[bi] as f64);
        let scale = fw / s;
        for v in lrow.iter_mut() {
            *v *= scale;
        }
        out.loglike += fw * lse;
        out.weight += fw;
        if keep_ll {
            out.frame_ll.push(lse);
        }
    }
}

/// The largest value of a row of finite or −∞ log-likelihoods (−∞ for an empty row): 8
/// independent maxima (vectorised), then combined. With no NaN, the maximum is the same value
/// whatever the order (a tie between −0 and +0 changes neither v − m nor m + ln s).
#[inline(always)]
fn row_max(v: &[f64]) -> f64 {
    let mut m8 = [f64::NEG_INFINITY; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (m, &x) in m8.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    let mut m = f64::NEG_INFINITY;
    for &x in m8.iter().chain(chunks.remainder()) {
        m = if x > m { x } else { m };
    }
    m
}

/// The row as a slice (copied into `buf` when its elements are not contiguous).
#[inline(always)]
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
fn transpose_padded(
    ks: crate::kernels::Kernels,
    xs: &[f32],
    cols: usize,
    n: usize,
    xt: &mut [f32],
    stride: usize,
    d: usize,
) {
    transpose_frames(ks, xs, cols, n, xt, stride);
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

#[inline(always)]
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
