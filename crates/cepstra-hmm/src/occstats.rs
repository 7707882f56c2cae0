//! One utterance's GMM statistics of every state from its component occupancies (the M-step
//! sums of Baum-Welch and Viterbi training): Σγ, Σγx and Σγx² (diagonal) or Σγxxᵀ (full, lower
//! triangle), f64, frame by frame in order, skipping the zero occupancies. In a left-to-right
//! model an utterance occupies one or two states at a frame, so most of the T×K occupancies
//! are exact zeros (those under 2⁻⁵³ are cut to 0, as the GMM engine cuts its posteriors) and a
//! dense GEMM over all of them would do several times the work.
//!
//! The loops are compiled for AVX-512 and AVX2 as well and chosen once per process from
//! [`KernelSet::best`]; each element is a multiply and an add in the same order on every build,
//! so every build gives the same bits.

use cepstra_gmm::{CovarianceType, KernelSet};
use ndarray::ArrayView2;

/// Component occupancies below this (half an ulp of 1) are 0.
pub(crate) const MIN_OCC: f64 = 1.0 / 9_007_199_254_740_992.0;

/// The statistics of one utterance, stacked over the model's K components in
/// [`cepstra_gmm::GmmStats`]' standard layout (reused across utterances).
#[derive(Debug, Default)]
pub(crate) struct UttStats {
    /// K.
    pub(crate) occ: Vec<f64>,
    /// K×D.
    pub(crate) first: Vec<f64>,
    /// K×D (diagonal) or K×D×D (full, the lower triangle written, the rest 0).
    pub(crate) second: Vec<f64>,
    /// One frame in f64 and squared.
    x: Vec<f64>,
    xx: Vec<f64>,
    /// The components one frame occupies.
    active: Vec<u32>,
    /// The components the utterance occupied (their sums are the non-zero ones).
    touched: Vec<bool>,
}

impl UttStats {
    /// Values per component of the second order.
    pub(crate) fn block(cov: CovarianceType, d: usize) -> usize {
        match cov {
            CovarianceType::Diag => d,
            CovarianceType::Full => d * d,
        }
    }

    /// Zeroes the sums and adds every frame of `feats` (T×D) with the occupancies `gamma`
    /// (T×K, row-major, each finite and ≥ 0; those under [`MIN_OCC`] count as 0).
    pub(crate) fn accumulate(
        &mut self,
        feats: ArrayView2<'_, f32>,
        gamma: &[f64],
        k: usize,
        cov: CovarianceType,
    ) {
        let d = feats.ncols();
        let block = Self::block(cov, d);
        if self.occ.len() == k && self.first.len() == k * d && self.second.len() == k * block {
            // Only the components the last utterance touched hold non-zero sums (a full
            // covariance block is D² values: zeroing all K per utterance would cost more than
            // most utterances' sums).
            for c in 0..k {
                if self.touched[c] {
                    self.occ[c] = 0.0;
                    self.first[c * d..(c + 1) * d].fill(0.0);
                    self.second[c * block..(c + 1) * block].fill(0.0);
                }
            }
        } else {
            self.occ.clear();
            self.occ.resize(k, 0.0);
            self.first.clear();
            self.first.resize(k * d, 0.0);
            self.second.clear();
            self.second.resize(k * block, 0.0);
        }
        self.touched.clear();
        self.touched.resize(k, false);
        self.x.resize(d, 0.0);
        self.xx.resize(d, 0.0);
        match KernelSet::best() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `best` names only a set this CPU supports (AVX-512F, AVX2, FMA).
            KernelSet::Avx512 => unsafe { self.add_avx512(feats, gamma, k, cov) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            KernelSet::Avx2Fma => unsafe { self.add_avx2(feats, gamma, k, cov) },
            _ => self.add(feats, gamma, k, cov),
        }
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn add_avx512(
        &mut self,
        feats: ArrayView2<'_, f32>,
        gamma: &[f64],
        k: usize,
        cov: CovarianceType,
    ) {
        self.add(feats, gamma, k, cov)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add_avx2(
        &mut self,
        feats: ArrayView2<'_, f32>,
        gamma: &[f64],
        k: usize,
        cov: CovarianceType,
    ) {
        self.add(feats, gamma, k, cov)
    }

    #[inline(always)]
    fn add(&mut self, feats: ArrayView2<'_, f32>, gamma: &[f64], k: usize, cov: CovarianceType) {
        let d = feats.ncols();
        let (x, xx) = (&mut self.x[..d], &mut self.xx[..d]);
        self.active.resize(k, 0);
        let active = &mut self.active[..k];
        for (row, g) in feats.outer_iter().zip(gamma.chunks_exact(k)) {
            match row.as_slice() {
                Some(r) => {
                    for ((a, b), &v) in x.iter_mut().zip(xx.iter_mut()).zip(r) {
                        *a = f64::from(v);
                        *b = *a * *a;
                    }
                }
                None => {
                    for ((a, b), &v) in x.iter_mut().zip(xx.iter_mut()).zip(row.iter()) {
                        *a = f64::from(v);
                        *b = *a * *a;
                    }
                }
            }
            // The components this frame occupies, gathered without a branch per component (which
            // ones they are changes from frame to frame: a branch would be mispredicted).
            let mut n = 0;
            for (c, &w) in g.iter().enumerate() {
                active[n] = c as u32;
                n += usize::from(w >= MIN_OCC);
            }
            for &c in &active[..n] {
                let c = c as usize;
                let w = g[c];
                self.touched[c] = true;
                self.occ[c] += w;
                for (f, &v) in self.first[c * d..(c + 1) * d].iter_mut().zip(x.iter()) {
                    *f += w * v;
                }
                match cov {
                    CovarianceType::Diag => {
                        for (s, &v) in self.second[c * d..(c + 1) * d].iter_mut().zip(xx.iter()) {
                            *s += w * v;
                        }
                    }
                    CovarianceType::Full => {
                        let m = &mut self.second[c * d * d..(c + 1) * d * d];
                        for (i, &xi) in x.iter().enumerate() {
                            let wx = w * xi;
                            for (s, &xj) in m[i * d..i * d + i + 1].iter_mut().zip(x.iter()) {
                                *s += wx * xj;
                            }
                        }
                    }
                }
            }
        }
    }
}
