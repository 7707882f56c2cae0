//! Log mel filterbank energies (Kaldi's `FbankComputer`, `feature-fbank.cc`).

use crate::compute::{impl_feature_computer, FrameCompute, FrameCore, FrameScratch};
use crate::mel::ln_floored;
use crate::window::log_energy;
use crate::{Error, FbankOptions, MelBanks, Result};

/// Filterbank computer (Kaldi's `compute-fbank-feats`): validated options plus window, FFT plan
/// and mel banks. `Send + Sync`.
///
/// Per frame: as [`Mfcc`](crate::Mfcc) up to the mel energies (power spectrum, or magnitude
/// with `use_power = false`), then `ln(max(x, FLT_EPSILON))` if `use_log_fbank`; with
/// `use_energy` the log-energy is the first column (last with `htk_compat`).
///
/// ```
/// use cepstra_feat::{Fbank, FbankOptions};
/// let mut opts = FbankOptions::default();
/// opts.mel_opts.num_bins = 40;
/// let fbank = Fbank::new(&opts)?;
/// let feats = fbank.compute(&vec![100.0f32; 16000])?;
/// assert_eq!(feats.dim(), (98, 40));
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Fbank {
    opts: FbankOptions,
    core: FrameCore,
    mel: MelBanks,
    log_energy_floor: Option<f32>,
}

impl Fbank {
    /// Validates `opts` and precomputes the computer.
    ///
    /// # Errors
    /// Any invalid option, as the matching [`Error`] variant (see [`Mfcc::new`](crate::Mfcc::new)).
    pub fn new(opts: &FbankOptions) -> Result<Self> {
        let core = FrameCore::new(&opts.frame_opts)?;
        let mel = MelBanks::new(&opts.mel_opts, &opts.frame_opts)?;
        if !opts.energy_floor.is_finite() {
            return Err(Error::NotFinite {
                option: "energy-floor",
                value: opts.energy_floor,
            });
        }
        let log_energy_floor = (opts.energy_floor > 0.0).then(|| opts.energy_floor.ln());
        Ok(Self {
            opts: opts.clone(),
            core,
            mel,
            log_energy_floor,
        })
    }

    /// The options this computer was built with.
    pub fn options(&self) -> &FbankOptions {
        &self.opts
    }

    /// The mel filterbank in use.
    pub fn mel_banks(&self) -> &MelBanks {
        &self.mel
    }
}

impl FrameCompute for Fbank {
    fn core(&self) -> &FrameCore {
        &self.core
    }

    fn feature_dim(&self) -> usize {
        self.opts.mel_opts.num_bins + usize::from(self.opts.use_energy)
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
        if !opts.use_power {
            for p in s.power.iter_mut() {
                *p = p.sqrt();
            }
        }
        let nb = opts.mel_opts.num_bins;
        let offset = usize::from(opts.use_energy && !opts.htk_compat);
        let mel_out = &mut out[offset..offset + nb];
        self.mel.compute(&s.power, mel_out);
        if opts.use_log_fbank {
            for m in mel_out.iter_mut() {
                *m = ln_floored(*m) as f32;
            }
        }
        if opts.use_energy {
            if let Some(floor) = self.log_energy_floor {
                energy = energy.max(floor);
            }
            out[if opts.htk_compat { nb } else { 0 }] = energy;
        }
    }
}

impl_feature_computer!(Fbank);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_and_errors() {
        let mut o = FbankOptions::default();
        assert_eq!(Fbank::new(&o).expect("valid").dim(), 23);
        o.use_energy = true;
        assert_eq!(Fbank::new(&o).expect("valid").dim(), 24);
        o.energy_floor = f32::NAN;
        assert!(matches!(
            Fbank::new(&o),
            Err(Error::NotFinite {
                option: "energy-floor",
                ..
            })
        ));
        let mut o = FbankOptions::default();
        o.mel_opts.low_freq = -1.0;
        assert!(matches!(Fbank::new(&o), Err(Error::MelFrequencies { .. })));
    }

    #[test]
    fn tone_peaks_in_its_bin() {
        let mut o = FbankOptions::default();
        o.frame_opts.dither = 0.0;
        let f = Fbank::new(&o).expect("valid");
        let hz = 1000.0f32;
        let wave: Vec<f32> = (0..16000)
            .map(|i| 3000.0 * (std::f32::consts::TAU * hz * i as f32 / 16000.0).sin())
            .collect();
        let feats = f.compute(&wave).expect("ok");
        let row = feats.row(10);
        let argmax = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .expect("non-empty");
        let centers = f.mel_banks().center_freqs();
        let nearest = (0..centers.len())
            .min_by(|&a, &b| (centers[a] - hz).abs().total_cmp(&(centers[b] - hz).abs()))
            .expect("non-empty");
        assert_eq!(argmax, nearest);
    }
}
