//! Gaussian dither noise: counter-based, so the noise of a frame depends only on the seed, the
//! frame index and the sample index (never on threads or on the order frames are computed in).

/// Gaussian dither noise for one utterance (Kaldi's `Dither`, with another generator).
///
/// Sample `k` of frame `r` gets a standard normal draw that is a pure function of
/// `(seed, r, k)`: uniforms come from SplitMix64 (the output function of Steele, Lea and
/// Flood's generator, a 64-bit finaliser that passes BigCrush) applied to the counter
/// `seed + (pair + 1)·γ`, and the Box–Muller transform turns each pair of uniforms into two
/// independent normals (`√(-2 ln u₁)·cos 2πu₂` and `… sin 2πu₂`, with `u₁` on 24 bits, so draws
/// are bounded by ±5.9). Logarithm, sine and cosine are branch-free `f32` polynomials (error
/// below 1e-7), so a frame of noise is computed in vector registers: a few instructions per
/// sample instead of a sequential generator. The numbers differ from Kaldi's own random
/// numbers; use `dither = 0` to compare with Kaldi.
///
/// ```
/// use cepstra_feat::DitherNoise;
/// let noise = DitherNoise::new(42);
/// let mut a = vec![0.0f32; 400];
/// noise.add_to_frame(7, 1.0, &mut a);
/// let mut b = vec![0.0f32; 400];
/// noise.add_to_frame(7, 1.0, &mut b);
/// assert_eq!(a, b); // same seed, frame and samples: same noise
/// let var = a.iter().map(|x| x * x).sum::<f32>() / 400.0;
/// assert!((0.7..1.3).contains(&var));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DitherNoise {
    seed: u64,
}

/// Box–Muller pairs computed together (one vector of `f32` lanes, two with AVX).
const LANES: usize = 8;
/// Samples covered by one block of [`LANES`] pairs: the cosine draws, then the sine draws.
const BLOCK: usize = 2 * LANES;
/// The SplitMix64 increment, `2^64 / φ`.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl DitherNoise {
    /// The noise of the utterance with seed `seed` (e.g. [`utterance_seed`](crate::utterance_seed)).
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Adds `scale` times a standard normal draw to each sample of `frame`, the samples of frame
    /// `frame_index`. Frames of any length up to 2^32 samples are fine.
    #[inline(always)]
    pub fn add_to_frame(&self, frame_index: u64, scale: f32, frame: &mut [f32]) {
        // Pair counters of one frame are `frame_index · pairs_per_frame + j`.
        let pairs_per_frame = (frame.len().div_ceil(BLOCK) * LANES) as u64;
        let first_pair = frame_index.wrapping_mul(pairs_per_frame);
        for (b, chunk) in frame.chunks_mut(BLOCK).enumerate() {
            let z = self.block(first_pair.wrapping_add((b * LANES) as u64));
            for (x, g) in chunk.iter_mut().zip(&z) {
                *x += scale * g;
            }
        }
    }

    /// `BLOCK` standard normal draws from the pairs `first_pair .. first_pair + LANES`.
    #[inline(always)]
    fn block(&self, first_pair: u64) -> [f32; BLOCK] {
        const TO_UNIT: f32 = 1.0 / (1u32 << 24) as f32;
        let mut u1 = [0.0f32; LANES];
        let mut u2 = [0.0f32; LANES];
        // SplitMix64 state of pair `j` is `seed + (j + 1)·γ`.
        let base = self
            .seed
            .wrapping_add(first_pair.wrapping_add(1).wrapping_mul(GAMMA));
        for (l, (a, b)) in u1.iter_mut().zip(u2.iter_mut()).enumerate() {
            let h = splitmix64(base.wrapping_add((l as u64).wrapping_mul(GAMMA)));
            // 24-bit integers are exact in f32; u₁ in (0, 1), u₂ - ½ in [-½, ½).
            *a = ((h >> 40) as i32 as f32 + 0.5) * TO_UNIT;
            *b = ((h & 0x00ff_ffff) as i32 as f32) * TO_UNIT - 0.5;
        }
        let mut z = [0.0f32; BLOCK];
        let (zc, zs) = z.split_at_mut(LANES);
        for ((c, s), (&a, &b)) in zc.iter_mut().zip(zs).zip(u1.iter().zip(&u2)) {
            let r = (-2.0 * ln_unit(a)).sqrt();
            // θ = 2π(u₂ - ½) = 2φ with φ in [-π/2, π/2): cos θ = cos²φ - sin²φ, sin θ = 2 sinφ cosφ.
            let (sin_phi, cos_phi) = sin_cos_half_pi(std::f32::consts::PI * b);
            *c = r * ((cos_phi - sin_phi) * (cos_phi + sin_phi));
            *s = r * (2.0 * sin_phi * cos_phi);
        }
        z
    }
}

/// The SplitMix64 output function (a bijective 64-bit mixer).
#[inline(always)]
fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `ln x` for a normal positive `x` (here `u₁` in (0, 1)), branch-free: `x = 2^e·m` with `m` in
/// `[√½, √2)` and `ln m = 2·atanh(s)`, `s = (m-1)/(m+1)`, summed to the `s⁹` term (error
/// below 1e-9 plus `f32` rounding).
#[inline(always)]
fn ln_unit(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = (bits >> 23) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { 0.5 * m } else { m };
    e += i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    e as f32 * std::f32::consts::LN_2 + 2.0 * s * p
}

/// `(sin φ, cos φ)` for `φ` in `[-π/2, π/2]` by Taylor polynomials (errors below 6e-8 and
/// 7e-9, plus `f32` rounding).
#[inline(always)]
fn sin_cos_half_pi(phi: f32) -> (f32, f32) {
    // Coefficients are 1/n! with alternating signs; no division in the polynomials.
    let x2 = phi * phi;
    let sin = phi
        * (1.0
            + x2 * (-1.0 / 6.0
                + x2 * (1.0 / 120.0
                    + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362_880.0 + x2 * (-1.0 / 39_916_800.0))))));
    let cos = 1.0
        + x2 * (-0.5
            + x2 * (1.0 / 24.0
                + x2 * (-1.0 / 720.0
                    + x2 * (1.0 / 40320.0
                        + x2 * (-1.0 / 3_628_800.0 + x2 * (1.0 / 479_001_600.0))))));
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_are_accurate() {
        let mut worst_ln = 0.0f64;
        let mut x = 1.0f32 / (1u32 << 25) as f32;
        while x < 1.0 {
            let want = f64::from(x).ln();
            worst_ln = worst_ln.max((f64::from(ln_unit(x)) - want).abs() / want.abs().max(1.0));
            x *= 1.0123;
        }
        assert!(worst_ln < 3e-7, "ln: {worst_ln}");
        let mut worst_trig = 0.0f64;
        for i in 0..=10_000 {
            let phi = -std::f32::consts::FRAC_PI_2 + std::f32::consts::PI * i as f32 / 10_000.0;
            let (s, c) = sin_cos_half_pi(phi);
            let p = f64::from(phi);
            worst_trig = worst_trig
                .max((f64::from(s) - p.sin()).abs())
                .max((f64::from(c) - p.cos()).abs());
        }
        assert!(worst_trig < 3e-7, "sin/cos: {worst_trig}");
    }

    /// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error below 1.5e-7).
    fn phi(x: f64) -> f64 {
        let z = x.abs() / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.327_591_1 * z);
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        let erf = 1.0 - poly * (-z * z).exp();
        if x >= 0.0 {
            0.5 * (1.0 + erf)
        } else {
            0.5 * (1.0 - erf)
        }
    }

    #[test]
    fn draws_are_standard_normal() {
        let noise = DitherNoise::new(12345);
        let frames = 2000;
        let len = 201; // not a multiple of the block
        let mut all = Vec::with_capacity(frames * len);
        for r in 0..frames {
            let mut f = vec![0.0f32; len];
            noise.add_to_frame(r as u64, 1.0, &mut f);
            all.extend(f.iter().map(|&x| f64::from(x)));
        }
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let kurt = all.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n / (var * var);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        // Kolmogorov–Smirnov distance to the normal CDF (1.63/√n is the 1% critical value).
        all.sort_by(f64::total_cmp);
        let ks = all
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = phi(x);
                (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max);
        assert!(ks < 1.63 / n.sqrt(), "KS {ks}");
        // tails: P(|z| > 3) = 0.0027
        let tail = all.iter().filter(|x| x.abs() > 3.0).count() as f64 / n;
        assert!((tail - 0.0027).abs() < 0.0004, "tail {tail}");
        assert!(all.iter().all(|x| x.abs() < 6.0));
    }

    #[test]
    fn draws_are_uncorrelated() {
        let noise = DitherNoise::new(7);
        let len = 200;
        let frames: Vec<Vec<f32>> = (0..500)
            .map(|r| {
                let mut f = vec![0.0f32; len];
                noise.add_to_frame(r, 1.0, &mut f);
                f
            })
            .collect();
        let corr = |pairs: &mut dyn Iterator<Item = (f32, f32)>| {
            let (mut sxy, mut n) = (0.0f64, 0.0f64);
            for (x, y) in pairs {
                sxy += f64::from(x) * f64::from(y);
                n += 1.0;
            }
            sxy / n
        };
        // neighbouring samples, the cosine and sine draws of one pair, neighbouring frames
        let lag1 = corr(
            &mut frames
                .iter()
                .flat_map(|f| f.windows(2).map(|w| (w[0], w[1]))),
        );
        let pair = corr(&mut frames.iter().flat_map(|f| {
            f.chunks_exact(BLOCK)
                .flat_map(|c| (0..LANES).map(move |l| (c[l], c[LANES + l])))
        }));
        let frame = corr(
            &mut frames
                .windows(2)
                .flat_map(|w| w[0].iter().copied().zip(w[1].iter().copied())),
        );
        for (what, c) in [("lag 1", lag1), ("pair", pair), ("frame", frame)] {
            assert!(c.abs() < 0.01, "{what}: {c}");
        }
    }

    #[test]
    fn seeds_frames_and_scale() {
        let (a, b) = (DitherNoise::new(1), DitherNoise::new(2));
        let draw = |n: &DitherNoise, r: u64, scale: f32| {
            let mut f = vec![100.0f32; 50];
            n.add_to_frame(r, scale, &mut f);
            f
        };
        assert_eq!(draw(&a, 3, 1.0), draw(&a, 3, 1.0));
        assert_ne!(draw(&a, 3, 1.0), draw(&b, 3, 1.0));
        assert_ne!(draw(&a, 3, 1.0), draw(&a, 4, 1.0));
        assert!(draw(&a, 3, 0.0).iter().all(|&x| x == 100.0));
        // a shorter frame gets a prefix of the same block draws
        let mut short = vec![0.0f32; 10];
        let mut long = vec![0.0f32; 16];
        a.add_to_frame(0, 1.0, &mut short);
        a.add_to_frame(0, 1.0, &mut long);
        assert_eq!(short[..], long[..10]);
    }
}
