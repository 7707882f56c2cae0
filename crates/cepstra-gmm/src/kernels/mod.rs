//! SIMD kernels of the EM pass, each with its portable twin beside it, and the kernel set that
//! chooses between them once (RustFFT's planner idea): [`KernelSet::best`] is detected once per
//! process, a [`crate::Prepared`] model stores the set it was built for, and every kernel call
//! takes that set instead of testing the CPU again.
//!
//! - `tile`: the f64 register-tiled GEMM (diagonal E-step, every M-step) and the lower-triangle
//!   SYRK of the full-covariance M-step;
//! - `exp`: e^(v − m) of a row of log-likelihoods and its sum (the posteriors);
//! - `ln`: ln x in place (fdlibm's method, branch-free);
//! - `whiten`: the f32 whitening E-steps (triangular for full covariance, diagonal) and the
//!   frame transpose they read.
//!
//! Every SIMD kernel sums in the same order as its portable twin; the AVX-512 kernels do exactly
//! the AVX2 arithmetic on wider registers (more frames or columns per instruction, each element
//! still one FMA chain in the same order), so AVX-512 and AVX2+FMA give the same bits. The
//! portable twins multiply and add separately (or call `mul_add`), so their last bits can differ.

pub(crate) mod exp;
mod lanes;
pub(crate) mod ln;
pub(crate) mod tile;
pub(crate) mod whiten;

use std::fmt;
use std::sync::OnceLock;

use faer::{Accum, MatMut, MatRef, Par};

/// A family of kernels: chosen once (see [`KernelSet::best`]), stored in a prepared model and
/// printed by the benchmark and `--verbose`.
///
/// ```
/// use cepstra_gmm::KernelSet;
/// let best = KernelSet::best();
/// assert!(best.is_supported());
/// assert!(KernelSet::Portable.is_supported());
/// println!("kernels: {best}"); // "avx512f", "avx2+fma" or "portable"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KernelSet {
    /// Plain Rust, any CPU (the compiler's baseline vectorisation).
    Portable,
    /// x86-64 AVX2 and FMA (4 f64 / 8 f32 lanes).
    Avx2Fma,
    /// x86-64 AVX-512F (8 f64 / 16 f32 lanes), with AVX2 and FMA.
    Avx512,
}

impl KernelSet {
    /// Every kernel set, fastest first.
    pub const ALL: [KernelSet; 3] = [KernelSet::Avx512, KernelSet::Avx2Fma, KernelSet::Portable];

    /// Whether this CPU can run the set.
    pub fn is_supported(self) -> bool {
        match self {
            KernelSet::Portable => true,
            #[cfg(target_arch = "x86_64")]
            KernelSet::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            KernelSet::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The set every model uses unless told otherwise: the fastest this CPU supports, capped by
    /// the environment variable `CEPSTRA_KERNELS` (`avx512f`, `avx2+fma` or `avx2`,
    /// `portable`) when it is set, e.g. to compare sets on one machine. Detected once per process.
    pub fn best() -> KernelSet {
        static BEST: OnceLock<KernelSet> = OnceLock::new();
        *BEST.get_or_init(|| {
            let fastest = KernelSet::ALL
                .into_iter()
                .find(|k| k.is_supported())
                .unwrap_or(KernelSet::Portable);
            let chosen = match std::env::var("CEPSTRA_KERNELS") {
                Ok(v) => match v.parse::<KernelSet>() {
                    Ok(cap) => cap.min(fastest),
                    Err(()) => {
                        log::warn!(
                            "CEPSTRA_KERNELS={v:?} is not avx512f, avx2+fma or portable: using {fastest}"
                        );
                        fastest
                    }
                },
                Err(_) => fastest,
            };
            log::debug!("GMM kernel set: {chosen} (fastest this CPU supports: {fastest})");
            chosen
        })
    }

    /// f64 floating-point operations per cycle and core at the set's peak (two FMA pipes ×
    /// lanes × 2): 32 for AVX-512, 16 for AVX2+FMA, 4 for the portable code (SSE2, no FMA). For
    /// %-of-peak figures; the benchmark measures the actual peak.
    pub fn f64_flops_per_cycle(self) -> usize {
        match self {
            KernelSet::Portable => 4,
            KernelSet::Avx2Fma => 16,
            KernelSet::Avx512 => 32,
        }
    }
}

impl fmt::Display for KernelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KernelSet::Portable => "portable",
            KernelSet::Avx2Fma => "avx2+fma",
            KernelSet::Avx512 => "avx512f",
        })
    }
}

impl std::str::FromStr for KernelSet {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" => Ok(KernelSet::Portable),
            "avx2" | "avx2+fma" | "avx2fma" => Ok(KernelSet::Avx2Fma),
            "avx512" | "avx512f" | "avx-512" => Ok(KernelSet::Avx512),
            _ => Err(()),
        }
    }
}

/// A kernel set this CPU supports: the only way to reach a SIMD kernel. Its one invariant,
/// relied on by every `unsafe` dispatch below: the set's CPU features are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kernels(KernelSet);

impl Kernels {
    /// `set` if the CPU supports it.
    pub fn new(set: KernelSet) -> Option<Kernels> {
        set.is_supported().then_some(Kernels(set))
    }
    /// [`KernelSet::best`].
    pub fn best() -> Kernels {
        Kernels(KernelSet::best())
    }
    /// The portable set (always supported).
    #[cfg(test)]
    pub fn portable() -> Kernels {
        Kernels(KernelSet::Portable)
    }
    /// The set.
    pub fn set(self) -> KernelSet {
        self.0
    }
    /// Whether the f32 whitening kernels run (AVX2+FMA or AVX-512).
    pub fn has_whitening(self) -> bool {
        self.0 != KernelSet::Portable
    }
}

/// Element-wise e^x and ln x of f64 slices for log-domain code outside the GMM engine (an
/// HMM's forward-backward, say): the engine's exponential and an fdlibm logarithm, SIMD on the
/// kernel set chosen once, the same bits on every set (and so on every machine).
///
/// ```
/// use cepstra_gmm::kernels::VecMath;
/// let vm = VecMath::best();
/// let mut v = [0.0, -1.0, -40.0, 1.0];
/// vm.exp(&mut v);
/// assert_eq!(v[0], 1.0);
/// assert!((v[1] - (-1.0f64).exp()).abs() < 1e-16);
/// assert_eq!(v[2], 0.0); // below e^-36.7 (2^-53): 0
/// let mut w = [1.0, 2.0, 10.0];
/// vm.ln(&mut w);
/// assert_eq!(w[0], 0.0);
/// assert!((w[2] - 10f64.ln()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VecMath(Kernels);

impl VecMath {
    /// `set` if this CPU supports it.
    pub fn new(set: KernelSet) -> Option<VecMath> {
        Kernels::new(set).map(VecMath)
    }
    /// [`KernelSet::best`].
    pub fn best() -> VecMath {
        VecMath(Kernels::best())
    }
    /// The kernel set that runs.
    pub fn kernel_set(self) -> KernelSet {
        self.0.set()
    }
    /// e^v of every value in place, to a few ulps for v ≤ 709; a value at or below
    /// ln 2⁻⁵³ ≈ −36.74 (or NaN) gives 0, as the engine drops posteriors below half an ulp of 1.
    pub fn exp(self, v: &mut [f64]) {
        exp::exp_in_place(self.0, v)
    }
    /// e^v of every value in place for v ≤ 0, to a few ulps, down to −708 (e^-708 ≈ 3.3e-308,
    /// the smallest normal f64s); below that (or NaN): 0. For values that must survive far below
    /// a frame's best, e.g. an HMM's scaled state likelihoods. The same bits on every set.
    ///
    /// ```
    /// use cepstra_gmm::kernels::VecMath;
    /// let mut v = [0.0, -40.0, -700.0, -709.0];
    /// VecMath::best().exp_wide(&mut v);
    /// assert_eq!(v[0], 1.0);
    /// assert!((v[1] / (-40.0f64).exp() - 1.0).abs() < 1e-15);
    /// assert!((v[2] / (-700.0f64).exp() - 1.0).abs() < 1e-15);
    /// assert_eq!(v[3], 0.0);
    /// ```
    pub fn exp_wide(self, v: &mut [f64]) {
        exp::exp_wide_in_place(self.0, v)
    }
    /// ln v of every value in place, below 1 ulp of error, for positive normal finite values
    /// (other values give an unspecified result, never a panic).
    pub fn ln(self, v: &mut [f64]) {
        ln::ln_in_place(self.0, v)
    }
    /// ln v of one value with the same bits as [`VecMath::ln`].
    pub fn ln_one(v: f64) -> f64 {
        ln::ln_pos(v)
    }
    /// e^v of one value with the same bits as [`VecMath::exp`].
    pub fn exp_one(v: f64) -> f64 {
        exp::exp_nonpos(v)
    }
}

/// Clears the upper halves of the AVX registers after a faer call (faer's kernels leave them
/// dirty, which slows down the SSE/AVX-128 code that follows by 25–40 %: linalg.md §3).
#[inline]
pub(crate) fn vzeroupper() {
    #[cfg(target_arch = "x86_64")]
    {
        if Kernels::best().set() != KernelSet::Portable {
            // SAFETY: the best set is AVX2+FMA or AVX-512, so the CPU has AVX.
            unsafe { vzeroupper_avx() }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn vzeroupper_avx() {
    core::arch::x86_64::_mm256_zeroupper();
}

/// dst (=|+=) lhs·rhs with faer's GEMM on one thread, then [`vzeroupper`].
#[inline]
pub(crate) fn gemm<T: faer::traits::ComplexField>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::from_f64_impl(1.0), Par::Seq);
    vzeroupper();
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{KernelSet, Kernels};

    /// Every SIMD set this CPU runs, each paired with the portable set; prints the sets it skips
    /// (a test that uses this says so rather than passing silently).
    pub fn simd_sets(test: &str) -> Vec<Kernels> {
        let mut v = Vec::new();
        for set in KernelSet::ALL {
            if set == KernelSet::Portable {
                continue;
            }
            match Kernels::new(set) {
                Some(k) => v.push(k),
                None => eprintln!("{test}: kernel set {set} skipped: this CPU lacks it"),
            }
        }
        v
    }
}
