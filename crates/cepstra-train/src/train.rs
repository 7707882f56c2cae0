//! Per-class training: initialisation, accumulation, estimation, the all-in-one loop and model
//! selection.

use std::collections::BTreeMap;

use cepstra_gmm::{estimate, init_gmm, FitOptions, Gmm, GmmStats, Prepared};
use rayon::prelude::*;

use crate::acc::{ClassAcc, ClassAccs};
use crate::data::{concat, ClassData, TrainingData, Utterance};
use crate::error::{Error, Result};
use crate::exact::{ExactAccumulator, ExactStats};
use crate::modelset::{Candidate, ClassModel, ModelSet, Selection};
use crate::options::{
    apply_overrides, frames_per_component, max_components, Criterion, Overrides, TrainOptions,
};

/// Per-class option overrides: class label → overrides (see [`Overrides`]).
pub type ClassOverrides = BTreeMap<String, Overrides>;

/// Exact statistics of `utts` under `model`: one [`GmmStats::accumulate`] per utterance (through
/// the model prepared once, [`Prepared`]: the same bits), summed in fixed point (so the result
/// does not depend on threads or grouping).
pub fn accumulate_utterances(model: &Gmm, utts: &[&Utterance], label: &str) -> Result<ExactStats> {
    let prep = Prepared::<f32>::new(model);
    let zero = || ExactAccumulator::for_model(model);
    let stats_error = |reason| Error::Statistics {
        class: label.to_string(),
        reason,
    };
    utts.par_iter()
        .with_min_len(4)
        .try_fold(zero, |mut acc, u| -> Result<ExactAccumulator> {
            let mut st = GmmStats::for_model(model);
            prep.accumulate(&mut st, u.feats.view(), None)
                .map_err(|e| Error::class(label, e))?;
            acc.add(&st).map_err(|reason| Error::Statistics {
                class: label.to_string(),
                reason: format!("utterance '{}': {reason}", u.id),
            })?;
            Ok(acc)
        })
        .try_reduce(zero, |mut a, b| {
            a.merge(b).map_err(stats_error)?;
            Ok(a)
        })?
        .finish()
        .map_err(stats_error)
}

/// One EM update of a class from its statistics: records the average log-likelihood, applies
/// `tol`, returns the new model.
fn update_class(
    model: &Gmm,
    stats: &GmmStats,
    opts: &FitOptions,
    loglikes: &mut Vec<f64>,
    converged: &mut bool,
    label: &str,
) -> Result<Gmm> {
    let ll = stats.avg_loglike();
    let (next, _report) =
        estimate(stats, model, &opts.estimate).map_err(|e| Error::class(label, e))?;
    log::info!(
        "class '{label}': average log-likelihood {ll:.6} over {} frames before update {}",
        stats.num_frames(),
        loglikes.len() + 1
    );
    if let Some(&prev) = loglikes.last() {
        if (ll - prev).abs() < opts.tol {
            *converged = true;
            log::info!(
                "class '{label}': converged (|Δ| = {:e} < tol {})",
                (ll - prev).abs(),
                opts.tol
            );
        }
    }
    loglikes.push(ll);
    Ok(next)
}

/// The initial model of one class with `fit` (falls back to fewer components when the class has
/// too few frames; returns the model and the number of components asked for).
fn init_class(class_frames: &ndarray::Array2<f32>, fit: &FitOptions, label: &str) -> Result<Gmm> {
    init_gmm(class_frames.view(), fit, fit.seed).map_err(|e| Error::class(label, e))
}

/// `fit.num_gauss` limited to what `frames` frames support (warns when lowered; error when not
/// even one component fits).
fn fitting_num_gauss(fit: &FitOptions, frames: usize, dim: usize, label: &str) -> Result<usize> {
    let max = max_components(frames, dim, fit);
    if max == 0 {
        return Err(Error::TooFewFrames {
            class: label.to_string(),
            frames,
            dim,
            covariance: match fit.covariance {
                cepstra_gmm::CovarianceType::Full => "full",
                cepstra_gmm::CovarianceType::Diag => "diag",
            },
            needed: frames_per_component(dim, fit),
        });
    }
    if fit.num_gauss > max {
        log::warn!(
            "class '{label}': {frames} frames are too few for {} components of dimension {dim} \
             ({} frames each); using {max}",
            fit.num_gauss,
            frames_per_component(dim, fit)
        );
        return Ok(max);
    }
    Ok(fit.num_gauss)
}

/// Trains one model on `utts` from scratch (initialisation + `fit.num_iters` EM passes with
/// exact per-utterance accumulation), as the whole trainer does for a class.
fn train_single(utts: &[&Utterance], fit: &FitOptions, label: &str) -> Result<Gmm> {
    let frames = concat(utts.iter().copied());
    let mut model = init_class(&frames, fit, label)?;
    let (mut lls, mut conv) = (Vec::new(), false);
    for _ in 0..fit.num_iters {
        if conv {
            break;
        }
        let st = accumulate_utterances(&model, utts, label)?
            .to_stats()
            .map_err(|e| Error::class(label, e))?;
        model = update_class(&model, &st, fit, &mut lls, &mut conv, label)?;
    }
    Ok(model)
}

/// Chooses the number of components of one class among `candidates` (see [`Criterion`]).
pub fn select_num_gauss(
    class: &ClassData,
    fit: &FitOptions,
    candidates: &[usize],
    criterion: Criterion,
) -> Result<Selection> {
    let label = class.label.as_str();
    let dim = class.utts.first().map_or(0, |u| u.feats.ncols());
    let all: Vec<&Utterance> = class.utts.iter().collect();
    let (train, held): (Vec<&Utterance>, Vec<&Utterance>) = match criterion {
        Criterion::Bic => (all.clone(), Vec::new()),
        Criterion::Heldout => {
            if all.len() < 2 {
                return Err(Error::HeldoutTooFewUtterances {
                    class: label.to_string(),
                    utts: all.len(),
                });
            }
            let fifth = |i: usize| {
                if all.len() >= 5 {
                    i % 5 == 4
                } else {
                    i + 1 == all.len()
                }
            };
            let train = all
                .iter()
                .enumerate()
                .filter(|(i, _)| !fifth(*i))
                .map(|(_, u)| *u)
                .collect();
            let held = all
                .iter()
                .enumerate()
                .filter(|(i, _)| fifth(*i))
                .map(|(_, u)| *u)
                .collect();
            (train, held)
        }
    };
    let train_frames: usize = train.iter().map(|u| u.feats.nrows()).sum();
    let max = max_components(train_frames, dim, fit);
    let mut out = Vec::with_capacity(candidates.len());
    let mut best: Option<(f64, usize)> = None;
    for &k in candidates {
        if k > max {
            out.push(Candidate {
                num_gauss: k,
                score: None,
                note: Some(format!(
                    "{train_frames} training frames support at most {max} components"
                )),
            });
            continue;
        }
        let fk = FitOptions {
            num_gauss: k,
            ..fit.clone()
        };
        let model = train_single(&train, &fk, label)?;
        let num_params = model.num_params();
        let model = model.prepare();
        let score = match criterion {
            Criterion::Bic => {
                let mut total = 0.0;
                for u in &train {
                    total += model
                        .score(u.feats.view())
                        .map_err(|e| Error::class(label, e))?
                        .total;
                }
                -2.0 * total + num_params as f64 * (train_frames as f64).ln()
            }
            Criterion::Heldout => {
                let (mut total, mut n) = (0.0, 0usize);
                for u in &held {
                    let s = model
                        .score(u.feats.view())
                        .map_err(|e| Error::class(label, e))?;
                    total += s.total;
                    n += s.num_frames;
                }
                total / n.max(1) as f64
            }
        };
        log::info!("class '{label}': K={k} {criterion} {score}");
        let better = |s: f64, b: f64| match criterion {
            Criterion::Bic => s < b,
            Criterion::Heldout => s > b,
        };
        let replace = match best {
            None => true,
            Some((b, bk)) => better(score, b) || (score == b && k < bk),
        };
        if score.is_finite() && replace {
            best = Some((score, k));
        }
        out.push(Candidate {
            num_gauss: k,
            score: score.is_finite().then_some(score),
            note: None,
        });
    }
    let Some((_, chosen)) = best else {
        return Err(Error::NoCandidate {
            class: label.to_string(),
            frames: train_frames,
            max,
        });
    };
    log::info!("class '{label}': chose K={chosen} by {criterion}");
    Ok(Selection {
        criterion,
        candidates: out,
        chosen,
    })
}

/// `--n-init` > 1: trains the class from seeds seed, seed+1, … (full EM each) and returns the
/// seed whose model has the best average log-likelihood on the class's frames.
fn best_init_seed(class: &ClassData, fit: &FitOptions) -> Result<u64> {
    let utts: Vec<&Utterance> = class.utts.iter().collect();
    let mut best: Option<(f64, u64)> = None;
    for i in 0..fit.n_init {
        let seed = fit.seed.wrapping_add(i as u64);
        let f = FitOptions {
            seed,
            n_init: 1,
            ..fit.clone()
        };
        let model = train_single(&utts, &f, &class.label)?;
        let st = accumulate_utterances(&model, &utts, &class.label)?;
        let ll = st.total_loglike() / st.num_frames().max(1.0);
        log::info!(
            "class '{}': initialisation seed {seed}: average log-likelihood {ll:.6}",
            class.label
        );
        if best.is_none_or(|(b, _)| ll > b) {
            best = Some((ll, seed));
        }
    }
    Ok(best.map_or(fit.seed, |(_, s)| s))
}

/// Reads a model set back from its own bytes, so that the in-memory model set is exactly what a
/// later process reading the file sees.
fn canonical(set: ModelSet) -> Result<ModelSet> {
    ModelSet::from_bytes(&set.to_bytes()?, "model set (in memory)")
}

/// `init-classes`: one initial GMM per class (k-means on that class's frames by default, with
/// `opts.fit.seed`), classes in parallel. With `opts.select_k`, each class's K is chosen first.
/// With `n_init` > 1, each class is trained from `n_init` seeds and the initialisation with the
/// best final log-likelihood is kept (its seed recorded as a per-class override).
/// A class with too few frames for K components gets the largest K that fits (logged, and
/// recorded as `num_gauss` < `num_gauss_requested`).
pub fn init_classes(
    data: &TrainingData,
    opts: &TrainOptions,
    overrides: &ClassOverrides,
) -> Result<ModelSet> {
    opts.validate()?;
    let dim = match data.dim() {
        Some(d) if !data.is_empty() => d,
        _ => {
            return Err(Error::NoTrainingData(
                "no labelled utterance with features (check the features and the text file)".into(),
            ))
        }
    };
    for label in overrides.keys() {
        if !data.classes().iter().any(|c| &c.label == label) {
            log::warn!("per-class options given for class '{label}', which has no training data");
        }
    }
    let classes: Vec<ClassModel> = data
        .classes()
        .par_iter()
        .map(|class| -> Result<ClassModel> {
            let label = class.label.as_str();
            let ov = overrides.get(label).cloned().unwrap_or_default();
            let mut fit = apply_overrides(&opts.fit, &ov, label)?;
            let frames = class.num_frames();
            if frames == 0 {
                return Err(Error::EmptyClass {
                    class: label.to_string(),
                    utts: class.utts.len(),
                });
            }
            let selection = if opts.select_k.is_empty() {
                None
            } else {
                let s = select_num_gauss(class, &fit, &opts.select_k, opts.criterion)?;
                fit.num_gauss = s.chosen;
                Some(s)
            };
            let requested = fit.num_gauss;
            fit.num_gauss = fitting_num_gauss(&fit, frames, dim, label)?;
            let mut ov = ov;
            if fit.n_init > 1 {
                let seed = best_init_seed(class, &fit)?;
                if seed != fit.seed {
                    ov.insert("seed".into(), seed.into());
                    fit.seed = seed;
                }
            }
            let model = init_class(&class.frames(), &fit, label)?;
            Ok(ClassModel {
                label: label.to_string(),
                num_utts: class.utts.len(),
                num_frames: frames,
                num_gauss_requested: requested,
                loglikes: Vec::new(),
                converged: false,
                overrides: ov,
                selection,
                model,
            })
        })
        .collect::<Result<_>>()?;
    canonical(ModelSet::new(opts.clone(), classes)?)
}

/// `acc-classes`: the statistics of every class of `models` over `data` (any subset of the
/// training utterances). Converged classes are skipped. Fails on a label without a model
/// ([`Error::UnknownClass`]) or a dimension mismatch.
pub fn accumulate(models: &ModelSet, data: &TrainingData) -> Result<ClassAccs> {
    accumulate_fp(models, models.fingerprint()?, data)
}

fn accumulate_fp(models: &ModelSet, fingerprint: u64, data: &TrainingData) -> Result<ClassAccs> {
    let mut accs = ClassAccs::for_model_set_fp(models, fingerprint);
    if let Some(d) = data.dim() {
        if d != models.dim() {
            let utt = data.classes()[0].utts[0].id.clone();
            return Err(Error::FeatureDimension {
                utt,
                expected: models.dim(),
                got: d,
                context: "the dimension of the model set",
            });
        }
    }
    let mut jobs = Vec::with_capacity(data.classes().len());
    for class in data.classes() {
        let Some(i) = models.index_of(&class.label) else {
            return Err(Error::UnknownClass {
                class: class.label.clone(),
                utt: class.utts[0].id.clone(),
                known: models.labels().collect::<Vec<_>>().join(" "),
            });
        };
        if !models.classes[i].converged {
            jobs.push((i, class));
        }
    }
    let results: Vec<(usize, ExactStats)> = jobs
        .par_iter()
        .map(|&(i, class)| {
            let utts: Vec<&Utterance> = class.utts.iter().collect();
            accumulate_utterances(&models.classes[i].model, &utts, &class.label).map(|s| (i, s))
        })
        .collect::<Result<_>>()?;
    for (i, s) in results {
        accs.classes[i] = ClassAcc {
            label: models.classes[i].label.clone(),
            skipped: false,
            stats: s,
        };
    }
    Ok(accs)
}

/// `est-classes`: one EM update of every class from the summed statistics (Kaldi's
/// `gmm-global-est` per class). Converged classes are kept as they are. Checks that the
/// statistics belong to `models` and cover exactly the utterances and frames each class was
/// initialised with.
pub fn est_classes(models: &ModelSet, accs: &ClassAccs) -> Result<ModelSet> {
    est_classes_with(models, accs, &Overrides::new())
}

/// [`est_classes`] with option overrides (e.g. `est-classes --reg-covar=1e-3`): applied to the
/// model set's options after checking the statistics, used for this update and recorded.
pub fn est_classes_with(
    models: &ModelSet,
    accs: &ClassAccs,
    overrides: &Overrides,
) -> Result<ModelSet> {
    let next = est_raw(models, models.fingerprint()?, accs, overrides)?;
    canonical(next)
}

/// [`est_classes_with`] given the model set's fingerprint, without the canonical round trip.
fn est_raw(
    models: &ModelSet,
    fingerprint: u64,
    accs: &ClassAccs,
    overrides: &Overrides,
) -> Result<ModelSet> {
    accs.check_fingerprint(fingerprint, models.iteration, "the summed statistics")?;
    let mut options = models.options.clone();
    options.fit = apply_overrides(&options.fit, overrides, "(all classes)")?;
    options.validate()?;
    let updated;
    let models = if options == models.options {
        models
    } else {
        updated = ModelSet {
            options: options.clone(),
            ..models.clone()
        };
        &updated
    };
    if accs.classes.len() != models.classes.len() {
        return Err(Error::AccMismatch {
            what: "the summed statistics".into(),
            reason: format!(
                "{} classes for a model set of {}",
                accs.classes.len(),
                models.classes.len()
            ),
        });
    }
    let classes: Vec<ClassModel> = models
        .classes
        .par_iter()
        .zip(&accs.classes)
        .enumerate()
        .map(|(i, (c, a))| -> Result<ClassModel> {
            let mut c = c.clone();
            if c.converged {
                return Ok(c);
            }
            let st = &a.stats;
            if st.num_utts() == 0 {
                return Err(Error::NoStatistics {
                    class: c.label.clone(),
                });
            }
            let frames = st.num_frames().round();
            if st.num_utts() != c.num_utts as u64 || frames != c.num_frames as f64 {
                return Err(Error::AccMismatch {
                    what: format!("class '{}'", c.label),
                    reason: format!(
                        "the statistics cover {} utterances and {frames} frames, but the class was \
                         initialised on {} utterances and {} frames: pass the statistics of every \
                         job (and only those) of this pass",
                        st.num_utts(),
                        c.num_utts,
                        c.num_frames
                    ),
                });
            }
            let fit = models.class_options(i)?;
            let stats = st.to_stats().map_err(|e| Error::class(&c.label, e))?;
            c.model = update_class(
                &c.model,
                &stats,
                &fit,
                &mut c.loglikes,
                &mut c.converged,
                &c.label.clone(),
            )?;
            Ok(c)
        })
        .collect::<Result<_>>()?;
    let mut next = ModelSet::new(models.options.clone(), classes)?;
    next.iteration = models.iteration + 1;
    next.frontend = models.frontend.clone();
    Ok(next)
}

/// `train-classes`: [`init_classes`], then `opts.fit.num_iters` passes of [`accumulate`] and
/// [`est_classes`] on all the data — the same functions the distributed recipe runs, so both
/// give the same bytes.
///
/// ```
/// use cepstra_train::{train_classes, TrainOptions, TrainingData};
/// use ndarray::Array2;
/// // Two classes in 2-D, 4 utterances of 20 frames each.
/// let mut feats = Vec::new();
/// let mut text = Vec::new();
/// for u in 0..4 {
///     let c = if u % 2 == 0 { 4.0 } else { -4.0 };
///     let m = Array2::from_shape_fn((20, 2), |(t, j)| c + ((t * 7 + j * 3 + u) % 11) as f32 / 11.0);
///     feats.push((format!("u{u}"), m));
///     text.push((format!("u{u}"), if u % 2 == 0 { "a" } else { "b" }.to_string()));
/// }
/// let data = TrainingData::new(feats, &text)?;
/// let mut opts = TrainOptions::default();
/// opts.fit.num_gauss = 2;
/// opts.fit.covariance = cepstra_gmm::CovarianceType::Diag;
/// let set = train_classes(&data, &opts, &Default::default())?;
/// assert_eq!(set.labels().collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(set.classes[0].loglikes.len(), 5);
/// # Ok::<(), cepstra_train::Error>(())
/// ```
pub fn train_classes(
    data: &TrainingData,
    opts: &TrainOptions,
    overrides: &ClassOverrides,
) -> Result<ModelSet> {
    let mut set = init_classes(data, opts, overrides)?;
    let mut fingerprint = set.fingerprint()?;
    let none = Overrides::new();
    for _ in 0..opts.fit.num_iters {
        let accs = accumulate_fp(&set, fingerprint, data)?;
        let next = est_raw(&set, fingerprint, &accs, &none)?;
        // What a later process reading the file would see (and its fingerprint).
        set = ModelSet::from_bytes(&next.to_bytes()?, "model set (in memory)")?;
        fingerprint = set.fingerprint()?;
    }
    Ok(set)
}
