//! cepstra-train: the per-class GMM trainer — one Gaussian mixture per class label, trained by EM
//! in parallel across classes, saved as one model set file (Kaldi's `sid/train_diag_ubm.sh`
//! acc → sum → est loop, per class).
//!
//! Principal types and functions:
//! - [`TrainingData`]: features joined with a `text` file (`utt label`), grouped by class, checked
//!   once (unlabelled features, text entries without features, duplicates, dimensions).
//! - [`TrainOptions`]: the GMM engine's [`cepstra_gmm::FitOptions`] with the coursework's
//!   defaults (K=5, full covariance, 5 EM iterations, tol 0, k-means per class, seed 0), plus
//!   `--select-k`/`--criterion`; per-class overrides are [`Overrides`].
//! - [`init_classes`] → [`accumulate`] → [`ClassAccs::merge`] → [`est_classes`]: the distributed
//!   path (`init-classes`, `acc-classes` per job, `est-classes`); [`train_classes`] runs the very
//!   same functions in memory.
//! - [`ModelSet`]: the model set file (JSON, documented in [`modelset`]), with the front-end its
//!   features came from ([`cepstra_feat::FrontEndOptions`], [`ModelSet::check_frontend`]);
//!   [`ClassAccs`]: the per-job statistics file (binary, documented in [`acc`]).
//!
//! **Reproducibility.** Statistics are accumulated per utterance (one
//! [`cepstra_gmm::GmmStats::accumulate`] against that utterance's class model) and summed exactly
//! in fixed point ([`ExactStats`], `i128` of value·2^56), so any split of the utterances into
//! jobs, any order and any number of threads give byte-identical model sets. Model sets are
//! written deterministically and read back bit-exactly.
//!
//! **Bad input.** Text entries without features, features without a label, duplicate ids and
//! mixed dimensions are errors before any training. A class with too few frames for K
//! components (each needs more frames than `--min-gaussian-occupancy`, and a full-covariance one
//! at least D+1: [`frames_per_component`]) falls back to
//! the largest K that fits, with a warning, recorded as `num_gauss` < `num_gauss_requested`; a
//! class that cannot hold even one component is an error naming the class and the numbers.
//! Every file is written atomically: a failure leaves nothing half written.
//!
//! ```
//! use cepstra_train::{accumulate, est_classes, init_classes, train_classes, TrainOptions, TrainingData};
//! use ndarray::Array2;
//! let mut feats = Vec::new();
//! let mut text = Vec::new();
//! for u in 0..6 {
//!     let c = (u % 3) as f32 * 5.0;
//!     let m = Array2::from_shape_fn((30, 2), |(t, j)| c + ((t * 13 + j * 7 + u) % 17) as f32 / 17.0);
//!     feats.push((format!("utt{u}"), m));
//!     text.push((format!("utt{u}"), format!("class{}", u % 3)));
//! }
//! let data = TrainingData::new(feats, &text)?;
//! let mut opts = TrainOptions::default();
//! opts.fit.num_gauss = 2;
//! opts.fit.num_iters = 2;
//! let all_in_one = train_classes(&data, &opts, &Default::default())?;
//! // The distributed path: init, then per pass acc (here in one job) and est.
//! let mut set = init_classes(&data, &opts, &Default::default())?;
//! for _ in 0..2 {
//!     let accs = accumulate(&set, &data)?;
//!     set = est_classes(&set, &accs)?;
//! }
//! assert_eq!(set.to_bytes()?, all_in_one.to_bytes()?);
//! # Ok::<(), cepstra_train::Error>(())
//! ```

pub mod acc;
mod data;
mod error;
pub mod exact;
pub mod modelset;
mod options;
mod train;

pub use acc::{ClassAcc, ClassAccs, ACC_MAGIC, ACC_VERSION};
pub use data::{ClassData, TrainingData, Utterance};
pub use error::{Error, Result};
pub use exact::{ExactAccumulator, ExactStats};
pub use modelset::{
    check_frontend, is_model_set, Candidate, ClassModel, ModelSet, Selection, MODELSET_FORMAT,
    MODELSET_VERSION,
};
pub use options::{
    apply_overrides, default_estimate_options, default_fit_options, frames_per_component,
    max_components, Criterion, Overrides, TrainOptions,
};
pub use train::{
    accumulate, accumulate_utterances, est_classes, est_classes_with, init_classes,
    select_num_gauss, train_classes, ClassOverrides,
};

#[cfg(test)]
mod tests;
