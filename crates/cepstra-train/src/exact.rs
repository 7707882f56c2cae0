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
//!
//! **Cost.** The hot path ([`ExactAccumulator`], used by the trainer) converts without `round`
//! or an f64→i128 library call: each integer round(v·2^56) is split exactly, in f64 arithmetic the
//! compiler vectorises (AVX-512 or AVX2 builds chosen once at run time), into h·2^96 + m·2^48 + l (|h| < 2^30, |m|, |l| ≤ 2^47), and the three
//! parts are summed in `i64` lanes; every 2^15 utterances (and at the end) the lanes are carried
//! into the `i128` sums. The integers are those of the direct conversion, so the sums, and the
//! model bytes, are the same as adding value by value.

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
    let (_, h, m, l) = split_fixed(v);
    Ok(join_parts(h, m, l))
}

/// h·2^96 + m·2^48 + l for the parts of one value (|h| < 2^30: no overflow).
fn join_parts(h: i64, m: i64, l: i64) -> i128 {
    ((h as i128) << 96) + ((m as i128) << 48) + l as i128
}

/// 2^52: at and above it every f64 is an integer.
const TWO52: f64 = 4_503_599_627_370_496.0;
/// 1.5·2^52: x + MAGIC rounds x (|x| ≤ 2^51) to an integer whose value is in the low bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;
const TWO48: f64 = 281_474_976_710_656.0;
const TWO96: f64 = 79_228_162_514_264_337_593_543_950_336.0;

/// The integer of `v - MAGIC` for an `x = v` made by `y + MAGIC` (|y| ≤ 2^51).
#[inline(always)]
fn magic_int(v: f64) -> i64 {
    (v.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
}

/// round(v·2^56) (half away from zero, as `f64::round`) split exactly into (h, m, l) with
/// round(v·2^56) = h·2^96 + m·2^48 + l, and whether v converts at all (finite, |v·2^56| < 2^126;
/// the parts are meaningless otherwise). Branch-free f64 arithmetic, so loops over it vectorise.
///
/// Exactness: for |s| < 2^52, q = (|s| + 2^52) − 2^52 is |s| rounded to the nearest integer (ties
/// to even); a tie rounded down (|s| − q = ½) goes up, which is rounding half away from zero; at
/// and above 2^52, s is already an integer. r·2^−96 and the other scalings by powers of two are
/// exact; h = rn(r·2^−96) leaves |r − h·2^96| ≤ 2^95, a multiple of r's unit in the last place
/// with at most 52 bits (|r| > 2^95 when h ≠ 0), hence exact; likewise l = rem − m·2^48 is an
/// integer of magnitude ≤ 2^47.
#[inline(always)]
fn split_fixed(v: f64) -> (bool, i64, i64, i64) {
    let s = v * SCALE;
    let a = s.abs();
    let ok = a < LIMIT;
    let q = (a + TWO52) - TWO52;
    let q = if a - q == 0.5 { q + 1.0 } else { q };
    let r = (if a < TWO52 { q } else { a }).copysign(s);
    let hb = r * (1.0 / TWO96) + MAGIC;
    let h = hb - MAGIC;
    let rem = r - h * TWO96;
    let mb = rem * (1.0 / TWO48) + MAGIC;
    let m = mb - MAGIC;
    let l = rem - m * TWO48;
    (ok, magic_int(hb), magic_int(mb), magic_int(l + MAGIC))
}

/// Adds the split parts of every value of `vals` to the lanes; false when a value does not
/// convert (the lanes are then partly updated).
#[inline(always)]
fn add_split_lanes(vals: &[f64], hi: &mut [i64], mid: &mut [i64], lo: &mut [i64]) -> bool {
    let n = vals.len();
    let (hi, mid, lo) = (&mut hi[..n], &mut mid[..n], &mut lo[..n]);
    let mut all_ok = true;
    for i in 0..n {
        let (ok, h, m, l) = split_fixed(vals[i]);
        all_ok &= ok;
        hi[i] += h;
        mid[i] += m;
        lo[i] += l;
    }
    all_ok
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_split_lanes_avx2(vals: &[f64], hi: &mut [i64], mid: &mut [i64], lo: &mut [i64]) -> bool {
    add_split_lanes(vals, hi, mid, lo)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn add_split_lanes_avx512(vals: &[f64], hi: &mut [i64], mid: &mut [i64], lo: &mut [i64]) -> bool {
    add_split_lanes(vals, hi, mid, lo)
}

/// The widest build of [`add_split_lanes`] this CPU runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lanes {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// Chosen once per process.
fn lanes() -> Lanes {
    static LANES: std::sync::OnceLock<Lanes> = std::sync::OnceLock::new();
    *LANES.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Lanes::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Lanes::Avx2;
            }
        }
        Lanes::Baseline
    })
}

/// [`add_split_lanes`] compiled for AVX-512 or AVX2 when the CPU has them (chosen once), else
/// the baseline build of the same code: the same integers either way (exact arithmetic).
fn add_split(vals: &[f64], hi: &mut [i64], mid: &mut [i64], lo: &mut [i64]) -> bool {
    add_split_with(lanes(), vals, hi, mid, lo)
}

fn add_split_with(
    lanes: Lanes,
    vals: &[f64],
    hi: &mut [i64],
    mid: &mut [i64],
    lo: &mut [i64],
) -> bool {
    match lanes {
        Lanes::Baseline => add_split_lanes(vals, hi, mid, lo),
        // SAFETY: `lanes()` returns Avx2 only when the CPU supports AVX2 (tests pass it only
        // under the same check).
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx2 => unsafe { add_split_lanes_avx2(vals, hi, mid, lo) },
        // SAFETY: as above, for AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Lanes::Avx512 => unsafe { add_split_lanes_avx512(vals, hi, mid, lo) },
    }
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
        check_shape(self, st)?;
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

/// Utterances added between two carries of the `i64` lanes into the `i128` sums: each lane part
/// is at most 2^47 in magnitude, so 2^15 of them stay below 2^62.
const CARRY_EVERY: u32 = 1 << 15;

/// The fast way to build [`ExactStats`] from many per-utterance [`GmmStats`]: the same integers
/// as [`ExactStats::add`], summed in `i64` lanes (see the module docs) and carried into the `i128`
/// sums every 2^15 utterances and by [`ExactAccumulator::finish`]. Reuses its buffers: one per
/// worker, not one per utterance.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm, GmmStats};
/// use cepstra_train::exact::{ExactAccumulator, ExactStats};
/// use ndarray::array;
/// let gmm = Gmm::from(DiagGmm::new(array![1.0], array![[0.0]], array![[1.0]])?);
/// let (mut fast, mut slow) = (ExactAccumulator::for_model(&gmm), ExactStats::for_model(&gmm));
/// for utt in [array![[0.5f32], [1.0]], array![[-1.0f32]]] {
///     let mut st = GmmStats::for_model(&gmm);
///     st.accumulate(&gmm, utt.view(), None)?;
///     let err = |reason| cepstra_train::Error::Statistics { class: "x".into(), reason };
///     fast.add(&st).map_err(err)?;
///     slow.add(&st).map_err(err)?;
/// }
/// let fast = fast.finish().map_err(|reason| cepstra_train::Error::Statistics { class: "x".into(), reason })?;
/// assert_eq!(fast, slow);
/// # Ok::<(), cepstra_train::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactAccumulator {
    stats: ExactStats,
    /// Lane parts of the values at 2^96, 2^48 and 2^0, one per slot: occupancy (K), first order
    /// (K·D), second order (as [`ExactStats`]), frames, log-likelihood.
    hi: Vec<i64>,
    mid: Vec<i64>,
    lo: Vec<i64>,
    /// One component's lower triangle, gathered.
    tri: Vec<f64>,
    /// Utterances in the lanes.
    pending: u32,
}

impl ExactAccumulator {
    /// Zero statistics for K components of dimension D.
    pub fn new(num_gauss: usize, dim: usize, covariance: CovarianceType) -> Self {
        Self::from_stats(ExactStats::new(num_gauss, dim, covariance))
    }
    /// Zero statistics shaped for `gmm`.
    pub fn for_model(gmm: &cepstra_gmm::Gmm) -> Self {
        Self::new(gmm.num_gauss(), gmm.dim(), gmm.covariance_type())
    }
    /// Continues from existing exact statistics.
    pub fn from_stats(stats: ExactStats) -> Self {
        let n = stats.occupancy.len() + stats.first.len() + stats.second.len() + 2;
        let tri = stats.dim * (stats.dim + 1) / 2;
        Self {
            stats,
            hi: vec![0; n],
            mid: vec![0; n],
            lo: vec![0; n],
            tri: vec![0.0; tri],
            pending: 0,
        }
    }

    /// Adds the statistics of one utterance, as [`ExactStats::add`] (same checks, same
    /// messages, same integers). After an error the accumulator must be discarded.
    pub fn add(&mut self, st: &GmmStats) -> std::result::Result<(), String> {
        let (k, d) = (self.stats.num_gauss, self.stats.dim);
        check_shape(&self.stats, st)?;
        let (occ, first) = (st.occupancy(), st.first());
        let second = match st.second() {
            SecondOrder::Diag(s) => s.as_slice(),
            SecondOrder::Full(s) => s.as_slice(),
        };
        let (Some(occupancy), Some(first), Some(second)) =
            (occ.as_slice(), first.as_slice(), second)
        else {
            // Not in standard layout (statistics built by hand): value by value.
            let mut one = ExactStats::new(k, d, self.stats.covariance);
            one.add(st)?;
            return self.stats.merge(&one);
        };
        self.add_slices(&StatSlices {
            occupancy,
            first,
            second,
            num_frames: st.num_frames(),
            loglike: st.total_loglike(),
        })
    }

    /// [`Self::add`] of statistics given as slices in [`GmmStats`]' standard layout (no
    /// [`GmmStats`] to build per utterance): the same checks, messages and integers.
    ///
    /// ```
    /// use cepstra_gmm::CovarianceType;
    /// use cepstra_train::exact::StatSlices;
    /// use cepstra_train::ExactAccumulator;
    /// let mut acc = ExactAccumulator::new(1, 2, CovarianceType::Diag);
    /// acc.add_slices(&StatSlices {
    ///     occupancy: &[2.0],
    ///     first: &[1.0, 3.0],
    ///     second: &[0.5, 4.5],
    ///     num_frames: 2.0,
    ///     loglike: -3.0,
    /// })?;
    /// let st = acc.finish()?.to_stats().map_err(|e| e.to_string())?;
    /// assert_eq!(st.first()[[0, 1]], 3.0);
    /// # Ok::<(), String>(())
    /// ```
    pub fn add_slices(&mut self, st: &StatSlices<'_>) -> std::result::Result<(), String> {
        let (k, d) = (self.stats.num_gauss, self.stats.dim);
        let cov = self.stats.covariance;
        let block = s_block(cov, d);
        if st.occupancy.len() != k || st.first.len() != k * d || st.second.len() != k * block {
            return Err(format!(
                "statistics of {} values ({} first-order, {} second-order) do not match the accumulator K={k} D={d}",
                st.occupancy.len(),
                st.first.len(),
                st.second.len()
            ));
        }
        let mut ok = true;
        let (occ, first, second) = (st.occupancy, st.first, st.second);
        // A component none of whose frames had a posterior above 0 (occupancy exactly 0, and
        // then every statistic ±0: checked, not assumed) adds 0: it is skipped.
        let used = |c: usize| {
            occ[c] != 0.0
                || first[c * d..(c + 1) * d].iter().any(|&v| v != 0.0)
                || second[c * block..(c + 1) * block].iter().any(|&v| v != 0.0)
        };
        let (o_first, o_second) = (k, k + k * d);
        let n = self.hi.len();
        let (hi, mid, lo) = (&mut self.hi, &mut self.mid, &mut self.lo);
        ok &= add_split(occ, hi, mid, lo);
        // Runs of consecutive used components, each one call per statistic (their values
        // and lanes are contiguous; a call per component of D values would spend its time
        // on the tails).
        let mut c = 0;
        while c < k {
            if !used(c) {
                c += 1;
                continue;
            }
            let c0 = c;
            while c < k && used(c) {
                c += 1;
            }
            let at = o_first + c0 * d;
            ok &= add_split(
                &first[c0 * d..c * d],
                &mut hi[at..],
                &mut mid[at..],
                &mut lo[at..],
            );
            match cov {
                CovarianceType::Diag => {
                    let at = o_second + c0 * d;
                    ok &= add_split(
                        &second[c0 * d..c * d],
                        &mut hi[at..],
                        &mut mid[at..],
                        &mut lo[at..],
                    );
                }
                CovarianceType::Full => {
                    let t = self.tri.len();
                    for c in c0..c {
                        let m = &second[c * d * d..(c + 1) * d * d];
                        let mut pos = 0;
                        for i in 0..d {
                            self.tri[pos..pos + i + 1].copy_from_slice(&m[i * d..i * d + i + 1]);
                            pos += i + 1;
                        }
                        let at = o_second + c * t;
                        ok &= add_split(&self.tri, &mut hi[at..], &mut mid[at..], &mut lo[at..]);
                    }
                }
            }
        }
        ok &= add_split(
            &[st.num_frames, st.loglike],
            &mut hi[n - 2..],
            &mut mid[n - 2..],
            &mut lo[n - 2..],
        );
        if !ok {
            // The first value that does not convert, in ExactStats::add's order and words.
            return Err(first_bad_value(st, k, d, cov));
        }
        self.stats.num_utts += 1;
        self.pending += 1;
        if self.pending == CARRY_EVERY {
            self.carry()?;
        }
        Ok(())
    }

    /// Carries the lanes into the `i128` sums and zeroes them.
    fn carry(&mut self) -> std::result::Result<(), String> {
        if self.pending == 0 {
            return Ok(());
        }
        let st = &mut self.stats;
        let n = self.hi.len();
        let mut slots = st
            .occupancy
            .iter_mut()
            .chain(st.first.iter_mut())
            .chain(st.second.iter_mut())
            .chain([&mut st.num_frames, &mut st.loglike]);
        for i in 0..n {
            let (h, m, l) = (self.hi[i], self.mid[i], self.lo[i]);
            let v = (h as i128)
                .checked_mul(1i128 << 96)
                .and_then(|v| v.checked_add((m as i128) << 48))
                .and_then(|v| v.checked_add(l as i128))
                .ok_or_else(overflow)?;
            if let Some(slot) = slots.next() {
                *slot = slot.checked_add(v).ok_or_else(overflow)?;
            }
        }
        self.hi.fill(0);
        self.mid.fill(0);
        self.lo.fill(0);
        self.pending = 0;
        Ok(())
    }

    /// Adds `other` exactly (shapes must agree).
    pub fn merge(&mut self, mut other: ExactAccumulator) -> std::result::Result<(), String> {
        other.carry()?;
        self.stats.merge(&other.stats)
    }

    /// The exact sums.
    pub fn finish(mut self) -> std::result::Result<ExactStats, String> {
        self.carry()?;
        Ok(self.stats)
    }
}

/// One utterance's statistics as slices in [`GmmStats`]' standard layout, for
/// [`ExactAccumulator::add_slices`].
#[derive(Debug, Clone, Copy)]
pub struct StatSlices<'a> {
    /// K occupancies.
    pub occupancy: &'a [f64],
    /// K×D first-order sums, row-major.
    pub first: &'a [f64],
    /// Second order: K×D (diagonal) or K×D×D (full; only each matrix's lower triangle is read).
    pub second: &'a [f64],
    /// The frame count.
    pub num_frames: f64,
    /// The log-likelihood.
    pub loglike: f64,
}

/// The message of [`ExactStats::add`] for the first value of `st` that does not convert.
fn first_bad_value(st: &StatSlices<'_>, k: usize, d: usize, cov: CovarianceType) -> String {
    let second = match cov {
        CovarianceType::Diag => {
            Array2::from_shape_vec((k, d), st.second.to_vec()).map(SecondOrder::Diag)
        }
        CovarianceType::Full => {
            Array3::from_shape_vec((k, d, d), st.second.to_vec()).map(SecondOrder::Full)
        }
    };
    let parts = match (Array2::from_shape_vec((k, d), st.first.to_vec()), second) {
        (Ok(first), Ok(second)) => GmmStats::from_parts(
            Array1::from(st.occupancy.to_vec()),
            first,
            second,
            st.num_frames,
            st.loglike,
        )
        .ok(),
        _ => None,
    };
    parts
        .and_then(|g| ExactStats::new(k, d, cov).add(&g).err())
        .unwrap_or_else(|| "a statistic does not convert".to_string())
}

/// Values per component of [`GmmStats`]' second order: D (diag) or D×D (full).
fn s_block(cov: CovarianceType, d: usize) -> usize {
    match cov {
        CovarianceType::Diag => d,
        CovarianceType::Full => d * d,
    }
}

/// The shape check of [`ExactStats::add`].
fn check_shape(acc: &ExactStats, st: &GmmStats) -> std::result::Result<(), String> {
    if st.num_gauss() != acc.num_gauss
        || st.dim() != acc.dim
        || st.covariance_type() != acc.covariance
    {
        return Err(format!(
            "statistics of shape K={} D={} do not match the accumulator K={} D={}",
            st.num_gauss(),
            st.dim(),
            acc.num_gauss,
            acc.dim
        ));
    }
    Ok(())
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

    /// The conversion everything must agree with: `f64::round` and the library cast.
    fn reference(v: f64) -> i128 {
        (v * SCALE).round() as i128
    }

    fn hard_values() -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
        ];
        // Exact ties of v·2^56 at every magnitude where they exist, and their neighbours.
        for e in -60..-3 {
            let tie = (2.0f64).powi(e) * 1.5;
            for x in [tie, -tie, tie * 3.0, -tie * 5.0] {
                v.extend([
                    x,
                    f64::from_bits(x.to_bits() + 1),
                    f64::from_bits(x.to_bits() - 1),
                ]);
            }
        }
        // Around the binade edges 2^51, 2^52 (after scaling), the 2^48/2^96 split points and the
        // limit 2^126.
        for e in [-5, -4, -3, -8, 40, 39, 41, 69] {
            let x = (2.0f64).powi(e);
            for y in [x, -x] {
                v.extend([
                    y,
                    f64::from_bits(y.to_bits() + 1),
                    f64::from_bits(y.to_bits() - 1),
                ]);
            }
        }
        // The largest magnitude that converts: just below 2^70 (2^126 after scaling).
        let top = f64::from_bits(2.0f64.powi(70).to_bits() - 1);
        v.extend([top, -top]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20_000 {
            let mag = (2.0f64).powf(rng.random_range(-70.0..69.9));
            v.push(if rng.random::<bool>() { mag } else { -mag });
        }
        v
    }

    #[test]
    fn fast_conversion_is_round_then_cast() {
        for v in hard_values() {
            assert_eq!(to_fixed(v, "x").unwrap(), reference(v), "{v:e}");
            let (ok, h, m, l) = split_fixed(v);
            assert!(ok, "{v:e}");
            assert_eq!(join_parts(h, m, l), reference(v), "{v:e}");
        }
        for bad in [
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            2.0f64.powi(70),
            -1e300,
        ] {
            assert!(!split_fixed(bad).0, "{bad:e}");
        }
    }

    #[test]
    fn lanes_match_value_by_value_in_every_build() {
        let vals = hard_values();
        let n = vals.len();
        let (mut h1, mut m1, mut l1) = (vec![0; n], vec![0; n], vec![0; n]);
        assert!(add_split_lanes(&vals, &mut h1, &mut m1, &mut l1));
        // Every build this CPU runs gives the same parts (and the dispatched one is among them).
        let mut builds = vec![Lanes::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                builds.push(Lanes::Avx2);
            } else {
                eprintln!("AVX2 not available: its build is not tested on this CPU");
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                builds.push(Lanes::Avx512);
            } else {
                eprintln!("AVX-512F not available: its build is not tested on this CPU");
            }
        }
        assert!(builds.contains(&lanes()));
        for b in builds {
            let (mut h2, mut m2, mut l2) = (vec![0; n], vec![0; n], vec![0; n]);
            assert!(add_split_with(b, &vals, &mut h2, &mut m2, &mut l2));
            assert_eq!((&h1, &m1, &l1), (&h2, &m2, &l2), "{b:?}");
        }
        let (mut h2, mut m2, mut l2) = (vec![0; n], vec![0; n], vec![0; n]);
        for i in 0..n {
            assert_eq!(join_parts(h1[i], m1[i], l1[i]), reference(vals[i]));
        }
        let mut bad = vals.clone();
        bad[n / 2] = f64::NAN;
        assert!(!add_split(&bad, &mut h2, &mut m2, &mut l2));
    }

    fn random_stats(cov: CovarianceType, seed: u64) -> Vec<GmmStats> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (k, d) = (3, 4);
        (0..40)
            .map(|u| {
                let mut g =
                    || rng.random_range(-1.0..1.0) * (2.0f64).powi(rng.random_range(-30..40));
                let mut occ = Array1::from_shape_fn(k, |_| g().abs());
                if u % 3 == 0 {
                    occ[1] = 0.0; // a component no frame reached: skipped, and must add nothing
                }
                let zero = |c: usize| u % 3 == 0 && c == 1;
                let first = Array2::from_shape_fn((k, d), |(c, _)| if zero(c) { 0.0 } else { g() });
                let second = match cov {
                    CovarianceType::Diag => {
                        SecondOrder::Diag(Array2::from_shape_fn((k, d), |(c, _)| {
                            if zero(c) {
                                -0.0
                            } else {
                                g()
                            }
                        }))
                    }
                    CovarianceType::Full => {
                        SecondOrder::Full(Array3::from_shape_fn((k, d, d), |(c, _, _)| {
                            if zero(c) {
                                0.0
                            } else {
                                g()
                            }
                        }))
                    }
                };
                GmmStats::from_parts(occ, first, second, g().abs(), g()).unwrap()
            })
            .collect()
    }

    #[test]
    fn accumulator_equals_exact_stats() {
        for cov in [CovarianceType::Diag, CovarianceType::Full] {
            let utts = random_stats(cov, 3);
            let mut slow = ExactStats::new(3, 4, cov);
            let mut fast = ExactAccumulator::new(3, 4, cov);
            // Two accumulators merged (the parallel reduction) and one carry in between.
            let mut other = ExactAccumulator::new(3, 4, cov);
            for (i, st) in utts.iter().enumerate() {
                slow.add(st).unwrap();
                if i % 2 == 0 {
                    fast.add(st).unwrap()
                } else {
                    other.add(st).unwrap()
                }
                if i == 17 {
                    fast.carry().unwrap();
                }
            }
            fast.merge(other).unwrap();
            assert_eq!(fast.finish().unwrap(), slow, "{cov:?}");
        }
    }

    #[test]
    fn accumulator_errors_as_exact_stats() {
        for cov in [CovarianceType::Diag, CovarianceType::Full] {
            let good = &random_stats(cov, 5)[1];
            let (occ, mut first, second) = (
                good.occupancy().to_owned(),
                good.first().to_owned(),
                good.second().clone(),
            );
            first[[2, 1]] = f64::NAN;
            let bad = GmmStats::from_parts(occ, first, second, 1.0, 1.0).unwrap();
            let slow = ExactStats::new(3, 4, cov).add(&bad).unwrap_err();
            let fast = ExactAccumulator::new(3, 4, cov).add(&bad).unwrap_err();
            assert_eq!(fast, slow);
            assert!(fast.contains("first-order"), "{fast}");
            let wrong = ExactAccumulator::new(2, 4, cov).add(good).unwrap_err();
            assert!(wrong.contains("do not match"), "{wrong}");
        }
        // Lanes carried into a sum that overflows i128 fail instead of wrapping.
        let mut a = ExactAccumulator::new(1, 1, CovarianceType::Diag);
        a.stats.occupancy[0] = i128::MAX - 3;
        let st = GmmStats::from_parts(
            Array1::from_elem(1, 1.0),
            Array2::zeros((1, 1)),
            SecondOrder::Diag(Array2::zeros((1, 1))),
            1.0,
            0.0,
        )
        .unwrap();
        a.add(&st).unwrap();
        assert!(a.finish().unwrap_err().contains("overflowed"));
    }
}
