//! cepstra-hmm: left-to-right GMM-HMMs (one per word), HTK's layout with non-emitting entry and
//! exit states, and the log-domain algorithms on them: forward, backward, Viterbi, state and
//! component occupancies and transition counts (the Baum-Welch E-step).
//!
//! Principal types: [`Hmm`] (S emitting states, each a [`cepstra_gmm::Gmm`]), [`Topology`],
//! [`Emissions`] (per-frame, per-state and per-component log-likelihoods of an utterance, from one
//! batched call of the GMM engine), [`ViterbiPath`], [`Posteriors`].
//!
//! The trainer, one HMM per class label (Kaldi's `steps/train_mono.sh`, HTK's HInit/HRest):
//! [`HmmTrainOptions`]; [`init_hmms`] (flat start or HCompV-style global init) →
//! [`accumulate`] (one job of a pass, `--mode viterbi|baum-welch`; or [`accumulate_aligned`]
//! along stored alignments, Kaldi's `gmm-acc-stats-ali`, from [`align`] or the equal alignment
//! [`align_equal`]) → [`HmmAccs::merge`] →
//! [`est_hmms`] (floors, mixing up on the `--mix-up-at` schedule); [`train_hmms`] runs the same
//! functions in one process. Per-class options (`--class-opts`, e.g. `--num-states` by word
//! length): [`init_hmms_with`], [`train_hmms_with`], [`HmmTrainOptions::for_class`]. Statistics
//! are summed exactly ([`ExactHmmStats`], cepstra-train's fixed point), so any `--nj`, order
//! and thread count give the same model bytes. Files: the model set [`HmmSet`] (JSON, [`set`]),
//! statistics [`HmmAccs`] (binary, [`acc`]), HTK MMF text ([`htk`]), alignments as Kaldi
//! int-vector tables ([`IntVector`], [`align`]).
//!
//! ```
//! use cepstra_gmm::{DiagGmm, Gmm};
//! use cepstra_hmm::{Hmm, Topology};
//! use ndarray::{array, Array2};
//! let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m]], array![[1.0]]).unwrap());
//! let hmm = Hmm::left_to_right(vec![g(0.0), g(5.0)], Topology::Linear, 0.5, false)?;
//! let x = Array2::from_shape_fn((6, 1), |(t, _)| if t < 3 { 0.0f32 } else { 5.0 });
//! let em = hmm.emissions(x.view())?;
//! let path = hmm.viterbi(&em);
//! assert_eq!(path.states, vec![0, 0, 0, 1, 1, 1]);
//! let (_, forward) = hmm.forward(&em);
//! assert!(path.score <= forward);
//! # Ok::<(), cepstra_hmm::Error>(())
//! ```

// `!(x > 0.0)` is deliberate: it rejects NaN as well as non-positive values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod acc;
mod algo;
mod align;
mod error;
mod exact;
pub mod htk;
mod model;
mod occstats;
mod options;
mod scaled;
pub mod set;
mod stats;
mod train;
mod trainer;

pub use acc::{HmmAccs, HmmClassAcc, HMM_ACC_MAGIC, HMM_ACC_VERSION};
pub use algo::{Emissions, Posteriors, ViterbiPath};
pub use align::IntVector;
pub use error::{AlignmentFault, Error, Result};
pub use exact::ExactHmmStats;
pub use model::{Hmm, Topology};
pub use options::{per_class_refusal, HmmInit, HmmTrainOptions, ScoreMode, TrainMode};
pub use set::{is_hmm_set, HmmClass, HmmSet, HMMSET_FORMAT, HMMSET_VERSION};
pub use stats::{estimate_hmm, HmmEstimateOptions, HmmStats};
pub use train::{equal_segments, flat_start};
pub use trainer::{
    accumulate, accumulate_aligned, accumulate_class, accumulate_class_aligned, align, align_equal,
    durations_tsv, est_hmms, init_hmms, init_hmms_with, train_hmms, train_hmms_with, Alignments,
    UttAlignment,
};

#[cfg(test)]
mod tests;
