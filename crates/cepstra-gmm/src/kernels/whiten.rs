//! The full-covariance E-step in f32 (AVX2+FMA, AVX-512): every component's whitened residual
//! z_k = U_kᵀ(x − μ_k) (U_k = L_k⁻ᵀ, upper triangular) and its squared norm, without forming z.
//!
//! A GEMM against the dense (D+1)×D blocks of U spends half its multiplications on the zeros
//! below U's diagonal; this kernel skips them. The frames of a block are stored transposed
//! (dimension-major, frames contiguous), so that 16 frames fill two 8-lane registers and the
//! squared norms accumulate lane-wise, with no horizontal sums:
//!
//! for every tile of 16 frames, every component k and every group of 4 rows j of z:
//!   acc_j = off_kj + Σ_{i ≤ j} U_k[i, j]·(x_i − c_i)       (8 FMA per i: 4 rows × 2 registers)
//!   ss   += acc_j²                                        (per frame, rows in increasing order)
//!
//! where c is the prepared model's centre and off_kj = −Σ_i U_k[i, j]·(μ_ki − c_i). The result for
//! a frame depends only on the frame and the model (fixed order of every sum), never on the
//! block, the tile, the thread count or the kernel set (AVX2+FMA, AVX-512: 32 frames per pass,
//! portable twin: the same FMA chains one frame at a time).

use super::{KernelSet, Kernels};

/// The whitening matrices of a full-covariance model packed for [`Whitening::log_likes`].
pub(crate) struct Whitening {
    d: usize,
    k: usize,
    /// Groups of 4 rows of z per component: ⌈D/4⌉.
    groups: usize,
    /// Start of group g within a component's block of `w`.
    group_start: Vec<usize>,
    /// Floats per component in `w`.
    comp_len: usize,
    /// Per component, per group g, for i = 0..rows(g): U[i, 4g..4g+4] (0 below the diagonal
    /// and beyond D), rows(g) = min(4g+4, D).
    w: Vec<f32>,
    /// Per component, groups·4 offsets off_kj (0 beyond D).
    off: Vec<f32>,
}

/// Frames per kernel tile (two registers of 8 f32).
pub(crate) const TILE: usize = 16;

impl Whitening {
    /// Packs U_k (K×D×D, upper triangular, `u[c][i][j]` through the closure) and the offsets.
    pub fn new(
        k: usize,
        d: usize,
        u: impl Fn(usize, usize, usize) -> f64,
        off: impl Fn(usize, usize) -> f64,
    ) -> Self {
        let groups = d.div_ceil(4);
        let rows = |g: usize| (4 * g + 4).min(d);
        let mut group_start = Vec::with_capacity(groups);
        let mut comp_len = 0;
        for g in 0..groups {
            group_start.push(comp_len);
            comp_len += 4 * rows(g);
        }
        let mut w = vec![0.0f32; k * comp_len];
        let mut offs = vec![0.0f32; k * groups * 4];
        for c in 0..k {
            for g in 0..groups {
                let base = c * comp_len + group_start[g];
                for i in 0..rows(g) {
                    for jj in 0..4 {
                        let j = 4 * g + jj;
                        if j < d && i <= j {
                            w[base + 4 * i + jj] = u(c, i, j) as f32;
                        }
                    }
                }
                for jj in 0..4 {
                    let j = 4 * g + jj;
                    if j < d {
                        offs[(c * groups + g) * 4 + jj] = off(c, j) as f32;
                    }
                }
            }
        }
        Self {
            d,
            k,
            groups,
            group_start,
            comp_len,
            w,
            off: offs,
        }
    }

    /// ll[f·ld + c] = log_norm[c] − ½·‖z_c(f)‖² for frames f < n, from `xt` (D rows of `stride`
    /// floats: x_i − c_i of frame f at xt[i·stride + f]; stride a multiple of [`TILE`] ≥ n).
    /// Every kernel set gives the same bits (the portable twin calls `f32::mul_add`, in
    /// software on a CPU without FMA: the engine's portable path uses its dense GEMM instead).
    ///
    /// # Panics
    /// If the buffers are too small.
    #[allow(clippy::too_many_arguments)]
    pub fn log_likes(
        &self,
        ks: Kernels,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        check_log_likes(self.d, self.k, xt, stride, n, log_norm, ll, ld);
        match ks.set() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA); every
            // buffer is large enough (checked above).
            KernelSet::Avx512 => unsafe { self.log_likes_avx512(xt, stride, n, log_norm, ll, ld) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2 and FMA).
            KernelSet::Avx2Fma => unsafe { self.log_likes_avx2(xt, stride, n, log_norm, ll, ld) },
            _ => self.log_likes_portable(xt, stride, n, log_norm, ll, ld),
        }
    }

    /// The portable twin: per frame the same FMA chains in the same order as the SIMD lanes.
    fn log_likes_portable(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        for f in 0..n {
            for (c, &lnc) in log_norm.iter().enumerate().take(self.k) {
                let wc = &self.w[c * self.comp_len..];
                let oc = &self.off[c * self.groups * 4..];
                let mut ss = 0.0f32;
                for g in 0..self.groups {
                    let rows = (4 * g + 4).min(self.d);
                    let mut a: [f32; 4] = oc[4 * g..4 * g + 4].try_into().expect("4 offsets");
                    let wg = &wc[self.group_start[g]..];
                    for i in 0..rows {
                        let x = xt[i * stride + f];
                        for (jj, aj) in a.iter_mut().enumerate() {
                            *aj = wg[4 * i + jj].mul_add(x, *aj);
                        }
                    }
                    for aj in a {
                        ss = aj.mul_add(aj, ss);
                    }
                }
                ll[f * ld + c] = lnc - 0.5 * ss as f64;
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2 and FMA; the buffers passed [`check_log_likes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn log_likes_avx2(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        use core::arch::x86_64::*;
        let d = self.d;
        let mut ss = [0.0f32; TILE];
        for f0 in (0..n).step_by(TILE) {
            for (c, &lnc) in log_norm.iter().enumerate().take(self.k) {
                // SAFETY: frames f0..f0 + 16 ≤ stride of each of the D rows of xt, the packed
                // rows of component c and its offsets are inside w and off (checked sizes).
                unsafe {
                    let xt0 = xt.as_ptr().add(f0);
                    let wc = self.w.as_ptr().add(c * self.comp_len);
                    let oc = self.off.as_ptr().add(c * self.groups * 4);
                    let mut s0 = _mm256_setzero_ps();
                    let mut s1 = _mm256_setzero_ps();
                    for g in 0..self.groups {
                        let rows = (4 * g + 4).min(d);
                        let o = oc.add(4 * g);
                        let (mut a00, mut a10, mut a20, mut a30) = (
                            _mm256_broadcast_ss(&*o),
                            _mm256_broadcast_ss(&*o.add(1)),
                            _mm256_broadcast_ss(&*o.add(2)),
                            _mm256_broadcast_ss(&*o.add(3)),
                        );
                        let (mut a01, mut a11, mut a21, mut a31) = (a00, a10, a20, a30);
                        let mut wp = wc.add(*self.group_start.get_unchecked(g));
                        let mut xp = xt0;
                        for _ in 0..rows {
                            let x0 = _mm256_loadu_ps(xp);
                            let x1 = _mm256_loadu_ps(xp.add(8));
                            let w0 = _mm256_broadcast_ss(&*wp);
                            a00 = _mm256_fmadd_ps(w0, x0, a00);
                            a01 = _mm256_fmadd_ps(w0, x1, a01);
                            let w1 = _mm256_broadcast_ss(&*wp.add(1));
                            a10 = _mm256_fmadd_ps(w1, x0, a10);
                            a11 = _mm256_fmadd_ps(w1, x1, a11);
                            let w2 = _mm256_broadcast_ss(&*wp.add(2));
                            a20 = _mm256_fmadd_ps(w2, x0, a20);
                            a21 = _mm256_fmadd_ps(w2, x1, a21);
                            let w3 = _mm256_broadcast_ss(&*wp.add(3));
                            a30 = _mm256_fmadd_ps(w3, x0, a30);
                            a31 = _mm256_fmadd_ps(w3, x1, a31);
                            wp = wp.add(4);
                            xp = xp.add(stride);
                        }
                        s0 = _mm256_fmadd_ps(a00, a00, s0);
                        s1 = _mm256_fmadd_ps(a01, a01, s1);
                        s0 = _mm256_fmadd_ps(a10, a10, s0);
                        s1 = _mm256_fmadd_ps(a11, a11, s1);
                        s0 = _mm256_fmadd_ps(a20, a20, s0);
                        s1 = _mm256_fmadd_ps(a21, a21, s1);
                        s0 = _mm256_fmadd_ps(a30, a30, s0);
                        s1 = _mm256_fmadd_ps(a31, a31, s1);
                    }
                    _mm256_storeu_ps(ss.as_mut_ptr(), s0);
                    _mm256_storeu_ps(ss.as_mut_ptr().add(8), s1);
                }
                for (f, &s) in ss.iter().enumerate().take(n - f0) {
                    ll[(f0 + f) * ld + c] = lnc - 0.5 * s as f64;
                }
            }
        }
    }

    /// The AVX-512 kernel: two tiles (32 frames, one zmm each) per pass over a component's
    /// packed rows, 8 accumulators as in the AVX2 kernel; a last single tile alone. Each frame
    /// gets the AVX2 arithmetic (same bits).
    ///
    /// # Safety
    /// The CPU has AVX-512F; the buffers passed [`check_log_likes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn log_likes_avx512(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        use core::arch::x86_64::*;
        let d = self.d;
        let mut ss = [0.0f32; 2 * TILE];
        let mut f0 = 0;
        while f0 < n {
            // A second tile when it holds frames: then f0 + 32 ≤ stride (stride is a multiple
            // of 16 and ≥ n > f0 + 16).
            let two = f0 + TILE < n;
            for (c, &lnc) in log_norm.iter().enumerate().take(self.k) {
                // SAFETY: frames f0..f0 + 16 (+ 16 when `two`) ≤ stride of each of the D rows
                // of xt; the packed rows and offsets of component c are inside w and off.
                unsafe {
                    let xt0 = xt.as_ptr().add(f0);
                    let wc = self.w.as_ptr().add(c * self.comp_len);
                    let oc = self.off.as_ptr().add(c * self.groups * 4);
                    let mut s0 = _mm512_setzero_ps();
                    let mut s1 = _mm512_setzero_ps();
                    for g in 0..self.groups {
                        let rows = (4 * g + 4).min(d);
                        let o = oc.add(4 * g);
                        let (mut a00, mut a10, mut a20, mut a30) = (
                            _mm512_set1_ps(*o),
                            _mm512_set1_ps(*o.add(1)),
                            _mm512_set1_ps(*o.add(2)),
                            _mm512_set1_ps(*o.add(3)),
                        );
                        let (mut a01, mut a11, mut a21, mut a31) = (a00, a10, a20, a30);
                        let mut wp = wc.add(*self.group_start.get_unchecked(g));
                        let mut xp = xt0;
                        if two {
                            for _ in 0..rows {
                                let x0 = _mm512_loadu_ps(xp);
                                let x1 = _mm512_loadu_ps(xp.add(TILE));
                                let w0 = _mm512_set1_ps(*wp);
                                a00 = _mm512_fmadd_ps(w0, x0, a00);
                                a01 = _mm512_fmadd_ps(w0, x1, a01);
                                let w1 = _mm512_set1_ps(*wp.add(1));
                                a10 = _mm512_fmadd_ps(w1, x0, a10);
                                a11 = _mm512_fmadd_ps(w1, x1, a11);
                                let w2 = _mm512_set1_ps(*wp.add(2));
                                a20 = _mm512_fmadd_ps(w2, x0, a20);
                                a21 = _mm512_fmadd_ps(w2, x1, a21);
                                let w3 = _mm512_set1_ps(*wp.add(3));
                                a30 = _mm512_fmadd_ps(w3, x0, a30);
                                a31 = _mm512_fmadd_ps(w3, x1, a31);
                                wp = wp.add(4);
                                xp = xp.add(stride);
                            }
                        } else {
                            for _ in 0..rows {
                                let x0 = _mm512_loadu_ps(xp);
                                a00 = _mm512_fmadd_ps(_mm512_set1_ps(*wp), x0, a00);
                                a10 = _mm512_fmadd_ps(_mm512_set1_ps(*wp.add(1)), x0, a10);
                                a20 = _mm512_fmadd_ps(_mm512_set1_ps(*wp.add(2)), x0, a20);
                                a30 = _mm512_fmadd_ps(_mm512_set1_ps(*wp.add(3)), x0, a30);
                                wp = wp.add(4);
                                xp = xp.add(stride);
                            }
                        }
                        s0 = _mm512_fmadd_ps(a00, a00, s0);
                        s1 = _mm512_fmadd_ps(a01, a01, s1);
                        s0 = _mm512_fmadd_ps(a10, a10, s0);
                        s1 = _mm512_fmadd_ps(a11, a11, s1);
                        s0 = _mm512_fmadd_ps(a20, a20, s0);
                        s1 = _mm512_fmadd_ps(a21, a21, s1);
                        s0 = _mm512_fmadd_ps(a30, a30, s0);
                        s1 = _mm512_fmadd_ps(a31, a31, s1);
                    }
                    _mm512_storeu_ps(ss.as_mut_ptr(), s0);
                    _mm512_storeu_ps(ss.as_mut_ptr().add(TILE), s1);
                }
                let nf = if two { 2 * TILE } else { TILE };
                for (f, &s) in ss.iter().enumerate().take(nf.min(n - f0)) {
                    ll[(f0 + f) * ld + c] = lnc - 0.5 * s as f64;
                }
            }
            f0 += if two { 2 * TILE } else { TILE };
        }
    }
}

/// The preconditions of both kernels' `log_likes` (D rows of `stride` frames in `xt`, K
/// log-normalisers, n rows of `ld` in `ll`).
#[allow(clippy::too_many_arguments)]
fn check_log_likes(
    d: usize,
    k: usize,
    xt: &[f32],
    stride: usize,
    n: usize,
    log_norm: &[f64],
    ll: &[f64],
    ld: usize,
) {
    assert!(stride.is_multiple_of(TILE) && stride >= n && xt.len() >= d * stride);
    assert!(log_norm.len() >= k && ld >= k);
    assert!(n == 0 || ll.len() >= (n - 1) * ld + k);
}

/// The diagonal-covariance E-step in f32 (AVX2+FMA, AVX-512): z_ki = x_i·σ_ki⁻¹ − μ_ki·σ_ki⁻¹ (one FMA,
/// the product μ·σ⁻¹ rounded once to f32, as the full kernel's offsets) and ‖z_k‖² for 16 frames
/// (transposed, as for [`Whitening`]) and 4 components at a time, summed over i in increasing
/// order per frame and component.
pub(crate) struct DiagWhitening {
    d: usize,
    k: usize,
    /// K4×D −μ·σ⁻¹ (centred means), components padded to a multiple of 4 with copies of the last.
    neg_ms: Vec<f32>,
    /// K4×D inverse standard deviations, padded likewise.
    s: Vec<f32>,
}

impl DiagWhitening {
    /// From the centred means `mu(c, i)` and inverse standard deviations `s(c, i)`.
    pub fn new(
        k: usize,
        d: usize,
        mu: impl Fn(usize, usize) -> f64,
        s: impl Fn(usize, usize) -> f64,
    ) -> Self {
        let k4 = k.next_multiple_of(4);
        let mut neg_ms = Vec::with_capacity(k4 * d);
        let mut sv = Vec::with_capacity(k4 * d);
        for c in 0..k4 {
            let c = c.min(k - 1);
            for i in 0..d {
                neg_ms.push((-mu(c, i) * s(c, i)) as f32);
                sv.push(s(c, i) as f32);
            }
        }
        Self {
            d,
            k,
            neg_ms,
            s: sv,
        }
    }

    /// ll[f·ld + c] = log_norm[c] − ½·‖z_c(f)‖² for frames f < n and components c < K, from `xt`
    /// as in [`Whitening::log_likes`] (every kernel set gives the same bits).
    ///
    /// # Panics
    /// If the buffers are too small.
    #[allow(clippy::too_many_arguments)]
    pub fn log_likes(
        &self,
        ks: Kernels,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        check_log_likes(self.d, self.k, xt, stride, n, log_norm, ll, ld);
        match ks.set() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA); every
            // buffer is large enough (checked above).
            KernelSet::Avx512 => unsafe { self.log_likes_avx512(xt, stride, n, log_norm, ll, ld) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2 and FMA).
            KernelSet::Avx2Fma => unsafe { self.log_likes_avx2(xt, stride, n, log_norm, ll, ld) },
            _ => self.log_likes_portable(xt, stride, n, log_norm, ll, ld),
        }
    }

    /// The portable twin (the SIMD lanes' FMA chains, one frame and component at a time).
    fn log_likes_portable(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        let d = self.d;
        for f in 0..n {
            for (c, &lnc) in log_norm.iter().enumerate().take(self.k) {
                let mut ss = 0.0f32;
                for i in 0..d {
                    let z = xt[i * stride + f].mul_add(self.s[c * d + i], self.neg_ms[c * d + i]);
                    ss = z.mul_add(z, ss);
                }
                ll[f * ld + c] = (-0.5f64).mul_add(ss as f64, lnc);
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2 and FMA; the buffers passed [`check_log_likes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn log_likes_avx2(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        use core::arch::x86_64::*;
        let d = self.d;
        for f0 in (0..n).step_by(TILE) {
            for c0 in (0..self.k).step_by(4) {
                let mut acc = [_mm256_setzero_ps(); 8];
                // SAFETY: frames f0..f0 + 16 ≤ stride of the D rows of xt; components
                // c0..c0 + 4 ≤ K4 rows of neg_ms and s (padded).
                unsafe {
                    let xt0 = xt.as_ptr().add(f0);
                    let mp = self.neg_ms.as_ptr().add(c0 * d);
                    let sp = self.s.as_ptr().add(c0 * d);
                    let mut xp = xt0;
                    for i in 0..d {
                        let x0 = _mm256_loadu_ps(xp);
                        let x1 = _mm256_loadu_ps(xp.add(8));
                        for cc in 0..4 {
                            let m = _mm256_broadcast_ss(&*mp.add(cc * d + i));
                            let s = _mm256_broadcast_ss(&*sp.add(cc * d + i));
                            let z0 = _mm256_fmadd_ps(x0, s, m);
                            let z1 = _mm256_fmadd_ps(x1, s, m);
                            acc[2 * cc] = _mm256_fmadd_ps(z0, z0, acc[2 * cc]);
                            acc[2 * cc + 1] = _mm256_fmadd_ps(z1, z1, acc[2 * cc + 1]);
                        }
                        xp = xp.add(stride);
                    }
                }
                let mut sums = [[0.0f32; TILE]; 4];
                for (cc, row) in sums.iter_mut().enumerate() {
                    // SAFETY: each row holds 16 floats.
                    unsafe {
                        _mm256_storeu_ps(row.as_mut_ptr(), acc[2 * cc]);
                        _mm256_storeu_ps(row.as_mut_ptr().add(8), acc[2 * cc + 1]);
                    }
                }
                // SAFETY: AVX2 and FMA (this function's contract); ll checked.
                unsafe { self.store_tile(&sums, log_norm, f0, c0, n, ll, ld) };
            }
        }
    }

    /// The AVX-512 kernel: 4 components × two tiles (32 frames, one zmm each), 8 accumulators
    /// as in the AVX2 kernel; a last single tile alone. Each frame and component gets the AVX2
    /// arithmetic (same bits).
    ///
    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA; the buffers passed [`check_log_likes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn log_likes_avx512(
        &self,
        xt: &[f32],
        stride: usize,
        n: usize,
        log_norm: &[f64],
        ll: &mut [f64],
        ld: usize,
    ) {
        use core::arch::x86_64::*;
        let d = self.d;
        let mut f0 = 0;
        while f0 < n {
            // A second tile when it holds frames (then f0 + 32 ≤ stride).
            let two = f0 + TILE < n;
            for c0 in (0..self.k).step_by(4) {
                let mut acc = [_mm512_setzero_ps(); 8];
                // SAFETY: frames f0..f0 + 16 (+ 16 when `two`) ≤ stride of the D rows of xt;
                // components c0..c0 + 4 ≤ K4 rows of neg_ms and s (padded).
                unsafe {
                    let mp = self.neg_ms.as_ptr().add(c0 * d);
                    let sp = self.s.as_ptr().add(c0 * d);
                    let mut xp = xt.as_ptr().add(f0);
                    for i in 0..d {
                        let x0 = _mm512_loadu_ps(xp);
                        let x1 = if two {
                            _mm512_loadu_ps(xp.add(TILE))
                        } else {
                            _mm512_setzero_ps()
                        };
                        for cc in 0..4 {
                            let m = _mm512_set1_ps(*mp.add(cc * d + i));
                            let s = _mm512_set1_ps(*sp.add(cc * d + i));
                            let z0 = _mm512_fmadd_ps(x0, s, m);
                            acc[2 * cc] = _mm512_fmadd_ps(z0, z0, acc[2 * cc]);
                            if two {
                                let z1 = _mm512_fmadd_ps(x1, s, m);
                                acc[2 * cc + 1] = _mm512_fmadd_ps(z1, z1, acc[2 * cc + 1]);
                            }
                        }
                        xp = xp.add(stride);
                    }
                }
                for t in 0..1 + two as usize {
                    let mut sums = [[0.0f32; TILE]; 4];
                    for (cc, row) in sums.iter_mut().enumerate() {
                        // SAFETY: each row holds 16 floats.
                        unsafe { _mm512_storeu_ps(row.as_mut_ptr(), acc[2 * cc + t]) };
                    }
                    let ft = f0 + t * TILE;
                    // SAFETY: AVX2 and FMA (this function's contract); ll checked.
                    unsafe { self.store_tile(&sums, log_norm, ft, c0, n, ll, ld) };
                }
            }
            f0 += if two { 2 * TILE } else { TILE };
        }
    }

    /// ll = log_norm − ½·ss in f64 for the frames f0.. (< n) of one tile and components c0..c0+4
    /// (< K): 4 frames × 4 components at a time, transposed so that each frame's 4 components
    /// are one store.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; ll passed [`check_log_likes`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn store_tile(
        &self,
        sums: &[[f32; TILE]; 4],
        log_norm: &[f64],
        f0: usize,
        c0: usize,
        n: usize,
        ll: &mut [f64],
        ld: usize,
    ) {
        use core::arch::x86_64::*;
        let kc = (self.k - c0).min(4);
        let mut lnv = [0.0f64; 4];
        lnv[..kc].copy_from_slice(&log_norm[c0..c0 + kc]);
        let half = _mm256_set1_pd(-0.5);
        for q in 0..4 {
            let fq = f0 + 4 * q;
            if fq >= n {
                break;
            }
            // SAFETY: 4 floats from offset 4q < 16 of each row of sums.
            let v = |cc: usize| unsafe {
                let h = _mm_loadu_ps(sums[cc].as_ptr().add(4 * q));
                _mm256_fmadd_pd(half, _mm256_cvtps_pd(h), _mm256_set1_pd(lnv[cc]))
            };
            let (v0, v1, v2, v3) = (v(0), v(1), v(2), v(3));
            // 4×4 transpose: row f = [v0[f], v1[f], v2[f], v3[f]].
            let t0 = _mm256_unpacklo_pd(v0, v1);
            let t1 = _mm256_unpackhi_pd(v0, v1);
            let t2 = _mm256_unpacklo_pd(v2, v3);
            let t3 = _mm256_unpackhi_pd(v2, v3);
            let rows = [
                _mm256_permute2f128_pd::<0x20>(t0, t2),
                _mm256_permute2f128_pd::<0x20>(t1, t3),
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ];
            for (f, &row) in rows.iter().enumerate().take(n - fq) {
                let o = (fq + f) * ld + c0;
                if kc == 4 {
                    let dst = &mut ll[o..o + 4];
                    // SAFETY: `dst` holds 4 values.
                    unsafe { _mm256_storeu_pd(dst.as_mut_ptr(), row) };
                } else {
                    let mut tmp = [0.0f64; 4];
                    // SAFETY: `tmp` holds 4 values.
                    unsafe { _mm256_storeu_pd(tmp.as_mut_ptr(), row) };
                    for (d, &t) in ll[o..o + kc].iter_mut().zip(&tmp) {
                        *d = t;
                    }
                }
            }
        }
    }
}

/// xt[i·stride + f] = xs[f·cols + i] for frames f < n and i < cols (a row-major block of frames,
/// `cols` a multiple of 8, into the dimension-major layout of [`Whitening::log_likes`]). AVX2 8×8
/// transposes; the frames after the last full group of 8 element by element.
///
/// # Panics
/// If the buffers are too small or `cols` is not a multiple of 8.
pub(crate) fn transpose_frames(
    ks: Kernels,
    xs: &[f32],
    cols: usize,
    n: usize,
    xt: &mut [f32],
    stride: usize,
) {
    assert!(
        cols.is_multiple_of(8) && stride >= n && xs.len() >= n * cols && xt.len() >= cols * stride
    );
    let n8 = n / 8 * 8;
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: both SIMD sets include AVX2 (`Kernels` holds only supported sets); rows
        // f < n8 ≤ n and columns < cols are in bounds of both buffers (asserted above).
        KernelSet::Avx512 | KernelSet::Avx2Fma => unsafe {
            transpose_avx2(xs, cols, n8, xt, stride)
        },
        _ => transpose_scalar(xs, cols, 0, n8, xt, stride),
    }
    transpose_scalar(xs, cols, n8, n, xt, stride);
}

fn transpose_scalar(xs: &[f32], cols: usize, f0: usize, f1: usize, xt: &mut [f32], stride: usize) {
    for (f, row) in xs.chunks_exact(cols).enumerate().take(f1).skip(f0) {
        for (i, &v) in row.iter().enumerate() {
            xt[i * stride + f] = v;
        }
    }
}

/// # Safety
/// The CPU has AVX2; xs holds n8 rows of `cols` floats, xt `cols` rows of `stride` ≥ n8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_avx2(xs: &[f32], cols: usize, n8: usize, xt: &mut [f32], stride: usize) {
    use core::arch::x86_64::*;
    let (src, dst) = (xs.as_ptr(), xt.as_mut_ptr());
    for f0 in (0..n8).step_by(8) {
        for i0 in (0..cols).step_by(8) {
            // SAFETY: rows f0..f0 + 8 ≤ n8, columns i0..i0 + 8 ≤ cols (the contract).
            let r = |k: usize| unsafe { _mm256_loadu_ps(src.add((f0 + k) * cols + i0)) };
            let (r0, r1, r2, r3, r4, r5, r6, r7) = (r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
            let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
            let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            // SAFETY: rows i0..i0 + 8 ≤ cols of xt, frames f0..f0 + 8 ≤ n8 ≤ stride.
            let w = |k: usize, v: __m256| unsafe {
                _mm256_storeu_ps(dst.add((i0 + k) * stride + f0), v)
            };
            w(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
            w(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
            w(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
            w(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
            w(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
            w(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
            w(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
            w(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::simd_sets;

    /// The portable set and every SIMD set this CPU runs (the skipped ones are printed).
    fn all_sets(test: &str) -> Vec<Kernels> {
        let mut v = simd_sets(test);
        v.push(Kernels::portable());
        v
    }

    #[test]
    fn transpose_frames_matches_naive() {
        for (ks, (cols, n)) in all_sets("transpose_frames_matches_naive")
            .into_iter()
            .flat_map(|ks| {
                [(8usize, 1usize), (8, 8), (16, 13), (40, 37), (40, 64)].map(|p| (ks, p))
            })
        {
            let stride = n.next_multiple_of(TILE);
            let xs: Vec<f32> = (0..n * cols).map(|v| v as f32 * 0.5 - 3.0).collect();
            let mut xt = vec![f32::NAN; cols * stride];
            transpose_frames(ks, &xs, cols, n, &mut xt, stride);
            for f in 0..n {
                for i in 0..cols {
                    assert_eq!(
                        xt[i * stride + f],
                        xs[f * cols + i],
                        "cols={cols} n={n} ({f},{i})"
                    );
                }
            }
        }
    }

    /// Test frame f, dimension i.
    fn x(f: usize, i: usize) -> f32 {
        ((f * 13 + i * 7) % 17) as f32 * 0.125 - 1.0
    }

    /// Runs `kernel(ks, xt, stride, log_norm, ll, ld)` on n frames [`x`] of dimension d for every
    /// kernel set and compares every log-likelihood with log_norm − ½·`naive_ss(f, c)`; the
    /// padding column of ll must stay untouched, and every set gives the portable bits.
    fn check_kernel(
        test: &str,
        (k, d, n): (usize, usize, usize),
        kernel: impl Fn(Kernels, &[f32], usize, &[f64], &mut [f64], usize),
        naive_ss: impl Fn(usize, usize) -> f64,
    ) {
        let mut portable: Option<Vec<f64>> = None;
        for ks in all_sets(test).into_iter().rev() {
            let ll = check_kernel_set(ks, (k, d, n), &kernel, &naive_ss);
            match &portable {
                None => portable = Some(ll),
                Some(p) => assert!(
                    p.iter().zip(&ll).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{test}: {} differs from the portable bits (k={k} d={d} n={n})",
                    ks.set()
                ),
            }
        }
    }

    fn check_kernel_set(
        ks: Kernels,
        (k, d, n): (usize, usize, usize),
        kernel: &impl Fn(Kernels, &[f32], usize, &[f64], &mut [f64], usize),
        naive_ss: &impl Fn(usize, usize) -> f64,
    ) -> Vec<f64> {
        let stride = n.next_multiple_of(TILE);
        let mut xt = vec![0.0f32; d * stride];
        for f in 0..n {
            for i in 0..d {
                xt[i * stride + f] = x(f, i);
            }
        }
        let log_norm: Vec<f64> = (0..k).map(|c| -(c as f64) - 3.0).collect();
        let ld = k + 1;
        let mut ll = vec![7.0; n * ld];
        kernel(ks, &xt, stride, &log_norm, &mut ll, ld);
        for f in 0..n {
            for c in 0..k {
                let want = log_norm[c] - 0.5 * naive_ss(f, c);
                let got = ll[f * ld + c];
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{} k={k} d={d} f={f} c={c}: {got} vs {want}",
                    ks.set()
                );
            }
            assert_eq!(ll[f * ld + k], 7.0, "padding column written");
        }
        ll
    }

    #[test]
    fn diag_matches_naive() {
        for (k, d, n) in [
            (1usize, 1usize, 1usize),
            (3, 5, 17),
            (9, 39, 40),
            (4, 13, 33),
            (5, 39, 75),
        ] {
            let mu = |c: usize, i: usize| ((c * 7 + i * 3) % 11) as f64 * 0.2 - 1.0;
            let s = |c: usize, i: usize| 0.5 + ((c + 2 * i) % 5) as f64 * 0.25;
            let dw = DiagWhitening::new(k, d, mu, s);
            check_kernel(
                "diag_matches_naive",
                (k, d, n),
                |ks, xt, stride, log_norm, ll, ld| {
                    dw.log_likes(ks, xt, stride, n, log_norm, ll, ld)
                },
                |f, c| {
                    (0..d)
                        .map(|i| ((x(f, i) as f64 - mu(c, i)) * s(c, i)).powi(2))
                        .sum()
                },
            );
        }
    }

    #[test]
    fn matches_naive_whitening() {
        for (k, d, n) in [
            (1usize, 1usize, 1usize),
            (3, 5, 17),
            (2, 39, 40),
            (5, 13, 33),
            (2, 39, 64),
        ] {
            let u = |c: usize, i: usize, j: usize| {
                if i <= j {
                    ((c * 7 + i * 3 + j * 5) % 11) as f64 * 0.1 - 0.4
                        + if i == j { 1.0 } else { 0.0 }
                } else {
                    0.0
                }
            };
            let off = |c: usize, j: usize| ((c + 2 * j) % 5) as f64 * 0.3 - 0.6;
            let wh = Whitening::new(k, d, u, off);
            check_kernel(
                "matches_naive_whitening",
                (k, d, n),
                |ks, xt, stride, log_norm, ll, ld| {
                    wh.log_likes(ks, xt, stride, n, log_norm, ll, ld)
                },
                |f, c| {
                    (0..d)
                        .map(|j| {
                            let z = off(c, j)
                                + (0..=j).map(|i| u(c, i, j) * x(f, i) as f64).sum::<f64>();
                            z * z
                        })
                        .sum()
                },
            );
        }
    }
}
