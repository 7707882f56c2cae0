//! cepstra-gmm: k-means and Gaussian mixture models with diagonal or full covariance, trained by
//! EM from mergeable sufficient statistics (Kaldi's `src/gmm`).
//!
//! Principal types: [`DiagGmm`], [`FullGmm`] and [`Gmm`] (models), [`GmmStats`] (f64 sufficient
//! statistics: accumulate, merge, write, read), [`estimate`] (the M-step with Kaldi's floors and
//! scikit-learn's `reg_covar`), [`fit`] (initialisation + EM), [`kmeans`].
//!
//! Numerics: the E-step is a GEMM over blocks of frames through each covariance's Cholesky factor
//! (log-determinant from its diagonal) followed by a log-sum-exp in f64; the M-step is a GEMM in
//! f64. f32 features run the full-covariance E-step GEMM in f32; the `_f64` functions run
//! everything in f64. Results are bit-identical for any number of rayon threads.
//!
//! Kernels: a [`KernelSet`] (AVX-512F, AVX2+FMA or portable) is chosen once per process
//! ([`KernelSet::best`], capped by `CEPSTRA_KERNELS`) and stored in every [`Prepared`] model; the
//! two SIMD sets give the same bits, the portable set agrees with them to ~1e-7 relative (f32
//! E-step) or a few ulps (f64). To score or accumulate many utterances under one model, prepare it
//! once ([`Prepared`], [`Gmm::prepare`]).
//!
//! ```
//! use cepstra_gmm::{fit, estimate, CovarianceType, FitOptions, GmmStats};
//! use ndarray::Array2;
//! // Two clusters in 2-D.
//! let x = Array2::from_shape_fn((400, 2), |(i, j)| {
//!     let c = if i % 2 == 0 { 5.0 } else { -5.0 };
//!     c + (((i * 31 + j * 17) % 101) as f32 / 101.0 - 0.5)
//! });
//! let opts = FitOptions { num_gauss: 2, covariance: CovarianceType::Full, ..Default::default() };
//! let (gmm, report) = fit(x.view(), &opts)?;
//! assert_eq!(gmm.num_gauss(), 2);
//! // acc → est by hand, as Kaldi's gmm-global-acc-stats / gmm-global-est.
//! let mut stats = GmmStats::for_model(&gmm);
//! stats.accumulate(&gmm, x.view(), None)?;
//! let (next, _est_report) = estimate(&stats, &gmm, &opts.estimate)?;
//! assert!(next.score(x.view())?.average >= report.final_loglike - 1e-6);
//! # Ok::<(), cepstra_gmm::Error>(())
//! ```
//!
//! # Model files
//!
//! cepstra's own format is JSON (see [`io`]):
//! `{"format":"cepstra-gmm","version":1,"covariance":"diag"|"full","num_gauss":K,"dim":D,
//! "weights":[K],"means":[[D]…K],"vars":[[D]…K] (diag) | "covars":[[[D]…D]…K] (full)}`.
//! Kaldi `<DiagGMM>`/`<FullGMM>` are read and written in text and binary; [`io::read_model`]
//! detects the format.

// `!(x > 0.0)` is deliberate throughout: it rejects NaN as well as non-positive values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

mod elem;
mod em;
mod engine;
mod error;
mod estimate;
pub mod io;
pub mod kaldi_compat;
pub mod kernels;
mod kmeans;
mod linalg;
mod model;
mod options;
mod sched;
mod score;
mod stats;

pub use elem::Elem;
pub use em::{fit, fit_f64, fit_from, fit_from_f64, fit_streaming, init_gmm, ChunkSink, FitReport};
pub use engine::Prepared;
pub use error::{Error, Result};
pub use estimate::{estimate, estimate_from_stats, split, EstimateReport};
pub use kaldi_compat::{accumulate_kaldi, estimate_kaldi, fit_kaldi};
pub use kernels::KernelSet;
pub use kmeans::{kmeans, kmeans_seeds, KmeansResult};
pub use model::{DiagGmm, FullGmm, Gmm};
pub use options::{
    Checked, CovarianceType, EstimateOptions, FitOptions, InitCovariance, InitFromFeatsOptions,
    InitMethod, KmeansInit, KmeansOptions, ParamGuard,
};
pub use score::{PreparedSet, UtteranceScore};
pub use stats::{GmmStats, SecondOrder, STATS_MAGIC, STATS_VERSION};
