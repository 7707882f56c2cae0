//! ln x of f64 values in place ([`ln_in_place`]): fdlibm's `__ieee754_log` reduction and
//! polynomial, branch-free, so 4 (AVX2) or 8 (AVX-512) lanes compute exactly what the portable
//! code computes for one value (plain multiplies and adds, no FMA: the same bits everywhere).

use super::{KernelSet, Kernels};

/// ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 leading bits (k·LN2_HI is exact): fdlibm's split.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// fdlibm's minimax coefficients of (ln((1+s)/(1−s)) − 2s)/s for s² ≤ 0.0294 (|error| < 2⁻⁵⁸·⁴⁵).
#[allow(clippy::excessive_precision)] // fdlibm's decimal forms, as published
const LG: [f64; 7] = [
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
];
const MANT_MASK: u64 = (1u64 << 52) - 1;
const ONE_BITS: u64 = 1023u64 << 52;
/// 2⁵², whose bits ORed with a small integer i give the double 2⁵² + i.
const TWO52: f64 = 4_503_599_627_370_496.0;

/// The polynomial tail of fdlibm's log for f = m − 1 (m ∈ [√½, √2)) and k, one definition for a
/// scalar and the vector types: ln x = k·ln2_hi − ((½f² − (s·(½f² + R) + k·ln2_lo)) − f) with
/// s = f/(2 + f), R = s²·(Lg1 + s⁴·(Lg3 + …)) + s⁴·(Lg2 + …).
#[inline(always)]
fn ln_tail<V: Copy>(
    f: V,
    k: V,
    add: impl Fn(V, V) -> V,
    sub: impl Fn(V, V) -> V,
    mul: impl Fn(V, V) -> V,
    div: impl Fn(V, V) -> V,
    splat: impl Fn(f64) -> V,
) -> V {
    let s = div(f, add(splat(2.0), f));
    let z = mul(s, s);
    let w = mul(z, z);
    let t1 = mul(
        w,
        add(
            splat(LG[1]),
            mul(w, add(splat(LG[3]), mul(w, splat(LG[5])))),
        ),
    );
    let t2 = mul(
        z,
        add(
            splat(LG[0]),
            mul(
                w,
                add(
                    splat(LG[2]),
                    mul(w, add(splat(LG[4]), mul(w, splat(LG[6])))),
                ),
            ),
        ),
    );
    let r = add(t2, t1);
    let hfsq = mul(mul(splat(0.5), f), f);
    sub(
        mul(k, splat(LN2_HI)),
        sub(
            sub(hfsq, add(mul(s, add(hfsq, r)), mul(k, splat(LN2_LO)))),
            f,
        ),
    )
}

/// ln x for a positive normal finite x (other inputs: an unspecified value, no panic); below
/// 1 ulp of error (fdlibm's bound).
#[inline(always)]
pub(crate) fn ln_pos(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut m = f64::from_bits((bits & MANT_MASK) | ONE_BITS);
    let e = f64::from_bits((bits >> 52) | TWO52.to_bits()) - TWO52;
    let big = m > std::f64::consts::SQRT_2;
    if big {
        m *= 0.5;
    }
    let k = e - 1023.0 + if big { 1.0 } else { 0.0 };
    ln_tail(
        m - 1.0,
        k,
        |a, b| a + b,
        |a, b| a - b,
        |a, b| a * b,
        |a, b| a / b,
        |v| v,
    )
}

/// ln of every value in place: each a positive normal finite number (the sums of a log-sum-exp,
/// ≥ 1, in this crate's callers); the same bits on every kernel set.
pub(crate) fn ln_in_place(ks: Kernels, v: &mut [f64]) {
    match ks.set() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernels` holds only sets the CPU supports (AVX-512F, AVX2, FMA).
        KernelSet::Avx512 => unsafe { ln_in_place_avx512(v) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above (AVX2).
        KernelSet::Avx2Fma => unsafe { ln_in_place_avx2(v) },
        _ => v.iter_mut().for_each(|x| *x = ln_pos(*x)),
    }
}

/// [`ln_pos`] in 4 AVX2 lanes.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn ln4_avx2(x: core::arch::x86_64::__m256d) -> core::arch::x86_64::__m256d {
    use core::arch::x86_64::*;
    let bits = _mm256_castpd_si256(x);
    let m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi64x(MANT_MASK as i64)),
        _mm256_set1_epi64x(ONE_BITS as i64),
    ));
    let e = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(
            _mm256_srli_epi64::<52>(bits),
            _mm256_set1_epi64x(TWO52.to_bits() as i64),
        )),
        _mm256_set1_pd(TWO52),
    );
    let big = _mm256_cmp_pd::<_CMP_GT_OQ>(m, _mm256_set1_pd(std::f64::consts::SQRT_2));
    let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    let k = _mm256_add_pd(
        _mm256_sub_pd(e, _mm256_set1_pd(1023.0)),
        _mm256_and_pd(big, _mm256_set1_pd(1.0)),
    );
    ln_tail(
        _mm256_sub_pd(m, _mm256_set1_pd(1.0)),
        k,
        |a, b| _mm256_add_pd(a, b),
        |a, b| _mm256_sub_pd(a, b),
        |a, b| _mm256_mul_pd(a, b),
        |a, b| _mm256_div_pd(a, b),
        |v| _mm256_set1_pd(v),
    )
}

/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn ln_in_place_avx2(v: &mut [f64]) {
    // SAFETY: the CPU has AVX2 (this function's contract), all ln4_avx2 needs.
    unsafe { super::lanes::map_avx2(v, 1.0, |x| ln4_avx2(x)) }
}

/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn ln_in_place_avx512(v: &mut [f64]) {
    use core::arch::x86_64::*;
    let ln8 = |x: __m512d| {
        let bits = _mm512_castpd_si512(x);
        let m = _mm512_castsi512_pd(_mm512_or_si512(
            _mm512_and_si512(bits, _mm512_set1_epi64(MANT_MASK as i64)),
            _mm512_set1_epi64(ONE_BITS as i64),
        ));
        let e = _mm512_sub_pd(
            _mm512_castsi512_pd(_mm512_or_si512(
                _mm512_srli_epi64::<52>(bits),
                _mm512_set1_epi64(TWO52.to_bits() as i64),
            )),
            _mm512_set1_pd(TWO52),
        );
        let big = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(m, _mm512_set1_pd(std::f64::consts::SQRT_2));
        let m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
        let k = _mm512_mask_add_pd(
            _mm512_sub_pd(e, _mm512_set1_pd(1023.0)),
            big,
            _mm512_sub_pd(e, _mm512_set1_pd(1023.0)),
            _mm512_set1_pd(1.0),
        );
        ln_tail(
            _mm512_sub_pd(m, _mm512_set1_pd(1.0)),
            k,
            |a, b| _mm512_add_pd(a, b),
            |a, b| _mm512_sub_pd(a, b),
            |a, b| _mm512_mul_pd(a, b),
            |a, b| _mm512_div_pd(a, b),
            |v| _mm512_set1_pd(v),
        )
    };
    // SAFETY: the CPU has AVX-512F (this function's contract).
    unsafe { super::lanes::map_avx512(v, 1.0, ln8) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::simd_sets;

    #[test]
    fn ln_matches_libm() {
        let mut worst = 0.0f64;
        let mut x = 1e-300f64;
        while x < 1e300 {
            for y in [
                x,
                x * 1.000_000_1,
                x * std::f64::consts::SQRT_2,
                x * (std::f64::consts::SQRT_2 + 1e-7),
            ] {
                let want = y.ln();
                let err = (ln_pos(y) - want).abs() / want.abs().max(f64::MIN_POSITIVE);
                worst = worst.max(err);
            }
            x *= 1.37;
        }
        let mut y = 1.0f64;
        while y < 9.0 {
            let want = y.ln();
            if want != 0.0 {
                worst = worst.max((ln_pos(y) - want).abs() / want.abs());
            }
            y += 0.000_731;
        }
        assert!(worst < 4e-16, "worst relative error {worst:e}");
        assert_eq!(ln_pos(1.0), 0.0);
        assert_eq!(ln_pos(2.0), std::f64::consts::LN_2);
    }

    /// Every SIMD kernel set gives the portable bits, for every length (tails of 1–7).
    #[test]
    fn ln_paths_agree() {
        let sets = simd_sets("ln_paths_agree");
        for len in (0..20).chain([64, 67]) {
            let v: Vec<f64> = (0..len).map(|i| 1.0 + (i as f64) * 0.731).collect();
            let want: Vec<u64> = v.iter().map(|&x| ln_pos(x).to_bits()).collect();
            let mut p = v.clone();
            ln_in_place(crate::kernels::Kernels::portable(), &mut p);
            assert_eq!(p.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
            for &ks in &sets {
                let mut a = v.clone();
                ln_in_place(ks, &mut a);
                let got: Vec<u64> = a.iter().map(|x| x.to_bits()).collect();
                assert_eq!(got, want, "{} len {len}", ks.set());
            }
        }
    }
}
