//! Small dense f64 linear algebra on D×D symmetric matrices (D ≲ 100): Cholesky, triangular
//! inverse, symmetric eigen-decomposition (cyclic Jacobi). Deterministic and exact enough for the
//! M-step; the heavy lifting (GEMM over frames) is in `engine`.

use ndarray::{Array1, Array2, ArrayView2};

/// Lower Cholesky factor L with A = L·Lᵀ, or the 0-based pivot where A is not positive definite.
pub(crate) fn cholesky(a: ArrayView2<f64>) -> std::result::Result<Array2<f64>, usize> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut d = a[[j, j]];
        for k in 0..j {
            d -= l[[j, k]] * l[[j, k]];
        }
        if !(d > 0.0) || !d.is_finite() {
            return Err(j);
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
    Ok(l)
}

/// Inverse of a lower-triangular matrix with positive diagonal.
pub(crate) fn invert_lower(l: ArrayView2<f64>) -> Array2<f64> {
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
    crate::engine::vzeroupper();
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
