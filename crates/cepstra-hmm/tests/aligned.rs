//! Statistics along stored alignments (`acc-hmms --alignments`, Kaldi's `gmm-acc-stats-ali`):
//! the best path's statistics bit for bit, the equal alignment, missing and bad alignments.

// unwrap in tests: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use cepstra_gmm::{DiagGmm, Gmm};
use cepstra_hmm::{
    accumulate, accumulate_aligned, align, align_equal, equal_segments, est_hmms, init_hmms,
    init_hmms_with, train_hmms, AlignmentFault, Alignments, Error, Hmm, HmmSet, HmmTrainOptions,
    Topology, TrainMode,
};
use cepstra_train::{ClassOverrides, TrainingData};
use ndarray::{array, Array2};

mod common;
use common::noise;

/// `3 * n` utterances of 3 classes (the shared corpus); with `short`, utterance 4 has 2 frames.
fn corpus(n: usize, short: bool) -> TrainingData {
    let (feats, text) = common::corpus(n, short);
    TrainingData::new(feats, &text).unwrap()
}

fn opts(topology: Topology, allow_any_end: bool) -> HmmTrainOptions {
    HmmTrainOptions {
        num_states: 4,
        num_gauss: 2,
        num_iters: 3,
        mode: TrainMode::Viterbi,
        mix_up_at: vec![1],
        min_gaussian_occupancy: 1.0,
        topology,
        allow_any_end,
        ..Default::default()
    }
}

/// The Viterbi alignments of `data` under `set` as [`Alignments`] (what align-hmms writes).
fn best_paths(set: &HmmSet, data: &TrainingData) -> Alignments {
    align(set, data)
        .unwrap()
        .into_iter()
        .filter(|a| !a.states.is_empty())
        .map(|a| (a.utt, a.states.iter().map(|&s| s as i32).collect()))
        .collect()
}

#[test]
fn path_posteriors_of_the_best_path_are_viterbi_posteriors() {
    let g = |m: f64| {
        Gmm::from(
            DiagGmm::new(
                array![0.3, 0.7],
                array![[m, -m], [m + 1.0, 0.5]],
                array![[1.0, 2.0], [0.5, 1.5]],
            )
            .unwrap(),
        )
    };
    for topo in [Topology::Linear, Topology::Skip] {
        for any_end in [false, true] {
            let states = vec![g(0.0), g(2.0), g(-1.0)];
            let hmm = Hmm::left_to_right(states, topo, 0.6, any_end).unwrap();
            for t in [3, 5, 11] {
                let x = Array2::from_shape_fn((t, 2), |(i, j)| {
                    4.0 * noise((t * 100 + i * 3 + j) as u64)
                });
                let em = hmm.emissions(x.view()).unwrap();
                let path = hmm.viterbi(&em);
                let v = hmm.viterbi_posteriors(&em).unwrap();
                let p = hmm.path_posteriors(&em, &path.states).unwrap();
                assert_eq!(
                    p.total.to_bits(),
                    v.total.to_bits(),
                    "{topo:?} {any_end} T={t}"
                );
                assert_eq!(p.state_occ, v.state_occ);
                assert_eq!(p.comp_occ, v.comp_occ);
                assert_eq!(p.trans_counts, v.trans_counts);
                // Another valid path scores no better than the best one.
                let eq = equal_segments(t, 3);
                let q = hmm.path_posteriors(&em, &eq).unwrap();
                assert!(q.total <= p.total);
                assert_eq!(q.state_occ.sum(), t as f64);
            }
        }
    }
}

#[test]
fn aligned_statistics_are_viterbi_statistics_when_the_alignment_is_the_best_path() {
    let data = corpus(5, true);
    for (topo, any_end) in [
        (Topology::Linear, false),
        (Topology::Skip, false),
        (Topology::Linear, true),
    ] {
        let o = opts(topo, any_end);
        // Realigning every pass through the stored best paths gives train_hmms' bytes.
        let mut set = init_hmms(&data, &o).unwrap();
        for _ in 0..o.num_iters {
            let alis = best_paths(&set, &data);
            let aligned = accumulate_aligned(&set, &data, &alis).unwrap();
            let viterbi = accumulate(&set, &data, TrainMode::Viterbi).unwrap();
            assert_eq!(aligned.to_bytes(), viterbi.to_bytes(), "{topo:?} {any_end}");
            set = est_hmms(&set, &aligned, None).unwrap();
        }
        let all_in_one = train_hmms(&data, &o).unwrap();
        assert_eq!(set.to_bytes().unwrap(), all_in_one.to_bytes().unwrap());
        // The 2-frame utterance has no alignment where no path explains it (linear, exit
        // needed: 4 frames at least): skipped and counted, as Viterbi does.
        let w1 = set.index_of("w1").unwrap();
        let too_short = topo == Topology::Linear && !any_end;
        assert_eq!(set.classes[w1].num_skipped, usize::from(too_short));
    }
}

#[test]
fn another_path_gives_other_statistics() {
    // The checks above could pass if the alignments were ignored: a different path must matter.
    let data = corpus(4, false);
    let set = init_hmms(&data, &opts(Topology::Linear, false)).unwrap();
    let equal: Alignments = align_equal(&set, &data)
        .unwrap()
        .into_iter()
        .map(|a| (a.utt, a.states.iter().map(|&s| s as i32).collect()))
        .collect();
    // utt005 stays one frame longer in its first state.
    let mut moved = equal.clone();
    let v = moved.get_mut("utt005").unwrap();
    let k = v.iter().position(|&s| s == 1).unwrap();
    v[k] = 0;
    let a = accumulate_aligned(&set, &data, &equal).unwrap();
    let b = accumulate_aligned(&set, &data, &moved).unwrap();
    let w2 = set.index_of("w2").unwrap();
    assert_ne!(a.classes[w2].stats, b.classes[w2].stats);
    assert_ne!(
        a.classes[w2].stats.total_loglike(),
        b.classes[w2].stats.total_loglike()
    );
    assert_eq!(a.classes[0].stats, b.classes[0].stats);
}

#[test]
fn equal_alignment_is_the_flat_start_segmentation_per_class() {
    let data = corpus(3, true);
    let mut ov = ClassOverrides::new();
    ov.insert("w2".into(), [("num_states".to_string(), 6.into())].into());
    let set = init_hmms_with(&data, &opts(Topology::Linear, false), &ov).unwrap();
    let alis = align_equal(&set, &data).unwrap();
    assert_eq!(alis.len(), 9);
    assert!(alis.windows(2).all(|w| w[0].utt < w[1].utt));
    for a in &alis {
        let s = if a.label == "w2" { 6 } else { 4 };
        let t = data
            .classes()
            .iter()
            .flat_map(|c| &c.utts)
            .find(|u| u.id == a.utt)
            .unwrap()
            .feats
            .nrows();
        if a.utt == "utt004" {
            assert!(a.states.is_empty(), "2 frames for 4 states");
            continue;
        }
        assert_eq!(a.states, equal_segments(t, s));
        assert_eq!(a.states[0], 0);
        assert_eq!(*a.states.last().unwrap(), s - 1);
        assert!(a
            .states
            .windows(2)
            .all(|w| w[1] == w[0] || w[1] == w[0] + 1));
    }
}

#[test]
fn utterances_without_an_alignment_are_skipped_and_counted() {
    let data = corpus(4, false);
    let set = init_hmms(&data, &opts(Topology::Linear, false)).unwrap();
    let mut alis = best_paths(&set, &data);
    alis.remove("utt004").unwrap();
    // Alignments of utterances not in the data are ignored.
    alis.insert("elsewhere".into(), vec![0, 1, 2, 3]);
    let accs = accumulate_aligned(&set, &data, &alis).unwrap();
    let w1 = &accs.classes[set.index_of("w1").unwrap()].stats;
    assert_eq!(w1.num_skipped(), 1);
    assert_eq!(w1.num_utts(), 3);
    let w0 = &accs.classes[set.index_of("w0").unwrap()].stats;
    assert_eq!((w0.num_skipped(), w0.num_utts()), (0, 4));
}

#[test]
fn bad_alignments_are_errors_naming_the_utterance() {
    let data = corpus(3, false);
    let set = init_hmms(&data, &opts(Topology::Linear, false)).unwrap();
    let any_end = init_hmms(&data, &opts(Topology::Linear, true)).unwrap();
    let good = best_paths(&set, &data);
    // utt004 is a w1 utterance.
    let base = good["utt004"].clone();
    let t = base.len();
    let with = |f: &dyn Fn(&mut Vec<i32>)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let cases: Vec<(Vec<i32>, AlignmentFault)> = vec![
        (
            with(&|v| {
                v.pop();
            }),
            AlignmentFault::Length {
                frames: t,
                got: t - 1,
            },
        ),
        (
            with(&|v| v.push(3)),
            AlignmentFault::Length {
                frames: t,
                got: t + 1,
            },
        ),
        (
            with(&|v| v[5] = 4),
            AlignmentFault::StateOutOfRange {
                frame: 5,
                state: 4,
                num_states: 4,
            },
        ),
        (
            with(&|v| v[2] = -1),
            AlignmentFault::StateOutOfRange {
                frame: 2,
                state: -1,
                num_states: 4,
            },
        ),
        (with(&|v| v[0] = 1), AlignmentFault::Start { state: 1 }),
        // A jump of two states in a linear topology, and a step back.
        (
            (0..t)
                .map(|i| match i {
                    0 | 1 => 0,
                    i if i == t - 1 => 3,
                    _ => 2,
                })
                .collect(),
            AlignmentFault::Transition {
                frame: 2,
                from: 0,
                to: 2,
            },
        ),
        (
            with(&|v| {
                let k = v.iter().position(|&s| s == 2).unwrap();
                v[k] = 0;
            }),
            AlignmentFault::Transition {
                frame: base.iter().position(|&s| s == 2).unwrap(),
                from: 1,
                to: 0,
            },
        ),
        // Ends in state 2 of 4: HTK's models leave through the exit from the last state only.
        (
            with(&|v| {
                for s in v.iter_mut() {
                    *s = (*s).min(2);
                }
            }),
            AlignmentFault::End { state: 2 },
        ),
    ];
    for (ali, fault) in cases {
        let mut alis = good.clone();
        alis.insert("utt004".into(), ali.clone());
        let err = accumulate_aligned(&set, &data, &alis).unwrap_err();
        match &err {
            Error::Alignment {
                class,
                utt,
                fault: f,
            } => {
                assert_eq!(
                    (class.as_str(), utt.as_str(), f),
                    ("w1", "utt004", &fault),
                    "{ali:?}"
                );
            }
            other => panic!("{ali:?}: expected Error::Alignment, got {other:?}"),
        }
        assert!(err.to_string().contains("utterance 'utt004'"), "{err}");
    }
    // The same early end is fine where a model may end in any state.
    let mut alis = best_paths(&any_end, &data);
    alis.insert("utt004".into(), base.iter().map(|&s| s.min(2)).collect());
    let accs = accumulate_aligned(&any_end, &data, &alis).unwrap();
    assert_eq!(accs.classes[1].stats.num_utts(), 3);
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<AlignmentFault>();
    check::<Alignments>();
}
