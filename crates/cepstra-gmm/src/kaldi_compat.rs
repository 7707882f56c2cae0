//! Kaldi-compatible EM: the E-step, the accumulator files and the M-step exactly as Kaldi's
//! `gmm-global-acc-stats`/`gmm-global-est` and `fgmm-global-acc-stats`/`fgmm-global-est` compute
//! them, float32 where Kaldi uses float32.
//!
//! cepstra's own EM ([`crate::fit`], [`GmmStats::accumulate`], [`crate::estimate`]) evaluates the
//! model through Cholesky factors in f64. Kaldi does not: it keeps the model in float32 *natural*
//! parameters (gconsts, μΣ⁻¹, Σ⁻¹) and evaluates each frame as `gconst + μᵀΣ⁻¹x − ½·xᵀΣ⁻¹x` in
//! float32. On ill-conditioned models (a variance of 1e-4 gives gconsts near −1.5e5) the float
//! cancellation changes each frame's log-likelihood by up to ~0.06 and the posteriors with it, so
//! the two EMs drift apart by ~1e-3 LL/frame. This module reproduces Kaldi's arithmetic so that
//! a cepstra run can be compared with a Kaldi run iteration by iteration:
//!
//! - [`kaldi_frame_log_likelihoods`]: `{f,}gmm-global-get-frame-likes` (`LogLikelihoods` +
//!   `LogSumExp`).
//! - [`accumulate_kaldi`]: `{f,}gmm-global-acc-stats` for one utterance (`LogLikelihoods`, float
//!   `ApplySoftMax`, statistics accumulated in f64 as `AccumDiagGmm`/`AccumFullGmm`).
//! - [`round_stats_like_kaldi_acc`]: what `gmm-global-est` reads back from the accumulator file
//!   (Kaldi writes accumulators as float32; full second-order statistics centred).
//! - [`estimate_kaldi`]: `MleDiagGmmUpdate`/`MleFullGmmUpdate` in f64, then the float natural
//!   parameters as `CopyToDiagGmm`/`CopyToFullGmm` + `ComputeGconsts` + `RemoveComponents` make
//!   them.
//! - [`fit_kaldi`]: acc → est iterations on a set of utterances, with the trace Kaldi's logs and
//!   `get-frame-likes` would show.
//! - [`convert_covariance`]: `gmm-global-to-fgmm` / `fgmm-global-to-gmm`.
//! - [`FrameReservoir`] and [`init_from_feats`]: `gmm-global-init-from-feats` (a uniform sample of
//!   at most `--num-frames` frames, random frames as means, the global variance, EM passes with
//!   Kaldi's mixing-up schedule). Its random numbers are cepstra's (ChaCha8), not glibc's
//!   `rand()`, and its EM is cepstra's f64 one, so the model is Kaldi's in structure, not bytes.
//!
//! # Float operation order
//!
//! Kaldi calls BLAS for its dot products (`AddMatVec` → `sgemv`, `TraceSpSpLower`/`VecVec` →
//! `sdot`, `AddSpVec` → `sspmv`); the rounding of a float dot product depends on the order of its
//! additions. The order emulated here is OpenBLAS's x86-64 Haswell/Zen kernels (the BLAS of the
//! `DYNAMIC_ARCH` Kaldi build the fixtures come from): `sgemv_t` with its 8-lane FMA kernel for
//! rows in blocks of four, its SSE kernels for the last one to three rows and its C loop for the
//! last `D mod 4` columns; `sdot` summing float products in double below 32 elements and through
//! its four-accumulator FMA kernel above; `sspmv` as a dot product and an axpy per row. Checked
//! against Kaldi 5.5 (`gmm-global-*`, `fgmm-global-*`) for D ∈ {4, 6, 13, 39} and K ∈ {3, …, 7},
//! diagonal and full: frame log-likelihoods, accumulator files and estimated models identical to
//! the last bit. Kaldi linked with another BLAS (MKL, ATLAS, another OpenBLAS kernel) rounds
//! differently in the last bit. Feature dimensions of 4096 or more (where OpenBLAS splits `sgemv`
//! into column blocks) are not emulated.
//!
//! ```
//! use cepstra_gmm::{kaldi_compat, DiagGmm, EstimateOptions, Gmm};
//! use ndarray::{array, Array2};
//! let gmm = Gmm::from(DiagGmm::new(
//!     array![0.5, 0.5],
//!     array![[0.0, 0.0], [3.0, 3.0]],
//!     array![[1.0, 1.0], [1.0, 2.0]],
//! )?);
//! let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.4);
//! let opts = EstimateOptions { min_gaussian_occupancy: 0.0, ..EstimateOptions::kaldi_diag() };
//! let (model, report) = kaldi_compat::fit_kaldi(&gmm, &[x.view()], &opts, 3)?;
//! assert_eq!(report.iterations.len(), 3);
//! assert_eq!(model.num_gauss(), 2);
//! # Ok::<(), cepstra_gmm::Error>(())
//! ```

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::estimate::EstimateReport;
use crate::linalg;
use crate::model::{DiagGmm, FullGmm, Gmm, KaldiRaw, LOG_2PI};
use crate::options::{CovarianceType, EstimateOptions};
use crate::stats::{GmmStats, SecondOrder};

// ---------------------------------------------------------------------------------------------
// Float primitives in OpenBLAS's order.

/// `cblas_sdot` with unit strides: OpenBLAS's x86-64 `sdot.c` sums the float products in a
/// double and returns it as float. Vectors of 32 or more elements go through its AVX2 kernel
/// first (four 8-lane FMA accumulators), emulated here.
fn sdot(a: &[f32], b: &[f32]) -> f32 {
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
fn sdot_kernel_32(a: &[f32], b: &[f32]) -> f32 {
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
fn hsum8(s: &[f32; 8]) -> f32 {
    let h = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    (h[0] + h[1]) + (h[2] + h[3])
}

/// Sum of a float vector as Kaldi's `VectorBase<float>::Sum` computes it (`cblas_sdot` against a
/// stride-0 one: pairs summed in float, accumulated in double).
fn kaldi_sum_f32(v: &[f32]) -> f32 {
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
fn kaldi_sum_f64(v: &[f64]) -> f64 {
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
fn gemv_block_dot(a: &[f32], x: &[f32]) -> f32 {
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
fn gemv_sse_dot(a: &[f32], x: &[f32]) -> f32 {
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
fn gemv_sse1_dot(a: &[f32], x: &[f32]) -> f32 {
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
fn sgemv_add(y: &mut [f32], alpha: f32, m: ArrayView2<'_, f32>, x: &[f32]) {
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
fn sspmv(p: &[f32], v: &[f32]) -> Vec<f32> {
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
fn packed_index(i: usize, j: usize) -> usize {
    i * (i + 1) / 2 + j
}

fn pack_lower_f32(m: ArrayView2<'_, f32>) -> Vec<f32> {
    let d = m.nrows();
    let mut out = Vec::with_capacity(d * (d + 1) / 2);
    for i in 0..d {
        for j in 0..=i {
            out.push(m[[i, j]]);
        }
    }
    out
}

fn unpack_lower_f32(p: &[f32], d: usize) -> Array2<f32> {
    Array2::from_shape_fn((d, d), |(i, j)| {
        if j <= i {
            p[packed_index(i, j)]
        } else {
            p[packed_index(j, i)]
        }
    })
}

/// Kaldi's `VectorBase::Max` (first maximum; NaN never wins).
fn kaldi_max(v: &[f32]) -> f32 {
    v.iter()
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// `VectorBase<float>::LogSumExp()`: terms more than ln(FLT_EPSILON) below the maximum are
/// skipped; the sum is kept in double.
fn log_sum_exp(v: &[f32]) -> f32 {
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
fn apply_softmax(v: &mut [f32]) -> f32 {
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

// ---------------------------------------------------------------------------------------------
// Kaldi's float model.

/// A model in Kaldi's float natural parameters with the per-frame scratch Kaldi's
/// `LogLikelihoods` uses.
#[derive(Debug, Clone)]
enum KaldiModel {
    Diag {
        gconsts: Vec<f32>,
        weights: Vec<f32>,
        means_invvars: Array2<f32>,
        inv_vars: Array2<f32>,
    },
    Full {
        gconsts: Vec<f32>,
        weights: Vec<f32>,
        means_invcovars: Array2<f32>,
        /// Row-major lower packed inverse covariances.
        inv_covars: Vec<Vec<f32>>,
    },
}

impl KaldiModel {
    /// Kaldi's float parameters of `gmm`: the ones read from a Kaldi file (or made by this
    /// module), else converted from the f64 normal parameters as `CopyToDiagGmm` /
    /// `CopyToFullGmm` + `ComputeGconsts` would.
    fn of(gmm: &Gmm) -> Result<Self> {
        let stored = match gmm {
            Gmm::Diag(g) => g.kaldi.as_deref(),
            Gmm::Full(g) => g.kaldi.as_deref(),
        };
        match stored {
            Some(KaldiRaw::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            }) => Ok(KaldiModel::Diag {
                gconsts: gconsts.to_vec(),
                weights: weights.to_vec(),
                means_invvars: means_invvars.clone(),
                inv_vars: inv_vars.clone(),
            }),
            Some(KaldiRaw::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            }) => Ok(KaldiModel::Full {
                gconsts: gconsts.to_vec(),
                weights: weights.to_vec(),
                means_invcovars: means_invcovars.clone(),
                inv_covars: inv_covars
                    .iter()
                    .map(|p| pack_lower_f32(p.view()))
                    .collect(),
            }),
            None => match gmm {
                Gmm::Diag(g) => {
                    let w: Vec<f64> = g.weights().to_vec();
                    Self::diag_from_normal(&w, g.means(), g.vars())
                }
                Gmm::Full(g) => {
                    let w: Vec<f64> = g.weights().to_vec();
                    Self::full_from_normal(&w, g.means(), g.covars())
                }
            },
        }
    }

    fn num_gauss(&self) -> usize {
        match self {
            KaldiModel::Diag { weights, .. } | KaldiModel::Full { weights, .. } => weights.len(),
        }
    }

    fn dim(&self) -> usize {
        match self {
            KaldiModel::Diag { means_invvars, .. } => means_invvars.ncols(),
            KaldiModel::Full {
                means_invcovars, ..
            } => means_invcovars.ncols(),
        }
    }

    /// `DiagGmmNormal::CopyToDiagGmm` + `ComputeGconsts`: float(var) inverted in double,
    /// means_invvars = float(mean)·inv_var in float.
    fn diag_from_normal(
        weights: &[f64],
        means: ArrayView2<'_, f64>,
        vars: ArrayView2<'_, f64>,
    ) -> Result<Self> {
        let inv_vars = vars.mapv(|v| (1.0 / (v as f32) as f64) as f32);
        let means_invvars = Array2::from_shape_fn(means.dim(), |(k, i)| {
            (means[[k, i]] as f32) * inv_vars[[k, i]]
        });
        let mut m = KaldiModel::Diag {
            gconsts: vec![0.0; weights.len()],
            weights: weights.iter().map(|&w| w as f32).collect(),
            means_invvars,
            inv_vars,
        };
        m.compute_gconsts()?;
        Ok(m)
    }

    /// `FullGmmNormal::CopyToFullGmm` + `ComputeGconsts`: Σ rounded to float and inverted in
    /// double (`InvertDouble`), means_invcovars = Σ⁻¹·float(mean) by `sspmv`.
    fn full_from_normal(
        weights: &[f64],
        means: ArrayView2<'_, f64>,
        covars: ndarray::ArrayView3<'_, f64>,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        let mut inv_covars = Vec::with_capacity(k);
        let mut means_invcovars = Array2::zeros((k, d));
        for c in 0..k {
            let cov_f = covars.index_axis(Axis(0), c).mapv(|v| v as f32);
            let p = invert_double(cov_f.view()).map_err(|pivot| Error::SingularCovariance {
                component: c,
                pivot,
                context: " when converting to Kaldi's natural parameters".into(),
            })?;
            let packed = pack_lower_f32(p.view());
            let mean_f: Vec<f32> = means.row(c).iter().map(|&v| v as f32).collect();
            let miv = sspmv(&packed, &mean_f);
            means_invcovars.row_mut(c).assign(&Array1::from(miv));
            inv_covars.push(packed);
        }
        let mut m = KaldiModel::Full {
            gconsts: vec![0.0; weights.len()],
            weights: weights.iter().map(|&w| w as f32).collect(),
            means_invcovars,
            inv_covars,
        };
        m.compute_gconsts()?;
        Ok(m)
    }

    /// `DiagGmm::ComputeGconsts` / `FullGmm::ComputeGconsts`, float as Kaldi.
    fn compute_gconsts(&mut self) -> Result<()> {
        let d = self.dim();
        let offset = (-0.5 * LOG_2PI * d as f64) as f32;
        match self {
            KaldiModel::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            } => {
                for (c, gc_out) in gconsts.iter_mut().enumerate() {
                    let mut gc = weights[c].ln() + offset;
                    for i in 0..d {
                        let (m, iv) = (means_invvars[[c, i]] as f64, inv_vars[[c, i]]);
                        gc = (gc as f64 + 0.5 * (iv.ln() as f64) - 0.5 * m * m / iv as f64) as f32;
                    }
                    *gc_out = finish_gconst(gc, c)?;
                }
            }
            KaldiModel::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            } => {
                for (c, gc_out) in gconsts.iter_mut().enumerate() {
                    let mut gc = weights[c].ln() + offset;
                    let p = unpack_lower_f32(&inv_covars[c], d);
                    let cov =
                        invert_double(p.view()).map_err(|pivot| Error::SingularCovariance {
                            component: c,
                            pivot,
                            context: " (inverse covariance of the Kaldi model)".into(),
                        })?;
                    let cov_packed = pack_lower_f32(cov.view());
                    let logdet = log_pos_def_det(&cov_packed, d).ok_or_else(|| {
                        Error::SingularCovariance {
                            component: c,
                            pivot: 0,
                            context: " (float Cholesky of the Kaldi model's covariance)".into(),
                        }
                    })?;
                    let miv: Vec<f32> = means_invcovars.row(c).to_vec();
                    let vsv = sdot(&sspmv(&cov_packed, &miv), &miv);
                    gc = (gc as f64 - 0.5 * (logdet + vsv) as f64) as f32;
                    *gc_out = finish_gconst(gc, c)?;
                }
            }
        }
        Ok(())
    }

    /// Kaldi's `LogLikelihoods(data, &loglikes)` for one frame, into `out` (K).
    fn component_lls(&self, x: &[f32], scratch: &mut Vec<f32>, out: &mut [f32]) {
        match self {
            KaldiModel::Diag {
                gconsts,
                means_invvars,
                inv_vars,
                ..
            } => {
                out.copy_from_slice(gconsts);
                scratch.clear();
                scratch.extend(x.iter().map(|v| v * v));
                sgemv_add(out, 1.0, means_invvars.view(), x);
                sgemv_add(out, -0.5, inv_vars.view(), scratch);
            }
            KaldiModel::Full {
                gconsts,
                means_invcovars,
                inv_covars,
                ..
            } => {
                out.copy_from_slice(gconsts);
                // data_sq = x·xᵀ (sspr), diagonal halved.
                scratch.clear();
                for i in 0..x.len() {
                    for j in 0..=i {
                        let v = x[i] * x[j];
                        scratch.push(if i == j { v * 0.5 } else { v });
                    }
                }
                sgemv_add(out, 1.0, means_invcovars.view(), x);
                for (o, p) in out.iter_mut().zip(inv_covars) {
                    *o -= sdot(scratch, p);
                }
            }
        }
    }

    /// Removes components (ascending), renormalising the float weights after each removal as
    /// `RemoveComponent(g, true)`, then recomputes the gconsts.
    fn remove_components(&mut self, remove: &[usize]) -> Result<()> {
        for (n, &g0) in remove.iter().enumerate() {
            let g = g0 - n;
            match self {
                KaldiModel::Diag {
                    gconsts,
                    weights,
                    means_invvars,
                    inv_vars,
                } => {
                    weights.remove(g);
                    gconsts.remove(g);
                    *means_invvars = remove_row(means_invvars, g);
                    *inv_vars = remove_row(inv_vars, g);
                    renormalise(weights);
                }
                KaldiModel::Full {
                    gconsts,
                    weights,
                    means_invcovars,
                    inv_covars,
                } => {
                    weights.remove(g);
                    gconsts.remove(g);
                    *means_invcovars = remove_row(means_invcovars, g);
                    inv_covars.remove(g);
                    renormalise(weights);
                }
            }
        }
        if !remove.is_empty() {
            self.compute_gconsts()?;
        }
        Ok(())
    }

    /// The [`Gmm`] of these float parameters (normal parameters in f64 derived from them as
    /// [`crate::io`]'s Kaldi reader does, the float parameters kept for writing and for this
    /// module).
    fn into_gmm(self) -> Result<Gmm> {
        match self {
            KaldiModel::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            } => {
                let vars = inv_vars.mapv(|v| 1.0 / v as f64);
                let means = Array2::from_shape_fn(means_invvars.dim(), |(i, j)| {
                    means_invvars[[i, j]] as f64 * vars[[i, j]]
                });
                let mut g = DiagGmm::new(weights.iter().map(|&w| w as f64).collect(), means, vars)?;
                g.kaldi = Some(Box::new(KaldiRaw::Diag {
                    gconsts: Array1::from(gconsts),
                    weights: Array1::from(weights),
                    means_invvars,
                    inv_vars,
                }));
                Ok(Gmm::Diag(g))
            }
            KaldiModel::Full {
                gconsts,
                weights,
                means_invcovars,
                inv_covars,
            } => {
                let (k, d) = means_invcovars.dim();
                let mut covs = Array3::zeros((k, d, d));
                let mut means = Array2::zeros((k, d));
                let mut unpacked = Vec::with_capacity(k);
                for (c, p) in inv_covars.iter().enumerate() {
                    let p = unpack_lower_f32(p, d);
                    let cov =
                        linalg::spd_inverse(p.mapv(|v| v as f64).view()).map_err(|pivot| {
                            Error::SingularCovariance {
                                component: c,
                                pivot,
                                context: " (inverse covariance of the Kaldi model)".into(),
                            }
                        })?;
                    means
                        .row_mut(c)
                        .assign(&cov.dot(&means_invcovars.row(c).mapv(|v| v as f64)));
                    covs.index_axis_mut(Axis(0), c).assign(&cov);
                    unpacked.push(p);
                }
                let mut g = FullGmm::new(weights.iter().map(|&w| w as f64).collect(), means, covs)?;
                g.kaldi = Some(Box::new(KaldiRaw::Full {
                    gconsts: Array1::from(gconsts),
                    weights: Array1::from(weights),
                    means_invcovars,
                    inv_covars: unpacked,
                }));
                Ok(Gmm::Full(g))
            }
        }
    }
}

fn finish_gconst(gc: f32, c: usize) -> Result<f32> {
    if gc.is_nan() {
        return Err(Error::InvalidModel(format!(
            "component {c}: not a number in the gconst computation"
        )));
    }
    Ok(if gc.is_infinite() { -gc.abs() } else { gc })
}

fn remove_row(m: &Array2<f32>, g: usize) -> Array2<f32> {
    let keep: Vec<usize> = (0..m.nrows()).filter(|&r| r != g).collect();
    m.select(Axis(0), &keep)
}

/// `weights_.Scale(1.0 / weights_.Sum())` in float.
fn renormalise(w: &mut [f32]) {
    let s = kaldi_sum_f32(w);
    let scale = (1.0f64 / s as f64) as f32;
    for x in w.iter_mut() {
        *x *= scale;
    }
}

/// `SpMatrix<float>::InvertDouble`: the float matrix inverted in double, rounded back to float.
fn invert_double(m: ArrayView2<'_, f32>) -> std::result::Result<Array2<f32>, usize> {
    let inv = linalg::spd_inverse(m.mapv(|v| v as f64).view())?;
    let d = m.nrows();
    // Symmetric by construction: take the lower triangle, as Kaldi's packed copy does.
    Ok(Array2::from_shape_fn((d, d), |(i, j)| {
        if j <= i {
            inv[[i, j]] as f32
        } else {
            inv[[j, i]] as f32
        }
    }))
}

/// `SpMatrix<float>::LogPosDefDet`: Kaldi's own float Cholesky (`TpMatrix::Cholesky`), then
/// 2·Σ log(L_ii) in double, returned as float. None when not positive definite.
fn log_pos_def_det(a: &[f32], n: usize) -> Option<f32> {
    let mut l = vec![0.0f32; a.len()];
    for j in 0..n {
        let jrow = packed_index(j, 0);
        let mut d = 0.0f32;
        for k in 0..j {
            let krow = packed_index(k, 0);
            let s = sdot(&l[krow..krow + k], &l[jrow..jrow + k]);
            let s = (a[jrow + k] - s) / l[krow + k];
            l[jrow + k] = s;
            d += s * s;
        }
        let d = a[jrow + j] - d;
        if !(d >= 0.0) {
            return None;
        }
        l[jrow + j] = d.sqrt();
    }
    let mut det = 0.0f64;
    for i in 0..n {
        det += (l[packed_index(i, i)] as f64).ln();
    }
    Some((2.0 * det) as f32)
}

// ---------------------------------------------------------------------------------------------
// Public API.

fn check_feats(gmm: &Gmm, feats: ArrayView2<'_, f32>) -> Result<()> {
    gmm.check_dim(feats.ncols())?;
    if let Some(((frame, dim), &v)) = feats.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            frame,
            dim,
            value: v as f64,
        });
    }
    Ok(())
}

/// Frame log-likelihoods as Kaldi's `gmm-global-get-frame-likes` / `fgmm-global-get-frame-likes`
/// compute them (float32 `LogLikelihoods` from the model's float natural parameters, then
/// `LogSumExp` with its ln(FLT_EPSILON) pruning and a double sum).
///
/// A model read from a Kaldi file (or made by this module) is evaluated with exactly its stored
/// float parameters; any other model is first converted as Kaldi's `CopyToDiagGmm` /
/// `CopyToFullGmm` would.
pub fn kaldi_frame_log_likelihoods(gmm: &Gmm, feats: ArrayView2<'_, f32>) -> Result<Array1<f32>> {
    check_feats(gmm, feats)?;
    let model = KaldiModel::of(gmm)?;
    let mut lls = vec![0.0f32; model.num_gauss()];
    let mut scratch = Vec::new();
    let mut x = vec![0.0f32; model.dim()];
    let mut out = Array1::zeros(feats.nrows());
    for (t, row) in feats.outer_iter().enumerate() {
        x.iter_mut().zip(row.iter()).for_each(|(a, &b)| *a = b);
        model.component_lls(&x, &mut scratch, &mut lls);
        out[t] = log_sum_exp(&lls);
    }
    Ok(out)
}

/// Accumulates the statistics of one utterance (`feats`, frames × D) under `gmm` exactly as
/// Kaldi's `gmm-global-acc-stats` / `fgmm-global-acc-stats` do
/// (`AccumDiagGmm::AccumulateFromDiag` / `AccumFullGmm::AccumulateFromFull`): float32 component
/// log-likelihoods and float `ApplySoftMax` posteriors (scaled by the frame weight, frames of
/// weight 0 skipped), statistics added in f64. Returns the utterance's total log-likelihood,
/// summed in float as Kaldi's `file_like` (Kaldi adds it to a double total per utterance: call
/// this once per utterance for the same total).
///
/// ```
/// use cepstra_gmm::{kaldi_compat, DiagGmm, Gmm, GmmStats};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let mut st = GmmStats::for_model(&gmm);
/// let ll = kaldi_compat::accumulate_kaldi(&mut st, &gmm, array![[0.5f32], [1.0]].view(), None)?;
/// assert_eq!(st.occupancy()[0], 2.0);
/// assert!((ll - st.total_loglike()).abs() < 1e-12);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[doc(alias = "AccumulateFromDiag")]
#[doc(alias = "AccumulateFromFull")]
pub fn accumulate_kaldi(
    stats: &mut GmmStats,
    gmm: &Gmm,
    feats: ArrayView2<'_, f32>,
    weights: Option<ArrayView1<'_, f32>>,
) -> Result<f64> {
    check_stats_model(stats, gmm)?;
    check_feats(gmm, feats)?;
    if let Some(w) = weights {
        if w.len() != feats.nrows() {
            return Err(Error::DimensionMismatch {
                what: "frame weights vs frames",
                expected: feats.nrows(),
                got: w.len(),
            });
        }
    }
    let model = KaldiModel::of(gmm)?;
    let (k, d) = (model.num_gauss(), model.dim());
    let mut post = vec![0.0f32; k];
    let mut scratch = Vec::new();
    let mut x = vec![0.0f32; d];
    let mut xd = vec![0.0f64; d];
    let mut file_like = 0.0f32;
    let mut file_weight = 0.0f32;
    for (t, row) in feats.outer_iter().enumerate() {
        let weight = weights.map_or(1.0f32, |w| w[t]);
        if weight == 0.0 {
            continue;
        }
        file_weight += weight;
        x.iter_mut().zip(row.iter()).for_each(|(a, &b)| *a = b);
        model.component_lls(&x, &mut scratch, &mut post);
        let log_like = apply_softmax(&mut post);
        if !log_like.is_finite() {
            return Err(Error::InvalidModel(format!(
                "frame {t} has log-likelihood {log_like} under Kaldi's float arithmetic: the model is too ill-conditioned (raise --var-floor)"
            )));
        }
        if weight != 1.0 {
            post.iter_mut().for_each(|p| *p *= weight);
        }
        file_like += weight * log_like;
        xd.iter_mut().zip(&x).for_each(|(a, &b)| *a = b as f64);
        for (c, &p) in post.iter().enumerate() {
            let p = p as f64;
            stats.occupancy[c] += p;
            for (f, &xi) in stats.first.row_mut(c).iter_mut().zip(&xd) {
                *f += p * xi;
            }
            match &mut stats.second {
                SecondOrder::Diag(s) => {
                    for (v, &xi) in s.row_mut(c).iter_mut().zip(&xd) {
                        *v += p * (xi * xi);
                    }
                }
                SecondOrder::Full(s) => {
                    if p != 0.0 {
                        for (i, &xi) in xd.iter().enumerate() {
                            for (j, &xj) in xd.iter().enumerate().take(i + 1) {
                                let v = s[[c, i, j]] + p * (xi * xj);
                                s[[c, i, j]] = v;
                                s[[c, j, i]] = v;
                            }
                        }
                    }
                }
            }
        }
    }
    stats.loglike += file_like as f64;
    stats.num_frames += file_weight as f64;
    Ok(file_like as f64)
}

fn check_stats_model(stats: &GmmStats, gmm: &Gmm) -> Result<()> {
    if gmm.covariance_type() != stats.covariance_type() {
        return Err(Error::CovarianceMismatch(
            "model and statistics differ (diag vs full)",
        ));
    }
    if gmm.num_gauss() != stats.num_gauss() || gmm.dim() != stats.dim() {
        return Err(Error::DimensionMismatch {
            what: "components × dimension of model vs statistics",
            expected: stats.num_gauss() * stats.dim(),
            got: gmm.num_gauss() * gmm.dim(),
        });
    }
    Ok(())
}

/// The statistics as Kaldi's estimator sees them after the accumulator file: `AccumDiagGmm` /
/// `AccumFullGmm::Write` round every accumulator to float32 (full second-order statistics
/// centred first, Σγxxᵀ − (1/γ)·mmᵀ, and un-centred again on reading with the float γ and m).
/// The frame count and total log-likelihood are kept.
pub fn round_stats_like_kaldi_acc(stats: &GmmStats) -> GmmStats {
    let occ = stats.occupancy.mapv(|v| v as f32 as f64);
    let first = stats.first.mapv(|v| v as f32 as f64);
    let second = match &stats.second {
        SecondOrder::Diag(s) => SecondOrder::Diag(s.mapv(|v| v as f32 as f64)),
        SecondOrder::Full(s) => {
            let (k, d) = (stats.num_gauss(), stats.dim());
            let mut out = Array3::zeros((k, d, d));
            for c in 0..k {
                let o = stats.occupancy[c];
                let m = stats.first.row(c);
                let (of, mf) = (occ[c], first.row(c));
                for i in 0..d {
                    for j in 0..=i {
                        let mut v = s[[c, i, j]];
                        if o != 0.0 {
                            v += (-1.0 / o * m[i]) * m[j];
                        }
                        let mut r = v as f32 as f64;
                        if of != 0.0 {
                            r += (1.0 / of * mf[i]) * mf[j];
                        }
                        out[[c, i, j]] = r;
                        out[[c, j, i]] = r;
                    }
                }
            }
            SecondOrder::Full(out)
        }
    };
    GmmStats {
        occupancy: occ,
        first,
        second,
        num_frames: stats.num_frames,
        loglike: stats.loglike,
    }
}

/// Re-estimates `gmm` from `stats` as Kaldi's `gmm-global-est` / `fgmm-global-est`
/// (`MleDiagGmmUpdate` / `MleFullGmmUpdate`) do, and returns the model in Kaldi's float natural
/// parameters (written to a Kaldi file byte for byte as Kaldi would write it).
///
/// Uses `min_gaussian_weight`, `min_gaussian_occupancy`, `remove_low_count_gaussians`,
/// `var_floor` (diag: `--min-variance`; full: `--variance-floor`) and `max_condition` (full),
/// each rounded to float as Kaldi's options are. `rel_var_floor`, `reg_covar` and `mix_up` have
/// no Kaldi counterpart here and must be 0. Pass statistics through
/// [`round_stats_like_kaldi_acc`] first to reproduce the acc → file → est pipeline.
///
/// Order, as Kaldi: per component, weight = γ/Σγ; if γ > min occupancy and weight > min weight:
/// mean = m·(1/γ), covariance = S·(1/γ) − μμᵀ, floored (diag: each variance at `var_floor`;
/// full: eigenvalues at float(max(var_floor, max|eig|/max_condition)), the matrix always rebuilt
/// from its eigen-decomposition); otherwise removed (never the last one) or, with removal off,
/// kept with weight max(w, min weight). Then float natural parameters, gconsts, removal with float
/// renormalisation of the weights, gconsts again.
pub fn estimate_kaldi(
    stats: &GmmStats,
    gmm: &Gmm,
    opts: &EstimateOptions,
) -> Result<(Gmm, EstimateReport)> {
    opts.validate()?;
    check_stats_model(stats, gmm)?;
    for (name, v) in [
        ("rel-var-floor", opts.rel_var_floor),
        ("reg-covar", opts.reg_covar),
        ("mix-up", opts.mix_up as f64),
    ] {
        if v != 0.0 {
            return Err(Error::InvalidOption {
                option: name,
                value: v.to_string(),
                reason: "has no Kaldi counterpart: set it to 0 for Kaldi-compatible estimation",
            });
        }
    }
    let old = KaldiModel::of(gmm)?;
    let (k, d) = (stats.num_gauss(), stats.dim());
    let occ_sum = kaldi_sum_f64(
        stats
            .occupancy
            .as_slice()
            .unwrap_or(&stats.occupancy.to_vec()),
    );
    if !(occ_sum > 0.0) || !occ_sum.is_finite() {
        return Err(Error::NoData(format!(
            "the statistics have total occupancy {occ_sum}: accumulate some frames first"
        )));
    }
    let min_occ = opts.min_gaussian_occupancy as f32 as f64;
    let min_w = opts.min_gaussian_weight as f32 as f64;
    let var_floor = opts.var_floor as f32 as f64;
    let max_condition = opts.max_condition as f32 as f64;
    let mut report = EstimateReport {
        count: occ_sum,
        avg_loglike: stats.avg_loglike(),
        ..Default::default()
    };
    // The old model in normal form (used for starved components that are kept).
    let old_gmm = old.clone().into_gmm()?;
    let mut weights = old_gmm.weights().to_vec();
    let mut means = old_gmm.means().to_owned();
    let mut covs = old_gmm.covars_full();
    let mut remove = Vec::new();
    for c in 0..k {
        let occ = stats.occupancy[c];
        let prob = occ / occ_sum;
        if occ > min_occ && prob > min_w {
            weights[c] = prob;
            let inv = 1.0 / occ;
            let mean: Vec<f64> = stats.first.row(c).iter().map(|v| v * inv).collect();
            let mut floored = 0;
            match &stats.second {
                SecondOrder::Diag(s) => {
                    for i in 0..d {
                        let mut v = s[[c, i]] * inv;
                        v += -mean[i] * mean[i];
                        if v < var_floor {
                            v = var_floor;
                            floored += 1;
                        }
                        covs[[c, i, i]] = v;
                    }
                }
                SecondOrder::Full(s) => {
                    let mut cov = Array2::<f64>::zeros((d, d));
                    for i in 0..d {
                        for j in 0..=i {
                            let v = s[[c, i, j]] * inv + (-mean[i]) * mean[j];
                            cov[[i, j]] = v;
                            cov[[j, i]] = v;
                        }
                    }
                    let (eig, vecs) = linalg::sym_eig(cov.view());
                    let max_abs = eig.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    let floor = var_floor.max(max_abs / max_condition) as f32 as f64;
                    let s: Vec<f64> = eig
                        .iter()
                        .map(|&e| {
                            if e < floor {
                                floored += 1;
                                floor
                            } else {
                                e
                            }
                        })
                        .collect();
                    for i in 0..d {
                        for j in 0..=i {
                            let v: f64 = (0..d).map(|q| vecs[[i, q]] * s[q] * vecs[[j, q]]).sum();
                            covs[[c, i, j]] = v;
                            covs[[c, j, i]] = v;
                        }
                    }
                }
            }
            if floored > 0 {
                report.floored_elements += floored;
                report.floored_gaussians += 1;
            }
            means.row_mut(c).assign(&Array1::from(mean));
        } else if opts.remove_low_count_gaussians && remove.len() < k - 1 {
            report.messages.push(format!(
                "Too little data - removing Gaussian (weight {prob:.6}, occupation count {occ:.6}, vector size {d})"
            ));
            remove.push(c);
        } else {
            report.messages.push(format!(
                "Gaussian has too little data but not removing it: i = {c}, occ = {occ}, weight = {prob}"
            ));
            report.kept_starved.push(c);
            weights[c] = prob.max(min_w);
        }
    }
    if report.floored_elements > 0 {
        report.messages.push(format!(
            "{} variances floored in {} Gaussians.",
            report.floored_elements, report.floored_gaussians
        ));
    }
    for m in &report.messages {
        log::warn!("{m}");
    }
    let mut new = match stats.covariance_type() {
        CovarianceType::Diag => {
            let vars = Array2::from_shape_fn((k, d), |(c, i)| covs[[c, i, i]]);
            for ((c, i), &v) in vars.indexed_iter() {
                if !(v > 0.0) || !v.is_finite() {
                    return Err(Error::SingularCovariance {
                        component: c,
                        pivot: i,
                        context: format!(" (variance {v:e} of dimension {i}): raise --var-floor"),
                    });
                }
            }
            KaldiModel::diag_from_normal(&weights, means.view(), vars.view())?
        }
        CovarianceType::Full => KaldiModel::full_from_normal(&weights, means.view(), covs.view())?,
    };
    new.remove_components(&remove)?;
    report.removed = remove;
    Ok((new.into_gmm()?, report))
}

/// One iteration of [`fit_kaldi`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KaldiIteration {
    /// Average log-likelihood per frame as `{f,}gmm-global-acc-stats` reports it (float per
    /// utterance, double total).
    pub acc_loglike: f64,
    /// Mean of the `{f,}gmm-global-get-frame-likes` values of the model before the update.
    pub frame_likes_mean: f64,
    /// Number of components before the update.
    pub num_gauss: usize,
    /// What the update did.
    pub estimate: EstimateReport,
}

/// The trace of [`fit_kaldi`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KaldiFitReport {
    /// One entry per iteration.
    pub iterations: Vec<KaldiIteration>,
    /// Mean frame log-likelihood of the final model (as `get-frame-likes`).
    pub final_frame_likes_mean: f64,
}

/// Kaldi's training loop for one model: `num_iters` × (`{f,}gmm-global-acc-stats` over
/// `utterances`, accumulator file, `{f,}gmm-global-est` with `opts`), starting from `init`. Each
/// utterance is accumulated as [`accumulate_kaldi`]; the statistics pass through
/// [`round_stats_like_kaldi_acc`] and [`estimate_kaldi`]. Independent of [`crate::FitOptions`]:
/// no initialisation, restarts or convergence test, exactly the iterations asked for.
pub fn fit_kaldi(
    init: &Gmm,
    utterances: &[ArrayView2<'_, f32>],
    opts: &EstimateOptions,
    num_iters: usize,
) -> Result<(Gmm, KaldiFitReport)> {
    let mut gmm = init.clone();
    let mut report = KaldiFitReport::default();
    for _ in 0..num_iters {
        let mut stats = GmmStats::for_model(&gmm);
        for u in utterances {
            accumulate_kaldi(&mut stats, &gmm, *u, None)?;
        }
        let frame_likes_mean = frame_likes_mean(&gmm, utterances)?;
        let rounded = round_stats_like_kaldi_acc(&stats);
        let (next, est) = estimate_kaldi(&rounded, &gmm, opts)?;
        report.iterations.push(KaldiIteration {
            acc_loglike: stats.avg_loglike(),
            frame_likes_mean,
            num_gauss: gmm.num_gauss(),
            estimate: est,
        });
        gmm = next;
    }
    report.final_frame_likes_mean = frame_likes_mean(&gmm, utterances)?;
    Ok((gmm, report))
}

fn frame_likes_mean(gmm: &Gmm, utterances: &[ArrayView2<'_, f32>]) -> Result<f64> {
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for u in utterances {
        let l = kaldi_frame_log_likelihoods(gmm, *u)?;
        sum += l.iter().map(|&v| v as f64).sum::<f64>();
        n += l.len();
    }
    Ok(if n > 0 { sum / n as f64 } else { 0.0 })
}

// ---------------------------------------------------------------------------------------------
// gmm-global-to-fgmm / fgmm-global-to-gmm.

/// The model with covariance type `to` (Kaldi's `gmm-global-to-fgmm` and `fgmm-global-to-gmm`):
/// diagonal → full puts the variances on the diagonals; full → diagonal keeps the diagonals of
/// the covariances. A diagonal model read from a Kaldi file becomes the full model Kaldi's
/// `FullGmm::CopyFromDiagGmm` makes (its float parameters copied, gconsts recomputed in float
/// as `ComputeGconsts`: the bytes of `gmm-global-to-fgmm`); full → diagonal is computed in f64
/// (Kaldi inverts in float and double: the last bits may differ).
pub fn convert_covariance(gmm: &Gmm, to: CovarianceType) -> Result<Gmm> {
    match (gmm, to) {
        (Gmm::Diag(g), CovarianceType::Full) => match g.kaldi.as_deref() {
            Some(KaldiRaw::Diag {
                gconsts,
                weights,
                means_invvars,
                inv_vars,
            }) => {
                let mut m = KaldiModel::Full {
                    gconsts: gconsts.to_vec(),
                    weights: weights.to_vec(),
                    means_invcovars: means_invvars.clone(),
                    inv_covars: inv_vars
                        .outer_iter()
                        .map(|r| pack_lower_f32(Array2::from_diag(&r).view()))
                        .collect(),
                };
                m.compute_gconsts()?;
                m.into_gmm()
            }
            _ => Ok(Gmm::Full(g.to_full())),
        },
        (Gmm::Full(g), CovarianceType::Diag) => Ok(Gmm::Diag(g.to_diag())),
        _ => Ok(gmm.clone()),
    }
}

// ---------------------------------------------------------------------------------------------
// gmm-global-init-from-feats.

/// A uniform random sample of at most `capacity` frames of a stream of feature matrices
/// (reservoir sampling, as `gmm-global-init-from-feats` keeps `--num-frames` frames): the first
/// `capacity` frames are kept; frame number n > capacity replaces a random kept frame with
/// probability capacity / n. Memory grows with the frames kept, never beyond `capacity` rows.
#[derive(Debug, Clone)]
pub struct FrameReservoir {
    capacity: usize,
    dim: Option<usize>,
    rows: Vec<f32>,
    num_read: u64,
    rng: rand_chacha::ChaCha8Rng,
}

impl FrameReservoir {
    /// An empty reservoir keeping at most `capacity` (≥ 1) frames, drawing from `seed`.
    pub fn new(capacity: usize, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        if capacity == 0 {
            return Err(crate::options::invalid(
                "num-frames",
                0,
                "must be at least 1",
            ));
        }
        Ok(Self {
            capacity,
            dim: None,
            rows: Vec::new(),
            num_read: 0,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        })
    }
    /// Offers every frame of `feats` (frames × D; D must be the same for every call).
    pub fn push(&mut self, feats: ArrayView2<'_, f32>) -> Result<()> {
        use rand::Rng;
        let d = feats.ncols();
        match self.dim {
            None => self.dim = Some(d),
            Some(prev) if prev != d => {
                return Err(Error::DimensionMismatch {
                    what: "feature dimension of this utterance vs earlier ones",
                    expected: prev,
                    got: d,
                })
            }
            _ => {}
        }
        for row in feats.outer_iter() {
            self.num_read += 1;
            if self.num_read <= self.capacity as u64 {
                self.rows.extend(row.iter());
            } else {
                let keep = self.capacity as f64 / self.num_read as f64;
                if self.rng.random::<f64>() < keep {
                    let i = self.rng.random_range(0..self.capacity);
                    for (o, &v) in self.rows[i * d..(i + 1) * d].iter_mut().zip(row.iter()) {
                        *o = v;
                    }
                }
            }
        }
        Ok(())
    }
    /// Frames offered so far.
    pub fn num_read(&self) -> u64 {
        self.num_read
    }
    /// The kept frames (min(capacity, frames read) × D).
    pub fn into_frames(self) -> Result<Array2<f32>> {
        let d = self.dim.unwrap_or(0);
        let n = self.rows.len().checked_div(d).unwrap_or(0);
        Array2::from_shape_vec((n, d), self.rows)
            .map_err(|e| Error::InvalidModel(format!("frame sample: {e}")))
    }
}

/// One EM pass of [`init_from_feats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitIteration {
    /// Average log-likelihood per frame before the update.
    pub loglike: f64,
    /// Gaussians before the update.
    pub num_gauss: usize,
    /// What the update did.
    pub estimate: EstimateReport,
    /// Gaussians after splitting (equal to the updated count when there was no split).
    pub split_to: usize,
}

/// Kaldi's `gmm-global-init-from-feats` on frames kept in memory: a diagonal GMM of
/// `opts.initial_num_gauss()` Gaussians (uniform weights, means at distinct random frames, every
/// variance the global variance of the frames), then `opts.num_iters` passes of accumulate →
/// estimate (Kaldi's `MleDiagGmmOptions`); after each pass the model is split (perturbation 0.1)
/// up to min(num_gauss, scheduled + [`InitFromFeatsOptions::gauss_increment`]), so it reaches
/// `num_gauss` half-way through. Needs at least 10 frames per initial Gaussian, as Kaldi
/// (an [`Error::TooFewFrames`] otherwise).
///
/// ```
/// use cepstra_gmm::{kaldi_compat::init_from_feats, InitFromFeatsOptions};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 7 + j * 3) % 17) as f32 + if i % 2 == 0 { 20.0 } else { 0.0 });
/// let opts = InitFromFeatsOptions { num_gauss: 4, num_gauss_init: 1, num_iters: 6, ..Default::default() };
/// let (gmm, trace) = init_from_feats(x.view(), &opts)?;
/// assert_eq!(gmm.num_gauss(), 4);
/// assert_eq!(trace.len(), 6);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub fn init_from_feats(
    feats: ArrayView2<'_, f32>,
    opts: &crate::options::InitFromFeatsOptions,
) -> Result<(Gmm, Vec<InitIteration>)> {
    opts.validate()?;
    let (n, d) = feats.dim();
    let k0 = opts.initial_num_gauss();
    if n < k0.saturating_mul(10) || d == 0 {
        return Err(Error::TooFewFrames {
            frames: n,
            components: k0,
        });
    }
    // Mixing up beyond one Gaussian per frame cannot be supported by the data (and would grow
    // without bound).
    if opts.num_gauss > n {
        return Err(Error::TooFewFrames {
            frames: n,
            components: opts.num_gauss,
        });
    }
    // Global mean and variance in f64.
    let mut mean = Array1::<f64>::zeros(d);
    let mut var = Array1::<f64>::zeros(d);
    for row in feats.outer_iter() {
        for (i, &v) in row.iter().enumerate() {
            let v = v as f64;
            if !v.is_finite() {
                return Err(Error::InvalidModel(format!(
                    "non-finite feature value {v} in dimension {i}"
                )));
            }
            mean[i] += v;
            var[i] += v * v;
        }
    }
    mean /= n as f64;
    for i in 0..d {
        var[i] = var[i] / n as f64 - mean[i] * mean[i];
        if !(var[i] > 0.0) {
            return Err(Error::ConstantDimension {
                dim: i,
                variance: var[i],
            });
        }
    }
    let means =
        crate::kmeans::kmeans_seeds(feats, k0, crate::options::KmeansInit::Random, opts.srand)?;
    let vars = Array2::from_shape_fn((k0, d), |(_, i)| var[i]);
    let mut gmm = Gmm::from(DiagGmm::new(
        Array1::from_elem(k0, 1.0 / k0 as f64),
        means,
        vars,
    )?);
    let est = opts.estimate();
    let inc = opts.gauss_increment();
    let mut scheduled = k0;
    let mut trace = Vec::with_capacity(opts.num_iters);
    for iter in 0..opts.num_iters {
        let mut stats = GmmStats::for_model(&gmm);
        stats.accumulate(&gmm, feats, None)?;
        let loglike = stats.avg_loglike();
        log::info!(
            "Likelihood per frame on iteration {iter} was {loglike:.6} over {n} frames ({} Gaussians)",
            gmm.num_gauss()
        );
        let before = gmm.num_gauss();
        let (next, report) = crate::estimate::estimate(&stats, &gmm, &est)?;
        gmm = next;
        let target = opts.num_gauss.min(scheduled.saturating_add(inc));
        if target > gmm.num_gauss() {
            log::info!("Splitting to {target} Gaussians.");
            gmm = crate::estimate::split(
                &gmm,
                target,
                0.1,
                opts.srand.wrapping_add(1 + iter as u64),
            )?
            .0;
            scheduled = target;
        }
        trace.push(InitIteration {
            loglike,
            num_gauss: before,
            estimate: report,
            split_to: gmm.num_gauss(),
        });
    }
    Ok((gmm, trace))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ndarray::array;

    fn model(cov: CovarianceType) -> Gmm {
        let d = DiagGmm::new(
            array![0.3, 0.7],
            array![[0.0, 1.0], [3.0, -2.0]],
            array![[1.0, 0.5], [2.0, 1.5]],
        )
        .unwrap();
        match cov {
            CovarianceType::Diag => Gmm::Diag(d),
            CovarianceType::Full => Gmm::Full(d.to_full()),
        }
    }

    #[test]
    fn reservoir_keeps_a_sample_of_the_rows_given() {
        let x = Array2::from_shape_fn((100, 2), |(t, j)| (t * 2 + j) as f32);
        let mut r = FrameReservoir::new(10, 5).unwrap();
        r.push(x.slice(ndarray::s![..40, ..])).unwrap();
        r.push(x.slice(ndarray::s![40.., ..])).unwrap();
        assert_eq!(r.num_read(), 100);
        assert!(r.push(Array2::<f32>::zeros((1, 3)).view()).is_err());
        let kept = r.into_frames().unwrap();
        assert_eq!(kept.dim(), (10, 2));
        // Every kept row is an input row, none twice, and the sample is not just the first ten.
        let mut idx: Vec<usize> = kept.outer_iter().map(|row| row[0] as usize / 2).collect();
        for (row, &t) in kept.outer_iter().zip(&idx) {
            assert_eq!(row[1], (t * 2 + 1) as f32);
        }
        idx.sort_unstable();
        idx.dedup();
        assert_eq!(idx.len(), 10);
        assert!(idx.iter().any(|&t| t >= 10));
        // Fewer frames than the capacity: all of them, in order.
        let mut r = FrameReservoir::new(500, 0).unwrap();
        r.push(x.view()).unwrap();
        assert_eq!(r.into_frames().unwrap(), x);
        assert!(FrameReservoir::new(0, 0).is_err());
    }

    fn frames() -> Array2<f32> {
        Array2::from_shape_fn((60, 2), |(t, j)| {
            ((t * 13 + j * 7) % 17) as f32 * 0.35 - 2.5 + if t % 3 == 0 { 3.0 } else { 0.0 }
        })
    }

    #[test]
    fn frame_likes_agree_with_f64_on_a_well_conditioned_model() {
        for cov in [CovarianceType::Diag, CovarianceType::Full] {
            let g = model(cov);
            let x = frames();
            let k = kaldi_frame_log_likelihoods(&g, x.view()).unwrap();
            let r = g.log_likelihoods(x.view()).unwrap();
            for (a, b) in k.iter().zip(&r) {
                assert!((*a as f64 - b).abs() < 1e-4, "{cov:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn weights_scale_posteriors_and_zero_weight_frames_are_skipped() {
        let g = model(CovarianceType::Full);
        let x = frames();
        let w = Array1::from_shape_fn(x.nrows(), |t| if t % 4 == 0 { 0.0 } else { 0.5 });
        let mut st = GmmStats::for_model(&g);
        accumulate_kaldi(&mut st, &g, x.view(), Some(w.view())).unwrap();
        assert!((st.occupancy().sum() - w.sum() as f64).abs() < 1e-5);
        assert!((st.num_frames() - w.sum() as f64).abs() < 1e-9);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let g = model(CovarianceType::Diag);
        let mut st = GmmStats::for_model(&g);
        let mut x = frames();
        x[[5, 1]] = f32::NAN;
        assert!(matches!(
            accumulate_kaldi(&mut st, &g, x.view(), None),
            Err(Error::NonFinite {
                frame: 5,
                dim: 1,
                ..
            })
        ));
        let x3 = Array2::<f32>::zeros((4, 3));
        assert!(kaldi_frame_log_likelihoods(&g, x3.view()).is_err());
        let x = frames();
        let w = Array1::<f32>::ones(3);
        assert!(accumulate_kaldi(&mut st, &g, x.view(), Some(w.view())).is_err());
        let full = GmmStats::for_model(&model(CovarianceType::Full));
        assert!(estimate_kaldi(&full, &g, &EstimateOptions::kaldi_diag()).is_err());
        let mut st = GmmStats::for_model(&g);
        accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
        for opts in [
            EstimateOptions {
                reg_covar: 1e-6,
                ..EstimateOptions::kaldi_diag()
            },
            EstimateOptions {
                mix_up: 4,
                ..EstimateOptions::kaldi_diag()
            },
        ] {
            assert!(matches!(
                estimate_kaldi(&st, &g, &opts),
                Err(Error::InvalidOption { .. })
            ));
        }
        let empty = GmmStats::for_model(&g);
        assert!(matches!(
            estimate_kaldi(&empty, &g, &EstimateOptions::kaldi_diag()),
            Err(Error::NoData(_))
        ));
    }

    #[test]
    fn acc_rounding_is_idempotent_and_estimate_is_close_to_f64() {
        for cov in [CovarianceType::Diag, CovarianceType::Full] {
            let g = model(cov);
            let x = frames();
            let mut st = GmmStats::for_model(&g);
            accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
            let r1 = round_stats_like_kaldi_acc(&st);
            let r2 = round_stats_like_kaldi_acc(&r1);
            assert_eq!(r1.occupancy(), r2.occupancy());
            assert_eq!(r1.first(), r2.first());
            let opts = EstimateOptions {
                min_gaussian_occupancy: 0.0,
                ..EstimateOptions::kaldi_diag()
            };
            let (ours, _) = estimate_kaldi(&r1, &g, &opts).unwrap();
            let (reference, _) = crate::estimate(&st, &g, &opts).unwrap();
            let (a, b) = (ours.covars_full(), reference.covars_full());
            for (u, v) in a.iter().zip(b.iter()) {
                assert!(
                    (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                    "{cov:?}: {u} vs {v}"
                );
            }
            for (u, v) in ours.means().iter().zip(reference.means().iter()) {
                assert!(
                    (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                    "{cov:?}: {u} vs {v}"
                );
            }
        }
    }

    #[test]
    fn starved_component_is_removed_or_kept() {
        let g = model(CovarianceType::Diag);
        // Every frame near component 1: component 0 starves.
        let x = Array2::from_shape_fn((40, 2), |(t, j)| {
            [3.0f32, -2.0][j] + ((t * 7 + j) % 5) as f32 * 0.1
        });
        let mut st = GmmStats::for_model(&g);
        accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
        let (m, rep) = estimate_kaldi(&st, &g, &EstimateOptions::kaldi_diag()).unwrap();
        assert_eq!(rep.removed, vec![0]);
        assert_eq!(m.num_gauss(), 1);
        assert_eq!(m.weights()[0], 1.0);
        let keep = EstimateOptions {
            remove_low_count_gaussians: false,
            ..EstimateOptions::kaldi_diag()
        };
        let (m, rep) = estimate_kaldi(&st, &g, &keep).unwrap();
        assert_eq!(rep.kept_starved, vec![0]);
        assert_eq!(m.num_gauss(), 2);
        assert!((m.means()[[0, 1]] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn sdot_kernel_is_a_dot_product() {
        let a: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..100).map(|i| (i as f32 * 0.11).cos()).collect();
        let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        assert!((sdot(&a, &b) as f64 - exact).abs() < 1e-5);
        let y = sspmv(&[2.0, 1.0, 3.0], &[1.0, -1.0]);
        assert_eq!(y, vec![1.0, -2.0]);
    }
}
