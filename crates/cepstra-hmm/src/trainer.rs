//! The per-class HMM trainer: initialisation, accumulation (one job of a pass), estimation, the
//! all-in-one loop, and alignment. The distributed path (`init-hmms`, `acc-hmms` per job,
//! `est-hmms`) and `train-hmms` call the very same functions, so they write the same bytes.

use cepstra_gmm::{split, CovarianceType, Gmm};
use cepstra_train::{ClassData, ClassOverrides, Overrides, TrainingData, Utterance};
use std::collections::HashMap;

use ndarray::{Array1, Array2, Array3, ArrayView2};
use rayon::prelude::*;

use crate::acc::HmmAccs;
use crate::algo::Posteriors;
use crate::error::{AlignmentFault, Error, Result};
use crate::exact::{ExactHmmStats, HmmAccumulator, Occupancies};
use crate::model::Hmm;
use crate::options::{HmmInit, HmmTrainOptions, TrainMode};
use crate::scaled::Scaled;
use crate::set::{HmmClass, HmmSet};
use crate::stats::{estimate_hmm, HmmEstimateOptions};
use crate::train::{equal_segments, flat_start};

/// Global mean and covariance (f64) of a class's frames.
fn global_stats(class: &ClassData) -> (Array1<f64>, Array2<f64>, f64) {
    let d = class.utts.first().map_or(0, |u| u.feats.ncols());
    let mut n = 0.0;
    let mut sum = Array1::<f64>::zeros(d);
    let mut sq = Array2::<f64>::zeros((d, d));
    for u in &class.utts {
        let x = u.feats.mapv(f64::from);
        n += x.nrows() as f64;
        sum += &x.sum_axis(ndarray::Axis(0));
        sq += &x.t().dot(&x);
    }
    let mean = &sum / n.max(1.0);
    let cov = &sq / n.max(1.0)
        - &(mean.view().insert_axis(ndarray::Axis(1)))
            .dot(&mean.view().insert_axis(ndarray::Axis(0)));
    (mean, cov, n)
}

/// `hmm` with the variances of its diagonal states raised to `rel_var_floor` × the class's
/// global variance (the floor every M-step applies), so the initial model obeys it too.
fn floor_class_vars(hmm: Hmm, global_var: &[f64], opts: &HmmTrainOptions) -> Result<Hmm> {
    if opts.covariance != CovarianceType::Diag || opts.rel_var_floor == 0.0 {
        return Ok(hmm);
    }
    let floor: Vec<f64> = global_var.iter().map(|v| v * opts.rel_var_floor).collect();
    let states = (0..hmm.num_states())
        .map(|j| {
            let g = hmm.state(j);
            let mut covs = g.covars_full();
            for mut c in covs.outer_iter_mut() {
                for (i, f) in floor.iter().enumerate() {
                    c[[i, i]] = c[[i, i]].max(*f);
                }
            }
            Gmm::from_params(
                g.covariance_type(),
                g.weights().to_owned(),
                g.means().to_owned(),
                covs,
            )
        })
        .collect::<cepstra_gmm::Result<Vec<_>>>()?;
    Hmm::new(states, hmm.trans().clone(), hmm.allow_any_end())
}

/// The initial HMM of one class (see [`HmmInit`]) under the set's options `set_opts` with the
/// class's `overrides`; returns it and the ids of the utterances skipped as too short.
fn init_class(
    class: &ClassData,
    set_opts: &HmmTrainOptions,
    overrides: &Overrides,
) -> Result<(HmmClass, Vec<String>)> {
    let label = class.label.as_str();
    let opts = &set_opts.for_class(overrides, label)?;
    let (mean, cov, _) = global_stats(class);
    let global_var: Vec<f64> = cov.diag().to_vec();
    let views: Vec<(String, ArrayView2<'_, f32>)> = class
        .utts
        .iter()
        .map(|u| (u.id.clone(), u.feats.view()))
        .collect();
    let (hmm, skipped) = match opts.init {
        HmmInit::Segment => flat_start(
            &views,
            opts.num_states,
            &opts.fit_options(),
            opts.topology,
            opts.self_loop,
            opts.allow_any_end,
        )
        .map_err(|e| Error::class(label, e))?,
        HmmInit::Global => {
            let d = mean.len();
            let covars = match opts.covariance {
                CovarianceType::Full => cov.clone().into_shape_with_order((1, d, d)),
                CovarianceType::Diag => Array2::from_diag(&Array1::from(global_var.clone()))
                    .into_shape_with_order((1, d, d)),
            }
            .map_err(|e| Error::class(label, e))?;
            let floor = opts.var_floor.max(f64::MIN_POSITIVE);
            let covars = Array3::from_shape_fn((1, d, d), |(_, i, j)| {
                if i == j {
                    covars[[0, i, j]].max(floor)
                } else {
                    covars[[0, i, j]]
                }
            });
            let one = Gmm::from_params(
                opts.covariance,
                Array1::ones(1),
                mean.clone().insert_axis(ndarray::Axis(0)),
                covars,
            )
            .map_err(|e| Error::class(label, e))?;
            let states = (0..opts.num_states)
                .map(|s| {
                    split(
                        &one,
                        opts.initial_num_gauss(),
                        opts.perturb_factor,
                        opts.seed.wrapping_add(s as u64),
                    )
                    .map(|(g, _)| g)
                })
                .collect::<cepstra_gmm::Result<Vec<_>>>()
                .map_err(|e| Error::class(label, e))?;
            let hmm = Hmm::left_to_right(states, opts.topology, opts.self_loop, opts.allow_any_end)
                .map_err(|e| Error::class(label, e))?;
            let need = hmm.min_frames();
            let skipped = views
                .iter()
                .filter(|(_, x)| x.nrows() < need)
                .map(|(id, _)| id.clone())
                .collect();
            (hmm, skipped)
        }
    };
    let hmm = floor_class_vars(hmm, &global_var, opts).map_err(|e| Error::class(label, e))?;
    let used: Vec<_> = class
        .utts
        .iter()
        .filter(|u| !skipped.contains(&u.id))
        .collect();
    Ok((
        HmmClass {
            label: label.to_string(),
            // Recorded under the field names (`num_states`), however they were spelt.
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.replace('-', "_"), v.clone()))
                .collect(),
            num_utts: used.len(),
            num_frames: used.iter().map(|u| u.feats.nrows()).sum(),
            num_skipped: skipped.len(),
            loglikes: Vec::new(),
            global_var,
            hmm,
        },
        skipped,
    ))
}

/// The initial model set: one HMM per class of `data` (see [`HmmInit`]). Utterances too short
/// for the model's path are skipped with a warning naming them.
pub fn init_hmms(data: &TrainingData, opts: &HmmTrainOptions) -> Result<HmmSet> {
    init_hmms_with(data, opts, &ClassOverrides::new())
}

/// [`init_hmms`] with per-class options (`--class-opts`): class label → option overrides (see
/// [`HmmTrainOptions::for_class`]), recorded in each class's record so that the passes
/// ([`est_hmms`]: the mixing-up targets) use them. A label with overrides but no training data
/// is warned about, as the GMM class trainer does.
///
/// ```
/// use cepstra_hmm::{init_hmms_with, HmmTrainOptions};
/// use cepstra_train::{ClassOverrides, TrainingData};
/// use ndarray::Array2;
/// let utt = |u: usize| {
///     Array2::from_shape_fn((24, 1), |(t, _)| (t / 4 + u % 2) as f32 + (t % 3) as f32 / 7.0)
/// };
/// let feats: Vec<_> = (0..6).map(|u| (format!("u{u}"), utt(u))).collect();
/// let text: Vec<_> = (0..6).map(|u| (format!("u{u}"), format!("w{}", u % 2))).collect();
/// let data = TrainingData::new(feats, &text)?;
/// let mut ov = ClassOverrides::new();
/// ov.insert("w1".into(), [("num_states".to_string(), 5.into())].into());
/// let opts = HmmTrainOptions { num_states: 3, num_gauss: 1, ..Default::default() };
/// let set = init_hmms_with(&data, &opts, &ov)?;
/// assert_eq!(set.classes[0].hmm.num_states(), 3);
/// assert_eq!(set.classes[1].hmm.num_states(), 5);
/// assert_eq!(set.class_options(1)?.num_states, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init_hmms_with(
    data: &TrainingData,
    opts: &HmmTrainOptions,
    overrides: &ClassOverrides,
) -> Result<HmmSet> {
    opts.validate()?;
    for label in overrides.keys() {
        if !data.classes().iter().any(|c| &c.label == label) {
            log::warn!("per-class options given for class '{label}', which has no training data");
        }
    }
    let none = Overrides::new();
    let classes = data
        .classes()
        .par_iter()
        .map(|c| init_class(c, opts, overrides.get(&c.label).unwrap_or(&none)))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(classes.len());
    for (c, skipped) in classes {
        for id in &skipped {
            log::warn!(
                "class '{}': utterance '{id}' has fewer frames than the {}-state model's path needs: skipped",
                c.label,
                c.hmm.num_states()
            );
        }
        out.push(c);
    }
    HmmSet::new(opts.clone(), out)
}

/// Adds the statistics of one utterance under `hmm` to `acc`; false when no path explains it.
/// Baum-Welch takes the scaled forward-backward ([`Scaled`]) unless it cannot be trusted for
/// this utterance; Viterbi training and that case the log-domain algorithms.
fn add_utterance(
    acc: &mut HmmAccumulator,
    work: &mut Scaled,
    hmm: &Hmm,
    feats: ArrayView2<'_, f32>,
    mode: TrainMode,
    label: &str,
) -> Result<bool> {
    let what = |e: Error| Error::class(label, e);
    if mode == TrainMode::BaumWelch && work.posteriors(hmm, feats).map_err(what)? {
        let k = hmm.stacked.num_gauss();
        let comp = ArrayView2::from_shape((feats.nrows(), k), &work.p[..feats.nrows() * k])
            .map_err(|e| Error::class(label, e.to_string()))?;
        let occ = Occupancies {
            comp,
            state_frames: &work.state_frames,
            trans: &work.trans,
            total: work.total,
        };
        acc.add_occupancies(hmm, feats, &occ, label)?;
        return Ok(true);
    }
    let em = hmm.emissions(feats).map_err(what)?;
    let post = match mode {
        TrainMode::BaumWelch => hmm.posteriors(&em),
        TrainMode::Viterbi => hmm.viterbi_posteriors(&em),
    };
    let Some(post) = post else {
        return Ok(false);
    };
    add_posteriors(acc, hmm, feats, &post, label)?;
    Ok(true)
}

/// Adds one utterance's log-domain [`Posteriors`] to `acc`.
fn add_posteriors(
    acc: &mut HmmAccumulator,
    hmm: &Hmm,
    feats: ArrayView2<'_, f32>,
    post: &Posteriors,
    label: &str,
) -> Result<()> {
    let state_frames: Vec<f64> = post
        .state_occ
        .columns()
        .into_iter()
        .map(|c| c.sum())
        .collect();
    let trans: Vec<f64> = post.trans_counts.iter().copied().collect();
    let occ = Occupancies {
        comp: post.comp_occ.view(),
        state_frames: &state_frames,
        trans: &trans,
        total: post.total,
    };
    acc.add_occupancies(hmm, feats, &occ, label)
}

/// Exact statistics of one class's utterances (one job of a pass for that class): per utterance
/// forward-backward (or Viterbi) against the class's HMM, summed in fixed point, so the result
/// does not depend on threads or grouping. Utterances no path explains are skipped with a
/// warning naming them.
pub fn accumulate_class(hmm: &Hmm, class: &ClassData, mode: TrainMode) -> Result<ExactHmmStats> {
    let label = class.label.as_str();
    fold_utterances(hmm, class, |acc, work, u| {
        if !add_utterance(acc, work, hmm, u.feats.view(), mode, label)? {
            log::warn!(
                "class '{label}': utterance '{}' ({} frames) is shorter than the model's shortest path ({} frames): skipped",
                u.id,
                u.feats.nrows(),
                hmm.min_frames()
            );
            acc.skip();
        }
        Ok(())
    })
}

/// One class's utterances in parallel, each added by `add` to its worker's accumulator (with
/// that worker's scaled forward-backward buffers), the workers' exact sums then merged: the
/// result does not depend on threads or grouping.
fn fold_utterances(
    hmm: &Hmm,
    class: &ClassData,
    add: impl Fn(&mut HmmAccumulator, &mut Scaled, &Utterance) -> Result<()> + Sync,
) -> Result<ExactHmmStats> {
    let label = class.label.as_str();
    let zero = || ExactHmmStats::for_model(hmm);
    class
        .utts
        .par_iter()
        .with_min_len(4)
        .try_fold(
            || (HmmAccumulator::for_model(hmm), Scaled::default()),
            |(mut acc, mut work), u| -> Result<(HmmAccumulator, Scaled)> {
                add(&mut acc, &mut work, u)?;
                Ok((acc, work))
            },
        )
        .map(|acc| acc.and_then(|(a, _)| a.finish(label)))
        .try_reduce(zero, |mut a, b| {
            a.merge(&b, label)?;
            Ok(a)
        })
}

/// The statistics of every class of `data` under its model in `set`, made by `per_class`
/// (classes in parallel; each class's utterances are too, inside it), added to `accs`: the
/// sums are exact, so the result does not depend on the schedule.
fn accumulate_classes(
    mut accs: HmmAccs,
    set: &HmmSet,
    data: &TrainingData,
    per_class: impl Fn(&Hmm, &ClassData) -> Result<ExactHmmStats> + Sync,
) -> Result<HmmAccs> {
    let per_class = data
        .classes()
        .par_iter()
        .map(|class| -> Result<(usize, ExactHmmStats)> {
            let i = set.index_of(&class.label).ok_or_else(|| {
                Error::class(
                    &class.label,
                    "is in the text file but not in the model set: train with the same labels",
                )
            })?;
            Ok((i, per_class(&set.classes[i].hmm, class)?))
        })
        .collect::<Result<Vec<_>>>()?;
    for (i, st) in per_class {
        let label = accs.classes[i].label.clone();
        accs.classes[i].stats.merge(&st, &label)?;
    }
    Ok(accs)
}

/// The statistics of every class of `set` over `data` (`acc-hmms`: one job of a pass).
pub fn accumulate(set: &HmmSet, data: &TrainingData, mode: TrainMode) -> Result<HmmAccs> {
    accumulate_into(HmmAccs::for_set(set, mode)?, set, data, mode)
}

/// [`accumulate`] into `accs` (zero statistics shaped for `set`). [`train_hmms_with`] passes
/// statistics without the set's fingerprint: they never leave the process, and the fingerprint
/// (a hash of the whole set's JSON text) would cost a serialisation of every model per pass.
fn accumulate_into(
    accs: HmmAccs,
    set: &HmmSet,
    data: &TrainingData,
    mode: TrainMode,
) -> Result<HmmAccs> {
    accumulate_classes(accs, set, data, |hmm, class| {
        accumulate_class(hmm, class, mode)
    })
}

/// The state sequences of [`accumulate_aligned`]: utterance id → the 0-based emitting state of
/// each frame, as Kaldi's int-vector alignment tables hold them ([`crate::IntVector`]).
pub type Alignments = HashMap<String, Vec<i32>>;

/// Exact statistics of one class's utterances along given alignments (one job of a pass for
/// that class, Kaldi's `gmm-acc-stats-ali`): per utterance [`Hmm::path_posteriors`] of its
/// state sequence in `alignments`, summed in fixed point. An utterance without an alignment is
/// skipped with a warning naming it and counted as skipped (Kaldi warns and skips); an
/// alignment that does not fit the utterance or the model is an [`Error::Alignment`] naming it.
pub fn accumulate_class_aligned(
    hmm: &Hmm,
    class: &ClassData,
    alignments: &Alignments,
) -> Result<ExactHmmStats> {
    let label = class.label.as_str();
    let fault = |utt: &str, fault: AlignmentFault| Error::Alignment {
        class: label.to_string(),
        utt: utt.to_string(),
        fault,
    };
    fold_utterances(hmm, class, |acc, _, u| {
        let Some(ali) = alignments.get(&u.id) else {
            log::warn!(
                "class '{label}': utterance '{}' has no alignment: skipped",
                u.id
            );
            acc.skip();
            return Ok(());
        };
        let frames = u.feats.nrows();
        if ali.len() != frames {
            let got = ali.len();
            return Err(fault(&u.id, AlignmentFault::Length { frames, got }));
        }
        let states = ali
            .iter()
            .enumerate()
            .map(|(frame, &j)| {
                usize::try_from(j).map_err(|_| AlignmentFault::StateOutOfRange {
                    frame,
                    state: i64::from(j),
                    num_states: hmm.num_states(),
                })
            })
            .collect::<std::result::Result<Vec<usize>, _>>()
            .map_err(|f| fault(&u.id, f))?;
        let em = hmm
            .emissions(u.feats.view())
            .map_err(|e| Error::class(label, format!("utterance '{}': {e}", u.id)))?;
        let post = hmm
            .path_posteriors(&em, &states)
            .map_err(|f| fault(&u.id, f))?;
        add_posteriors(acc, hmm, u.feats.view(), &post, label)
    })
}

/// The statistics of every class of `set` over `data` along the given `alignments`
/// (`acc-hmms --alignments`: one job of a Viterbi pass that does not realign, Kaldi's
/// `gmm-acc-stats-ali`). The statistics are Viterbi training's ([`TrainMode::Viterbi`]):
/// for alignments that are the best paths under `set` ([`align`]) they are the bytes
/// [`accumulate`] gives in that mode. See [`accumulate_class_aligned`] for missing and bad
/// alignments.
///
/// ```
/// use cepstra_hmm::{accumulate, accumulate_aligned, align, init_hmms, Alignments, HmmTrainOptions, TrainMode};
/// use cepstra_train::TrainingData;
/// use ndarray::Array2;
/// let utt = |u: usize| Array2::from_shape_fn((12 + u, 1), |(t, _)| (t / 4) as f32 + (u % 3) as f32 / 5.0);
/// let feats: Vec<_> = (0..4).map(|u| (format!("u{u}"), utt(u))).collect();
/// let text: Vec<_> = (0..4).map(|u| (format!("u{u}"), "w".to_string())).collect();
/// let data = TrainingData::new(feats, &text)?;
/// let opts = HmmTrainOptions { num_states: 3, num_gauss: 1, ..Default::default() };
/// let set = init_hmms(&data, &opts)?;
/// let alis: Alignments = align(&set, &data)?
///     .into_iter()
///     .map(|a| (a.utt, a.states.iter().map(|&s| s as i32).collect()))
///     .collect();
/// let aligned = accumulate_aligned(&set, &data, &alis)?;
/// assert_eq!(aligned.to_bytes(), accumulate(&set, &data, TrainMode::Viterbi)?.to_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accumulate_aligned(
    set: &HmmSet,
    data: &TrainingData,
    alignments: &Alignments,
) -> Result<HmmAccs> {
    accumulate_classes(
        HmmAccs::for_set(set, TrainMode::Viterbi)?,
        set,
        data,
        |hmm, class| accumulate_class_aligned(hmm, class, alignments),
    )
}

/// Re-estimates every class of `set` from the summed statistics `accs` (`est-hmms`). `mix_up`:
/// Gaussians per state to mix up to; `None` follows the recorded `--mix-up-at` schedule for
/// this pass. A class without statistics keeps its model (warned); a state without frames keeps
/// its parameters (warned, naming class and state).
pub fn est_hmms(set: &HmmSet, accs: &HmmAccs, mix_up: Option<usize>) -> Result<HmmSet> {
    let pass = set.iteration + 1;
    if accs.classes.len() != set.classes.len() {
        return Err(Error::InvalidModel(format!(
            "statistics of {} classes for a model set of {}",
            accs.classes.len(),
            set.classes.len()
        )));
    }
    let classes = set
        .classes
        .par_iter()
        .zip(&accs.classes)
        .map(|(c, a)| -> Result<HmmClass> {
            let label = c.label.as_str();
            // The class's own options: its Gaussians per state set its mixing-up targets.
            let opts = &set.options.for_class(&c.overrides, label)?;
            let target = mix_up.or_else(|| opts.mix_up_target(pass)).unwrap_or(0);
            if a.label != c.label {
                return Err(Error::class(
                    label,
                    format!("statistics of class '{}'", a.label),
                ));
            }
            let mut next = c.clone();
            if a.stats.num_utts() == 0 {
                log::warn!("class '{label}': no utterances in this pass: model kept");
                return Ok(next);
            }
            let stats = a.stats.to_stats().map_err(|e| Error::class(label, e))?;
            let mut gmm = opts.estimate_options(target);
            gmm.mix_up_seed = opts
                .seed
                .wrapping_add(cepstra_train::modelset::fnv1a(label.as_bytes()))
                .wrapping_add((pass as u64).wrapping_mul(1_000_003));
            let hopts = HmmEstimateOptions {
                gmm,
                trans_floor: opts.trans_floor,
                var_floor_per_dim: (opts.covariance == CovarianceType::Diag
                    && opts.rel_var_floor > 0.0)
                    .then(|| {
                        c.global_var
                            .iter()
                            .map(|v| v * opts.rel_var_floor)
                            .collect()
                    }),
                resplit_removed: true,
            };
            let (hmm, warnings) =
                estimate_hmm(&c.hmm, &stats, &hopts).map_err(|e| Error::class(label, e))?;
            for w in warnings {
                log::warn!("class '{label}': {w}");
            }
            next.hmm = hmm;
            next.loglikes
                .push(stats.total_loglike / stats.num_frames.max(1.0));
            next.num_utts = a.stats.num_utts() as usize;
            next.num_frames = stats.num_frames.round() as usize;
            next.num_skipped = a.stats.num_skipped() as usize;
            Ok(next)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(HmmSet {
        options: set.options.clone(),
        iteration: pass,
        classes,
        frontend: set.frontend.clone(),
    })
}

/// Trains one HMM per class of `data` in one process: [`init_hmms`], then `num_iters` passes of
/// [`accumulate`] and [`est_hmms`] (the same bytes as the distributed path).
///
/// ```
/// use cepstra_hmm::{accumulate, est_hmms, init_hmms, train_hmms, HmmTrainOptions};
/// use cepstra_train::TrainingData;
/// use ndarray::Array2;
/// let mut feats = Vec::new();
/// let mut text = Vec::new();
/// for u in 0..8 {
///     let x = Array2::from_shape_fn((20 + u, 2), |(t, j)| {
///         (t * 3 / (20 + u)) as f32 * (1.0 + (u % 2) as f32) + ((t * 7 + j * 5 + u) % 11) as f32 / 11.0
///     });
///     feats.push((format!("u{u}"), x));
///     text.push((format!("u{u}"), format!("w{}", u % 2)));
/// }
/// let data = TrainingData::new(feats, &text)?;
/// let opts = HmmTrainOptions { num_states: 3, num_gauss: 1, num_iters: 2, ..Default::default() };
/// let all_in_one = train_hmms(&data, &opts)?;
/// let mut set = init_hmms(&data, &opts)?;
/// for _ in 0..2 {
///     let accs = accumulate(&set, &data, opts.mode)?;
///     set = est_hmms(&set, &accs, None)?;
/// }
/// assert_eq!(set.to_bytes()?, all_in_one.to_bytes()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn train_hmms(data: &TrainingData, opts: &HmmTrainOptions) -> Result<HmmSet> {
    train_hmms_with(data, opts, &ClassOverrides::new())
}

/// [`train_hmms`] with per-class options (see [`init_hmms_with`]): the same bytes as
/// [`init_hmms_with`] followed by the passes of [`accumulate`] and [`est_hmms`].
pub fn train_hmms_with(
    data: &TrainingData,
    opts: &HmmTrainOptions,
    overrides: &ClassOverrides,
) -> Result<HmmSet> {
    let mut set = init_hmms_with(data, opts, overrides)?;
    for _ in 0..opts.num_iters {
        let accs = accumulate_into(
            HmmAccs::for_set_unsigned(&set, opts.mode),
            &set,
            data,
            opts.mode,
        )?;
        set = est_hmms(&set, &accs, None)?;
        for c in &set.classes {
            log::debug!(
                "pass {}: class '{}': average log-likelihood per frame {:.4}",
                set.iteration,
                c.label,
                c.loglikes.last().copied().unwrap_or(f64::NAN)
            );
        }
    }
    Ok(set)
}

/// The Viterbi alignment of one utterance against the HMM of its class.
#[derive(Debug, Clone, PartialEq)]
pub struct UttAlignment {
    /// Utterance id.
    pub utt: String,
    /// Class label.
    pub label: String,
    /// 0-based state of each frame (empty: too short for the model).
    pub states: Vec<usize>,
    /// ln p(X, best path) (−∞ when too short).
    pub score: f64,
}

impl UttAlignment {
    /// Frames spent in each of `num_states` states.
    pub fn durations(&self, num_states: usize) -> Vec<usize> {
        let mut d = vec![0; num_states];
        for &s in &self.states {
            d[s] += 1;
        }
        d
    }
}

/// Aligns every utterance of `data` against the HMM of its class (`align-hmms`), in C-locale
/// order of utterance ids.
pub fn align(set: &HmmSet, data: &TrainingData) -> Result<Vec<UttAlignment>> {
    let mut out = Vec::with_capacity(data.num_utts());
    for class in data.classes() {
        let i = set.index_of(&class.label).ok_or_else(|| {
            Error::class(&class.label, "is in the text file but not in the model set")
        })?;
        let hmm = &set.classes[i].hmm;
        let part = class
            .utts
            .par_iter()
            .map(|u| -> Result<UttAlignment> {
                let em = hmm.emissions(u.feats.view()).map_err(|e| Error::Class {
                    class: class.label.clone(),
                    reason: format!("utterance '{}': {e}", u.id),
                })?;
                let p = hmm.viterbi(&em);
                Ok(UttAlignment {
                    utt: u.id.clone(),
                    label: class.label.clone(),
                    states: p.states,
                    score: p.score,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.extend(part);
    }
    out.sort_by(|a, b| a.utt.cmp(&b.utt));
    Ok(out)
}

/// The equal alignment of every utterance of `data` (`align-hmms --equal`, Kaldi's
/// `align-equal`): each utterance cut into as many equal segments as its class's HMM has
/// states, frame t → state ⌊t·S/T⌋ ([`equal_segments`], the flat start's segmentation); the
/// alignment of pass 0 in a Viterbi schedule that realigns only on some passes. No emissions
/// are computed: `score` is NaN. An utterance with fewer frames than states gets an empty
/// alignment (its caller warns and leaves it out). C-locale order of utterance ids.
///
/// ```
/// use cepstra_hmm::{align_equal, init_hmms, HmmTrainOptions};
/// use cepstra_train::TrainingData;
/// use ndarray::Array2;
/// let x = |t: usize| Array2::from_shape_fn((t, 1), |(i, _)| (i * 3 / t) as f32 + (i % 4) as f32 / 9.0);
/// let feats = vec![("a".to_string(), x(7)), ("b".to_string(), x(2)), ("c".to_string(), x(30))];
/// let text: Vec<_> = ["a", "b", "c"].iter().map(|u| (u.to_string(), "w".to_string())).collect();
/// let data = TrainingData::new(feats, &text)?;
/// let opts = HmmTrainOptions { num_states: 3, num_gauss: 1, ..Default::default() };
/// let alis = align_equal(&init_hmms(&data, &opts)?, &data)?;
/// assert_eq!(alis[0].states, vec![0, 0, 0, 1, 1, 2, 2]);
/// assert!(alis[1].states.is_empty()); // 2 frames for 3 states
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn align_equal(set: &HmmSet, data: &TrainingData) -> Result<Vec<UttAlignment>> {
    let mut out = Vec::with_capacity(data.num_utts());
    for class in data.classes() {
        let i = set.index_of(&class.label).ok_or_else(|| {
            Error::class(&class.label, "is in the text file but not in the model set")
        })?;
        let s = set.classes[i].hmm.num_states();
        out.extend(class.utts.iter().map(|u| {
            let t = u.feats.nrows();
            UttAlignment {
                utt: u.id.clone(),
                label: class.label.clone(),
                states: if t < s {
                    Vec::new()
                } else {
                    equal_segments(t, s)
                },
                score: f64::NAN,
            }
        }));
    }
    out.sort_by(|a, b| a.utt.cmp(&b.utt));
    Ok(out)
}

/// Per-state duration statistics of alignments as TSV: `class state utterances mean min max`
/// (frames; utterances that could not be aligned are left out), classes in the set's order.
pub fn durations_tsv(set: &HmmSet, alis: &[UttAlignment]) -> String {
    let mut out = String::from("class\tstate\tutterances\tmean_frames\tmin_frames\tmax_frames\n");
    for c in &set.classes {
        let s = c.hmm.num_states();
        let durs: Vec<Vec<usize>> = alis
            .iter()
            .filter(|a| a.label == c.label && !a.states.is_empty())
            .map(|a| a.durations(s))
            .collect();
        for j in 0..s {
            let v: Vec<usize> = durs.iter().map(|d| d[j]).collect();
            let mean = v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
            out.push_str(&format!(
                "{}\t{}\t{}\t{mean:.3}\t{}\t{}\n",
                c.label,
                j + 1,
                v.len(),
                v.iter().min().copied().unwrap_or(0),
                v.iter().max().copied().unwrap_or(0)
            ));
        }
    }
    out
}
