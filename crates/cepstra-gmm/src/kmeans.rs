//! k-means: Lloyd iterations with k-means++ or random-points seeding, empty-cluster repair,
//! seeded (ChaCha8) and deterministic for any thread count (fixed chunks, ordered reduction).

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::elem::Elem;
use crate::error::{Error, Result};
use crate::kernels::tile::{tile_gemm, TileOperands};
use crate::kernels::Kernels;
use crate::options::{Checked, KmeansInit, KmeansOptions, ParamGuard};
use crate::sched::par_chunks_ordered;

/// Result of [`kmeans`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansResult {
    /// Cluster centres (K×D).
    pub centroids: Array2<f64>,
    /// Index of the nearest centre of every frame (after the last update).
    pub labels: Vec<usize>,
    /// Σ squared distance of each frame to its centre.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the movement fell below the tolerance.
    pub converged: bool,
    /// Number of empty clusters repaired (over all iterations).
    pub repaired: usize,
}

const CHUNK: usize = 4096;

struct Assign {
    labels: Vec<usize>,
    dist: Vec<f64>,
    sums: Vec<f64>,
    counts: Vec<f64>,
    inertia: f64,
}

/// One chunk's result of [`assign`]: labels, distances, per-cluster sums and counts, inertia.
type ChunkAssign = (Vec<usize>, Vec<f64>, Vec<f64>, Vec<f64>, f64);

/// The operands of [`assign`]'s chunks: the frames, their norms, the GEMM's right-hand side
/// [−2Cᵀ; ‖c‖²] (k8 columns), K.
struct AssignOps<'a, T> {
    x: ArrayView2<'a, T>,
    norms: &'a [f64],
    /// [`frame_rows`] of `x`, when the run keeps them.
    rows: Option<&'a [f64]>,
    w: &'a [f64],
    k: usize,
    k8: usize,
    ks: Kernels,
}

impl<T: Elem> AssignOps<'_, T> {
    /// The frames lo..hi: compiled for AVX-512 and AVX2 as well (the conversion, arg-min and
    /// sums vectorise; the same operations in the same order on every build, the same bits).
    fn chunk(&self, lo: usize, hi: usize, sc: &mut AssignScratch) -> ChunkAssign {
        match self.ks.set() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
            crate::kernels::KernelSet::Avx512 => unsafe { self.chunk_avx512(lo, hi, sc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            crate::kernels::KernelSet::Avx2Fma => unsafe { self.chunk_avx2(lo, hi, sc) },
            _ => self.chunk_in(lo, hi, sc),
        }
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn chunk_avx512(&self, lo: usize, hi: usize, sc: &mut AssignScratch) -> ChunkAssign {
        self.chunk_in(lo, hi, sc)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn chunk_avx2(&self, lo: usize, hi: usize, sc: &mut AssignScratch) -> ChunkAssign {
        self.chunk_in(lo, hi, sc)
    }

    #[inline(always)]
    fn chunk_in(&self, lo: usize, hi: usize, sc: &mut AssignScratch) -> ChunkAssign {
        let (x, norms, w, k, k8, ks) = (self.x, self.norms, self.w, self.k, self.k8, self.ks);
        let d = x.ncols();
        let cols = d + 1;
        let b = hi - lo;
        let bp = b.next_multiple_of(4);
        // Rows [x, 1], padded to a multiple of 4 rows with zeros (the kernel's tile): the run's
        // cached rows, or converted here.
        let xb: &[f64] = match self.rows {
            Some(rows) => &rows[lo * cols..(lo + bp) * cols],
            None => {
                let xb = grow(&mut sc.xb, bp * cols);
                fill_rows(x.slice_axis(Axis(0), (lo..hi).into()), xb);
                xb
            }
        };
        // Every element of the tiles is written (`replace`): no zeroing.
        let dots = grow(&mut sc.dots, bp * k8);
        tile_gemm(
            ks,
            TileOperands {
                acc: dots,
                ld: k8,
                a: xb,
                a_rs: 1,
                a_cs: cols,
                b: w,
                b_rs: k8,
                b_rows: None,
                depth: cols,
            },
            true,
            bp / 4,
            |_| k8 / 8,
        );
        let mut labels = Vec::with_capacity(b);
        let mut dist = Vec::with_capacity(b);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0.0; k];
        let mut inertia = 0.0;
        for bi in 0..b {
            let xr = &xb[bi * cols..bi * cols + d];
            let xn = norms[lo + bi];
            let mut best = 0;
            let mut bd = f64::INFINITY;
            for (j, &dot) in dots[bi * k8..bi * k8 + k].iter().enumerate() {
                let dd = xn + dot;
                if dd < bd {
                    bd = dd;
                    best = j;
                }
            }
            let bd = bd.max(0.0);
            labels.push(best);
            dist.push(bd);
            inertia += bd;
            counts[best] += 1.0;
            for (s, &v) in sums[best * d..(best + 1) * d].iter_mut().zip(xr) {
                *s += v;
            }
        }
        (labels, dist, sums, counts, inertia)
    }
}

/// Frames × (D + 1) values at most for which a k-means run keeps the [x, 1] rows (f64) for all
/// its Lloyd iterations instead of converting every chunk again (64 MB).
const ROWS_CACHE_LIMIT: usize = 1 << 23;

/// The rows [x, 1] (f64) of `x` into `out` (rows × (D + 1), then zero rows to its end).
#[inline(always)]
fn fill_rows<T: Elem>(x: ArrayView2<'_, T>, out: &mut [f64]) {
    let d = x.ncols();
    let cols = d + 1;
    for (dst, row) in out.chunks_exact_mut(cols).zip(x.outer_iter()) {
        for (o, &v) in dst.iter_mut().zip(row.iter()) {
            *o = v.to_f64();
        }
        dst[d] = 1.0;
    }
    out[x.nrows() * cols..].fill(0.0);
}

/// The rows [x, 1] of all frames, padded with zero rows to a multiple of 4, when they fit in
/// [`ROWS_CACHE_LIMIT`] (the chunks of [`assign`] start at multiples of 4).
fn frame_rows<T: Elem>(x: ArrayView2<'_, T>) -> Option<Vec<f64>> {
    let len = x.nrows().next_multiple_of(4) * (x.ncols() + 1);
    (len <= ROWS_CACHE_LIMIT).then(|| {
        let mut rows = vec![0.0; len];
        fill_rows(x, &mut rows);
        rows
    })
}

/// Every frame's squared norm ‖x‖² (f64, summed in dimension order), with the check that every
/// value is finite: done once per k-means run, not in every Lloyd iteration.
fn frame_norms<T: Elem>(x: ArrayView2<'_, T>) -> Result<Vec<f64>> {
    let mut norms = Vec::with_capacity(x.nrows());
    par_chunks_ordered(
        x.nrows(),
        CHUNK,
        |lo, hi| {
            let mut out = Vec::with_capacity(hi - lo);
            let mut row = vec![0.0f64; x.ncols()];
            for (bi, r) in x
                .slice_axis(Axis(0), (lo..hi).into())
                .outer_iter()
                .enumerate()
            {
                for (i, (dst, &v)) in row.iter_mut().zip(r.iter()).enumerate() {
                    let v = v.to_f64();
                    if !v.is_finite() {
                        return Err(Error::NonFinite {
                            frame: lo + bi,
                            dim: i,
                            value: v,
                        });
                    }
                    *dst = v;
                }
                out.push(row.iter().map(|v| v * v).sum::<f64>());
            }
            Ok(out)
        },
        |part| {
            norms.extend(part);
            Ok(())
        },
    )?;
    Ok(norms)
}

/// A thread's buffers of [`assign`]'s chunks ([x, 1] rows and their products with the centres),
/// reused across chunks and Lloyd iterations: no allocation, zeroing or page faults per chunk.
#[derive(Default)]
struct AssignScratch {
    xb: Vec<f64>,
    dots: Vec<f64>,
}

/// `len` elements of `v`, grown when needed (stale contents: every element used is written).
fn grow(v: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

thread_local! {
    static ASSIGN_SCRATCH: std::cell::RefCell<AssignScratch> =
        std::cell::RefCell::new(AssignScratch::default());
}

/// Nearest centre of every frame, with the per-cluster sums and counts of the frames assigned.
/// Distances ‖x‖² + (‖c‖² − 2x·c): the second term for a block of frames and all centres at
/// once, as the blocked GEMM [x, 1]·[−2Cᵀ; ‖c‖²] on the engine's f64 tile kernel (the diagonal
/// E-step's shape), each element one FMA chain in a fixed order: the same bits for any thread
/// count. `norms`: [`frame_norms`] of `x` (which has checked that every value is finite);
/// `rows`: [`frame_rows`] of `x` when the run keeps them.
fn assign<T: Elem>(
    x: ArrayView2<'_, T>,
    norms: &[f64],
    rows: Option<&[f64]>,
    c: &Array2<f64>,
) -> Assign {
    let (n, d) = x.dim();
    let k = c.nrows();
    let ks = Kernels::best();
    let (k8, cols) = (k.next_multiple_of(8), d + 1);
    let mut w = vec![0.0f64; cols * k8];
    for (j, cj) in c.outer_iter().enumerate() {
        for (i, &v) in cj.iter().enumerate() {
            w[i * k8 + j] = -2.0 * v;
        }
        w[d * k8 + j] = cj.dot(&cj);
    }
    let mut out = Assign {
        labels: Vec::with_capacity(n),
        dist: Vec::with_capacity(n),
        sums: vec![0.0; k * d],
        counts: vec![0.0; k],
        inertia: 0.0,
    };
    let ops = AssignOps {
        x,
        norms,
        rows,
        w: &w,
        k,
        k8,
        ks,
    };
    let chunk = |lo: usize, hi: usize, sc: &mut AssignScratch| ops.chunk(lo, hi, sc);
    let run = |lo: usize, hi: usize| {
        let mut sc = ASSIGN_SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let r = chunk(lo, hi, &mut sc);
        ASSIGN_SCRATCH.with(|s| *s.borrow_mut() = sc);
        Ok(r)
    };
    let consumed = par_chunks_ordered(n, CHUNK, run, |(labels, dist, sums, counts, inertia)| {
        out.labels.extend(labels);
        out.dist.extend(dist);
        for (a, b) in out.sums.iter_mut().zip(sums) {
            *a += b;
        }
        for (a, b) in out.counts.iter_mut().zip(counts) {
            *a += b;
        }
        out.inertia += inertia;
        Ok(())
    });
    debug_assert!(consumed.is_ok(), "the chunks and the consumer never fail");
    out
}

fn row_f64<T: Elem>(x: ArrayView2<'_, T>, i: usize) -> Array1<f64> {
    x.row(i).mapv(|v| v.to_f64())
}

/// Chooses K initial centres (k-means++ D² sampling, or distinct random frames).
pub fn kmeans_seeds<T: Elem>(
    x: ArrayView2<'_, T>,
    k: usize,
    init: KmeansInit,
    seed: u64,
) -> Result<Array2<f64>> {
    let (n, d) = x.dim();
    if n < k {
        return Err(Error::TooFewFrames {
            frames: n,
            components: k,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Array2::zeros((k, d));
    match init {
        KmeansInit::Random => {
            let idx = rand::seq::index::sample(&mut rng, n, k);
            for (j, i) in idx.iter().enumerate() {
                c.row_mut(j).assign(&row_f64(x, i));
            }
        }
        KmeansInit::KmeansPlusPlus => {
            let first = rng.random_range(0..n);
            c.row_mut(0).assign(&row_f64(x, first));
            let mut d2 = vec![f64::INFINITY; n];
            for j in 1..k {
                let prev = c.row(j - 1).to_owned();
                d2.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, ch)| {
                    for (o, v) in ch.iter_mut().enumerate() {
                        let row = x.row(ci * CHUNK + o);
                        let dd: f64 = row
                            .iter()
                            .zip(prev.iter())
                            .map(|(a, b)| (a.to_f64() - b) * (a.to_f64() - b))
                            .sum();
                        if dd < *v {
                            *v = dd;
                        }
                    }
                });
                let total: f64 = d2.iter().sum();
                let pick = if total > 0.0 && total.is_finite() {
                    let u = rng.random::<f64>() * total;
                    let mut acc = 0.0;
                    let mut p = n - 1;
                    for (i, &v) in d2.iter().enumerate() {
                        acc += v;
                        if acc > u {
                            p = i;
                            break;
                        }
                    }
                    p
                } else {
                    rng.random_range(0..n)
                };
                c.row_mut(j).assign(&row_f64(x, pick));
            }
        }
    }
    Ok(c)
}

/// Lloyd k-means on frames × D data (`cepstra kmeans`).
///
/// Converges when Σ‖c_new − c_old‖² ≤ tol × (mean per-dimension variance of the data). Empty
/// clusters are repaired by moving them to the frames farthest from their centres.
///
/// ```
/// use cepstra_gmm::{kmeans, KmeansOptions};
/// use ndarray::array;
/// let x = array![[0.0f32, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]];
/// let r = kmeans(x.view(), &KmeansOptions { num_clusters: 2, ..Default::default() })?;
/// assert_ne!(r.labels[0], r.labels[2]);
/// assert_eq!(r.labels[0], r.labels[1]);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub fn kmeans<T: Elem>(x: ArrayView2<'_, T>, opts: &KmeansOptions) -> Result<KmeansResult> {
    kmeans_checked(x, &opts.check_ref()?)
}

/// [`kmeans`] with checked options.
pub(crate) fn kmeans_checked<T: Elem>(
    x: ArrayView2<'_, T>,
    opts: &Checked<KmeansOptions>,
) -> Result<KmeansResult> {
    let (n, d) = x.dim();
    let k = opts.num_clusters;
    if n < k || n == 0 {
        return Err(Error::TooFewFrames {
            frames: n,
            components: k,
        });
    }
    if d == 0 {
        return Err(Error::InvalidModel("feature dimension is 0".into()));
    }
    let mut c = kmeans_seeds(x, k, opts.init, opts.seed)?;
    // Mean per-dimension variance, for the tolerance.
    let norms = frame_norms(x)?;
    let rows = frame_rows(x);
    let first = assign(x, &norms, rows.as_deref(), &Array2::zeros((1, d)));
    let mean: Vec<f64> = first.sums.iter().map(|s| s / n as f64).collect();
    let msq = first.inertia / n as f64; // mean ‖x‖²
    let mean_var = ((msq - mean.iter().map(|m| m * m).sum::<f64>()) / d as f64).max(0.0);
    let tol = opts.tol * mean_var;
    let mut iterations = 0;
    let mut converged = false;
    let mut repaired = 0;
    let mut a = assign(x, &norms, rows.as_deref(), &c);
    while iterations < opts.max_iters {
        iterations += 1;
        let mut newc = Array2::zeros((k, d));
        let mut empties = Vec::new();
        for j in 0..k {
            if a.counts[j] > 0.0 {
                for i in 0..d {
                    newc[[j, i]] = a.sums[j * d + i] / a.counts[j];
                }
            } else {
                empties.push(j);
            }
        }
        if !empties.is_empty() {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&p, &q| a.dist[q].total_cmp(&a.dist[p]).then(p.cmp(&q)));
            for (e, &j) in empties.iter().enumerate() {
                let i = order[e.min(n - 1)];
                newc.row_mut(j).assign(&row_f64(x, i));
            }
            repaired += empties.len();
        }
        let shift: f64 = (&newc - &c).iter().map(|v| v * v).sum();
        c = newc;
        a = assign(x, &norms, rows.as_deref(), &c);
        if shift <= tol {
            converged = true;
            break;
        }
    }
    Ok(KmeansResult {
        centroids: c,
        labels: a.labels,
        inertia: a.inertia,
        iterations,
        converged,
        repaired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn too_few_frames() {
        let x = array![[0.0f32, 1.0]];
        let e = kmeans(
            x.view(),
            &KmeansOptions {
                num_clusters: 2,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::TooFewFrames {
                frames: 1,
                components: 2
            }
        ));
    }

    #[test]
    fn invalid_k() {
        let x = array![[0.0f32, 1.0]];
        let e = kmeans(
            x.view(),
            &KmeansOptions {
                num_clusters: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidOption {
                option: "num-clusters",
                ..
            }
        ));
    }

    #[test]
    fn empty_cluster_repaired_and_seeded() {
        // Duplicate points force empty clusters with random seeding.
        let mut x = Array2::<f32>::zeros((20, 2));
        for i in 10..20 {
            x[[i, 0]] = 10.0 + i as f32 * 0.01;
        }
        for init in [KmeansInit::Random, KmeansInit::KmeansPlusPlus] {
            let o = KmeansOptions {
                num_clusters: 3,
                init,
                seed: 3,
                ..Default::default()
            };
            let r1 = kmeans(x.view(), &o).unwrap();
            let r2 = kmeans(x.view(), &o).unwrap();
            assert_eq!(r1, r2);
            assert!(r1.centroids.iter().all(|v| v.is_finite()));
        }
    }
}
