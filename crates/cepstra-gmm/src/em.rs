//! EM training: initialisation, acc → estimate iterations, convergence, restarts, streaming.

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::elem::Elem;
use crate::engine::{Prepared, Want};
use crate::error::{Error, Result};
use crate::estimate::{estimate_inner, EstimateReport};
use crate::kmeans::{kmeans_checked, kmeans_seeds};
use crate::model::Gmm;
use crate::options::{
    Checked, CovarianceType, FitOptions, InitCovariance, InitMethod, KmeansInit, KmeansOptions,
    ParamGuard,
};
use crate::stats::GmmStats;

/// What [`fit`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Average log-likelihood per frame of the model *before* each update (Kaldi's acc-stats log,
    /// scikit-learn's lower bound of that iteration).
    pub loglikes: Vec<f64>,
    /// Components after each update.
    pub num_gauss: Vec<usize>,
    /// The M-step report of each update.
    pub estimates: Vec<EstimateReport>,
    /// Whether |Δ average log-likelihood| fell below `tol`.
    pub converged: bool,
    /// Average log-likelihood per frame of the returned model.
    pub final_loglike: f64,
    /// Which of the `n_init` initialisations was kept (0-based).
    pub best_init: usize,
    /// Final average log-likelihood of every initialisation.
    pub init_loglikes: Vec<f64>,
}

/// Fits a GMM to f32 features (frames × D): initialisation per `opts.init`, then EM. With
/// `n_init` > 1, restarts with seeds seed, seed+1, … and keeps the best final log-likelihood.
///
/// ```
/// use cepstra_gmm::{fit, CovarianceType, FitOptions};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 3) % 17) as f32 + if i % 2 == 0 { 20.0 } else { 0.0 });
/// let opts = FitOptions { num_gauss: 2, covariance: CovarianceType::Diag, ..Default::default() };
/// let (gmm, report) = fit(x.view(), &opts)?;
/// assert_eq!(gmm.num_gauss(), 2);
/// assert!(report.final_loglike.is_finite());
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
pub fn fit(feats: ArrayView2<'_, f32>, opts: &FitOptions) -> Result<(Gmm, FitReport)> {
    fit_generic(feats, &opts.check_ref()?)
}

/// As [`fit`], all in f64.
pub fn fit_f64(feats: ArrayView2<'_, f64>, opts: &FitOptions) -> Result<(Gmm, FitReport)> {
    fit_generic(feats, &opts.check_ref()?)
}

/// EM from a given model (warm start); `opts.init`, `n_init`, `num_gauss` and `covariance` are
/// ignored.
pub fn fit_from(
    feats: ArrayView2<'_, f32>,
    init: Gmm,
    opts: &FitOptions,
) -> Result<(Gmm, FitReport)> {
    opts.validate()?;
    em(feats, init, opts)
}

/// As [`fit_from`], all in f64.
pub fn fit_from_f64(
    feats: ArrayView2<'_, f64>,
    init: Gmm,
    opts: &FitOptions,
) -> Result<(Gmm, FitReport)> {
    opts.validate()?;
    em(feats, init, opts)
}

fn fit_generic<T: Elem>(
    feats: ArrayView2<'_, T>,
    opts: &Checked<FitOptions>,
) -> Result<(Gmm, FitReport)> {
    let mut best: Option<(Gmm, FitReport)> = None;
    let mut all = Vec::new();
    for i in 0..opts.n_init {
        let init = init_gmm_checked(feats, opts, opts.seed.wrapping_add(i as u64))?;
        let (g, mut r) = em(feats, init, opts)?;
        all.push(r.final_loglike);
        r.best_init = i;
        if best
            .as_ref()
            .is_none_or(|(_, b)| r.final_loglike > b.final_loglike)
        {
            best = Some((g, r));
        }
    }
    let (g, mut r) = best.ok_or_else(|| Error::NoData("n-init is 0".into()))?;
    r.init_loglikes = all;
    Ok((g, r))
}

/// Global statistics of the data (K=1 model): checks finiteness, gives mean and covariance.
fn global_stats<T: Elem>(feats: ArrayView2<'_, T>, cov: CovarianceType) -> Result<GmmStats> {
    let d = feats.ncols();
    let one = Gmm::from_params(cov, Array1::ones(1), Array2::zeros((1, d)), {
        let mut c = Array3::zeros((1, d, d));
        for i in 0..d {
            c[[0, i, i]] = 1.0;
        }
        c
    })?;
    let mut st = GmmStats::for_model(&one);
    // f64 E-step: the single component's posterior is 1 regardless.
    let x64 = feats.mapv(|v| v.to_f64());
    st.accumulate_generic(&one, x64.view(), None)?;
    Ok(st)
}

/// The initial model of [`fit`] for one seed.
pub fn init_gmm<T: Elem>(feats: ArrayView2<'_, T>, opts: &FitOptions, seed: u64) -> Result<Gmm> {
    init_gmm_checked(feats, &opts.check_ref()?, seed)
}

fn init_gmm_checked<T: Elem>(
    feats: ArrayView2<'_, T>,
    opts: &Checked<FitOptions>,
    seed: u64,
) -> Result<Gmm> {
    let (n, d) = feats.dim();
    let k = opts.num_gauss;
    if n < k || n == 0 {
        return Err(Error::TooFewFrames {
            frames: n,
            components: k,
        });
    }
    if d == 0 {
        return Err(Error::InvalidModel("feature dimension is 0".into()));
    }
    let glob = global_stats(feats, CovarianceType::Full)?;
    let (gmean, gvar) = glob.global_mean_var();
    let est = &opts.estimate;
    for (i, &v) in gvar.iter().enumerate() {
        let scale = 1.0 + gmean[i] * gmean[i];
        if v <= 1e-12 * scale && est.var_floor <= 0.0 && est.reg_covar <= 0.0 {
            return Err(Error::ConstantDimension {
                dim: i,
                variance: v,
            });
        }
    }
    match opts.init {
        InitMethod::Kmeans => {
            // Valid: num_gauss ≥ 1 and kmeans_tol finite ≥ 0 (checked FitOptions).
            let ko = Checked::assume_valid(KmeansOptions {
                num_clusters: k,
                max_iters: opts.kmeans_iters,
                tol: opts.kmeans_tol,
                init: KmeansInit::KmeansPlusPlus,
                seed,
            });
            let km = kmeans_checked(feats, &ko)?;
            let st = GmmStats::from_assignment(k, opts.covariance, feats, &km.labels);
            let mut eo = est.clone();
            eo.mix_up = 0;
            let (g, rep) = estimate_inner(&st, None, &eo)?;
            if !rep.removed.is_empty() {
                log::warn!(
                    "k-means initialisation: removed {} small clusters",
                    rep.removed.len()
                );
            }
            Ok(g)
        }
        InitMethod::Random | InitMethod::KmeansPlusPlus => {
            let means = if opts.init == InitMethod::Random {
                kmeans_seeds(feats, k, KmeansInit::Random, seed)?
            } else {
                kmeans_seeds(feats, k, KmeansInit::KmeansPlusPlus, seed)?
            };
            let mut covs = Array3::zeros((k, d, d));
            let gcov = match opts.init_covariance {
                InitCovariance::Identity => Array2::eye(d),
                InitCovariance::Global => {
                    let n = glob.occupancy()[0];
                    let mut c = Array2::zeros((d, d));
                    if let crate::stats::SecondOrder::Full(s) = glob.second() {
                        for i in 0..d {
                            for j in 0..d {
                                c[[i, j]] = s[[0, i, j]] / n - gmean[i] * gmean[j];
                            }
                            c[[i, i]] += est.reg_covar + est.var_floor;
                        }
                    }
                    c
                }
            };
            for c in 0..k {
                covs.index_axis_mut(Axis(0), c).assign(&gcov);
            }
            let _ = ChaCha8Rng::seed_from_u64(seed);
            Gmm::from_params(
                opts.covariance,
                Array1::from_elem(k, 1.0 / k as f64),
                means,
                covs,
            )
        }
    }
}

fn em<T: Elem>(
    feats: ArrayView2<'_, T>,
    mut gmm: Gmm,
    opts: &FitOptions,
) -> Result<(Gmm, FitReport)> {
    gmm.check_dim(feats.ncols())?;
    if feats.nrows() == 0 {
        return Err(Error::NoData("no frames to train on".into()));
    }
    let mut report = FitReport::default();
    for it in 0..opts.num_iters {
        let prep = Prepared::<T>::new(&gmm);
        let mut st = GmmStats::for_model(&gmm);
        prep.accumulate(&mut st, feats, None)?;
        let ll = st.avg_loglike();
        let (g, er) =
            estimate_inner(&st, Some(&gmm), &opts.estimate).map_err(|e| with_iter(e, it + 1))?;
        log::info!(
            "iteration {}: average log-likelihood {ll:.6} over {} frames, {} components",
            it + 1,
            st.num_frames(),
            g.num_gauss()
        );
        gmm = g;
        report.num_gauss.push(gmm.num_gauss());
        report.estimates.push(er);
        let prev = report.loglikes.last().copied();
        report.loglikes.push(ll);
        if let Some(p) = prev {
            if (ll - p).abs() < opts.tol {
                report.converged = true;
                break;
            }
        }
    }
    let prep = Prepared::<T>::new(&gmm);
    let mut total = 0.0;
    let n = feats.nrows();
    prep.run_all(feats, None, Want::FrameLl, |c| {
        total += c.loglike;
        Ok(())
    })?;
    report.final_loglike = total / n as f64;
    Ok((gmm, report))
}

fn with_iter(e: Error, it: usize) -> Error {
    match e {
        Error::SingularCovariance {
            component,
            pivot,
            context,
        } => Error::SingularCovariance {
            component,
            pivot,
            context: format!("{context} at iteration {it}"),
        },
        e => e,
    }
}

/// A source of feature chunks for [`fit_streaming`]: called once per EM pass with a sink that
/// takes every chunk (frames × D) of the training data, e.g. one utterance of an scp at a time.
pub type ChunkSink<'a> = dyn FnMut(ArrayView2<'_, f32>) -> Result<()> + 'a;

/// EM without holding the data: every iteration calls `source(&mut sink)`, which must feed all
/// training chunks to the sink in a fixed order. Memory is flat in the number of frames. Starts
/// from `init` (e.g. a model made by [`fit`] on a subset, or read from a file).
pub fn fit_streaming<S>(init: Gmm, opts: &FitOptions, mut source: S) -> Result<(Gmm, FitReport)>
where
    S: FnMut(&mut ChunkSink<'_>) -> Result<()>,
{
    opts.validate()?;
    let mut gmm = init;
    let mut report = FitReport::default();
    let pass = |gmm: &Gmm, source: &mut S| -> Result<GmmStats> {
        let prep = Prepared::<f32>::new(gmm);
        let mut st = GmmStats::for_model(gmm);
        {
            let mut sink = |x: ArrayView2<'_, f32>| -> Result<()> {
                gmm.check_dim(x.ncols())?;
                prep.accumulate(&mut st, x, None).map(|_| ())
            };
            source(&mut sink)?;
        }
        if st.num_frames() <= 0.0 {
            return Err(Error::NoData("the feature source gave no frames".into()));
        }
        Ok(st)
    };
    for it in 0..opts.num_iters {
        let st = pass(&gmm, &mut source)?;
        let ll = st.avg_loglike();
        let (g, er) =
            estimate_inner(&st, Some(&gmm), &opts.estimate).map_err(|e| with_iter(e, it + 1))?;
        gmm = g;
        report.num_gauss.push(gmm.num_gauss());
        report.estimates.push(er);
        let prev = report.loglikes.last().copied();
        report.loglikes.push(ll);
        if let Some(p) = prev {
            if (ll - p).abs() < opts.tol {
                report.converged = true;
                break;
            }
        }
    }
    let st = pass(&gmm, &mut source)?;
    report.final_loglike = st.avg_loglike();
    Ok((gmm, report))
}
