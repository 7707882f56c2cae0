//! Float primitives in the order of OpenBLAS's x86-64 kernels (`sdot`, `sgemv_t`, `sspmv`),
//! packed symmetric storage, Kaldi's max / log-sum-exp / softmax in float.

use ndarray::{Array2, ArrayView2};

/// `cblas_sdot` with unit strides: OpenBLAS's x86-64 `sdot.c` sums the float products in a
/// double and returns it as float. Vectors of 32 or more elements go through its AVX2 kernel
/// first (four 8-lane FMA accumulators), emulated here.
pub(super) fn sdot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let n1 = n & !31;
    let mut mydot = 0.0f32;
    if n1 > 0 {
        mydot = sdot_kernel_32(&a[..n1], &b[..n1]);
    }
    let mut dot = 0.0f64;
    for i in n1..n {
        dot += (b[i] * a[i]) as f64;
    }
    dot += mydot as f64;
    dot as f32
}

/// OpenBLAS's Haswell `sdot_kernel_16` on a multiple of 32 elements: four ymm accumulators of
/// fused multiply-adds, summed lane-wise and then horizontally.
pub(super) fn sdot_kernel_32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [[0.0f32; 8]; 4];
    for blk in (0..a.len()).step_by(32) {
        for (r, accr) in acc.iter_mut().enumerate() {
            for (l, v) in accr.iter_mut().enumerate() {
                let i = blk + 8 * r + l;
                *v = a[i].mul_add(b[i], *v);
            }
        }
    }
    // Each accumulator's high half onto its low half, then the four pairwise, then two haddps.
    let h: Vec<[f32; 4]> = acc
        .iter()
        .map(|a| [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]])
        .collect();
    let t: Vec<f32> = (0..4)
        .map(|l| (h[0][l] + h[1][l]) + (h[2][l] + h[3][l]))
        .collect();
    (t[0] + t[1]) + (t[2] + t[3])
}

/// Horizontal sum of an 8-lane register as OpenBLAS's kernels do it: high half added to the low
/// half, then two `haddps`.
pub(super) fn hsum8(s: &[f32; 8]) -> f32 {
    let h = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    (h[0] + h[1]) + (h[2] + h[3])
}

/// Sum of a float vector as Kaldi's `VectorBase<float>::Sum` computes it (`cblas_sdot` against a
/// stride-0 one: pairs summed in float, accumulated in double).
pub(super) fn kaldi_sum_f32(v: &[f32]) -> f32 {
    let mut dot = 0.0f64;
    let mut i = 0;
    while i + 2 <= v.len() {
        dot += (v[i] + v[i + 1]) as f64;
        i += 2;
    }
    if i < v.len() {
        dot += v[i] as f64;
    }
    dot as f32
}

/// Sum of a double vector as Kaldi's `VectorBase<double>::Sum` (`cblas_ddot`, stride-0 one).
pub(super) fn kaldi_sum_f64(v: &[f64]) -> f64 {
    let mut dot = 0.0f64;
    let mut i = 0;
    while i + 2 <= v.len() {
        dot += v[i] + v[i + 1];
        i += 2;
    }
    if i < v.len() {
        dot += v[i];
    }
    dot
}

/// Dot product of one row in OpenBLAS's `sgemv_t` main block (a multiple of 4 elements): the
/// Haswell kernel accumulates the first 4 products in the low lanes and then 8 at a time with
/// fused multiply-adds, and reduces as [`hsum8`].
pub(super) fn gemv_block_dot(a: &[f32], x: &[f32]) -> f32 {
    let n = a.len();
    let mut acc = [0.0f32; 8];
    let mut i = 0;
    if n & 4 != 0 {
        for l in 0..4 {
            acc[l] = a[l].mul_add(x[l], acc[l]);
        }
        i = 4;
    }
    while i < n {
        for l in 0..8 {
            acc[l] = a[i + l].mul_add(x[i + l], acc[l]);
        }
        i += 8;
    }
    hsum8(&acc)
}

/// Dot product of one row in OpenBLAS's SSE `sgemv_kernel_4x2`/`4x1` (the rows left over after
/// blocks of four): four lanes of separate multiplies and adds, then two `haddps`.
pub(super) fn gemv_sse_dot(a: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    for (ab, xb) in a.chunks_exact(4).zip(x.chunks_exact(4)) {
        for l in 0..4 {
            acc[l] += ab[l] * xb[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// OpenBLAS's SSE `sgemv_kernel_4x1` (the last row when K is odd): the first four products in
/// one accumulator, then blocks of eight split over two accumulators, added lane-wise at the end.
pub(super) fn gemv_sse1_dot(a: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let mut acc2 = [0.0f32; 4];
    let n = a.len();
    let mut i = 0;
    if n & 4 != 0 {
        for l in 0..4 {
            acc[l] += a[l] * x[l];
        }
        i = 4;
    }
    while i < n {
        for l in 0..4 {
            acc[l] += a[i + l] * x[i + l];
            acc2[l] += a[i + 4 + l] * x[i + 4 + l];
        }
        i += 8;
    }
    for l in 0..4 {
        acc[l] += acc2[l];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `y += alpha·M·x` for a row-major K×D float matrix as Kaldi's `AddMatVec` (`cblas_sgemv`,
/// no transpose, β = 1) computes it with OpenBLAS's `sgemv_t` kernel.
pub(super) fn sgemv_add(y: &mut [f32], alpha: f32, m: ArrayView2<'_, f32>, x: &[f32]) {
    let d = m.ncols();
    let m3 = d & 3;
    let nb = d - m3;
    if nb > 0 {
        let y_len = y.len();
        let n4 = y_len / 4 * 4;
        for (k, yk) in y.iter_mut().enumerate() {
            let row = m.row(k);
            let row = row
                .as_slice()
                .map(|r| r.to_vec())
                .unwrap_or_else(|| row.to_vec());
            let t = if k < n4 {
                gemv_block_dot(&row[..nb], &x[..nb])
            } else if k < n4 + (y_len & 2) {
                gemv_sse_dot(&row[..nb], &x[..nb])
            } else {
                gemv_sse1_dot(&row[..nb], &x[..nb])
            };
            *yk += t * alpha;
        }
    }
    if m3 > 0 {
        // The remainder columns (x pre-scaled by alpha), in C as GCC contracts it:
        // y += a0·x0 → fma; y += a0·x0 + a1·x1 (+ a2·x2) → y + fma(a2, x2, fma(a0, x0, a1·x1)).
        let xt: Vec<f32> = x[nb..].iter().map(|v| v * alpha).collect();
        for (k, yk) in y.iter_mut().enumerate() {
            let a = |j: usize| m[[k, nb + j]];
            if m3 == 1 {
                *yk = a(0).mul_add(xt[0], *yk);
            } else {
                let mut s = a(0).mul_add(xt[0], a(1) * xt[1]);
                if m3 == 3 {
                    s = a(2).mul_add(xt[2], s);
                }
                *yk += s;
            }
        }
    }
}

/// `y = M·v` for a packed (row-major lower) symmetric float matrix as Kaldi's `AddSpVec`
/// (`cblas_sspmv`, α = 1, β = 0) computes it with OpenBLAS's `spmv` driver: for each row i, the
/// dot product of its strictly lower part, then an axpy of column i.
pub(super) fn sspmv(p: &[f32], v: &[f32]) -> Vec<f32> {
    let d = v.len();
    let mut y = vec![0.0f32; d];
    let mut off = 0;
    for i in 0..d {
        if i > 0 {
            y[i] += sdot(&p[off..off + i], &v[..i]);
        }
        let xi = v[i];
        for j in 0..=i {
            y[j] = xi.mul_add(p[off + j], y[j]);
        }
        off += i + 1;
    }
    y
}

/// Index of (i, j), j ≤ i, in a row-major lower packed matrix.
pub(super) fn packed_index(i: usize, j: usize) -> usize {
    i * (i + 1) / 2 + j
}

pub(super) fn pack_lower_f32(m: ArrayView2<'_, f32>) -> Vec<f32> {
    let d = m.nrows();
    let mut out = Vec::with_capacity(d * (d + 1) / 2);
    for i in 0..d {
        for j in 0..=i {
            out.push(m[[i, j]]);
        }
    }
    out
}

pub(super) fn unpack_lower_f32(p: &[f32], d: usize) -> Array2<f32> {
    Array2::from_shape_fn((d, d), |(i, j)| {
        if j <= i {
            p[packed_index(i, j)]
        } else {
            p[packed_index(j, i)]
        }
    })
}

/// Kaldi's `VectorBase::Max` (first maximum; NaN never wins).
pub(super) fn kaldi_max(v: &[f32]) -> f32 {
    v.iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// `VectorBase<float>::LogSumExp()`: terms more than ln(FLT_EPSILON) below the maximum are
/// skipped; the sum is kept in double.
pub(super) fn log_sum_exp(v: &[f32]) -> f32 {
    let max = kaldi_max(v);
    let cutoff = max + f32::EPSILON.ln();
    let mut sum = 0.0f64;
    for &f in v {
        if f >= cutoff {
            sum += (f - max).exp() as f64;
        }
    }
    (max as f64 + sum.ln()) as f32
}

/// `VectorBase<float>::ApplySoftMax()`: float exponentials and sum, scaled by float(1/sum);
/// returns max + log(sum).
pub(super) fn apply_softmax(v: &mut [f32]) -> f32 {
    let max = kaldi_max(v);
    let mut sum = 0.0f32;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let scale = (1.0f64 / sum as f64) as f32;
    for x in v.iter_mut() {
        *x *= scale;
    }
    max + sum.ln()
}
