//! The HMM trainer: exact sums (any split, order and thread count give the same bytes), the
//! all-in-one trainer = the job path, acc and model-set files, floors, mixing up, too-short
//! utterances, alignment, per-class options.

// unwrap in tests: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use cepstra_hmm::{
    accumulate, align, durations_tsv, est_hmms, init_hmms, init_hmms_with, train_hmms,
    train_hmms_with, Error, HmmAccs, HmmInit, HmmSet, HmmTrainOptions, ScoreMode, Topology,
    TrainMode,
};
use cepstra_train::{ClassOverrides, Overrides, TrainingData};
use ndarray::Array2;

mod common;
use common::{corpus, noise};

fn data_of(
    feats: &[(String, Array2<f32>)],
    text: &[(String, String)],
    keep: impl Fn(usize) -> bool,
) -> TrainingData {
    let f: Vec<_> = feats
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, x)| x.clone())
        .collect();
    let t: Vec<_> = text
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, x)| x.clone())
        .collect();
    TrainingData::new(f, &t).unwrap()
}

fn opts(mode: TrainMode) -> HmmTrainOptions {
    HmmTrainOptions {
        num_states: 4,
        num_gauss: 2,
        num_iters: 3,
        mode,
        mix_up_at: vec![2],
        min_gaussian_occupancy: 1.0,
        ..Default::default()
    }
}

/// Accumulates `data` split into `nj` jobs (utterance i to job i % nj, or in contiguous blocks),
/// summed in the order given.
fn job_accs(
    set: &HmmSet,
    feats: &[(String, Array2<f32>)],
    text: &[(String, String)],
    nj: usize,
    blocks: bool,
    mode: TrainMode,
) -> HmmAccs {
    let n = feats.len();
    let job = |i: usize| if blocks { i * nj / n } else { i % nj };
    let mut sum: Option<HmmAccs> = None;
    for j in (0..nj).rev() {
        let acc = accumulate(set, &data_of(feats, text, |i| job(i) == j), mode).unwrap();
        // Through the file format, as acc-hmms → est-hmms.
        let acc = HmmAccs::from_bytes(&acc.to_bytes(), "job").unwrap();
        match &mut sum {
            None => sum = Some(acc),
            Some(s) => s.merge(&acc, "job").unwrap(),
        }
    }
    sum.unwrap()
}

#[test]
fn any_split_order_and_thread_count_gives_the_same_model_bytes() {
    let (feats, text) = corpus(6, false);
    for mode in [TrainMode::BaumWelch, TrainMode::Viterbi] {
        let o = opts(mode);
        let all = data_of(&feats, &text, |_| true);
        let reference = train_hmms(&all, &o).unwrap().to_bytes().unwrap();
        for (nj, blocks, threads) in [(1, false, 1), (2, false, 2), (3, true, 1), (5, false, 2)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let bytes = pool.install(|| {
                let mut set = init_hmms(&all, &o).unwrap();
                // Through the model-set file too, as init-hmms → acc-hmms.
                for _ in 0..o.num_iters {
                    set = HmmSet::from_bytes(&set.to_bytes().unwrap(), "set").unwrap();
                    let accs = job_accs(&set, &feats, &text, nj, blocks, mode);
                    accs.check_set(&set, "accs").unwrap();
                    set = est_hmms(&set, &accs, None).unwrap();
                }
                set.to_bytes().unwrap()
            });
            assert!(
                bytes == reference,
                "{mode:?}: {nj} jobs (blocks {blocks}), {threads} threads differ from train_hmms"
            );
        }
        // The schedule mixed up to 2 Gaussians per state at pass 2; passes recorded.
        let set = HmmSet::from_bytes(&reference, "set").unwrap();
        assert_eq!(set.iteration, 3);
        for c in &set.classes {
            assert_eq!(c.loglikes.len(), 3);
            for j in 0..4 {
                assert_eq!(c.hmm.state(j).num_gauss(), 2, "class {} state {j}", c.label);
            }
        }
    }
}

#[test]
fn training_raises_the_likelihood_and_viterbi_training_works() {
    let (feats, text) = corpus(6, false);
    let all = data_of(&feats, &text, |_| true);
    for mode in [TrainMode::BaumWelch, TrainMode::Viterbi] {
        // Without the relative floor: EM never lowers the likelihood.
        let o = HmmTrainOptions {
            mix_up_at: vec![],
            num_gauss: 1,
            num_iters: 4,
            rel_var_floor: 0.0,
            ..opts(mode)
        };
        let set = train_hmms(&all, &o).unwrap();
        for c in &set.classes {
            let ll = &c.loglikes;
            assert!(
                ll.windows(2).all(|w| w[1] >= w[0] - 1e-9),
                "{mode:?} class {}: {ll:?}",
                c.label
            );
        }
    }
}

#[test]
fn acc_files_round_trip_and_bad_ones_are_errors() {
    let (feats, text) = corpus(3, false);
    let all = data_of(&feats, &text, |_| true);
    let set = init_hmms(&all, &opts(TrainMode::BaumWelch)).unwrap();
    let acc = accumulate(&set, &all, TrainMode::BaumWelch).unwrap();
    let bytes = acc.to_bytes();
    assert_eq!(HmmAccs::from_bytes(&bytes, "a").unwrap(), acc);
    let e = HmmAccs::from_bytes(&bytes[..bytes.len() - 5], "x.acc").unwrap_err();
    assert!(e.to_string().starts_with("x.acc: "), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(HmmAccs::from_bytes(b"CPSTCACC\x01\0\0\0", "y")
        .unwrap_err()
        .to_string()
        .contains("bad magic"));
    // Statistics of another pass do not fit.
    let next = est_hmms(&set, &acc, None).unwrap();
    let e = acc.check_set(&next, "old.acc").unwrap_err().to_string();
    assert!(e.contains("another model set"), "{e}");
    let vit = accumulate(&set, &all, TrainMode::Viterbi).unwrap();
    let mut sum = acc.clone();
    assert!(sum
        .merge(&vit, "v.acc")
        .unwrap_err()
        .to_string()
        .contains("--mode"));
}

#[test]
fn model_set_files_round_trip_and_bad_ones_are_errors() {
    let (feats, text) = corpus(3, false);
    let all = data_of(&feats, &text, |_| true);
    let set = train_hmms(&all, &opts(TrainMode::BaumWelch)).unwrap();
    let bytes = set.to_bytes().unwrap();
    assert!(cepstra_hmm::is_hmm_set(&bytes));
    let back = HmmSet::from_bytes(&bytes, "m").unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes);
    let text = String::from_utf8(bytes).unwrap();
    let bad = text.replace("\"version\": 1", "\"version\": 9");
    let e = HmmSet::from_bytes(bad.as_bytes(), "m.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.json") && e.contains("version 9"), "{e}");
    let bad = text.replacen("\"allow_any_end\":false", "\"allow_any_end\":7", 1);
    assert!(HmmSet::from_bytes(bad.as_bytes(), "m.json").is_err());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("set.json");
    set.write(p.to_str().unwrap()).unwrap();
    assert_eq!(
        HmmSet::read(p.to_str().unwrap())
            .unwrap()
            .to_bytes()
            .unwrap(),
        text.as_bytes()
    );
}

#[test]
fn floors_hold_after_every_pass() {
    let (feats, text) = corpus(6, false);
    let all = data_of(&feats, &text, |_| true);
    let o = HmmTrainOptions {
        rel_var_floor: 0.2,
        ..opts(TrainMode::BaumWelch)
    };
    let set = train_hmms(&all, &o).unwrap();
    for c in &set.classes {
        for j in 0..c.hmm.num_states() {
            let v = c.hmm.state(j).vars();
            for row in v.rows() {
                for (x, g) in row.iter().zip(&c.global_var) {
                    assert!(*x >= 0.2 * g * (1.0 - 1e-12), "{x} < 0.2·{g}");
                    assert!(*x >= o.var_floor);
                }
            }
        }
        let t = c.hmm.trans();
        for (&p, &q) in t.iter().zip(set.classes[0].hmm.trans().iter()) {
            // Same topology in every class, every allowed transition above the floor.
            assert_eq!(p > 0.0, q > 0.0);
            assert!(p == 0.0 || p >= o.trans_floor);
        }
    }
    // A minimum occupancy no component can reach is a clear error naming the class.
    let o = HmmTrainOptions {
        min_gaussian_occupancy: 1e9,
        ..opts(TrainMode::BaumWelch)
    };
    let e = train_hmms(&all, &o).unwrap_err().to_string();
    assert!(
        e.starts_with("class 'w") && e.contains("min-gaussian-occupancy"),
        "{e}"
    );
}

#[test]
fn starved_components_are_removed_and_re_split_and_named() {
    use cepstra_gmm::{DiagGmm, EstimateOptions, Gmm};
    use cepstra_hmm::{estimate_hmm, Hmm, HmmEstimateOptions, HmmStats};
    use ndarray::array;
    // State 2's second component sits far from every frame: it gets no occupancy.
    let g = |m: f64, far: f64| {
        Gmm::from(DiagGmm::new(array![0.5, 0.5], array![[m], [far]], array![[1.0], [1.0]]).unwrap())
    };
    let hmm = Hmm::left_to_right(
        vec![g(0.0, 0.5), g(5.0, 500.0)],
        Topology::Linear,
        0.5,
        false,
    )
    .unwrap();
    let x = Array2::from_shape_fn((40, 1), |(t, _)| {
        (if t < 20 { 0.0 } else { 5.0 }) + noise(t as u64)
    });
    let post = hmm.posteriors(&hmm.emissions(x.view()).unwrap()).unwrap();
    let mut st = HmmStats::for_model(&hmm);
    st.add(&hmm, x.view(), &post).unwrap();
    let o = HmmEstimateOptions {
        gmm: EstimateOptions {
            min_gaussian_occupancy: 1.0,
            ..Default::default()
        },
        resplit_removed: true,
        ..Default::default()
    };
    let (next, warnings) = estimate_hmm(&hmm, &st, &o).unwrap();
    assert_eq!(next.state(1).num_gauss(), 2);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("state 2: component 1 removed")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.starts_with("state 2: re-split")),
        "{warnings:?}"
    );
    // A state without frames keeps its parameters, named.
    let mut empty = st.clone();
    empty.states[0] = cepstra_gmm::GmmStats::for_model(hmm.state(0));
    let (kept, warnings) = estimate_hmm(&hmm, &empty, &o).unwrap();
    assert_eq!(kept.state(0).means(), hmm.state(0).means());
    assert!(warnings.contains(&"state 1 got no frames: parameters kept".to_string()));
}

#[test]
fn too_short_utterances_are_skipped_and_counted() {
    let (feats, text) = corpus(4, true);
    let all = data_of(&feats, &text, |_| true);
    let set = train_hmms(&all, &opts(TrainMode::BaumWelch)).unwrap();
    // utt004 (class w1) has 2 frames, fewer than 4 states.
    let c = &set.classes[set.index_of("w1").unwrap()];
    assert_eq!(c.num_skipped, 1);
    assert_eq!(c.num_utts, 3);
    let alis = align(&set, &all).unwrap();
    let short = alis.iter().find(|a| a.utt == "utt004").unwrap();
    assert!(short.states.is_empty() && short.score == f64::NEG_INFINITY);
    // Forward scoring gives −∞ for it, not NaN.
    let i = set.index_of("w1").unwrap();
    let x = &feats[4].1;
    assert_eq!(
        set.score(i, x.view(), cepstra_hmm::ScoreMode::Forward)
            .unwrap(),
        f64::NEG_INFINITY
    );
}

#[test]
fn alignments_walk_left_to_right_and_durations_add_up() {
    let (feats, text) = corpus(4, false);
    let all = data_of(&feats, &text, |_| true);
    let set = train_hmms(&all, &opts(TrainMode::Viterbi)).unwrap();
    let alis = align(&set, &all).unwrap();
    assert_eq!(alis.len(), feats.len());
    assert!(alis.windows(2).all(|w| w[0].utt < w[1].utt));
    for a in &alis {
        let x = &feats.iter().find(|(k, _)| *k == a.utt).unwrap().1;
        assert_eq!(a.states.len(), x.nrows());
        assert_eq!(a.states[0], 0);
        assert_eq!(*a.states.last().unwrap(), 3);
        assert!(a
            .states
            .windows(2)
            .all(|w| w[1] == w[0] || w[1] == w[0] + 1));
        assert_eq!(a.durations(4).iter().sum::<usize>(), x.nrows());
    }
    let tsv = durations_tsv(&set, &alis);
    assert_eq!(tsv.lines().count(), 1 + 3 * 4);
    assert!(tsv.lines().nth(1).unwrap().starts_with("w0\t1\t4\t"));
}

#[test]
fn global_init_and_skip_topology() {
    let (feats, text) = corpus(4, false);
    let all = data_of(&feats, &text, |_| true);
    let o = HmmTrainOptions {
        init: HmmInit::Global,
        topology: Topology::Skip,
        ..opts(TrainMode::BaumWelch)
    };
    let init = init_hmms(&all, &o).unwrap();
    let c = &init.classes[0];
    // HCompV: every state is the class's global Gaussian.
    for j in 1..4 {
        assert_eq!(c.hmm.state(j).means(), c.hmm.state(0).means());
    }
    assert_eq!(c.hmm.min_frames(), 2);
    let set = train_hmms(&all, &o).unwrap();
    assert!(set.classes.iter().all(|c| c.loglikes.len() == 3));
}

#[test]
fn invalid_options_are_errors() {
    let (feats, text) = corpus(2, false);
    let all = data_of(&feats, &text, |_| true);
    for bad in [
        HmmTrainOptions {
            num_states: 0,
            ..Default::default()
        },
        HmmTrainOptions {
            mix_up_at: vec![3, 2],
            ..Default::default()
        },
        HmmTrainOptions {
            self_loop: 1.0,
            ..Default::default()
        },
        HmmTrainOptions {
            rel_var_floor: f64::NAN,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            init_hmms(&all, &bad),
            Err(cepstra_hmm::Error::InvalidOption(_))
        ));
    }
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<HmmSet>();
    check::<HmmAccs>();
    check::<HmmTrainOptions>();
    check::<cepstra_hmm::Error>();
}

/// Overrides from `(name, value)` pairs.
fn ov(pairs: &[(&str, serde_json::Value)]) -> Overrides {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Gaussians of each state of class `i`.
fn shape(set: &HmmSet, i: usize) -> Vec<usize> {
    let h = &set.classes[i].hmm;
    (0..h.num_states())
        .map(|j| h.state(j).num_gauss())
        .collect()
}

#[test]
fn per_class_states_and_gaussians_shape_each_class_and_match_the_job_path() {
    let (feats, text) = corpus(6, false);
    let all = data_of(&feats, &text, |_| true);
    // Global S4 M2, mixed up after pass 2; w0 S2 M1, w2 S6 M3 (mixed up 1 → 3 at pass 2).
    let mut per_class = ClassOverrides::new();
    per_class.insert(
        "w0".into(),
        ov(&[("num_states", 2.into()), ("num_gauss", 1.into())]),
    );
    per_class.insert(
        "w2".into(),
        ov(&[("num-states", 6.into()), ("num_gauss", 3.into())]),
    );
    for mode in [TrainMode::BaumWelch, TrainMode::Viterbi] {
        let o = opts(mode);
        let reference = train_hmms_with(&all, &o, &per_class).unwrap();
        assert_eq!(shape(&reference, 0), [1, 1], "{mode:?}");
        assert_eq!(shape(&reference, 1), [2; 4], "{mode:?}");
        assert_eq!(
            shape(&reference, 2),
            [3; 6],
            "{mode:?}: w2's own M is the target"
        );
        let reference = reference.to_bytes().unwrap();
        // The job path (through the files) gives the same bytes.
        let mut set = init_hmms_with(&all, &o, &per_class).unwrap();
        assert_eq!(
            shape(&set, 2),
            [1; 6],
            "the schedule starts at one Gaussian"
        );
        for pass in 1..=o.num_iters {
            set = HmmSet::from_bytes(&set.to_bytes().unwrap(), "set").unwrap();
            let accs = job_accs(&set, &feats, &text, 2, false, mode);
            set = est_hmms(&set, &accs, None).unwrap();
            if pass == 1 {
                assert_eq!(shape(&set, 2), [1; 6], "no mixing up before pass 2");
            }
        }
        assert!(
            set.to_bytes().unwrap() == reference,
            "{mode:?}: job path differs"
        );
    }
    // Recorded per class; a class without overrides has no "overrides" (the record as before).
    let set = init_hmms_with(&all, &opts(TrainMode::BaumWelch), &per_class).unwrap();
    let text = String::from_utf8(set.to_bytes().unwrap()).unwrap();
    assert!(
        text.contains(r#"{"label":"w2","overrides":{"num_gauss":3,"num_states":6},"num_utts":"#),
        "{text}"
    );
    assert!(text.contains(r#"{"label":"w1","num_utts":"#), "{text}");
    assert_eq!(set.class_options(2).unwrap().num_states, 6);
    assert_eq!(set.class_options(1).unwrap().num_states, 4);
    assert_eq!(
        set.classes[2].describe_overrides(),
        "--num-gauss=3 --num-states=6"
    );
    let info = set.info();
    assert!(info.contains("\nw2\t6\t1,1,1,1,1,1\t"), "{info}");
    assert!(info.ends_with("\t--num-gauss=3 --num-states=6\n"), "{info}");
    // A set written before per-class options (no "overrides") reads as having none.
    let old = text
        .replace(r#""overrides":{"num_gauss":3,"num_states":6},"#, "")
        .replace(r#""overrides":{"num_gauss":1,"num_states":2},"#, "");
    assert!(!old.contains("overrides"));
    let back = HmmSet::from_bytes(old.as_bytes(), "old.json").unwrap();
    assert!(back.classes.iter().all(|c| c.overrides.is_empty()));
    assert_eq!(back.class_options(2).unwrap().num_gauss, 2);
    // A recorded override no class may have: an error naming the file, class and option.
    let bad = text.replace(r#""num_gauss":3,"num_states":6"#, r#""mode":"viterbi""#);
    let e = HmmSet::from_bytes(bad.as_bytes(), "bad.json").unwrap_err();
    assert!(matches!(e, Error::ModelSetFormat { .. }), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("bad.json") && e.contains("class 'w2'") && e.contains("--mode"),
        "{e}"
    );
    // Options for a label without data: warned, as the GMM class trainer does.
    let mut extra = per_class.clone();
    extra.insert("nope".into(), ov(&[("num_states", 3.into())]));
    let with_extra = init_hmms_with(&all, &opts(TrainMode::BaumWelch), &extra).unwrap();
    assert_eq!(with_extra.to_bytes().unwrap(), text.as_bytes());
}

#[test]
fn per_class_options_that_make_no_sense_or_are_bad_are_errors() {
    let base = opts(TrainMode::BaumWelch);
    let err = |pairs: &[(&str, serde_json::Value)]| base.for_class(&ov(pairs), "w1").unwrap_err();
    for (name, value) in [
        ("num_iters", serde_json::json!(3)),
        ("mode", serde_json::json!("viterbi")),
        ("covariance", serde_json::json!("full")),
    ] {
        let e = err(&[(name, value)]);
        let kebab = name.replace('_', "-");
        assert!(
            matches!(&e, Error::ClassOption { class, option, reason }
                if class == "w1" && *option == kebab && reason.contains("cannot be set per class")),
            "{e}"
        );
    }
    let e = err(&[("num_gaus", 3.into())]);
    assert!(
        matches!(&e, Error::ClassOption { option, .. } if option == "num-gaus"),
        "{e}"
    );
    let e = err(&[("num_states", 0.into())]);
    assert!(
        matches!(&e, Error::ClassOption { option, .. } if option == "num-states"),
        "{e}"
    );
    assert!(e.to_string().contains("must be at least 1"), "{e}");
    let e = err(&[("num_states", "many".into())]);
    assert!(matches!(&e, Error::ClassOption { .. }), "{e}");
    // A class may have fewer Gaussians than the schedule has steps: its targets repeat.
    let o = HmmTrainOptions {
        num_gauss: 4,
        mix_up_at: vec![2, 4, 6],
        ..base.clone()
    };
    let one = o.for_class(&ov(&[("num_gauss", 1.into())]), "w1").unwrap();
    assert_eq!(
        (one.mix_up_target(2), one.mix_up_target(6)),
        (Some(1), Some(1))
    );
    assert!(matches!(
        HmmTrainOptions { num_gauss: 1, ..o }.validate(),
        Err(Error::InvalidOption(_))
    ));
    // In the trainer: the class is named.
    let (feats, text) = corpus(2, false);
    let all = data_of(&feats, &text, |_| true);
    let mut per_class = ClassOverrides::new();
    per_class.insert("w0".into(), ov(&[("mode", "viterbi".into())]));
    assert!(matches!(
        init_hmms_with(&all, &base, &per_class),
        Err(Error::ClassOption { class, .. }) if class == "w0"
    ));
}

/// Scoring a batch of stacked utterances (classify's class-by-class path, utterances in
/// parallel) gives each utterance's own score, bit for bit, forward and Viterbi, at 1 and 3
/// threads; bounds outside the frames are an error.
#[test]
fn batch_scores_are_each_utterances_score() {
    let (feats, text) = corpus(4, true);
    let data = data_of(&feats, &text, |_| true);
    let set = train_hmms(&data, &opts(TrainMode::BaumWelch)).unwrap();
    let views: Vec<_> = feats.iter().map(|(_, x)| x.view()).collect();
    let stacked = ndarray::concatenate(ndarray::Axis(0), &views).unwrap();
    let mut bounds = vec![0];
    for v in &views {
        bounds.push(bounds[bounds.len() - 1] + v.nrows());
    }
    for mode in [ScoreMode::Forward, ScoreMode::Viterbi] {
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for c in 0..set.classes.len() {
                let got = pool
                    .install(|| set.score_batch(c, stacked.view(), &bounds, mode))
                    .unwrap();
                for (u, v) in views.iter().enumerate() {
                    let want = set.score(c, v.view(), mode).unwrap();
                    assert_eq!(
                        got[u].to_bits(),
                        want.to_bits(),
                        "{mode:?} class {c} utt {u}"
                    );
                }
            }
        }
    }
    let short = [0, stacked.nrows() + 1];
    assert!(set
        .score_batch(0, stacked.view(), &short, ScoreMode::Forward)
        .is_err());
}
