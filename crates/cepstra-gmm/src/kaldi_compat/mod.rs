//! Kaldi-compatible EM: the E-step, the accumulator files and the M-step exactly as Kaldi's
//! `gmm-global-acc-stats`/`gmm-global-est` and `fgmm-global-acc-stats`/`fgmm-global-est` compute
//! them, float32 where Kaldi uses float32.
//!
//! cepstra's own EM ([`crate::fit`], [`crate::GmmStats::accumulate`], [`crate::estimate`]) evaluates the
//! model through Cholesky factors in f64. Kaldi does not: it keeps the model in float32 *natural*
//! parameters (gconsts, μΣ⁻¹, Σ⁻¹) and evaluates each frame as `gconst + μᵀΣ⁻¹x − ½·xᵀΣ⁻¹x` in
//! float32. On ill-conditioned models (a variance of 1e-4 gives gconsts near −1.5e5) the float
//! cancellation changes each frame's log-likelihood by up to ~0.06 and the posteriors with it, so
//! the two EMs drift apart by ~1e-3 LL/frame. This module reproduces Kaldi's arithmetic so that
//! a cepstra run can be compared with a Kaldi run iteration by iteration:
//!
//! - [`kaldi_frame_log_likelihoods`]: `{f,}gmm-global-get-frame-likes` (`LogLikelihoods` +
//!   `LogSumExp`).
//! - [`accumulate_kaldi`]: `{f,}gmm-global-acc-stats` for one utterance (`LogLikelihoods`, float
//!   `ApplySoftMax`, statistics accumulated in f64 as `AccumDiagGmm`/`AccumFullGmm`).
//! - [`round_stats_like_kaldi_acc`]: what `gmm-global-est` reads back from the accumulator file
//!   (Kaldi writes accumulators as float32; full second-order statistics centred).
//! - [`estimate_kaldi`]: `MleDiagGmmUpdate`/`MleFullGmmUpdate` in f64, then the float natural
//!   parameters as `CopyToDiagGmm`/`CopyToFullGmm` + `ComputeGconsts` + `RemoveComponents` make
//!   them.
//! - [`fit_kaldi`]: acc → est iterations on a set of utterances, with the trace Kaldi's logs and
//!   `get-frame-likes` would show.
//! - [`convert_covariance`]: `gmm-global-to-fgmm` / `fgmm-global-to-gmm`.
//! - [`FrameReservoir`] and [`init_from_feats`]: `gmm-global-init-from-feats` (a uniform sample of
//!   at most `--num-frames` frames, random frames as means, the global variance, EM passes with
//!   Kaldi's mixing-up schedule). Its random numbers are cepstra's (ChaCha8), not glibc's
//!   `rand()`, and its EM is cepstra's f64 one, so the model is Kaldi's in structure, not bytes.
//!
//! # Float operation order
//!
//! Kaldi calls BLAS for its dot products (`AddMatVec` → `sgemv`, `TraceSpSpLower`/`VecVec` →
//! `sdot`, `AddSpVec` → `sspmv`); the rounding of a float dot product depends on the order of its
//! additions. The order emulated here is OpenBLAS's x86-64 Haswell/Zen kernels (the BLAS of the
//! `DYNAMIC_ARCH` Kaldi build the fixtures come from): `sgemv_t` with its 8-lane FMA kernel for
//! rows in blocks of four, its SSE kernels for the last one to three rows and its C loop for the
//! last `D mod 4` columns; `sdot` summing float products in double below 32 elements and through
//! its four-accumulator FMA kernel above; `sspmv` as a dot product and an axpy per row. Checked
//! against Kaldi 5.5 (`gmm-global-*`, `fgmm-global-*`) for D ∈ {4, 6, 13, 39} and K ∈ {3, …, 7},
//! diagonal and full: frame log-likelihoods, accumulator files and estimated models identical to
//! the last bit. Kaldi linked with another BLAS (MKL, ATLAS, another OpenBLAS kernel) rounds
//! differently in the last bit; so does the same OpenBLAS on an AVX-512 CPU, where it picks its
//! SkylakeX kernels (`OPENBLAS_CORETYPE=Haswell` pins the emulated ones). Feature dimensions of 4096 or more (where OpenBLAS splits `sgemv`
//! into column blocks) are not emulated.
//!
//! ```
//! use cepstra_gmm::{kaldi_compat, DiagGmm, EstimateOptions, Gmm};
//! use ndarray::{array, Array2};
//! let gmm = Gmm::from(DiagGmm::new(
//!     array![0.5, 0.5],
//!     array![[0.0, 0.0], [3.0, 3.0]],
//!     array![[1.0, 1.0], [1.0, 2.0]],
//! )?);
//! let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.4);
//! let opts = EstimateOptions { min_gaussian_occupancy: 0.0, ..EstimateOptions::kaldi_diag() };
//! let (model, report) = kaldi_compat::fit_kaldi(&gmm, &[x.view()], &opts, 3)?;
//! assert_eq!(report.iterations.len(), 3);
//! assert_eq!(model.num_gauss(), 2);
//! # Ok::<(), cepstra_gmm::Error>(())
//! ```

mod accs;
mod blas;
mod estimate;
mod init;
mod model;
#[cfg(test)]
mod tests;

pub use accs::{accumulate_kaldi, kaldi_frame_log_likelihoods, round_stats_like_kaldi_acc};
pub use estimate::{estimate_kaldi, fit_kaldi, KaldiFitReport, KaldiIteration};
pub use init::{init_from_feats, FrameReservoir, InitIteration};
pub use model::convert_covariance;
