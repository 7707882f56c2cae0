//! The f64 register-tiled GEMM of the EM pass ([`tile_gemm`]) and its lower-triangle form
//! ([`syrk_lower`], the full-covariance M-step): tiles of 4 rows × 8 columns, each element one
//! FMA chain over the depth in order, so the result depends neither on the thread count nor on
//! the kernel set's register width (AVX-512 runs two column tiles per step with the AVX2
//! arithmetic). The portable twin ([`tile_gemm_portable`]) multiplies and adds separately.

use super::{KernelSet, Kernels};

/// Rows per call of [`syrk_lower`] (the frames and weighted frames stay in L1/L2 while every
/// tile of the triangle passes over them).
pub(crate) const SYRK_ROWS: usize = 96;

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
///
/// # Panics
/// If cp is not a multiple of 8 or the slices do not hold whole rows.
pub(crate) fn syrk_lower(
    ks: Kernels,
    acc: &mut [f64],
    w: &[f64],
    x: &[f64],
    rows: Option<&[u32]>,
    cp: usize,
) {
    let depth = w.len() / cp;
    assert!(cp.is_multiple_of(8) && w.len().is_multiple_of(cp) && x.len().is_multiple_of(cp));
    assert!(rows.map_or(w.len() == x.len(), |r| r.len() == depth));
    tile_gemm(
        ks,
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
pub(crate) struct TileOperands<'a> {
    pub acc: &'a mut [f64],
    pub ld: usize,
    pub a: &'a [f64],
    pub a_rs: usize,
    pub a_cs: usize,
    pub b: &'a [f64],
    pub b_rs: usize,
    /// The rows of b to use, in order (a gather), or all rows from 0.
    pub b_rows: Option<&'a [u32]>,
    pub depth: usize,
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

    /// Asserts that every index the tiles reach is inside the slices.
    fn check(&self, n_ig: usize, max_jg: usize) {
        assert!((4 * n_ig - 1) * self.ld + 8 * max_jg <= self.acc.len());
        if self.depth > 0 {
            assert!((self.depth - 1) * self.a_rs + (4 * n_ig - 1) * self.a_cs < self.a.len());
            match self.b_rows {
                Some(rows) => {
                    assert!(rows.len() >= self.depth);
                    let last = rows[..self.depth].iter().max().map_or(0, |&r| r as usize);
                    assert!(last * self.b_rs + 8 * max_jg <= self.b.len());
                }
                None => assert!((self.depth - 1) * self.b_rs + 8 * max_jg <= self.b.len()),
            }
        }
    }
}

/// A small f64 GEMM over register tiles of 4 rows (i) × 8 columns (c): tiles ig < n_ig, and for
/// each ig the column tiles jg < jg_end(ig) (a triangle or a rectangle). `replace`: the tiles
/// start from 0 instead of acc. Summation over r in order, one FMA chain per element (SIMD sets)
/// or a multiply and an add (portable): the result does not depend on the thread count, and the
/// AVX2+FMA and AVX-512 sets give the same bits.
///
/// # Panics
/// If an index of a tile falls outside a slice.
pub(crate) fn tile_gemm(
    ks: Kernels,
    t: TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
) {
    if n_ig == 0 || t.depth == 0 && !replace {
        return;
    }
    let max_jg = (0..n_ig).map(&jg_end).max().unwrap_or(0);
    if max_jg == 0 {
        return;
    }
    t.check(n_ig, max_jg);
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2 and FMA here); every
        // index a tile reaches is in bounds (`check` above).
        KernelSet::Avx512 => unsafe { tile_gemm_avx512(t, replace, n_ig, jg_end) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, with AVX2 and FMA.
        KernelSet::Avx2Fma => unsafe { tile_gemm_avx2(t, replace, n_ig, jg_end) },
        _ => tile_gemm_portable(t, replace, n_ig, jg_end),
    }
}

/// The portable twin of the SIMD tile GEMMs (same tiles, same order, multiply then add).
pub(crate) fn tile_gemm_portable(
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

/// # Safety
/// The CPU has AVX2 and FMA, and every index the tiles reach is in bounds
/// ([`TileOperands::check`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_gemm_avx2(
    mut t: TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
) {
    let b_rs = t.b_rs;
    match t.b_rows {
        // SAFETY (both): the caller's contract; the gather's row numbers were checked against b
        // and r < depth ≤ rows.len().
        Some(rows) => unsafe {
            tile_gemm_avx2_rows(&mut t, replace, n_ig, jg_end, |r| {
                *rows.get_unchecked(r) as usize * b_rs
            })
        },
        // SAFETY: the caller's contract; rows r < depth of b are in bounds.
        None => unsafe { tile_gemm_avx2_rows(&mut t, replace, n_ig, jg_end, |r| r * b_rs) },
    }
}

/// [`tile_gemm_avx2`] with row r of b at offset `b_off(r)`.
///
/// # Safety
/// As [`tile_gemm_avx2`], with `b_off(r)` + 8·max_jg ≤ b.len() for every r < depth.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
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
            // SAFETY: every pointer below stays inside acc, a or b (the caller's contract).
            unsafe {
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
}

/// # Safety
/// The CPU has AVX-512F, and every index the tiles reach is in bounds
/// ([`TileOperands::check`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile_gemm_avx512(
    mut t: TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
) {
    let b_rs = t.b_rs;
    match t.b_rows {
        // SAFETY (both): as in `tile_gemm_avx2`.
        Some(rows) => unsafe {
            tile_gemm_avx512_rows(&mut t, replace, n_ig, jg_end, |r| {
                *rows.get_unchecked(r) as usize * b_rs
            })
        },
        // SAFETY: the caller's contract; rows r < depth of b are in bounds.
        None => unsafe { tile_gemm_avx512_rows(&mut t, replace, n_ig, jg_end, |r| r * b_rs) },
    }
}

/// [`tile_gemm_avx512`] with row r of b at offset `b_off(r)`: two row groups with the same
/// column tiles at once (8 rows × 16 columns, 16 zmm accumulators; an odd last tile 8 × 8),
/// otherwise one row group's tiles two at a time (4 rows × 16 columns, 8 zmm; an odd last tile
/// alone). Every element stays one FMA chain over r in order (the AVX2 bits).
///
/// # Safety
/// As [`tile_gemm_avx512`], with `b_off(r)` + 8·max_jg ≤ b.len() for every r < depth.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn tile_gemm_avx512_rows(
    t: &mut TileOperands<'_>,
    replace: bool,
    n_ig: usize,
    jg_end: impl Fn(usize) -> usize,
    b_off: impl Fn(usize) -> usize,
) {
    use core::arch::x86_64::*;
    let (ap, wp, xp) = (t.acc.as_mut_ptr(), t.a.as_ptr(), t.b.as_ptr());
    let (ld, a_rs, a_cs) = (t.ld, t.a_rs, t.a_cs);
    let mut ig = 0;
    while ig < n_ig {
        let end = jg_end(ig);
        if ig + 1 < n_ig && jg_end(ig + 1) == end {
            // Two row groups with the same column tiles (a rectangle, or a triangle's pair
            // 2m, 2m + 1): 8 rows at a time, each b load shared by 8 rows.
            let mut jg = 0;
            while jg < end {
                let two = jg + 2 <= end;
                // SAFETY: rows 4ig..4ig + 8 ≤ 4·n_ig and column tiles jg (and jg + 1 when
                // `two`) < end ≤ max_jg: inside acc, a and b (the caller's contract).
                unsafe {
                    let a0 = ap.add(4 * ig * ld + 8 * jg);
                    let mut c = [[_mm512_setzero_pd(); 2]; 8];
                    if !replace {
                        for (ii, ci) in c.iter_mut().enumerate() {
                            ci[0] = _mm512_loadu_pd(a0.add(ii * ld));
                            if two {
                                ci[1] = _mm512_loadu_pd(a0.add(ii * ld + 8));
                            }
                        }
                    }
                    let xb0 = xp.add(8 * jg);
                    let mut wb = wp.add(4 * ig * a_cs);
                    if two {
                        for r in 0..t.depth {
                            let xb = xb0.add(b_off(r));
                            let x0 = _mm512_loadu_pd(xb);
                            let x1 = _mm512_loadu_pd(xb.add(8));
                            for (ii, ci) in c.iter_mut().enumerate() {
                                let w = _mm512_set1_pd(*wb.add(ii * a_cs));
                                ci[0] = _mm512_fmadd_pd(w, x0, ci[0]);
                                ci[1] = _mm512_fmadd_pd(w, x1, ci[1]);
                            }
                            wb = wb.add(a_rs);
                        }
                    } else {
                        for r in 0..t.depth {
                            let x0 = _mm512_loadu_pd(xb0.add(b_off(r)));
                            for (ii, ci) in c.iter_mut().enumerate() {
                                let w = _mm512_set1_pd(*wb.add(ii * a_cs));
                                ci[0] = _mm512_fmadd_pd(w, x0, ci[0]);
                            }
                            wb = wb.add(a_rs);
                        }
                    }
                    for (ii, ci) in c.iter().enumerate() {
                        _mm512_storeu_pd(a0.add(ii * ld), ci[0]);
                        if two {
                            _mm512_storeu_pd(a0.add(ii * ld + 8), ci[1]);
                        }
                    }
                }
                jg += if two { 2 } else { 1 };
            }
            ig += 2;
            continue;
        }
        let mut jg = 0;
        // SAFETY (both loops): every pointer stays inside acc, a or b: tiles jg, jg + 1 < end ≤
        // max_jg (the caller's contract).
        while jg + 2 <= end {
            unsafe {
                let a0 = ap.add(4 * ig * ld + 8 * jg);
                let (a1, a2, a3) = (a0.add(ld), a0.add(2 * ld), a0.add(3 * ld));
                let ld2 = |p: *mut f64| {
                    if replace {
                        (_mm512_setzero_pd(), _mm512_setzero_pd())
                    } else {
                        (_mm512_loadu_pd(p), _mm512_loadu_pd(p.add(8)))
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
                    let x0 = _mm512_loadu_pd(xb);
                    let x1 = _mm512_loadu_pd(xb.add(8));
                    let w0 = _mm512_set1_pd(*wb);
                    c00 = _mm512_fmadd_pd(w0, x0, c00);
                    c01 = _mm512_fmadd_pd(w0, x1, c01);
                    let w1 = _mm512_set1_pd(*wb.add(a_cs));
                    c10 = _mm512_fmadd_pd(w1, x0, c10);
                    c11 = _mm512_fmadd_pd(w1, x1, c11);
                    let w2 = _mm512_set1_pd(*wb.add(2 * a_cs));
                    c20 = _mm512_fmadd_pd(w2, x0, c20);
                    c21 = _mm512_fmadd_pd(w2, x1, c21);
                    let w3 = _mm512_set1_pd(*wb.add(3 * a_cs));
                    c30 = _mm512_fmadd_pd(w3, x0, c30);
                    c31 = _mm512_fmadd_pd(w3, x1, c31);
                    wb = wb.add(a_rs);
                }
                _mm512_storeu_pd(a0, c00);
                _mm512_storeu_pd(a0.add(8), c01);
                _mm512_storeu_pd(a1, c10);
                _mm512_storeu_pd(a1.add(8), c11);
                _mm512_storeu_pd(a2, c20);
                _mm512_storeu_pd(a2.add(8), c21);
                _mm512_storeu_pd(a3, c30);
                _mm512_storeu_pd(a3.add(8), c31);
            }
            jg += 2;
        }
        if jg < end {
            // SAFETY: the single tile jg < end ≤ max_jg: inside acc and b (the caller's contract).
            unsafe {
                let a0 = ap.add(4 * ig * ld + 8 * jg);
                let (a1, a2, a3) = (a0.add(ld), a0.add(2 * ld), a0.add(3 * ld));
                let ld1 = |p: *mut f64| {
                    if replace {
                        _mm512_setzero_pd()
                    } else {
                        _mm512_loadu_pd(p)
                    }
                };
                let (mut c0, mut c1, mut c2, mut c3) = (ld1(a0), ld1(a1), ld1(a2), ld1(a3));
                let xb0 = xp.add(8 * jg);
                let mut wb = wp.add(4 * ig * a_cs);
                for r in 0..t.depth {
                    let x0 = _mm512_loadu_pd(xb0.add(b_off(r)));
                    c0 = _mm512_fmadd_pd(_mm512_set1_pd(*wb), x0, c0);
                    c1 = _mm512_fmadd_pd(_mm512_set1_pd(*wb.add(a_cs)), x0, c1);
                    c2 = _mm512_fmadd_pd(_mm512_set1_pd(*wb.add(2 * a_cs)), x0, c2);
                    c3 = _mm512_fmadd_pd(_mm512_set1_pd(*wb.add(3 * a_cs)), x0, c3);
                    wb = wb.add(a_rs);
                }
                _mm512_storeu_pd(a0, c0);
                _mm512_storeu_pd(a1, c1);
                _mm512_storeu_pd(a2, c2);
                _mm512_storeu_pd(a3, c3);
            }
        }
        ig += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::simd_sets;

    /// Every kernel set: the lower triangle of the SYRK against the naive sums; the SIMD sets
    /// give the same bits as each other.
    #[test]
    fn syrk_kernel_matches_naive_lower_triangle() {
        let sets = simd_sets("syrk_kernel_matches_naive_lower_triangle");
        for (d, rows) in [(3usize, 5usize), (39, 77), (15, SYRK_ROWS), (47, 9)] {
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
            let mut results = Vec::new();
            for ks in sets.iter().copied().chain([Kernels::portable()]) {
                let mut acc = vec![0.5; cp * cp];
                syrk_lower(ks, &mut acc, &wk, &xk, None, cp);
                for i in 0..cp {
                    for j in 0..=i {
                        let want: f64 = 0.5
                            + (0..rows)
                                .map(|b| wk[b * cp + i] * xk[b * cp + j])
                                .sum::<f64>();
                        let got = acc[i * cp + j];
                        assert!(
                            (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                            "{} d={d} ({i},{j}): {got} vs {want}",
                            ks.set()
                        );
                    }
                }
                results.push((ks, acc));
            }
            for w in results.windows(2) {
                if w[1].0 != Kernels::portable() {
                    assert_eq!(w[0].1, w[1].1, "{} vs {}", w[0].0.set(), w[1].0.set());
                }
            }
        }
    }

    #[test]
    fn tile_gemm_strided_rectangle_matches_naive() {
        // ll (rows×cols) = A·B with A(r, i) = a[i·11 + r] (frames as rows of 11 values), replace;
        // cols = 16 (an even number of column tiles) and 24 (odd: AVX-512's single tile).
        // rows 8 and 12: AVX-512's 8-row pairs, and a last single row group.
        for (cols, rows_i) in [(16usize, 8usize), (24, 8), (16, 12), (24, 12)] {
            let (depth, a_cs) = (9usize, 11usize);
            let a: Vec<f64> = (0..rows_i * a_cs)
                .map(|v| ((v * 13) % 7) as f64 - 2.5)
                .collect();
            let b: Vec<f64> = (0..depth * cols)
                .map(|v| ((v * 5) % 11) as f64 * 0.25)
                .collect();
            fn ops<'a>(
                acc: &'a mut [f64],
                a: &'a [f64],
                b: &'a [f64],
                (cols, a_cs, depth): (usize, usize, usize),
            ) -> TileOperands<'a> {
                TileOperands {
                    acc,
                    ld: cols,
                    a,
                    a_rs: 1,
                    a_cs,
                    b,
                    b_rs: cols,
                    b_rows: None,
                    depth,
                }
            }
            let sets = simd_sets("tile_gemm_strided_rectangle_matches_naive");
            for ks in sets.into_iter().chain([Kernels::portable()]) {
                let mut acc = vec![99.0; rows_i * cols];
                tile_gemm(
                    ks,
                    ops(&mut acc, &a, &b, (cols, a_cs, depth)),
                    true,
                    rows_i / 4,
                    |_| cols / 8,
                );
                for i in 0..rows_i {
                    for c in 0..cols {
                        let want: f64 = (0..depth).map(|r| a[i * a_cs + r] * b[r * cols + c]).sum();
                        let got = acc[i * cols + c];
                        assert!(
                            (got - want).abs() < 1e-12,
                            "{} ({i},{c}): {got} vs {want}",
                            ks.set()
                        );
                    }
                }
            }
        }
    }
}
