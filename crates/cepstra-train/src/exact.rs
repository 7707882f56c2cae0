//! Exact (fixed-point) sums of GMM statistics: the reason any split of the data into jobs, any
//! order and any number of threads gives the same model bytes.
//!
//! Floating-point addition is not associative, so a sum of per-utterance statistics depends on
//! how the utterances are grouped. Here every per-utterance statistic v (an f64 from
//! [`GmmStats::accumulate`] on that utterance alone) is rounded once to the integer
//! round(v · 2^56) and summed in `i128`: integer addition is associative and commutative, so
//! the total is the same for every grouping. The resolution is 2^-56 ≈ 1.4e-17 per utterance
//! statistic; the range ±2^71 ≈ 2.4e21 per statistic after scaling leaves room for ~10^12
//! frames of 39-dimensional MFCCs. Overflow and non-finite values are errors, never wrapped.

use cepstra_gmm::{CovarianceType, GmmStats, SecondOrder};
use ndarray::{Array1, Array2, Array3};

/// 2^56: the fixed-point scale.
pub const SCALE: f64 = 72_057_594_037_927_936.0;
/// |v · 2^56| must stay below this to convert (2^126).
const LIMIT: f64 = 85_070_591_730_234_615_865_843_651_857_942_052_864.0;

/// Fixed-point GMM statistics (Kaldi's `AccumFullGmm`/`AccumDiagGmm` with exact sums).
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm, GmmStats};
/// use cepstra_train::ExactStats;
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let mut exact = ExactStats::for_model(&gmm);
/// for utt in [array![[0.5f32], [1.0]], array![[-1.0f32]]] {
///     let mut st = GmmStats::for_model(&gmm);
///     st.accumulate(&gmm, utt.view(), None)?;
///     exact.add(&st).map_err(|reason| cepstra_train::Error::Statistics { class: "x".into(), reason })?;
/// }
/// assert_eq!(exact.to_stats()?.occupancy()[0], 3.0);
/// # Ok::<(), cepstra_train::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactStats {
    pub(crate) num_gauss: usize,
    pub(crate) dim: usize,
    pub(crate) covariance: CovarianceType,
    /// K values.
    pub(crate) occupancy: Vec<i128>,
    /// K×D, row-major.
    pub(crate) first: Vec<i128>,
    /// Diag: K×D; full: per component the lower triangle row by row, D(D+1)/2 values.
    pub(crate) second: Vec<i128>,
    pub(crate) num_frames: i128,
    pub(crate) loglike: i128,
    /// Utterances added.
    pub(crate) num_utts: u64,
}

/// `v` as the fixed-point integer round(v · 2^56) that every exact sum here adds (an error naming
/// `what` for non-finite or too-large values). Public so that other exact accumulators (the HMM
/// trainer's transition counts) use the same scale instead of a copy.
///
/// ```
/// assert_eq!(cepstra_train::exact::from_fixed(cepstra_train::exact::to_fixed(0.25, "x")?), 0.25);
/// # Ok::<(), String>(())
/// ```
pub fn to_fixed(v: f64, what: &str) -> std::result::Result<i128, String> {
    let s = v * SCALE;
    if !s.is_finite() {
        return Err(format!(
            "{what} is not finite ({v}): check the features for NaN/Inf"
        ));
    }
    if s.abs() >= LIMIT {
        return Err(format!(
            "{what} = {v:e} is too large for the exact accumulator (|v| < 2^70): scale the features down"
        ));
    }
    Ok(s.round() as i128)
}

fn to_f64(v: i128) -> f64 {
    v as f64 / SCALE
}

/// The f64 of a fixed-point value of [`to_fixed`] (one rounding).
pub fn from_fixed(v: i128) -> f64 {
    to_f64(v)
}

/// Adds `b` to `a` exactly (an error on i128 overflow).
pub fn add_fixed(a: &mut i128, b: i128) -> std::result::Result<(), String> {
    *a = a.checked_add(b).ok_or_else(overflow)?;
    Ok(())
}

fn overflow() -> String {
    "the exact accumulator overflowed (i128): too much data for one sum".to_string()
}

fn add_into(acc: &mut [i128], other: &[i128]) -> std::result::Result<(), String> {
    for (a, &b) in acc.iter_mut().zip(other) {
        *a = a.checked_add(b).ok_or_else(overflow)?;
    }
    Ok(())
}

impl ExactStats {
    /// Zero statistics for K components of dimension D.
    pub fn new(num_gauss: usize, dim: usize, covariance: CovarianceType) -> Self {
        let second = match covariance {
            CovarianceType::Diag => num_gauss * dim,
            CovarianceType::Full => num_gauss * dim * (dim + 1) / 2,
        };
        Self {
            num_gauss,
            dim,
            covariance,
            occupancy: vec![0; num_gauss],
            first: vec![0; num_gauss * dim],
            second: vec![0; second],
            num_frames: 0,
            loglike: 0,
            num_utts: 0,
        }
    }
    /// Zero statistics shaped for `gmm`.
    pub fn for_model(gmm: &cepstra_gmm::Gmm) -> Self {
        Self::new(gmm.num_gauss(), gmm.dim(), gmm.covariance_type())
    }
    /// Number of components.
    pub fn num_gauss(&self) -> usize {
        self.num_gauss
    }
    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariance
    }
    /// Utterances added.
    pub fn num_utts(&self) -> u64 {
        self.num_utts
    }
    /// Total frame weight (f64 of the exact sum).
    pub fn num_frames(&self) -> f64 {
        to_f64(self.num_frames)
    }
    /// Total log-likelihood (f64 of the exact sum).
    pub fn total_loglike(&self) -> f64 {
        to_f64(self.loglike)
    }
    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.num_utts == 0 && self.num_frames == 0
    }

    /// Adds the statistics of one utterance (counts as one utterance). The error is a message
    /// (the caller names the class); after an error the accumulator is partly updated and must
    /// be discarded.
    pub fn add(&mut self, st: &GmmStats) -> std::result::Result<(), String> {
        if st.num_gauss() != self.num_gauss
            || st.dim() != self.dim
            || st.covariance_type() != self.covariance
        {
            return Err(format!(
                "statistics of shape K={} D={} do not match the accumulator K={} D={}",
                st.num_gauss(),
                st.dim(),
                self.num_gauss,
                self.dim
            ));
        }
        let add = |acc: &mut i128, v: f64, what: &str| -> std::result::Result<(), String> {
            *acc = acc.checked_add(to_fixed(v, what)?).ok_or_else(overflow)?;
            Ok(())
        };
        for (o, &v) in self.occupancy.iter_mut().zip(st.occupancy()) {
            add(o, v, "an occupancy")?;
        }
        for (o, &v) in self.first.iter_mut().zip(st.first()) {
            add(o, v, "a first-order statistic")?;
        }
        match st.second() {
            SecondOrder::Diag(s) => {
                for (o, &v) in self.second.iter_mut().zip(s) {
                    add(o, v, "a second-order statistic")?;
                }
            }
            SecondOrder::Full(s) => {
                let mut it = self.second.iter_mut();
                for m in s.outer_iter() {
                    for i in 0..self.dim {
                        let row = m.row(i);
                        for &v in row.iter().take(i + 1) {
                            if let Some(o) = it.next() {
                                add(o, v, "a second-order statistic")?;
                            }
                        }
                    }
                }
            }
        }
        add(&mut self.num_frames, st.num_frames(), "the frame count")?;
        add(&mut self.loglike, st.total_loglike(), "the log-likelihood")?;
        self.num_utts += 1;
        Ok(())
    }

    /// Adds `other` exactly. Shapes must agree.
    pub fn merge(&mut self, other: &ExactStats) -> std::result::Result<(), String> {
        if other.num_gauss != self.num_gauss
            || other.dim != self.dim
            || other.covariance != self.covariance
        {
            return Err(format!(
                "cannot add statistics of shape K={} D={} {:?} to K={} D={} {:?}",
                other.num_gauss,
                other.dim,
                other.covariance,
                self.num_gauss,
                self.dim,
                self.covariance
            ));
        }
        add_into(&mut self.occupancy, &other.occupancy)?;
        add_into(&mut self.first, &other.first)?;
        add_into(&mut self.second, &other.second)?;
        add_into(
            std::slice::from_mut(&mut self.num_frames),
            &[other.num_frames],
        )?;
        add_into(std::slice::from_mut(&mut self.loglike), &[other.loglike])?;
        self.num_utts += other.num_utts;
        Ok(())
    }

    /// Appends the binary body of these statistics (everything but the covariance type, which
    /// the container records): K, D (u32), utterances (u64), frames and log-likelihood (i128),
    /// then occupancy, first and second order (i128 each), little-endian. The per-class body
    /// of `acc-classes` files ([`crate::acc`]) and of the HMM trainer's per-state statistics.
    pub fn write_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.num_gauss as u32).to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&self.num_utts.to_le_bytes());
        out.extend_from_slice(&self.num_frames.to_le_bytes());
        out.extend_from_slice(&self.loglike.to_le_bytes());
        for v in self.occupancy.iter().chain(&self.first).chain(&self.second) {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Reads a body written by [`ExactStats::write_body`] at `*pos` of `bytes` (advancing
    /// `*pos`); sizes are checked against the bytes present before allocating. The error is a
    /// message naming what is wrong (the caller names the file).
    pub fn read_body(
        covariance: CovarianceType,
        bytes: &[u8],
        pos: &mut usize,
    ) -> std::result::Result<ExactStats, String> {
        let mut take = |n: usize, what: &str| -> std::result::Result<&[u8], String> {
            if bytes.len() - *pos < n {
                return Err(format!(
                    "truncated: ends inside the {what} (at byte {} of {})",
                    *pos,
                    bytes.len()
                ));
            }
            let s = &bytes[*pos..*pos + n];
            *pos += n;
            Ok(s)
        };
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let k = u32_at(take(4, "statistics header")?);
        let d = u32_at(take(4, "statistics header")?);
        if k == 0 || d == 0 {
            return Err(format!("K={k}, D={d}: both must be positive"));
        }
        let second = match covariance {
            CovarianceType::Diag => k.checked_mul(d),
            CovarianceType::Full => d.checked_mul(d + 1).and_then(|x| (x / 2).checked_mul(k)),
        };
        let total = second
            .and_then(|s| k.checked_mul(d).and_then(|f| f.checked_add(s)))
            .and_then(|x| x.checked_add(k))
            .and_then(|x| x.checked_mul(16))
            .ok_or_else(|| format!("sizes K={k} D={d} overflow"))?;
        let mut a8 = [0u8; 8];
        a8.copy_from_slice(take(8, "statistics header")?);
        let num_utts = u64::from_le_bytes(a8);
        let i128_at = |s: &[u8]| {
            let mut a = [0u8; 16];
            a.copy_from_slice(s);
            i128::from_le_bytes(a)
        };
        let num_frames = i128_at(take(16, "statistics header")?);
        let loglike = i128_at(take(16, "statistics header")?);
        let vals: Vec<i128> = take(total, "statistics")?
            .chunks_exact(16)
            .map(i128_at)
            .collect();
        let mut st = ExactStats::new(k, d, covariance);
        st.occupancy.copy_from_slice(&vals[..k]);
        st.first.copy_from_slice(&vals[k..k + k * d]);
        st.second.copy_from_slice(&vals[k + k * d..]);
        st.num_utts = num_utts;
        st.num_frames = num_frames;
        st.loglike = loglike;
        Ok(st)
    }

    /// The f64 statistics the M-step takes (each exact sum rounded once).
    pub fn to_stats(&self) -> cepstra_gmm::Result<GmmStats> {
        let (k, d) = (self.num_gauss, self.dim);
        let occupancy = Array1::from_iter(self.occupancy.iter().map(|&v| to_f64(v)));
        let first = Array2::from_shape_fn((k, d), |(c, i)| to_f64(self.first[c * d + i]));
        let second = match self.covariance {
            CovarianceType::Diag => SecondOrder::Diag(Array2::from_shape_fn((k, d), |(c, i)| {
                to_f64(self.second[c * d + i])
            })),
            CovarianceType::Full => {
                let mut s = Array3::zeros((k, d, d));
                let tri = d * (d + 1) / 2;
                for c in 0..k {
                    let mut pos = c * tri;
                    for i in 0..d {
                        for j in 0..=i {
                            let v = to_f64(self.second[pos]);
                            s[[c, i, j]] = v;
                            s[[c, j, i]] = v;
                            pos += 1;
                        }
                    }
                }
                SecondOrder::Full(s)
            }
        };
        GmmStats::from_parts(
            occupancy,
            first,
            second,
            to_f64(self.num_frames),
            to_f64(self.loglike),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_conversion() {
        assert_eq!(to_fixed(1.0, "x").unwrap(), 1i128 << 56);
        assert_eq!(to_fixed(-0.5, "x").unwrap(), -(1i128 << 55));
        assert_eq!(to_f64(to_fixed(123.456, "x").unwrap()), 123.456);
        assert!(to_fixed(f64::NAN, "x").unwrap_err().contains("not finite"));
        assert!(to_fixed(1e30, "x").unwrap_err().contains("too large"));
        let mut a = [i128::MAX - 1];
        assert!(add_into(&mut a, &[5]).unwrap_err().contains("overflowed"));
    }
}
