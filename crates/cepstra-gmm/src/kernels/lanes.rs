//! Element-wise maps of f64 slices in place through a lane function: 4 lanes (AVX2) or 8
//! (AVX-512), the last partial vector padded with a value the function accepts and only the
//! real lanes stored. One driver for every element-wise kernel (exp, ln).

/// `f` over `v` in place, 4 values at a time (the tail padded with `pad`).
///
/// # Safety
/// The CPU has AVX2 and FMA (and whatever `f` needs, which it states).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn map_avx2(
    v: &mut [f64],
    pad: f64,
    f: impl Fn(core::arch::x86_64::__m256d) -> core::arch::x86_64::__m256d,
) {
    use core::arch::x86_64::*;
    let mut chunks = v.chunks_exact_mut(4);
    for c in &mut chunks {
        // SAFETY: c holds 4 values; the CPU has AVX2.
        unsafe { _mm256_storeu_pd(c.as_mut_ptr(), f(_mm256_loadu_pd(c.as_ptr()))) };
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut t = [pad; 4];
        t[..rest.len()].copy_from_slice(rest);
        // SAFETY: t holds 4 values; the CPU has AVX2.
        unsafe { _mm256_storeu_pd(t.as_mut_ptr(), f(_mm256_loadu_pd(t.as_ptr()))) };
        rest.copy_from_slice(&t[..rest.len()]);
    }
}

/// `f` over `v` in place, 8 values at a time (the tail's missing lanes read as `pad`, not
/// stored).
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(crate) unsafe fn map_avx512(
    v: &mut [f64],
    pad: f64,
    f: impl Fn(core::arch::x86_64::__m512d) -> core::arch::x86_64::__m512d,
) {
    use core::arch::x86_64::*;
    let n = v.len();
    let ptr = v.as_mut_ptr();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n; the CPU has AVX-512F.
        unsafe { _mm512_storeu_pd(ptr.add(i), f(_mm512_loadu_pd(ptr.add(i)))) };
        i += 8;
    }
    if i < n {
        let mask: __mmask8 = ((1u32 << (n - i)) - 1) as u8;
        // SAFETY: the masked accesses touch lanes i..n only.
        unsafe {
            let x = _mm512_mask_loadu_pd(_mm512_set1_pd(pad), mask, ptr.add(i));
            _mm512_mask_storeu_pd(ptr.add(i), mask, f(x));
        }
    }
}
