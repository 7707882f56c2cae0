//! The hot path of Baum-Welch training and forward scoring: forward-backward in the linear
//! domain with per-frame scaling (Rabiner's scaling, as HTK and hmmlearn's
//! `implementation='scaling'` do), on per-thread buffers, no `exp` or `ln` per arc.
//!
//! Each frame's component log-likelihoods (one call of the GMM engine for the utterance) are
//! taken relative to the frame's best component, p_t(c) = e^(ll_t(c) − m_t) ∈ [0, 1] (one
//! wide-range vector exp for the utterance, [`VecMath::exp_wide`]: values survive down to
//! e^-708), the state likelihoods are b_t(j) = Σ_{c ∈ j} p_t(c), and α̂, β̂ are normalised by
//! c_t = Σ_j α̂_t(j) at every frame, so that
//!
//! - ln p(X) = Σ_t (m_t + ln c_t) + ln e, e = Σ_i α̂_{T−1}(i)·end(i);
//! - γ_t(j) = α̂_t(j)·β̂_t(j), γ_t(j, c) = γ_t(j)·p_t(c)/b_t(j);
//! - ξ_t(i, j) = α̂_t(i)·a_ij·b_{t+1}(j)·β̂_{t+1}(j)/c_{t+1}.
//!
//! When some c_t (or e) falls below 1e-250 (every state the path can be in lies hundreds of
//! nats below the frame's best component: a model that fits the utterance very badly) or a
//! frame has no finite component, the caller takes the log-domain path ([`Hmm::posteriors`],
//! [`Hmm::forward`]) for that utterance: the same quantities to rounding.

use cepstra_gmm::kernels::VecMath;
use cepstra_gmm::KernelSet;
use ndarray::ArrayView2;

use crate::error::Result;
use crate::model::Hmm;

/// Below this a scale factor is not trusted (subnormal terms could dominate it): the utterance
/// goes the log-domain way.
const TINY: f64 = 1e-250;

/// Per-thread buffers of one utterance's scaled forward-backward (grown on demand, reused).
#[derive(Debug, Default)]
pub(crate) struct Scaled {
    /// T×K: e^(ll − m_t), then the component occupancies γ_t(j, c).
    pub(crate) p: Vec<f64>,
    /// T: each frame's best component log-likelihood.
    m: Vec<f64>,
    /// T×S: b_t(j) (scaled by e^−m_t).
    b: Vec<f64>,
    /// T×S: α̂, then γ.
    alpha: Vec<f64>,
    /// T×S: β̂.
    beta: Vec<f64>,
    /// T + 1: the scale factors c_t, then e.
    c: Vec<f64>,
    /// Their logarithms.
    lnc: Vec<f64>,
    /// S: Σ_t γ_t(j).
    pub(crate) state_frames: Vec<f64>,
    /// (S+2)×(S+2) expected transition counts, row-major (HTK's layout).
    pub(crate) trans: Vec<f64>,
    /// ln p(X).
    pub(crate) total: f64,
    /// One frame's b_{t+1}(j)·β̂_{t+1}(j)/c_{t+1}.
    bb: Vec<f64>,
    /// Per diagonal of the transition matrix (`Hmm::band`), each arc's Σ_t ξ_t by target j.
    xi: Vec<f64>,
}

/// M when every state of `hmm` has M components (then the components of state j at frame t
/// are the t·S + j-th run of M in a T×K row-major array).
#[inline(always)]
fn uniform_gauss(hmm: &Hmm) -> Option<usize> {
    let m = hmm.offsets.get(1).copied().unwrap_or(0);
    (m > 0 && hmm.offsets.windows(2).all(|w| w[1] - w[0] == m)).then_some(m)
}

/// The largest value of a row without NaN (over 8 independent maxima, so that it vectorises
/// instead of a chain of dependent comparisons; the same value as a sequential maximum).
#[inline(always)]
fn row_max(row: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in m.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    for (a, &v) in m.iter_mut().zip(chunks.remainder()) {
        *a = if v > *a { v } else { *a };
    }
    m.iter()
        .fold(f64::NEG_INFINITY, |a, &v| if v > a { v } else { a })
}

/// The targets j of diagonal δ (j − δ and j both in 0..s).
#[inline(always)]
fn band_range(d: isize, s: usize) -> (usize, usize) {
    let s = s as isize;
    (d.max(0) as usize, (s + d.min(0)).max(0) as usize)
}

impl Scaled {
    /// p, m and b of `feats` under `hmm`; false when a frame has no finite component.
    #[inline(always)]
    fn emissions(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<bool> {
        let ll = hmm.prepared.0.component_log_likelihoods(feats)?;
        let (t_len, k) = ll.dim();
        let s = hmm.num_states();
        let ll = ll.as_standard_layout();
        let ll = ll.as_slice().unwrap_or_default();
        self.p.clear();
        self.p.resize(t_len * k, 0.0);
        self.m.clear();
        for (row, out) in ll
            .chunks_exact(k.max(1))
            .zip(self.p.chunks_exact_mut(k.max(1)))
        {
            let m = row_max(row);
            if !m.is_finite() {
                return Ok(false);
            }
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v - m;
            }
            self.m.push(m);
        }
        VecMath::best().exp_wide(&mut self.p);
        self.b.clear();
        self.b.resize(t_len * s, 0.0);
        match uniform_gauss(hmm) {
            // Every state M components: the (t, j) groups are consecutive runs of M.
            Some(m) => {
                for (bv, group) in self.b.iter_mut().zip(self.p.chunks_exact(m)) {
                    *bv = group.iter().sum();
                }
            }
            None => {
                for (prow, brow) in self
                    .p
                    .chunks_exact(k.max(1))
                    .zip(self.b.chunks_exact_mut(s))
                {
                    for (j, bv) in brow.iter_mut().enumerate() {
                        *bv = prow[hmm.offsets[j]..hmm.offsets[j + 1]].iter().sum();
                    }
                }
            }
        }
        Ok(true)
    }

    /// The scaled forward pass over `self.b`: α̂ and c; returns ln p(X), or `None` when a
    /// scale factor is too small to trust.
    #[inline(always)]
    fn forward(&mut self, hmm: &Hmm) -> Option<f64> {
        let s = hmm.num_states();
        let t_len = self.b.len() / s;
        if t_len == 0 {
            return None;
        }
        self.alpha.clear();
        self.alpha.resize(t_len * s, 0.0);
        self.c.clear();
        let mut c0 = 0.0;
        for j in 0..s {
            let v = hmm.trans[[0, j + 1]] * self.b[j];
            self.alpha[j] = v;
            c0 += v;
        }
        if !(c0 >= TINY) {
            return None;
        }
        let inv = 1.0 / c0;
        self.alpha[..s].iter_mut().for_each(|v| *v *= inv);
        self.c.push(c0);
        for t in 1..t_len {
            let (prev, cur) = self.alpha[(t - 1) * s..(t + 1) * s].split_at_mut(s);
            let b = &self.b[t * s..(t + 1) * s];
            // α̂_t(j) ∝ b_t(j)·Σ_δ α̂_{t−1}(j − δ)·a_{j−δ, j}, diagonal by diagonal.
            cur.fill(0.0);
            for (d, coef) in &hmm.band {
                let (lo, hi) = band_range(*d, s);
                let src = (lo as isize - d) as usize;
                for ((c, &a), &p) in cur[lo..hi].iter_mut().zip(&coef[lo..hi]).zip(&prev[src..]) {
                    *c += p * a;
                }
            }
            let mut ct = 0.0;
            for (c, &bj) in cur.iter_mut().zip(b) {
                *c *= bj;
                ct += *c;
            }
            if !(ct >= TINY) {
                return None;
            }
            let inv = 1.0 / ct;
            cur.iter_mut().for_each(|v| *v *= inv);
            self.c.push(ct);
        }
        let last = &self.alpha[(t_len - 1) * s..];
        let e: f64 = (0..s).map(|i| last[i] * hmm.end_prob(i)).sum();
        if !(e >= TINY) {
            return None;
        }
        self.c.push(e);
        // ln of every c_t and of e in one vector call; the sum in frame order.
        self.lnc.clear();
        self.lnc.extend_from_slice(&self.c);
        VecMath::best().ln(&mut self.lnc);
        Some(self.lnc.iter().sum::<f64>() + self.m.iter().sum::<f64>())
    }

    /// Forward score of `feats` (ln p(X)); `None` when the log-domain way must be taken.
    fn forward_score(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<Option<f64>> {
        match KernelSet::best() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `best` names only a set this CPU supports (AVX-512F, AVX2, FMA).
            KernelSet::Avx512 => unsafe { self.forward_score_avx512(hmm, feats) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            KernelSet::Avx2Fma => unsafe { self.forward_score_avx2(hmm, feats) },
            _ => self.forward_score_in(hmm, feats),
        }
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn forward_score_avx512(
        &mut self,
        hmm: &Hmm,
        feats: ArrayView2<'_, f32>,
    ) -> Result<Option<f64>> {
        self.forward_score_in(hmm, feats)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_score_avx2(
        &mut self,
        hmm: &Hmm,
        feats: ArrayView2<'_, f32>,
    ) -> Result<Option<f64>> {
        self.forward_score_in(hmm, feats)
    }

    #[inline(always)]
    fn forward_score_in(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<Option<f64>> {
        if !self.emissions(hmm, feats)? {
            return Ok(None);
        }
        Ok(self.forward(hmm))
    }

    /// Baum-Welch quantities of `feats`: `p` becomes γ_t(j, c), plus `state_frames`, `trans`
    /// and `total`. `Ok(false)`: the log-domain way must be taken (too small a scale, or no
    /// path at all). Compiled for AVX-512 and AVX2 as well (chosen once per process): each
    /// value is the same chain of multiplications, additions and divisions on every build, so
    /// every build gives the same bits.
    pub(crate) fn posteriors(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<bool> {
        match KernelSet::best() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `best` names only a set this CPU supports (AVX-512F, AVX2, FMA).
            KernelSet::Avx512 => unsafe { self.posteriors_avx512(hmm, feats) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above (AVX2, FMA).
            KernelSet::Avx2Fma => unsafe { self.posteriors_avx2(hmm, feats) },
            _ => self.posteriors_in(hmm, feats),
        }
    }

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn posteriors_avx512(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<bool> {
        self.posteriors_in(hmm, feats)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn posteriors_avx2(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<bool> {
        self.posteriors_in(hmm, feats)
    }

    #[inline(always)]
    fn posteriors_in(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>) -> Result<bool> {
        if !self.emissions(hmm, feats)? {
            return Ok(false);
        }
        let Some(total) = self.forward(hmm) else {
            return Ok(false);
        };
        let s = hmm.num_states();
        let n = s + 2;
        let t_len = self.b.len() / s;
        let k = hmm.stacked.num_gauss();
        let e = self.c[t_len];
        // Backward, with the transition counts of each frame pair on the way.
        self.beta.clear();
        self.beta.resize(t_len * s, 0.0);
        self.trans.clear();
        self.trans.resize(n * n, 0.0);
        self.bb.clear();
        self.bb.resize(s, 0.0);
        self.xi.clear();
        self.xi.resize(hmm.band.len() * s, 0.0);
        for i in 0..s {
            self.beta[(t_len - 1) * s + i] = hmm.end_prob(i) / e;
        }
        for t in (0..t_len - 1).rev() {
            let inv = 1.0 / self.c[t + 1];
            let (cur, next) = self.beta[t * s..(t + 2) * s].split_at_mut(s);
            for ((w, &b), &bt) in self.bb.iter_mut().zip(&self.b[(t + 1) * s..]).zip(&*next) {
                *w = b * bt * inv;
            }
            // β̂_t(i) = Σ_δ a_{i, i+δ}·bb(i + δ), and each arc's ξ_t = α̂_t(i)·a·bb, diagonal
            // by diagonal.
            let alpha = &self.alpha[t * s..(t + 1) * s];
            cur.fill(0.0);
            for ((d, coef), xi) in hmm.band.iter().zip(self.xi.chunks_exact_mut(s)) {
                let (lo, hi) = band_range(*d, s);
                let src = (lo as isize - d) as usize;
                let len = hi.saturating_sub(lo);
                for ((((x, &a), &w), out), &ai) in xi[lo..hi]
                    .iter_mut()
                    .zip(&coef[lo..hi])
                    .zip(&self.bb[lo..hi])
                    .zip(&mut cur[src..src + len])
                    .zip(&alpha[src..src + len])
                {
                    let v = a * w;
                    *out += v;
                    *x += ai * v;
                }
            }
        }
        for ((d, _), xi) in hmm.band.iter().zip(self.xi.chunks_exact(s)) {
            let (lo, hi) = band_range(*d, s);
            for (j, &x) in xi.iter().enumerate().take(hi).skip(lo) {
                let i = (j as isize - d) as usize;
                self.trans[(i + 1) * n + j + 1] = x;
            }
        }
        // γ = α̂·β̂ (in alpha), each state's frames, the entry and exit counts.
        for (a, &b) in self.alpha.iter_mut().zip(&self.beta) {
            *a *= b;
        }
        self.state_frames.clear();
        self.state_frames.resize(s, 0.0);
        for g in self.alpha.chunks_exact(s) {
            for (f, &v) in self.state_frames.iter_mut().zip(g) {
                *f += v;
            }
        }
        for j in 0..s {
            self.trans[j + 1] = self.alpha[j];
        }
        if !hmm.allow_any_end {
            // The exit count α̂_{T−1}(i)·end(i)/e is γ_{T−1}(i) (β̂_{T−1}(i) = end(i)/e).
            for i in 0..s {
                self.trans[(i + 1) * n + s + 1] = self.alpha[(t_len - 1) * s + i];
            }
        }
        // Component occupancies γ_t(j)·p_t(c)/b_t(j), in place of p: the factors γ/b of the
        // utterance in one sweep (in b), then each component times its state's.
        for (b, &g) in self.b.iter_mut().zip(&self.alpha) {
            *b = if *b > 0.0 { g / *b } else { 0.0 };
        }
        match uniform_gauss(hmm) {
            Some(m) => {
                for (group, &f) in self.p.chunks_exact_mut(m).zip(&self.b) {
                    group.iter_mut().for_each(|v| *v *= f);
                }
            }
            None => {
                for (prow, frow) in self.p.chunks_exact_mut(k).zip(self.b.chunks_exact(s)) {
                    for (j, &f) in frow.iter().enumerate() {
                        prow[hmm.offsets[j]..hmm.offsets[j + 1]]
                            .iter_mut()
                            .for_each(|v| *v *= f);
                    }
                }
            }
        }
        self.total = total;
        Ok(true)
    }
}

thread_local! {
    static WORK: std::cell::RefCell<Scaled> = std::cell::RefCell::new(Scaled::default());
}

impl Hmm {
    /// The forward log-likelihood ln p(X) of `feats` (−∞ when no path fits the utterance), as
    /// `forward(&emissions(feats)?).1` to rounding: the scaled recursion on this thread's
    /// buffers, or the log domain when a scale factor is too small to trust.
    ///
    /// ```
    /// use cepstra_gmm::{DiagGmm, Gmm};
    /// use cepstra_hmm::{Hmm, Topology};
    /// use ndarray::{array, Array2};
    /// let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m]], array![[1.0]]).unwrap());
    /// let hmm = Hmm::left_to_right(vec![g(0.0), g(5.0)], Topology::Linear, 0.5, false)?;
    /// let x = Array2::from_shape_fn((6, 1), |(t, _)| if t < 3 { 0.0f32 } else { 5.0 });
    /// let (_, log_domain) = hmm.forward(&hmm.emissions(x.view())?);
    /// assert!((hmm.forward_total(x.view())? - log_domain).abs() < 1e-12 * log_domain.abs());
    /// # Ok::<(), cepstra_hmm::Error>(())
    /// ```
    ///
    /// # Errors
    /// A dimension mismatch or a non-finite feature.
    pub fn forward_total(&self, feats: ArrayView2<'_, f32>) -> Result<f64> {
        if feats.ncols() != self.dim() {
            return Err(crate::error::Error::Dimension {
                expected: self.dim(),
                got: feats.ncols(),
            });
        }
        let scaled = WORK.with(|w| match w.try_borrow_mut() {
            Ok(mut w) => w.forward_score(self, feats),
            Err(_) => Scaled::default().forward_score(self, feats),
        })?;
        match scaled {
            Some(total) => Ok(total),
            None => Ok(self.forward(&self.emissions_for_scoring(feats)?).1),
        }
    }
}
