//! MFCC (Kaldi's `MfccComputer`, `feature-mfcc.cc`).

use crate::compute::{impl_feature_computer, FrameCompute, FrameCore, FrameScratch};
use crate::mel::ln_floored;
use crate::window::log_energy;
use crate::{Error, MelBanks, MfccOptions, Result};

/// MFCC computer: validated options plus everything precomputed (window, FFT plan, mel banks,
/// DCT matrix, lifter). `Send + Sync`; share one across threads.
///
/// Per frame, as Kaldi: dither → remove DC → raw log-energy → pre-emphasis → window → FFT →
/// power spectrum → mel → floor at `FLT_EPSILON` → natural log → orthonormal DCT-II → lifter
/// `1 + Q/2·sin(πi/Q)` → log-energy replaces C0 if `use_energy` (floored at `ln(energy_floor)`
/// when `energy_floor > 0`) → with `htk_compat`, C0 (scaled by √2 when `use_energy` is false) or
/// energy moves last.
///
/// ```
/// use cepstra_feat::{Mfcc, MfccOptions};
/// let mut opts = MfccOptions::default();
/// opts.frame_opts.samp_freq = 8000.0;
/// let mfcc = Mfcc::new(&opts)?;
/// let wave: Vec<f32> = (0..8000).map(|i| 1000.0 * (i as f32 * 0.3).sin()).collect();
/// let feats = mfcc.compute(&wave)?;
/// assert_eq!(feats.dim(), (98, 13));
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mfcc {
    opts: MfccOptions,
    core: FrameCore,
    mel: MelBanks,
    /// The DCT matrix with the lifter folded in, in blocks of [`CEPS_BLOCK`] coefficients:
    /// block `b` holds, for each mel bin `j`, `lifter[c]·dct[c][j]` for the coefficients
    /// `c = CEPS_BLOCK·b ..` (zero past `num_ceps`), so the accumulators of a block advance
    /// together (vectorises).
    dct_blocks: Vec<[f64; CEPS_BLOCK]>,
    log_energy_floor: Option<f32>,
}

impl Mfcc {
    /// Validates `opts` and precomputes the computer.
    ///
    /// # Errors
    /// Any invalid option, as the matching [`Error`] variant: framing
    /// ([`Error::SampleFrequency`], [`Error::FrameLength`], [`Error::FrameShift`],
    /// [`Error::Dither`], [`Error::PreemphasisCoefficient`]), mel banks
    /// ([`Error::NumMelBins`], [`Error::MelFrequencies`], [`Error::EmptyMelBin`]),
    /// [`Error::NumCeps`], or [`Error::NotFinite`].
    pub fn new(opts: &MfccOptions) -> Result<Self> {
        let core = FrameCore::new(&opts.frame_opts)?;
        let mel = MelBanks::new(&opts.mel_opts, &opts.frame_opts)?;
        let num_bins = opts.mel_opts.num_bins;
        if opts.num_ceps == 0 || opts.num_ceps > num_bins {
            return Err(Error::NumCeps {
                num_ceps: opts.num_ceps,
                num_bins,
            });
        }
        for (option, value) in [
            ("cepstral-lifter", opts.cepstral_lifter),
            ("energy-floor", opts.energy_floor),
        ] {
            if !value.is_finite() {
                return Err(Error::NotFinite { option, value });
            }
        }
        let dct = dct_matrix(opts.num_ceps, num_bins);
        let lifter = if opts.cepstral_lifter != 0.0 {
            lifter_coeffs(opts.cepstral_lifter, opts.num_ceps)
        } else {
            vec![1.0; opts.num_ceps]
        };
        let num_blocks = opts.num_ceps.div_ceil(CEPS_BLOCK);
        let mut dct_blocks = vec![[0.0f64; CEPS_BLOCK]; num_blocks * num_bins];
        for (c, &l) in lifter.iter().enumerate() {
            for j in 0..num_bins {
                dct_blocks[(c / CEPS_BLOCK) * num_bins + j][c % CEPS_BLOCK] =
                    f64::from(dct[c * num_bins + j]) * f64::from(l);
            }
        }
        let log_energy_floor = (opts.energy_floor > 0.0).then(|| opts.energy_floor.ln());
        Ok(Self {
            opts: opts.clone(),
            core,
            mel,
            dct_blocks,
            log_energy_floor,
        })
    }

    /// The options this computer was built with.
    pub fn options(&self) -> &MfccOptions {
        &self.opts
    }

    /// The mel filterbank in use.
    pub fn mel_banks(&self) -> &MelBanks {
        &self.mel
    }
}

impl FrameCompute for Mfcc {
    fn core(&self) -> &FrameCore {
        &self.core
    }

    fn feature_dim(&self) -> usize {
        self.opts.num_ceps
    }

    fn num_mel_bins(&self) -> usize {
        self.opts.mel_opts.num_bins
    }

    fn need_raw_log_energy(&self) -> bool {
        self.opts.use_energy && self.opts.raw_energy
    }

    #[inline(always)]
    fn compute_frame(
        &self,
        raw_log_energy: f32,
        window: &[f32],
        s: &mut FrameScratch,
        out: &mut [f32],
    ) {
        let opts = &self.opts;
        let mut energy = raw_log_energy;
        if opts.use_energy && !opts.raw_energy {
            energy = log_energy(window);
        }
        self.core
            .fft
            .power_spectrum(window, &mut s.power, &mut s.fft);
        self.mel.compute(&s.power, &mut s.mel);
        let nb = s.mel.len();
        // Whole blocks of LN_BLOCK logs (the last one padded with ones, ln 1 = 0, never read)
        // so that the logarithm vectorises without a scalar tail; each value is the same
        // `ln_floored` of the same input, so the bits do not depend on the blocking.
        s.acc.resize(nb.next_multiple_of(LN_BLOCK), 0.0);
        for (a, m) in s.acc.chunks_exact_mut(LN_BLOCK).zip(s.mel.chunks(LN_BLOCK)) {
            let mut x = [1.0f32; LN_BLOCK];
            x[..m.len()].copy_from_slice(m);
            for k in 0..LN_BLOCK {
                a[k] = ln_floored(x[k]);
            }
        }
        // out = lifter ∘ (DCT · log mel), one block of coefficients at a time.
        for (block, out) in self
            .dct_blocks
            .chunks_exact(nb)
            .zip(out.chunks_mut(CEPS_BLOCK))
        {
            let mut acc = [0.0f64; CEPS_BLOCK];
            for (d, &m) in block.iter().zip(&s.acc[..nb]) {
                for k in 0..CEPS_BLOCK {
                    acc[k] += d[k] * m;
                }
            }
            for (o, &a) in out.iter_mut().zip(&acc) {
                *o = a as f32;
            }
        }
        if opts.use_energy {
            if let Some(floor) = self.log_energy_floor {
                energy = energy.max(floor);
            }
            out[0] = energy;
        }
        if opts.htk_compat {
            let mut c0 = out[0];
            out.copy_within(1.., 0);
            if !opts.use_energy {
                c0 = (f64::from(c0) * std::f64::consts::SQRT_2) as f32;
            }
            out[opts.num_ceps - 1] = c0;
        }
    }
}

impl_feature_computer!(Mfcc);

/// Mel log-energies computed together (one vector of `f64` lanes, twice, with AVX2).
const LN_BLOCK: usize = 8;

/// Cepstral coefficients computed together in the DCT (one block of `f64` accumulators).
const CEPS_BLOCK: usize = 8;

/// Kaldi's `ComputeDctMatrix` (orthonormal DCT-II), first `num_ceps` of `n` rows, row-major.
pub(crate) fn dct_matrix(num_ceps: usize, n: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; num_ceps * n];
    let norm0 = (1.0 / n as f64).sqrt() as f32;
    m[..n].fill(norm0);
    let norm = (2.0 / n as f64).sqrt() as f32;
    for k in 1..num_ceps {
        for j in 0..n {
            let v = f64::from(norm)
                * (std::f64::consts::PI / n as f64 * (j as f64 + 0.5) * k as f64).cos();
            m[k * n + j] = v as f32;
        }
    }
    m
}

/// Kaldi's `ComputeLifterCoeffs`: `1 + Q/2 · sin(π i / Q)`.
pub(crate) fn lifter_coeffs(q: f32, num_ceps: usize) -> Vec<f32> {
    let q = f64::from(q);
    (0..num_ceps)
        .map(|i| (1.0 + 0.5 * q * (std::f64::consts::PI * i as f64 / q).sin()) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameExtractionOptions, MelBanksOptions};

    fn opts8k() -> MfccOptions {
        MfccOptions {
            frame_opts: FrameExtractionOptions {
                samp_freq: 8000.0,
                dither: 0.0,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn dct_is_orthonormal() {
        let n = 23;
        let m = dct_matrix(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..n)
                    .map(|j| f64::from(m[a * n + j]) * f64::from(m[b * n + j]))
                    .sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-6, "{a},{b}: {dot}");
            }
        }
    }

    #[test]
    fn lifter_values() {
        let l = lifter_coeffs(22.0, 13);
        assert_eq!(l[0], 1.0);
        assert!((l[11] - 12.0).abs() < 1e-6); // sin(π/2) at i = Q/2
    }

    #[test]
    fn invalid_options() {
        let mut o = opts8k();
        o.num_ceps = 24;
        assert_eq!(
            Mfcc::new(&o).map(|_| ()),
            Err(Error::NumCeps {
                num_ceps: 24,
                num_bins: 23
            })
        );
        o.num_ceps = 0;
        assert!(matches!(Mfcc::new(&o), Err(Error::NumCeps { .. })));
        let mut o = opts8k();
        o.cepstral_lifter = f32::NAN;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::NotFinite {
                option: "cepstral-lifter",
                ..
            })
        ));
        let mut o = opts8k();
        o.energy_floor = f32::INFINITY;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::NotFinite {
                option: "energy-floor",
                ..
            })
        ));
        let mut o = opts8k();
        o.frame_opts.samp_freq = 0.0;
        assert!(matches!(Mfcc::new(&o), Err(Error::SampleFrequency { .. })));
        let mut o = opts8k();
        o.frame_opts.frame_length_ms = 0.1;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::FrameLength { samples: 0, .. })
        ));
        let mut o = opts8k();
        o.frame_opts.frame_shift_ms = 0.0;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::FrameShift { samples: 0, .. })
        ));
        let mut o = opts8k();
        o.frame_opts.dither = -1.0;
        assert!(matches!(Mfcc::new(&o), Err(Error::Dither { .. })));
        let mut o = opts8k();
        o.frame_opts.preemph_coeff = 1.5;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::PreemphasisCoefficient { .. })
        ));
        let mut o = opts8k();
        o.frame_opts.blackman_coeff = f32::NAN;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::NotFinite {
                option: "blackman-coeff",
                ..
            })
        ));
        let mut o = opts8k();
        o.mel_opts = MelBanksOptions {
            num_bins: 2,
            ..Default::default()
        };
        o.num_ceps = 2;
        assert!(matches!(
            Mfcc::new(&o),
            Err(Error::NumMelBins { num_bins: 2 })
        ));
        let mut o = opts8k();
        o.mel_opts.high_freq = 4500.0;
        assert!(matches!(Mfcc::new(&o), Err(Error::MelFrequencies { .. })));
        let mut o = opts8k();
        o.mel_opts.num_bins = 120;
        assert!(matches!(Mfcc::new(&o), Err(Error::EmptyMelBin { .. })));
    }

    #[test]
    fn short_and_bad_waves() {
        let m = Mfcc::new(&opts8k()).expect("valid");
        assert_eq!(m.compute(&[0.0; 199]).expect("ok").dim(), (0, 13));
        assert_eq!(m.compute(&[]).expect("ok").dim(), (0, 13));
        let mut w = vec![1.0f32; 400];
        w[123] = f32::NAN;
        assert_eq!(m.compute(&w), Err(Error::NonFiniteSample { index: 123 }));
    }

    #[test]
    fn dither_is_deterministic_and_seeded() {
        let mut o = opts8k();
        o.frame_opts.dither = 1.0;
        let m = Mfcc::new(&o).expect("valid");
        // white-ish noise, loud compared with the dither in every mel bin
        let mut state = 1u32;
        let wave: Vec<f32> = (0..4000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 16) as f32 / 65536.0 * 2000.0 - 1000.0
            })
            .collect();
        let a = m.compute_with_seed(&wave, 7).expect("ok");
        let b = m.compute_with_seed(&wave, 7).expect("ok");
        let c = m.compute_with_seed(&wave, 8).expect("ok");
        assert_eq!(a, b);
        assert_ne!(a, c);
        // from several threads at once: same bytes
        let m = std::sync::Arc::new(m);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (m, w) = (m.clone(), wave.clone());
                std::thread::spawn(move || m.compute_with_seed(&w, 7).expect("ok"))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().expect("thread"), a);
        }
        // dither changes the result but not by much on a loud signal
        let nd = Mfcc::new(&opts8k())
            .expect("valid")
            .compute(&wave)
            .expect("ok");
        let diff = (&a - &nd).mapv(f32::abs).fold(0.0f32, |m, &x| m.max(x));
        assert!(diff > 0.0 && diff < 0.2, "{diff}");
    }

    #[test]
    fn dither_avoids_log_zero() {
        let mut o = opts8k();
        o.use_energy = false;
        let zeros = vec![0.0f32; 800];
        let plain = Mfcc::new(&o).expect("valid").compute(&zeros).expect("ok");
        // all mel energies are floored at FLT_EPSILON: C0 = sqrt(23) ln(eps) · lifter(0)=1
        let want = (23f64).sqrt() * f64::from(f32::EPSILON).ln();
        assert!((f64::from(plain[[0, 0]]) - want).abs() < 1e-4);
        o.frame_opts.dither = 1.0;
        let d = Mfcc::new(&o).expect("valid").compute(&zeros).expect("ok");
        assert!(d[[0, 0]] > plain[[0, 0]] + 10.0);
    }
}
