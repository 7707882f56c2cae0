//! Small dense f64 linear algebra on D×D symmetric matrices (D ≲ 100): Cholesky, triangular
//! inverse, symmetric eigen-decomposition (cyclic Jacobi). Deterministic and exact enough for the
//! M-step; the heavy lifting (GEMM over frames) is in `engine` and `kernels`.

use ndarray::{Array1, Array2, ArrayView2, ShapeBuilder};

/// Defines `pub(crate) fn $name(args) -> ret` that runs `$body(args)` compiled for AVX2 when the
/// process's kernel set ([`crate::KernelSet::best`], detected once) includes it (wider auto-vectorisation of the same scalar code: IEEE operations in the same
/// order, so the same bits either way), else compiled for the baseline target.
macro_rules! avx2_multiversion {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $body:ident) => {
        $(#[$m])*
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                if crate::KernelSet::best() >= crate::KernelSet::Avx2Fma {
                    // SAFETY: the best kernel set is a supported one, and AVX2+FMA and
                    // AVX-512 both include AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

avx2_multiversion! {
    /// Lower Cholesky factor L with A = L·Lᵀ, or the 0-based pivot where A is not positive
    /// definite (only the lower triangle of A is read).
    ///
    /// Right-looking on a column-major buffer: once column j is final, its outer product is
    /// subtracted from the trailing lower triangle column by column (contiguous, vectorised).
    /// Every element sees the same subtractions in the same order (k = 0, 1, …) as in the
    /// textbook left-looking loops, so the result is the same to the bit; only faster.
    fn cholesky(a: ArrayView2<f64>) -> std::result::Result<Array2<f64>, usize> = cholesky_body
}

#[inline(always)]
fn cholesky_body(a: ArrayView2<f64>) -> std::result::Result<Array2<f64>, usize> {
    let n = a.nrows();
    // Column-major lower triangle: element (i, j) at w[j·n + i].
    let mut w = vec![0.0f64; n * n];
    for (j, col) in w.chunks_exact_mut(n.max(1)).enumerate().take(n) {
        for (i, v) in col.iter_mut().enumerate().skip(j) {
            *v = a[[i, j]];
        }
    }
    for j in 0..n {
        let (head, tail) = w.split_at_mut((j + 1) * n);
        let col = &mut head[j * n..];
        let d = col[j];
        if !(d > 0.0) || !d.is_finite() {
            return Err(j);
        }
        let djj = d.sqrt();
        col[j] = djj;
        for v in &mut col[j + 1..] {
            *v /= djj;
        }
        let col = &head[j * n..];
        // Column kk > j: w(i, kk) −= l(i, j)·l(kk, j) for i ≥ kk.
        for (kk, dst) in (j + 1..n).zip(tail.chunks_exact_mut(n)) {
            let lkj = col[kk];
            for (v, &lij) in dst[kk..].iter_mut().zip(&col[kk..]) {
                *v -= lij * lkj;
            }
        }
    }
    Ok(Array2::from_shape_vec((n, n).f(), w).expect("n×n buffer"))
}

avx2_multiversion! {
    /// Inverse of a lower-triangular matrix with positive diagonal.
    ///
    /// Row by row: row i of the inverse is −(Σ_{k<i} l_ik · row k of the inverse) / l_ii,
    /// summed over k in increasing order for every element (as the element-wise textbook loop
    /// does), with the inner loop over a contiguous row.
    fn invert_lower(l: ArrayView2<f64>) -> Array2<f64> = invert_lower_body
}

#[inline(always)]
fn invert_lower_body(l: ArrayView2<f64>) -> Array2<f64> {
    let n = l.nrows();
    let mut inv = vec![0.0f64; n * n];
    let mut s = vec![0.0f64; n];
    for i in 0..n {
        let lii = l[[i, i]];
        s[..i].iter_mut().for_each(|v| *v = 0.0);
        let (done, rest) = inv.split_at_mut(i * n);
        for k in 0..i {
            let lik = l[[i, k]];
            for (sj, &v) in s[..=k].iter_mut().zip(&done[k * n..=k * n + k]) {
                *sj += lik * v;
            }
        }
        let row = &mut rest[..n];
        for (dst, &sj) in row[..i].iter_mut().zip(&s[..i]) {
            *dst = -sj / lii;
        }
        row[i] = 1.0 / lii;
    }
    Array2::from_shape_vec((n, n), inv).expect("n×n buffer")
}

/// Inverse of a symmetric positive-definite matrix through its Cholesky factor.
pub(crate) fn spd_inverse(a: ArrayView2<f64>) -> std::result::Result<Array2<f64>, usize> {
    let l = cholesky(a)?;
    let li = invert_lower(l.view());
    let mut out = li.t().dot(&li);
    symmetrize(&mut out);
    Ok(out)
}

pub(crate) fn symmetrize(a: &mut Array2<f64>) {
    let n = a.nrows();
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (a[[i, j]] + a[[j, i]]);
            a[[i, j]] = m;
            a[[j, i]] = m;
        }
    }
}

/// Symmetric eigen-decomposition: returns (eigenvalues, V) with A = V·diag(s)·Vᵀ (eigenvectors in
/// the columns of V, eigenvalues ascending). faer's Householder tridiagonalisation + implicit QR
/// (sequential, so deterministic): ≈ 30× faster than cyclic Jacobi at D = 39, where the M-step
/// calls this once per component and iteration. Cyclic Jacobi ([`sym_eig_jacobi`]) if it fails
/// to converge.
pub(crate) fn sym_eig(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
    let n = a.nrows();
    if n == 0 {
        return (Array1::zeros(0), Array2::zeros((0, 0)));
    }
    let am = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    let mut s = faer::diag::Diag::<f64>::zeros(n);
    let mut u = faer::Mat::<f64>::zeros(n, n);
    let par = faer::Par::Seq;
    let params = Default::default();
    let mut mem = MemBuffer::new(self_adjoint_evd_scratch::<f64>(
        n,
        ComputeEigenvectors::Yes,
        par,
        params,
    ));
    let ok = self_adjoint_evd(
        am.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut mem),
        params,
    );
    crate::kernels::vzeroupper();
    let vals = Array1::from_iter((0..n).map(|i| s[i]));
    if ok.is_err() || !vals.iter().all(|v| v.is_finite()) {
        return sym_eig_jacobi(a);
    }
    (vals, Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)]))
}

/// Symmetric eigen-decomposition by cyclic Jacobi (eigenvalues unsorted): the fallback of
/// [`sym_eig`].
pub(crate) fn sym_eig_jacobi(a: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut m = a.to_owned();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut diag = 0.0;
        for i in 0..n {
            diag += m[[i, i]] * m[[i, i]];
            for j in 0..i {
                off += m[[i, j]] * m[[i, j]];
            }
        }
        if off <= 1e-30 * diag || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let app = m[[p, p]];
                let aqq = m[[q, q]];
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[[k, p]];
                    let mkq = m[[k, q]];
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[[p, k]];
                    let mqk = m[[q, k]];
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[[k, p]];
                    let vkq = v[[k, q]];
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    let s = Array1::from_iter((0..n).map(|i| m[[i, i]]));
    (s, v)
}

/// Floor the eigenvalues of a symmetric matrix at `floor` (Kaldi `SpMatrix::ApplyFloor`);
/// returns the number floored. Leaves the matrix untouched when nothing is floored.
pub(crate) fn apply_eig_floor(a: &mut Array2<f64>, floor: f64) -> usize {
    let (mut s, v) = sym_eig(a.view());
    let mut n = 0;
    for x in s.iter_mut() {
        if *x < floor {
            *x = floor;
            n += 1;
        }
    }
    if n > 0 {
        let vs = &v * &s.view().insert_axis(ndarray::Axis(0));
        let mut out = vs.dot(&v.t());
        symmetrize(&mut out);
        *a = out;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn chol_and_inverse() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 3.0, 0.4], [0.6, 0.4, 2.0]];
        let l = cholesky(a.view()).unwrap();
        let back = l.dot(&l.t());
        assert!((&back - &a).iter().all(|x| x.abs() < 1e-12));
        let inv = spd_inverse(a.view()).unwrap();
        let eye = inv.dot(&a);
        for i in 0..3 {
            for j in 0..3 {
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((eye[[i, j]] - e).abs() < 1e-12);
            }
        }
        let bad = array![[1.0, 2.0], [2.0, 1.0]];
        assert_eq!(cholesky(bad.view()).unwrap_err(), 1);
    }

    /// The textbook (left-looking, element-wise) loops: the fast versions must give their bits.
    fn cholesky_textbook(a: &Array2<f64>) -> Array2<f64> {
        let n = a.nrows();
        let mut l = Array2::<f64>::zeros((n, n));
        for j in 0..n {
            let mut d = a[[j, j]];
            for k in 0..j {
                d -= l[[j, k]] * l[[j, k]];
            }
            let djj = d.sqrt();
            l[[j, j]] = djj;
            for i in j + 1..n {
                let mut s = a[[i, j]];
                for k in 0..j {
                    s -= l[[i, k]] * l[[j, k]];
                }
                l[[i, j]] = s / djj;
            }
        }
        l
    }

    fn invert_lower_textbook(l: &Array2<f64>) -> Array2<f64> {
        let n = l.nrows();
        let mut inv = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            inv[[i, i]] = 1.0 / l[[i, i]];
            for j in (0..i).rev() {
                let mut s = 0.0;
                for k in j..i {
                    s += l[[i, k]] * inv[[k, j]];
                }
                inv[[i, j]] = -s / l[[i, i]];
            }
        }
        inv
    }

    #[test]
    fn cholesky_and_inverse_equal_textbook_loops_bitwise() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1usize, 2, 3, 7, 13, 39, 40, 64] {
            let b = Array2::from_shape_fn((n, n + 3), |_| next());
            let mut a = b.dot(&b.t());
            for i in 0..n {
                a[[i, i]] += 1e-3;
            }
            let l = cholesky(a.view()).unwrap();
            let want = cholesky_textbook(&a);
            assert!(
                l.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()),
                "n={n}"
            );
            let inv = invert_lower(l.view());
            let want = invert_lower_textbook(&l);
            assert!(
                inv.iter()
                    .zip(&want)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "n={n}"
            );
        }
    }

    #[test]
    fn eig_reconstructs() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 3.0, 0.4], [0.6, 0.4, 2.0]];
        let (s, v) = sym_eig(a.view());
        let back = (&v * &s.view().insert_axis(ndarray::Axis(0))).dot(&v.t());
        assert!((&back - &a).iter().all(|x| x.abs() < 1e-12));
        let (sj, vj) = sym_eig_jacobi(a.view());
        let back = (&vj * &sj.view().insert_axis(ndarray::Axis(0))).dot(&vj.t());
        assert!((&back - &a).iter().all(|x| x.abs() < 1e-12));
        let mut b = a.clone();
        let smin = s.iter().cloned().fold(f64::INFINITY, f64::min);
        assert_eq!(apply_eig_floor(&mut b, smin + 0.1), 1);
    }
}
