use cepstra_gmm::{DiagGmm, Gmm};
use ndarray::{array, Array2};

use crate::{Error, Hmm, Topology};

fn gmm2(m: f64) -> Gmm {
    Gmm::from(
        DiagGmm::new(
            array![0.3, 0.7],
            array![[m, -m], [m + 1.0, 0.5]],
            array![[1.0, 2.0], [0.5, 1.5]],
        )
        .unwrap(),
    )
}

fn model(topo: Topology, any_end: bool) -> Hmm {
    Hmm::left_to_right(vec![gmm2(0.0), gmm2(2.0), gmm2(-1.0)], topo, 0.6, any_end).unwrap()
}

fn feats(t: usize, seed: usize) -> Array2<f32> {
    Array2::from_shape_fn((t, 2), |(i, j)| {
        (((i * 37 + j * 11 + seed * 7) % 23) as f32 / 23.0 - 0.5) * 4.0
    })
}

/// ln p(X) and the best path by enumerating every state sequence.
fn brute(hmm: &Hmm, em: &crate::Emissions) -> (f64, f64) {
    let (t_len, s) = em.state.dim();
    let mut total = f64::NEG_INFINITY;
    let mut best = f64::NEG_INFINITY;
    let mut seq = vec![0usize; t_len];
    loop {
        let mut lp = hmm.log_trans[[0, seq[0] + 1]] + em.state[[0, seq[0]]];
        for t in 1..t_len {
            lp += hmm.log_trans[[seq[t - 1] + 1, seq[t] + 1]] + em.state[[t, seq[t]]];
        }
        if !hmm.allow_any_end {
            lp += hmm.log_trans[[seq[t_len - 1] + 1, s + 1]];
        }
        if lp > f64::NEG_INFINITY {
            let m = total.max(lp);
            total = m + ((total - m).exp() + (lp - m).exp()).ln();
            best = best.max(lp);
        }
        let mut k = 0;
        loop {
            if k == t_len {
                return (total, best);
            }
            seq[k] += 1;
            if seq[k] < s {
                break;
            }
            seq[k] = 0;
            k += 1;
        }
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10 * a.abs().max(1.0)
}

#[test]
fn forward_backward_viterbi_match_enumeration() {
    for topo in [Topology::Linear, Topology::Skip] {
        for any_end in [false, true] {
            let hmm = model(topo, any_end);
            for (t, seed) in [(1, 0), (2, 1), (3, 2), (5, 3), (7, 4)] {
                let em = hmm.emissions(feats(t, seed).view()).unwrap();
                let (bt, bb) = brute(&hmm, &em);
                let (_, f) = hmm.forward(&em);
                let (_, b) = hmm.backward(&em);
                let v = hmm.viterbi(&em);
                assert_eq!(
                    f == f64::NEG_INFINITY,
                    bt == f64::NEG_INFINITY,
                    "{topo:?} {t}"
                );
                if bt > f64::NEG_INFINITY {
                    assert!(
                        close(f, bt),
                        "forward {f} vs {bt} ({topo:?}, {any_end}, T={t})"
                    );
                    assert!(close(b, bt), "backward {b} vs {bt}");
                    assert!(close(v.score, bb), "viterbi {} vs {bb}", v.score);
                    assert!(v.score <= f + 1e-12);
                    assert_eq!(v.states.len(), t);
                    assert!(v.states.windows(2).all(|w| w[1] >= w[0]));
                    assert_eq!(v.states[0], 0);
                } else {
                    assert!(v.states.is_empty());
                    assert!(hmm.posteriors(&em).is_none());
                }
            }
        }
    }
}

#[test]
fn occupancies_are_consistent() {
    for any_end in [false, true] {
        let hmm = model(Topology::Skip, any_end);
        let em = hmm.emissions(feats(9, 5).view()).unwrap();
        let p = hmm.posteriors(&em).unwrap();
        for t in 0..9 {
            assert!((p.state_occ.row(t).sum() - 1.0).abs() < 1e-12);
            assert!((p.comp_occ.row(t).sum() - 1.0).abs() < 1e-12);
        }
        // Expected transitions out of each emitting state = its occupancy (minus the last frame
        // when the utterance may end anywhere); into it = occupancy.
        let s = hmm.num_states();
        for i in 0..s {
            let occ: f64 = p.state_occ.column(i).sum();
            let out: f64 = p.trans_counts.row(i + 1).sum();
            let into: f64 = p.trans_counts.column(i + 1).sum();
            let expect_out = if any_end {
                occ - p.state_occ[[8, i]]
            } else {
                occ
            };
            assert!((out - expect_out).abs() < 1e-10, "{out} vs {expect_out}");
            assert!((into - occ).abs() < 1e-10);
        }
        assert!((p.trans_counts.row(0).sum() - 1.0).abs() < 1e-12);
    }
}

#[test]
fn too_short_utterance_is_minus_infinity() {
    let hmm = model(Topology::Linear, false);
    assert_eq!(hmm.min_frames(), 3);
    assert_eq!(model(Topology::Skip, false).min_frames(), 2);
    let em = hmm.emissions(feats(2, 0).view()).unwrap();
    assert_eq!(hmm.forward(&em).1, f64::NEG_INFINITY);
    assert_eq!(hmm.viterbi(&em).score, f64::NEG_INFINITY);
    assert!(hmm.posteriors(&em).is_none());
    let empty = hmm.emissions(feats(0, 0).view()).unwrap();
    assert_eq!(hmm.forward(&empty).1, f64::NEG_INFINITY);
}

#[test]
fn invalid_models_are_errors() {
    let e = Hmm::new(vec![], Array2::zeros((2, 2)), false).unwrap_err();
    assert!(matches!(e, Error::InvalidModel(_)));
    let mut t = Array2::zeros((3, 3));
    t[[0, 1]] = 1.0;
    t[[1, 1]] = 0.5;
    t[[1, 2]] = 0.4;
    let e = Hmm::new(vec![gmm2(0.0)], t, false).unwrap_err();
    assert!(e.to_string().contains("sum to"), "{e}");
    let e = Hmm::left_to_right(vec![gmm2(0.0)], Topology::Linear, 1.0, false).unwrap_err();
    assert!(matches!(e, Error::InvalidModel(_)));
    let hmm = model(Topology::Linear, false);
    let e = hmm
        .emissions(Array2::<f32>::zeros((3, 5)).view())
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Dimension {
            expected: 2,
            got: 5
        }
    ));
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<Hmm>();
    check::<crate::Emissions>();
    check::<crate::Posteriors>();
    check::<Error>();
}

#[test]
fn stats_merge_is_union_and_baum_welch_improves() {
    let hmm = model(Topology::Linear, false);
    let utts: Vec<Array2<f32>> = (0..6).map(|u| feats(8 + u, u)).collect();
    let acc = |us: &[Array2<f32>]| {
        let mut st = crate::HmmStats::for_model(&hmm);
        for x in us {
            let em = hmm.emissions(x.view()).unwrap();
            st.add(&hmm, x.view(), &hmm.posteriors(&em).unwrap())
                .unwrap();
        }
        st
    };
    let all = acc(&utts);
    let mut a = acc(&utts[..2]);
    a.merge(&acc(&utts[2..])).unwrap();
    assert_eq!(a.num_utts, all.num_utts);
    assert!((a.total_loglike - all.total_loglike).abs() < 1e-9);
    assert!((&a.trans_counts - &all.trans_counts)
        .iter()
        .all(|d| d.abs() < 1e-12));
    for (x, y) in a.states.iter().zip(&all.states) {
        assert!((&x.occupancy() - &y.occupancy())
            .iter()
            .all(|d| d.abs() < 1e-12));
        assert!((&x.first() - &y.first()).iter().all(|d| d.abs() < 1e-10));
    }
    let opts = crate::HmmEstimateOptions {
        gmm: cepstra_gmm::EstimateOptions::no_floors(),
        trans_floor: 0.0,
        ..Default::default()
    };
    let (next, warnings) = crate::estimate_hmm(&hmm, &all, &opts).unwrap();
    assert!(warnings.is_empty());
    let after = acc_total(&next, &utts);
    assert!(
        after >= all.total_loglike - 1e-9,
        "{after} < {}",
        all.total_loglike
    );
    // Zero transitions stay zero.
    assert_eq!(next.trans()[[1, 3]], 0.0);
}

fn acc_total(hmm: &Hmm, utts: &[Array2<f32>]) -> f64 {
    utts.iter()
        .map(|x| hmm.forward(&hmm.emissions(x.view()).unwrap()).1)
        .sum()
}

#[test]
fn flat_start_then_viterbi_training() {
    assert_eq!(crate::equal_segments(7, 3), vec![0, 0, 0, 1, 1, 2, 2]);
    // Three segments with means 0, 6, -6 per utterance, of varied lengths.
    let utts: Vec<(String, Array2<f32>)> = (0..8)
        .map(|u| {
            let t = 9 + u % 4;
            let x = Array2::from_shape_fn((t, 2), |(i, j)| {
                let m = [0.0, 6.0, -6.0][i * 3 / t];
                m + ((i * 7 + j * 5 + u * 3) % 11) as f32 / 11.0 - 0.5
            });
            (format!("utt{u}"), x)
        })
        .chain(std::iter::once((
            "short".to_string(),
            Array2::zeros((2, 2)),
        )))
        .collect();
    let views: Vec<_> = utts.iter().map(|(id, x)| (id.clone(), x.view())).collect();
    let fit = cepstra_gmm::FitOptions {
        num_gauss: 1,
        covariance: cepstra_gmm::CovarianceType::Diag,
        ..Default::default()
    };
    let (hmm, skipped) = crate::flat_start(&views, 3, &fit, Topology::Linear, 0.5, false).unwrap();
    assert_eq!(skipped, vec!["short".to_string()]);
    for (s, m) in [0.0, 6.0, -6.0].iter().enumerate() {
        assert!((hmm.state(s).means()[[0, 0]] - m).abs() < 0.6, "state {s}");
    }
    let mut st = crate::HmmStats::for_model(&hmm);
    let mut before = 0.0;
    for (_, x) in &utts[..8] {
        let em = hmm.emissions(x.view()).unwrap();
        let p = hmm.viterbi_posteriors(&em).unwrap();
        before += p.total;
        st.add(&hmm, x.view(), &p).unwrap();
    }
    let short = hmm.emissions(utts[8].1.view()).unwrap();
    assert!(hmm.viterbi_posteriors(&short).is_none());
    let (next, _) = crate::estimate_hmm(&hmm, &st, &Default::default()).unwrap();
    let after: f64 = utts[..8]
        .iter()
        .map(|(_, x)| next.viterbi(&next.emissions(x.view()).unwrap()).score)
        .sum();
    assert!(after >= before - 1e-9, "{after} < {before}");
}

/// Equal to 1e-12 of the larger of 1 and |b| (occupancies are sums of up to T values ≤ 1).
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

/// The scaled forward-backward (the training and scoring hot path) gives the log-domain
/// quantities: total, component occupancies, each state's frames and the transition counts.
#[test]
fn scaled_forward_backward_matches_log_domain() {
    let mut work = crate::scaled::Scaled::default();
    for topo in [Topology::Linear, Topology::Skip] {
        for any_end in [false, true] {
            let hmm = model(topo, any_end);
            let k = hmm.stacked.num_gauss();
            for (t, seed) in [(1, 0), (3, 2), (4, 1), (9, 5), (40, 3)] {
                let x = feats(t, seed);
                let em = hmm.emissions(x.view()).unwrap();
                let Some(p) = hmm.posteriors(&em) else {
                    assert!(!work.posteriors(&hmm, x.view()).unwrap(), "T={t}");
                    assert_eq!(hmm.forward_total(x.view()).unwrap(), f64::NEG_INFINITY);
                    continue;
                };
                assert!(work.posteriors(&hmm, x.view()).unwrap(), "T={t}");
                let what = format!("{topo:?} any_end={any_end} T={t}");
                assert!(
                    close(work.total, p.total),
                    "{what}: {} vs {}",
                    work.total,
                    p.total
                );
                assert!(
                    close(hmm.forward_total(x.view()).unwrap(), p.total),
                    "{what}"
                );
                for ((tt, c), &want) in p.comp_occ.indexed_iter() {
                    let got = work.p[tt * k + c];
                    assert!(near(got, want), "{what}: γ[{tt},{c}] {got} vs {want}");
                }
                for (j, &f) in work.state_frames.iter().enumerate() {
                    let want = p.state_occ.column(j).sum();
                    assert!(near(f, want), "{what}: state {j} {f} vs {want}");
                }
                for (&got, &want) in work.trans.iter().zip(p.trans_counts.iter()) {
                    assert!(near(got, want), "{what}: transitions {got} vs {want}");
                }
            }
        }
    }
}

/// An utterance whose first frames every reachable state explains hundreds of nats worse than
/// the best component: the scaled recursion declines it and the log domain scores it.
#[test]
fn scaled_recursion_falls_back_to_the_log_domain() {
    let g = |m: f64| {
        Gmm::from(DiagGmm::new(array![1.0], array![[m, 0.0]], array![[1.0, 1.0]]).unwrap())
    };
    let hmm = Hmm::left_to_right(vec![g(0.0), g(60.0)], Topology::Linear, 0.5, false).unwrap();
    let x = Array2::from_shape_fn((4, 2), |(t, j)| if j == 0 && t < 2 { 60.0f32 } else { 0.0 });
    let mut work = crate::scaled::Scaled::default();
    assert!(!work.posteriors(&hmm, x.view()).unwrap());
    let em = hmm.emissions(x.view()).unwrap();
    let (_, want) = hmm.forward(&em);
    assert!(want.is_finite() && want < -1500.0, "{want}");
    assert_eq!(hmm.forward_total(x.view()).unwrap(), want);
}

/// The sparse per-utterance statistics (the trainer's) equal the dense reference
/// ([`crate::HmmStats::add`]) for diagonal and full covariance (full: the lower triangle).
#[test]
fn sparse_statistics_equal_dense_reference() {
    use cepstra_gmm::{CovarianceType, FullGmm, SecondOrder};
    let full = |m: f64| {
        Gmm::from(
            FullGmm::new(
                array![0.4, 0.6],
                array![[m, -m], [m + 1.0, 0.5]],
                array![[[1.0, 0.3], [0.3, 2.0]], [[0.5, -0.1], [-0.1, 1.5]]],
            )
            .unwrap(),
        )
    };
    let models = [
        model(Topology::Skip, false),
        Hmm::left_to_right(
            vec![full(0.0), full(2.0), full(-1.0)],
            Topology::Linear,
            0.6,
            true,
        )
        .unwrap(),
    ];
    for hmm in &models {
        let x = feats(25, 7);
        let post = hmm.posteriors(&hmm.emissions(x.view()).unwrap()).unwrap();
        let mut dense = crate::HmmStats::for_model(hmm);
        dense.add(hmm, x.view(), &post).unwrap();
        let mut sparse = crate::occstats::UttStats::default();
        let k = hmm.stacked.num_gauss();
        let cov = hmm.covariance_type();
        sparse.accumulate(x.view(), post.comp_occ.as_slice().unwrap(), k, cov);
        let d = hmm.dim();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        for (j, st) in dense.states.iter().enumerate() {
            for m in 0..hmm.state(j).num_gauss() {
                let c = hmm.offsets[j] + m;
                assert!(
                    close(sparse.occ[c], st.occupancy()[m]),
                    "{cov:?} occ {j} {m}"
                );
                for i in 0..d {
                    assert!(close(sparse.first[c * d + i], st.first()[[m, i]]), "first");
                }
                match st.second() {
                    SecondOrder::Diag(s) => {
                        assert_eq!(cov, CovarianceType::Diag);
                        for i in 0..d {
                            assert!(close(sparse.second[c * d + i], s[[m, i]]), "second");
                        }
                    }
                    SecondOrder::Full(s) => {
                        for i in 0..d {
                            for l in 0..=i {
                                let got = sparse.second[c * d * d + i * d + l];
                                assert!(close(got, s[[m, i, l]]), "second {i} {l}");
                            }
                        }
                    }
                }
            }
        }
    }
}
