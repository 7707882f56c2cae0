//! Sufficient statistics ([`GmmStats`], Kaldi's `AccumDiagGmm`/`AccumFullGmm`): accumulate over
//! chunks, files or jobs, merge, write, read, estimate later.

use std::io::{Read, Write};

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};

use crate::elem::Elem;
use crate::error::{Error, Result};
use crate::model::Gmm;
use crate::options::CovarianceType;

/// Second-order statistics: Σγx² per dimension (diag) or Σγxxᵀ (full), raw (not centred).
#[derive(Debug, Clone, PartialEq)]
pub enum SecondOrder {
    /// K×D, Σγ·x_d².
    Diag(Array2<f64>),
    /// K×D×D, Σγ·xxᵀ.
    Full(Array3<f64>),
}

/// Zeroth, first and second order statistics of a GMM (f64), Kaldi's `AccumDiagGmm` /
/// `AccumFullGmm`.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm, GmmStats};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let mut a = GmmStats::for_model(&gmm);
/// let ll = a.accumulate(&gmm, array![[0.5f32], [1.0]].view(), None)?;
/// let mut b = GmmStats::for_model(&gmm);
/// b.accumulate(&gmm, array![[-1.0f32]].view(), None)?;
/// a.merge(&b)?;
/// assert_eq!(a.occupancy()[0], 3.0);
/// assert!(ll < 0.0);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[doc(alias = "AccumDiagGmm")]
#[doc(alias = "AccumFullGmm")]
#[derive(Debug, Clone, PartialEq)]
pub struct GmmStats {
    pub(crate) occupancy: Array1<f64>,
    pub(crate) first: Array2<f64>,
    pub(crate) second: SecondOrder,
    pub(crate) num_frames: f64,
    pub(crate) loglike: f64,
}

impl GmmStats {
    /// Zero statistics for K components of dimension D.
    pub fn new(num_gauss: usize, dim: usize, cov: CovarianceType) -> Self {
        Self {
            occupancy: Array1::zeros(num_gauss),
            first: Array2::zeros((num_gauss, dim)),
            second: match cov {
                CovarianceType::Diag => SecondOrder::Diag(Array2::zeros((num_gauss, dim))),
                CovarianceType::Full => SecondOrder::Full(Array3::zeros((num_gauss, dim, dim))),
            },
            num_frames: 0.0,
            loglike: 0.0,
        }
    }
    /// Zero statistics shaped for `gmm`.
    pub fn for_model(gmm: &Gmm) -> Self {
        Self::new(gmm.num_gauss(), gmm.dim(), gmm.covariance_type())
    }
    /// Builds statistics from their parts (num_frames and loglike are bookkeeping: total frame
    /// weight and total log-likelihood seen while accumulating).
    pub fn from_parts(
        occupancy: Array1<f64>,
        first: Array2<f64>,
        second: SecondOrder,
        num_frames: f64,
        loglike: f64,
    ) -> Result<Self> {
        let (k, d) = first.dim();
        if occupancy.len() != k {
            return Err(Error::DimensionMismatch {
                what: "occupancy vs first-order stats",
                expected: k,
                got: occupancy.len(),
            });
        }
        let ok = match &second {
            SecondOrder::Diag(s) => s.dim() == (k, d),
            SecondOrder::Full(s) => s.dim() == (k, d, d),
        };
        if !ok {
            return Err(Error::DimensionMismatch {
                what: "second-order stats shape",
                expected: k * d,
                got: 0,
            });
        }
        Ok(Self {
            occupancy,
            first,
            second,
            num_frames,
            loglike,
        })
    }
    /// Number of components.
    pub fn num_gauss(&self) -> usize {
        self.occupancy.len()
    }
    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.first.ncols()
    }
    /// Covariance type of the second-order statistics.
    pub fn covariance_type(&self) -> CovarianceType {
        match self.second {
            SecondOrder::Diag(_) => CovarianceType::Diag,
            SecondOrder::Full(_) => CovarianceType::Full,
        }
    }
    /// Σγ per component.
    pub fn occupancy(&self) -> ArrayView1<'_, f64> {
        self.occupancy.view()
    }
    /// Σγx per component (K×D).
    pub fn first(&self) -> ArrayView2<'_, f64> {
        self.first.view()
    }
    /// Σγx² or Σγxxᵀ.
    pub fn second(&self) -> &SecondOrder {
        &self.second
    }
    /// Total frame weight accumulated (frames, or Σ weights).
    pub fn num_frames(&self) -> f64 {
        self.num_frames
    }
    /// Total log-likelihood of the frames accumulated (under the model(s) used).
    pub fn total_loglike(&self) -> f64 {
        self.loglike
    }
    /// Average log-likelihood per frame (NaN-free: 0 when empty).
    pub fn avg_loglike(&self) -> f64 {
        if self.num_frames > 0.0 {
            self.loglike / self.num_frames
        } else {
            0.0
        }
    }

    /// Checks that these statistics have K components of dimension D and covariance `cov`.
    pub(crate) fn check_shape(&self, k: usize, d: usize, cov: CovarianceType) -> Result<()> {
        check_same_shape(
            Shape::of_stats(self),
            Shape {
                cov,
                num_gauss: k,
                dim: d,
            },
            "model and statistics differ (diag vs full)",
            "components of model vs statistics",
            "dimension of model vs statistics",
        )?;
        Ok(())
    }

    /// The sums to add to (occupancy, first, second order) after adding `loglike` and
    /// `num_frames`: for the engine's chunk results, whose layout only the engine knows.
    pub(crate) fn parts_mut(
        &mut self,
        loglike: f64,
        num_frames: f64,
    ) -> (&mut Array1<f64>, &mut Array2<f64>, &mut SecondOrder) {
        self.loglike += loglike;
        self.num_frames += num_frames;
        (&mut self.occupancy, &mut self.first, &mut self.second)
    }

    /// The statistics of `feats` with every frame t given to component `labels[t]` with weight
    /// 1 (the k-means initialisation's hard assignment), summed frame by frame in order. Full
    /// second order: the lower triangle x_i·x_j (j ≤ i) row by row, which vectorises, then
    /// mirrored (x_j·x_i is the same product, so the matrix is what the full loop gives). The
    /// loop is compiled for AVX-512 and AVX2 as well (chosen once per process): the same
    /// multiplications and additions in the same order, the same bits.
    pub(crate) fn from_assignment<T: Elem>(
        k: usize,
        cov: CovarianceType,
        feats: ArrayView2<'_, T>,
        labels: &[usize],
    ) -> GmmStats {
        let d = feats.ncols();
        let mut st = GmmStats::new(k, d, cov);
        match crate::kernels::Kernels::best().set() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernels::best` holds only a set the CPU supports (AVX-512F, AVX2, FMA).
            crate::kernels::KernelSet::Avx512 => unsafe { st.assign_avx512(feats, labels) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            crate::kernels::KernelSet::Avx2Fma => unsafe { st.assign_avx2(feats, labels) },
            _ => st.assign_frames(feats, labels),
        }
        if let SecondOrder::Full(s) = &mut st.second {
            for mut m in s.outer_iter_mut() {
                for i in 0..d {
                    for j in 0..i {
                        m[[j, i]] = m[[i, j]];
                    }
                }
            }
        }
        st
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn assign_avx512<T: Elem>(&mut self, feats: ArrayView2<'_, T>, labels: &[usize]) {
        self.assign_frames(feats, labels)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn assign_avx2<T: Elem>(&mut self, feats: ArrayView2<'_, T>, labels: &[usize]) {
        self.assign_frames(feats, labels)
    }

    /// The sums of [`Self::from_assignment`] (full: the lower triangle only).
    #[inline(always)]
    fn assign_frames<T: Elem>(&mut self, feats: ArrayView2<'_, T>, labels: &[usize]) {
        let d = feats.ncols();
        let mut x = vec![0.0f64; d];
        let first = self
            .first
            .as_slice_mut()
            .expect("statistics are contiguous");
        for (row, &c) in feats.outer_iter().zip(labels) {
            for (o, v) in x.iter_mut().zip(row.iter()) {
                *o = v.to_f64();
            }
            self.occupancy[c] += 1.0;
            self.num_frames += 1.0;
            for (f, &v) in first[c * d..(c + 1) * d].iter_mut().zip(&x) {
                *f += v;
            }
            match &mut self.second {
                SecondOrder::Diag(s) => {
                    let s = s.as_slice_mut().expect("statistics are contiguous");
                    for (o, &v) in s[c * d..(c + 1) * d].iter_mut().zip(&x) {
                        *o += v * v;
                    }
                }
                SecondOrder::Full(s) => {
                    let s = s.as_slice_mut().expect("statistics are contiguous");
                    let m = &mut s[c * d * d..(c + 1) * d * d];
                    for (i, &xi) in x.iter().enumerate() {
                        for (o, &xj) in m[i * d..i * d + i + 1].iter_mut().zip(&x) {
                            *o += xi * xj;
                        }
                    }
                }
            }
        }
    }

    /// Adds `other` (Kaldi's `gmm-global-sum-accs`). Shapes and covariance types must agree.
    pub fn merge(&mut self, other: &GmmStats) -> Result<()> {
        check_same_shape(
            Shape::of_stats(self),
            Shape::of_stats(other),
            "cannot merge diag and full statistics",
            "components of the statistics being merged",
            "dimension of the statistics being merged",
        )?;
        self.occupancy += &other.occupancy;
        self.first += &other.first;
        match (&mut self.second, &other.second) {
            (SecondOrder::Diag(a), SecondOrder::Diag(b)) => *a += b,
            (SecondOrder::Full(a), SecondOrder::Full(b)) => *a += b,
            _ => unreachable!("checked above"),
        }
        self.num_frames += other.num_frames;
        self.loglike += other.loglike;
        Ok(())
    }

    /// Global mean and variance per dimension implied by the statistics.
    pub fn global_mean_var(&self) -> (Array1<f64>, Array1<f64>) {
        let n: f64 = self.occupancy.sum();
        let d = self.dim();
        let mean = self.first.sum_axis(Axis(0)) / n.max(f64::MIN_POSITIVE);
        let mut var = Array1::zeros(d);
        for i in 0..d {
            let s2: f64 = match &self.second {
                SecondOrder::Diag(s) => s.column(i).sum(),
                SecondOrder::Full(s) => (0..self.num_gauss()).map(|c| s[[c, i, i]]).sum(),
            };
            var[i] = s2 / n.max(f64::MIN_POSITIVE) - mean[i] * mean[i];
        }
        (mean, var)
    }
}

// ---------------------------------------------------------------------------------------------
// cepstra's own binary format.

/// Magic bytes of cepstra's statistics format.
pub const STATS_MAGIC: &[u8; 8] = b"CGMMACC\0";
/// Version of cepstra's statistics format.
pub const STATS_VERSION: u32 = 1;

impl GmmStats {
    /// Writes cepstra's binary statistics format, version 1, little-endian:
    /// `"CGMMACC\0"`, u32 version, u8 covariance (0 diag, 1 full), u32 K, u32 D, f64 num_frames,
    /// f64 loglike, then f64 occupancy (K), first order (K×D row-major), second order (diag: K×D;
    /// full: for each component the lower triangle, row by row, D(D+1)/2 values).
    pub fn write<W: Write>(&self, mut w: W) -> Result<()> {
        let mut buf = Vec::with_capacity(64 + 8 * self.first.len() * (self.dim() + 2));
        buf.extend_from_slice(STATS_MAGIC);
        buf.extend_from_slice(&STATS_VERSION.to_le_bytes());
        buf.push(match self.covariance_type() {
            CovarianceType::Diag => 0,
            CovarianceType::Full => 1,
        });
        buf.extend_from_slice(&(self.num_gauss() as u32).to_le_bytes());
        buf.extend_from_slice(&(self.dim() as u32).to_le_bytes());
        buf.extend_from_slice(&self.num_frames.to_le_bytes());
        buf.extend_from_slice(&self.loglike.to_le_bytes());
        for v in self.occupancy.iter().chain(self.first.iter()) {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        match &self.second {
            SecondOrder::Diag(s) => {
                for v in s.iter() {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            SecondOrder::Full(s) => {
                for m in s.outer_iter() {
                    for i in 0..m.nrows() {
                        for j in 0..=i {
                            buf.extend_from_slice(&m[[i, j]].to_le_bytes());
                        }
                    }
                }
            }
        }
        w.write_all(&buf)
            .map_err(|e| Error::io("<stats stream>", e))
    }

    /// Reads cepstra's binary statistics format (see [`Self::write`]). Sizes are checked
    /// against the bytes present before allocating.
    pub fn read<R: Read>(mut r: R) -> Result<Self> {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)
            .map_err(|e| Error::io("<stats stream>", e))?;
        Self::from_bytes(&bytes)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let trunc = |what: &str| Error::Truncated {
            what: "stats",
            reason: format!("ends inside the {what}"),
        };
        if bytes.len() < 8 || &bytes[..8] != STATS_MAGIC {
            return Err(Error::Format {
                what: "stats",
                reason: "not a cepstra statistics file (bad magic)".into(),
            });
        }
        let mut pos = 8;
        let mut take = |n: usize, what: &str| -> Result<&[u8]> {
            if bytes.len() < pos + n {
                return Err(trunc(what));
            }
            let s = &bytes[pos..pos + n];
            pos += n;
            Ok(s)
        };
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let version = u32_at(take(4, "header")?);
        if version != STATS_VERSION {
            return Err(Error::Format {
                what: "stats",
                reason: format!(
                    "version {version} is not supported (this build reads version {STATS_VERSION})"
                ),
            });
        }
        let cov = match take(1, "header")?[0] {
            0 => CovarianceType::Diag,
            1 => CovarianceType::Full,
            x => {
                return Err(Error::Format {
                    what: "stats",
                    reason: format!("unknown covariance code {x}"),
                })
            }
        };
        let k = u32_at(take(4, "header")?) as usize;
        let d = u32_at(take(4, "header")?) as usize;
        if k == 0 || d == 0 {
            return Err(Error::Format {
                what: "stats",
                reason: format!("K={k}, D={d}: both must be positive"),
            });
        }
        let f = |s: &[u8]| f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
        let num_frames = f(take(8, "header")?);
        let loglike = f(take(8, "header")?);
        let second_len = match cov {
            CovarianceType::Diag => k.checked_mul(d),
            CovarianceType::Full => k.checked_mul(d * (d + 1) / 2),
        };
        let total = second_len
            .and_then(|s| k.checked_mul(d + 1).and_then(|a| a.checked_add(s)))
            .and_then(|n| n.checked_mul(8))
            .ok_or_else(|| Error::Format {
                what: "stats",
                reason: "sizes overflow".into(),
            })?;
        let body = take(total, "data")?;
        if pos != bytes.len() {
            return Err(Error::Format {
                what: "stats",
                reason: format!("{} bytes of trailing garbage", bytes.len() - pos),
            });
        }
        let vals: Vec<f64> = body.chunks_exact(8).map(f).collect();
        let occupancy = Array1::from(vals[..k].to_vec());
        let first = Array2::from_shape_vec((k, d), vals[k..k + k * d].to_vec()).map_err(|e| {
            Error::Format {
                what: "stats",
                reason: e.to_string(),
            }
        })?;
        let rest = &vals[k + k * d..];
        let second =
            match cov {
                CovarianceType::Diag => SecondOrder::Diag(
                    Array2::from_shape_vec((k, d), rest.to_vec()).map_err(|e| Error::Format {
                        what: "stats",
                        reason: e.to_string(),
                    })?,
                ),
                CovarianceType::Full => {
                    let mut s = Array3::zeros((k, d, d));
                    let mut it = rest.iter();
                    for c in 0..k {
                        for i in 0..d {
                            for j in 0..=i {
                                let v = *it.next().ok_or_else(|| trunc("data"))?;
                                s[[c, i, j]] = v;
                                s[[c, j, i]] = v;
                            }
                        }
                    }
                    SecondOrder::Full(s)
                }
            };
        Ok(Self {
            occupancy,
            first,
            second,
            num_frames,
            loglike,
        })
    }
}

/// Covariance type, components and dimension of a model or of statistics.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    cov: CovarianceType,
    num_gauss: usize,
    dim: usize,
}

impl Shape {
    pub(crate) fn of_stats(s: &GmmStats) -> Shape {
        Shape {
            cov: s.covariance_type(),
            num_gauss: s.num_gauss(),
            dim: s.dim(),
        }
    }
    pub(crate) fn of_model(g: &Gmm) -> Shape {
        Shape {
            cov: g.covariance_type(),
            num_gauss: g.num_gauss(),
            dim: g.dim(),
        }
    }
}

/// Fails unless `got` has the covariance type, component count and dimension of `expected`;
/// the messages say what is being compared.
pub(crate) fn check_same_shape(
    expected: Shape,
    got: Shape,
    cov_mismatch: &'static str,
    components: &'static str,
    dimension: &'static str,
) -> Result<()> {
    if expected.cov != got.cov {
        return Err(Error::CovarianceMismatch(cov_mismatch));
    }
    if expected.num_gauss != got.num_gauss {
        return Err(Error::DimensionMismatch {
            what: components,
            expected: expected.num_gauss,
            got: got.num_gauss,
        });
    }
    if expected.dim != got.dim {
        return Err(Error::DimensionMismatch {
            what: dimension,
            expected: expected.dim,
            got: got.dim,
        });
    }
    Ok(())
}
