//! `gmm-global-init-from-feats`: the frame reservoir and the initialiser.

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::estimate::EstimateReport;
use crate::model::{DiagGmm, Gmm};
use crate::options::Checked;
use crate::stats::GmmStats;

/// A uniform random sample of at most `capacity` frames of a stream of feature matrices
/// (reservoir sampling, as `gmm-global-init-from-feats` keeps `--num-frames` frames): the first
/// `capacity` frames are kept; frame number n > capacity replaces a random kept frame with
/// probability capacity / n. Memory grows with the frames kept, never beyond `capacity` rows.
#[derive(Debug, Clone)]
pub struct FrameReservoir {
    capacity: usize,
    dim: Option<usize>,
    rows: Vec<f32>,
    num_read: u64,
    rng: rand_chacha::ChaCha8Rng,
}

impl FrameReservoir {
    /// An empty reservoir keeping at most `capacity` (≥ 1) frames, drawing from `seed`.
    pub fn new(capacity: usize, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        if capacity == 0 {
            return Err(crate::options::invalid(
                "num-frames",
                0,
                "must be at least 1",
            ));
        }
        Ok(Self {
            capacity,
            dim: None,
            rows: Vec::new(),
            num_read: 0,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        })
    }
    /// Offers every frame of `feats` (frames × D; D must be the same for every call).
    pub fn push(&mut self, feats: ArrayView2<'_, f32>) -> Result<()> {
        use rand::Rng;
        let d = feats.ncols();
        match self.dim {
            None => self.dim = Some(d),
            Some(prev) if prev != d => {
                return Err(Error::DimensionMismatch {
                    what: "feature dimension of this utterance vs earlier ones",
                    expected: prev,
                    got: d,
                })
            }
            _ => {}
        }
        for row in feats.outer_iter() {
            self.num_read += 1;
            if self.num_read <= self.capacity as u64 {
                self.rows.extend(row.iter());
            } else {
                let keep = self.capacity as f64 / self.num_read as f64;
                if self.rng.random::<f64>() < keep {
                    let i = self.rng.random_range(0..self.capacity);
                    for (o, &v) in self.rows[i * d..(i + 1) * d].iter_mut().zip(row.iter()) {
                        *o = v;
                    }
                }
            }
        }
        Ok(())
    }
    /// Frames offered so far.
    pub fn num_read(&self) -> u64 {
        self.num_read
    }
    /// The kept frames (min(capacity, frames read) × D).
    pub fn into_frames(self) -> Result<Array2<f32>> {
        let d = self.dim.unwrap_or(0);
        let n = self.rows.len().checked_div(d).unwrap_or(0);
        Array2::from_shape_vec((n, d), self.rows)
            .map_err(|e| Error::InvalidModel(format!("frame sample: {e}")))
    }
}

/// One EM pass of [`init_from_feats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitIteration {
    /// Average log-likelihood per frame before the update.
    pub loglike: f64,
    /// Gaussians before the update.
    pub num_gauss: usize,
    /// What the update did.
    pub estimate: EstimateReport,
    /// Gaussians after splitting (equal to the updated count when there was no split).
    pub split_to: usize,
}

/// Kaldi's `gmm-global-init-from-feats` on frames kept in memory: a diagonal GMM of
/// `opts.initial_num_gauss()` Gaussians (uniform weights, means at distinct random frames, every
/// variance the global variance of the frames), then `opts.num_iters` passes of accumulate →
/// estimate (Kaldi's `MleDiagGmmOptions`); after each pass the model is split (perturbation 0.1)
/// up to min(num_gauss, scheduled + [`crate::InitFromFeatsOptions::gauss_increment`]), so it reaches
/// `num_gauss` half-way through. Needs at least 10 frames per initial Gaussian, as Kaldi
/// (an [`Error::TooFewFrames`] otherwise).
///
/// ```
/// use cepstra_gmm::{kaldi_compat::init_from_feats, InitFromFeatsOptions};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 7 + j * 3) % 17) as f32 + if i % 2 == 0 { 20.0 } else { 0.0 });
/// let opts = InitFromFeatsOptions { num_gauss: 4, num_gauss_init: 1, num_iters: 6, ..Default::default() };
/// let (gmm, trace) = init_from_feats(x.view(), &opts)?;
/// assert_eq!(gmm.num_gauss(), 4);
/// assert_eq!(trace.len(), 6);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub fn init_from_feats(
    feats: ArrayView2<'_, f32>,
    opts: &crate::options::InitFromFeatsOptions,
) -> Result<(Gmm, Vec<InitIteration>)> {
    opts.validate()?;
    let (n, d) = feats.dim();
    let k0 = opts.initial_num_gauss();
    if n < k0.saturating_mul(10) || d == 0 {
        return Err(Error::TooFewFrames {
            frames: n,
            components: k0,
        });
    }
    // Mixing up beyond one Gaussian per frame cannot be supported by the data (and would grow
    // without bound).
    if opts.num_gauss > n {
        return Err(Error::TooFewFrames {
            frames: n,
            components: opts.num_gauss,
        });
    }
    // Global mean and variance in f64.
    let mut mean = Array1::<f64>::zeros(d);
    let mut var = Array1::<f64>::zeros(d);
    for row in feats.outer_iter() {
        for (i, &v) in row.iter().enumerate() {
            let v = v as f64;
            if !v.is_finite() {
                return Err(Error::InvalidModel(format!(
                    "non-finite feature value {v} in dimension {i}"
                )));
            }
            mean[i] += v;
            var[i] += v * v;
        }
    }
    mean /= n as f64;
    for i in 0..d {
        var[i] = var[i] / n as f64 - mean[i] * mean[i];
        if !(var[i] > 0.0) {
            return Err(Error::ConstantDimension {
                dim: i,
                variance: var[i],
            });
        }
    }
    let means =
        crate::kmeans::kmeans_seeds(feats, k0, crate::options::KmeansInit::Random, opts.srand)?;
    let vars = Array2::from_shape_fn((k0, d), |(_, i)| var[i]);
    let mut gmm = Gmm::from(DiagGmm::new(
        Array1::from_elem(k0, 1.0 / k0 as f64),
        means,
        vars,
    )?);
    // Checked with `opts` above (InitFromFeatsOptions::validate checks its M-step options).
    let est = Checked::assume_valid(opts.estimate());
    let inc = opts.gauss_increment();
    let mut scheduled = k0;
    let mut trace = Vec::with_capacity(opts.num_iters);
    for iter in 0..opts.num_iters {
        let mut stats = GmmStats::for_model(&gmm);
        stats.accumulate(&gmm, feats, None)?;
        let loglike = stats.avg_loglike();
        log::info!(
            "Likelihood per frame on iteration {iter} was {loglike:.6} over {n} frames ({} Gaussians)",
            gmm.num_gauss()
        );
        let before = gmm.num_gauss();
        let (next, report) = crate::estimate::estimate_checked(&stats, &gmm, &est)?;
        gmm = next;
        let target = opts.num_gauss.min(scheduled.saturating_add(inc));
        if target > gmm.num_gauss() {
            log::info!("Splitting to {target} Gaussians.");
            gmm = crate::estimate::split(
                &gmm,
                target,
                0.1,
                opts.srand.wrapping_add(1 + iter as u64),
            )?
            .0;
            scheduled = target;
        }
        trace.push(InitIteration {
            loglike,
            num_gauss: before,
            estimate: report,
            split_to: gmm.num_gauss(),
        });
    }
    Ok((gmm, trace))
}
