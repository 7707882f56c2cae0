//! e^(v − m) of a row of log-likelihoods in place and its sum ([`exp_shifted`]): the
//! posteriors of one frame. Branch-free degree-13 polynomial ([`exp_nonpos`]); the SIMD versions
//! do the portable arithmetic lane by lane with the same four partial sums, so every kernel set
//! gives the same bits (`f64::mul_add` rounds once everywhere).

use super::{KernelSet, Kernels};

/// exp(v − m) for every v of the row in place (0 where v − m ≤ [`EXP_MIN`]), returning their sum.
#[inline]
pub(crate) fn exp_shifted(ks: Kernels, row: &mut [f64], m: f64) -> f64 {
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
        KernelSet::Avx512 => unsafe { exp_shifted_avx512(row, m) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (AVX2 and FMA).
        KernelSet::Avx2Fma => unsafe { exp_shifted_avx2(row, m) },
        _ => exp_shifted_portable(row, m),
    }
}

/// AVX2 version of [`exp_shifted_portable`]: the same operations, four lanes at a time, the same
/// four partial sums (bit-identical results).
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_shifted_avx2(row: &mut [f64], m: f64) -> f64 {
    use core::arch::x86_64::*;
    let n4 = row.len() / 4 * 4;
    let mv = _mm256_set1_pd(m);
    let mut acc = _mm256_setzero_pd();
    let ptr = row.as_mut_ptr();
    let mut i = 0;
    // Two independent vectors per step; the sums are added in element order, as in the
    // portable version.
    // SAFETY (loads and stores of both loops): i + 8 ≤ n4 resp. i + 4 ≤ n4 ≤ row.len().
    while i + 8 <= n4 {
        unsafe {
            let e0 = exp4_avx2(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i)), mv));
            let e1 = exp4_avx2(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i + 4)), mv));
            _mm256_storeu_pd(ptr.add(i), e0);
            _mm256_storeu_pd(ptr.add(i + 4), e1);
            acc = _mm256_add_pd(_mm256_add_pd(acc, e0), e1);
        }
        i += 8;
    }
    while i < n4 {
        // SAFETY: i + 4 ≤ n4 ≤ row.len().
        unsafe {
            let e = exp4_avx2(_mm256_sub_pd(_mm256_loadu_pd(ptr.add(i)), mv));
            _mm256_storeu_pd(ptr.add(i), e);
            acc = _mm256_add_pd(acc, e);
        }
        i += 4;
    }
    let mut a = [0.0f64; 4];
    // SAFETY: `a` holds 4 values.
    unsafe { _mm256_storeu_pd(a.as_mut_ptr(), acc) };
    let mut s = (a[0] + a[1]) + (a[2] + a[3]);
    if n4 < row.len() {
        // The last 1–3 values through the vector path too (padding lanes give 0), then added
        // one by one as in the portable version.
        let rest = &mut row[n4..];
        let mut t = [f64::NEG_INFINITY; 4];
        t[..rest.len()].copy_from_slice(rest);
        // SAFETY: `t` holds 4 values.
        unsafe {
            _mm256_storeu_pd(
                t.as_mut_ptr(),
                exp4_avx2(_mm256_sub_pd(_mm256_loadu_pd(t.as_ptr()), mv)),
            )
        };
        for (v, &e) in rest.iter_mut().zip(&t) {
            *v = e;
            s += e;
        }
    }
    s
}

/// AVX-512 version of [`exp_shifted_portable`]: the exponentials 8 lanes at a time (the last 1–7
/// values with a mask), each lane the portable arithmetic, then the sum in the portable order
/// (four partial sums over chunks of 4, then the remainder one by one): bit-identical results,
/// and a row of K ≤ 8 values is one vector step.
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp_shifted_avx512(row: &mut [f64], m: f64) -> f64 {
    use core::arch::x86_64::*;
    let n = row.len();
    let n4 = n / 4 * 4;
    let mv = _mm512_set1_pd(m);
    let ptr = row.as_mut_ptr();
    let mut i = 0;
    // SAFETY (loads and stores): i + 8 ≤ n; the masked accesses touch lanes i..n only.
    while i + 8 <= n {
        unsafe {
            let e = exp8_avx512(_mm512_sub_pd(_mm512_loadu_pd(ptr.add(i)), mv));
            _mm512_storeu_pd(ptr.add(i), e);
        }
        i += 8;
    }
    if i < n {
        let mask: __mmask8 = ((1u32 << (n - i)) - 1) as u8;
        unsafe {
            let e = exp8_avx512(_mm512_sub_pd(_mm512_maskz_loadu_pd(mask, ptr.add(i)), mv));
            _mm512_mask_storeu_pd(ptr.add(i), mask, e);
        }
    }
    let mut acc = _mm256_setzero_pd();
    let mut c = 0;
    while c < n4 {
        // SAFETY: c + 4 ≤ n4 ≤ n.
        acc = _mm256_add_pd(acc, unsafe { _mm256_loadu_pd(ptr.add(c)) });
        c += 4;
    }
    let mut a = [0.0f64; 4];
    // SAFETY: `a` holds 4 values.
    unsafe { _mm256_storeu_pd(a.as_mut_ptr(), acc) };
    let mut s = (a[0] + a[1]) + (a[2] + a[3]);
    for &e in &row[n4..] {
        s += e;
    }
    s
}

/// [`exp_nonpos`] in 4 AVX2 lanes (the same operations, so the same bits).
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn exp4_avx2(t: core::arch::x86_64::__m256d) -> core::arch::x86_64::__m256d {
    // SAFETY: the caller's (AVX2 and FMA).
    unsafe { exp4_avx2_above(t, EXP_MIN) }
}

/// [`exp4_avx2`] with the cut at `min` (≥ [`EXP_MIN_WIDE`]).
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn exp4_avx2_above(
    t: core::arch::x86_64::__m256d,
    min: f64,
) -> core::arch::x86_64::__m256d {
    use core::arch::x86_64::*;
    let keep = _mm256_cmp_pd::<_CMP_GT_OQ>(t, _mm256_set1_pd(min));
    let tc = _mm256_and_pd(t, keep);
    let shift = _mm256_set1_pd(EXP_SHIFT);
    let kf = _mm256_add_pd(
        _mm256_mul_pd(tc, _mm256_set1_pd(std::f64::consts::LOG2_E)),
        shift,
    );
    let n = _mm256_sub_pd(kf, shift);
    let r = _mm256_sub_pd(
        _mm256_sub_pd(tc, _mm256_mul_pd(n, _mm256_set1_pd(LN2_HI))),
        _mm256_mul_pd(n, _mm256_set1_pd(LN2_LO)),
    );
    let p = exp_poly(
        r,
        |a, b| _mm256_mul_pd(a, b),
        |a, b, c| _mm256_fmadd_pd(a, b, c),
        |v| _mm256_set1_pd(v),
    );
    let two_n = _mm256_castsi256_pd(_mm256_add_epi64(
        _mm256_slli_epi64::<52>(_mm256_castpd_si256(kf)),
        _mm256_set1_epi64x((1023u64 << 52) as i64),
    ));
    _mm256_and_pd(_mm256_mul_pd(p, two_n), keep)
}

/// [`exp_nonpos`] in 8 AVX-512 lanes (the same operations, so the same bits).
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn exp8_avx512(t: core::arch::x86_64::__m512d) -> core::arch::x86_64::__m512d {
    // SAFETY: the caller's (AVX-512F, AVX2 and FMA).
    unsafe { exp8_avx512_above(t, EXP_MIN) }
}

/// [`exp8_avx512`] with the cut at `min` (≥ [`EXP_MIN_WIDE`]).
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn exp8_avx512_above(
    t: core::arch::x86_64::__m512d,
    min: f64,
) -> core::arch::x86_64::__m512d {
    use core::arch::x86_64::*;
    let keep = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(t, _mm512_set1_pd(min));
    let tc = _mm512_maskz_mov_pd(keep, t);
    let shift = _mm512_set1_pd(EXP_SHIFT);
    let kf = _mm512_add_pd(
        _mm512_mul_pd(tc, _mm512_set1_pd(std::f64::consts::LOG2_E)),
        shift,
    );
    let n = _mm512_sub_pd(kf, shift);
    let r = _mm512_sub_pd(
        _mm512_sub_pd(tc, _mm512_mul_pd(n, _mm512_set1_pd(LN2_HI))),
        _mm512_mul_pd(n, _mm512_set1_pd(LN2_LO)),
    );
    let p = exp_poly(
        r,
        |a, b| _mm512_mul_pd(a, b),
        |a, b, c| _mm512_fmadd_pd(a, b, c),
        |v| _mm512_set1_pd(v),
    );
    let two_n = _mm512_castsi512_pd(_mm512_add_epi64(
        _mm512_slli_epi64::<52>(_mm512_castpd_si512(kf)),
        _mm512_set1_epi64((1023u64 << 52) as i64),
    ));
    _mm512_maskz_mov_pd(keep, _mm512_mul_pd(p, two_n))
}

/// e^v of every value in place ([`exp_nonpos`]'s arithmetic: 0 at or below [`EXP_MIN`], exact
/// to a few ulps up to v ≈ 709), the same bits on every kernel set.
pub(crate) fn exp_in_place(ks: Kernels, v: &mut [f64]) {
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
        KernelSet::Avx512 => unsafe { exp_in_place_avx512(v) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (AVX2 and FMA).
        KernelSet::Avx2Fma => unsafe { exp_in_place_avx2(v) },
        _ => v.iter_mut().for_each(|x| *x = exp_nonpos(*x)),
    }
}

/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_in_place_avx2(v: &mut [f64]) {
    // SAFETY: the CPU has AVX2 and FMA (this function's contract), all exp4_avx2 needs.
    unsafe { super::lanes::map_avx2(v, f64::NEG_INFINITY, |x| exp4_avx2(x)) }
}

/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp_in_place_avx512(v: &mut [f64]) {
    // SAFETY: the CPU has AVX-512F (this function's contract), all exp8_avx512 needs.
    unsafe { super::lanes::map_avx512(v, f64::NEG_INFINITY, |x| exp8_avx512(x)) }
}

/// The portable twin of the SIMD versions (same arithmetic, same four partial sums).
/// e^v of every value in place for v ≤ 0 down to [`EXP_MIN_WIDE`] (below, or NaN: 0), on the
/// kernel set `ks`: the same bits on every set.
pub(crate) fn exp_wide_in_place(ks: Kernels, v: &mut [f64]) {
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
        KernelSet::Avx512 => unsafe { exp_wide_in_place_avx512(v) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (AVX2 and FMA).
        KernelSet::Avx2Fma => unsafe { exp_wide_in_place_avx2(v) },
        _ => v.iter_mut().for_each(|x| *x = exp_above(*x, EXP_MIN_WIDE)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_wide_in_place_avx2(v: &mut [f64]) {
    // SAFETY: the caller's CPU features; the lanes' padding is −∞ (e^−∞ = 0, never stored).
    unsafe { super::lanes::map_avx2(v, f64::NEG_INFINITY, |x| exp4_avx2_above(x, EXP_MIN_WIDE)) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn exp_wide_in_place_avx512(v: &mut [f64]) {
    // SAFETY: as in exp_wide_in_place_avx2, with AVX-512F.
    unsafe {
        super::lanes::map_avx512(v, f64::NEG_INFINITY, |x| exp8_avx512_above(x, EXP_MIN_WIDE))
    }
}

#[inline(always)]
pub(crate) fn exp_shifted_portable(row: &mut [f64], m: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = row.chunks_exact_mut(4);
    for c in &mut chunks {
        for j in 0..4 {
            let e = exp_nonpos(c[j] - m);
            c[j] = e;
            acc[j] += e;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for v in chunks.into_remainder() {
        let e = exp_nonpos(*v - m);
        *v = e;
        s += e;
    }
    s
}

/// ln 2⁻⁵³: a component whose weighted likelihood is below 2⁻⁵³ times the frame's largest gets
/// posterior 0, i.e. every posterior under half an ulp of 1 is dropped. Such a term changes the
/// frame's log-likelihood by less than K·2⁻⁵³ relative, and its share of a component's
/// statistics is below the f64 rounding of any component that owns one frame; dropping it lets
/// the full-covariance M-step skip the frame (on the TI-digits coursework classes, K = 5, the
/// frames skipped per component go from 32 % with a cut at e⁻⁶⁴ to 54 %).
pub(crate) const EXP_MIN: f64 = -53.0 * std::f64::consts::LN_2;
/// The cut of the wide-range exponential ([`exp_wide_in_place`]): e^-708 ≈ 3.3e-308 is still a
/// normal f64 and so is every 2^n the reduction makes above it (n ≥ −1022).
pub(crate) const EXP_MIN_WIDE: f64 = -708.0;
const EXP_SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
/// ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 leading bits (n·LN2_HI is exact): fdlibm's split.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1/j!, j = 0..=13: the Taylor coefficients of e^r.
const EXP_TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// Σ_{j≤13} r^j/j! by Estrin's scheme (pairs, then r², r⁴, r⁸: a dependency chain of 4 FMAs
/// instead of Horner's 13), for a scalar or a vector type: `fma(a, b, c)` = a·b + c rounded once.
/// One definition for both, so the AVX2 lanes and the portable code give the same bits.
#[inline(always)]
fn exp_poly<V: Copy>(
    r: V,
    mul: impl Fn(V, V) -> V,
    fma: impl Fn(V, V, V) -> V,
    splat: impl Fn(f64) -> V,
) -> V {
    let q = |j: usize| fma(splat(EXP_TAYLOR[j + 1]), r, splat(EXP_TAYLOR[j]));
    let r2 = mul(r, r);
    let r4 = mul(r2, r2);
    let r8 = mul(r4, r4);
    let s0 = fma(q(2), r2, q(0));
    let s1 = fma(q(6), r2, q(4));
    let s2 = fma(q(10), r2, q(8));
    let t0 = fma(s1, r4, s0);
    let t1 = fma(q(12), r4, s2);
    fma(t1, r8, t0)
}

/// e^t for t ≤ 0 (0 for t ≤ [`EXP_MIN`] or NaN), branch-free: t = n·ln2 + r with |r| ≤ ½ln2, e^r by
/// its degree-13 Taylor polynomial ([`exp_poly`]; truncation < 1e-17), 2ⁿ from the exponent
/// bits. Relative error ≲ 2e-16 (a few ulps). `f64::mul_add` rounds once on every machine (in
/// software where the CPU has no FMA), so the result is the same everywhere.
#[inline(always)]
pub(crate) fn exp_nonpos(t: f64) -> f64 {
    exp_above(t, EXP_MIN)
}

/// e^t for `min` < t ≤ 0 (`min` ≥ [`EXP_MIN_WIDE`], so 2^n stays a normal number), else 0: the
/// arithmetic of [`exp_nonpos`] with another cut.
#[inline(always)]
pub(crate) fn exp_above(t: f64, min: f64) -> f64 {
    let keep = t > min;
    let tc = if keep { t } else { 0.0 };
    let kf = tc * std::f64::consts::LOG2_E + EXP_SHIFT;
    let n = kf - EXP_SHIFT;
    let r = (tc - n * LN2_HI) - n * LN2_LO;
    let p = exp_poly(r, |a, b| a * b, f64::mul_add, |v| v);
    // The low bits of kf hold n (two's complement); shifted into the exponent field with the
    // bias: the bits of 2ⁿ (n ∈ [−93, 0], a normal number).
    let two_n = f64::from_bits((kf.to_bits() << 52).wrapping_add(1023u64 << 52));
    if keep {
        p * two_n
    } else {
        0.0
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::simd_sets;

    #[test]
    fn exp_matches_libm() {
        let mut worst = 0.0f64;
        let mut t = EXP_MIN + 1e-9;
        while t <= 0.0 {
            let rel = (exp_nonpos(t) - t.exp()).abs() / t.exp();
            worst = worst.max(rel);
            t += 0.001_37;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp_nonpos(EXP_MIN), 0.0);
        assert!(exp_nonpos(EXP_MIN + 1e-9) > 0.0);
        assert_eq!(exp_nonpos(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(f64::NAN), 0.0);
        assert_eq!(exp_nonpos(0.0), 1.0);
    }

    /// exp_in_place: every kernel set gives exp_nonpos's bits, tails included, and positive
    /// arguments are exponentiated too.
    #[test]
    fn exp_in_place_paths_agree() {
        let sets = simd_sets("exp_in_place_paths_agree");
        for len in (0..20).chain([64, 67]) {
            let v: Vec<f64> = (0..len).map(|i| 2.5 - (i as f64) * 2.37).collect();
            let want: Vec<u64> = v.iter().map(|&x| exp_nonpos(x).to_bits()).collect();
            let mut p = v.clone();
            exp_in_place(crate::kernels::Kernels::portable(), &mut p);
            assert_eq!(p.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
            for &ks in &sets {
                let mut a = v.clone();
                exp_in_place(ks, &mut a);
                let got: Vec<u64> = a.iter().map(|x| x.to_bits()).collect();
                assert_eq!(got, want, "{} len {len}", ks.set());
            }
        }
        assert!((exp_nonpos(2.5) - 2.5f64.exp()).abs() < 1e-15 * 2.5f64.exp());
        assert!((exp_nonpos(700.0) / 700f64.exp() - 1.0).abs() < 1e-14);
    }

    /// The wide-range exponential: within 1e-15 of libm from 0 down to −708 (normal results
    /// only), 0 below and for −∞/NaN, and every kernel set gives the portable bits.
    #[test]
    fn exp_wide_matches_libm_on_every_set() {
        let mut worst = 0.0f64;
        let mut t = 0.0;
        while t > EXP_MIN_WIDE {
            let rel = (exp_above(t, EXP_MIN_WIDE) - t.exp()).abs() / t.exp();
            worst = worst.max(rel);
            t -= 0.0137;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        for v in [EXP_MIN_WIDE, -709.0, -1e300, f64::NEG_INFINITY, f64::NAN] {
            assert_eq!(exp_above(v, EXP_MIN_WIDE), 0.0, "{v}");
        }
        assert!(exp_above(EXP_MIN_WIDE + 1e-9, EXP_MIN_WIDE).is_normal());
        let sets = simd_sets("exp_wide_matches_libm_on_every_set");
        for len in (0..20).chain([64, 67]) {
            let v: Vec<f64> = (0..len).map(|i| -(i as f64) * 41.3).collect();
            let want: Vec<u64> = v
                .iter()
                .map(|&x| exp_above(x, EXP_MIN_WIDE).to_bits())
                .collect();
            let mut p = v.clone();
            exp_wide_in_place(crate::kernels::Kernels::portable(), &mut p);
            assert_eq!(p.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
            for &ks in &sets {
                let mut a = v.clone();
                exp_wide_in_place(ks, &mut a);
                let got: Vec<u64> = a.iter().map(|x| x.to_bits()).collect();
                assert_eq!(got, want, "{} len {len}", ks.set());
            }
        }
    }

    /// Every SIMD kernel set gives the portable bits, for every row length (tails of 1–7).
    #[test]
    fn exp_row_paths_agree() {
        for ks in simd_sets("exp_row_paths_agree") {
            for len in (0..20).chain([64, 67]) {
                let row: Vec<f64> = (0..len).map(|i| -(i as f64) * 1.01 + 3.0).collect();
                let mut a = row.clone();
                let mut b = row.clone();
                let sa = exp_shifted(ks, &mut a, 3.0);
                let sb = exp_shifted_portable(&mut b, 3.0);
                assert_eq!(sa.to_bits(), sb.to_bits(), "{} len {len}", ks.set());
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{} len {len}",
                    ks.set()
                );
            }
        }
    }
}
