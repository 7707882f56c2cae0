//! Property tests: Viterbi ≤ forward, forward total = backward total, merge(A, B) = A ∪ B.

// unwrap in the helpers: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use cepstra_gmm::{DiagGmm, Gmm};
use cepstra_hmm::{Hmm, HmmStats, Topology};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

fn model(s: usize, seed: u64, skip: bool, any_end: bool) -> Hmm {
    let v = |i: u64| {
        ((seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i.wrapping_mul(1442695040888963407)))
            >> 40) as f64
            / (1u64 << 24) as f64
    };
    let states = (0..s)
        .map(|j| {
            let j = j as u64;
            Gmm::from(
                DiagGmm::new(
                    Array1::from(vec![0.2 + v(j), 0.3 + v(j + 50)]),
                    Array2::from_shape_fn((2, 2), |(m, d)| {
                        4.0 * v(j * 7 + m as u64 * 3 + d as u64) - 2.0
                    }),
                    Array2::from_shape_fn((2, 2), |(m, d)| {
                        0.3 + v(j * 11 + m as u64 * 5 + d as u64 + 100)
                    }),
                )
                .unwrap(),
            )
        })
        .collect();
    let topo = if skip {
        Topology::Skip
    } else {
        Topology::Linear
    };
    Hmm::left_to_right(states, topo, 0.2 + 0.6 * v(999), any_end).unwrap()
}

fn utt(t: usize, seed: u64) -> Array2<f32> {
    Array2::from_shape_fn((t, 2), |(i, d)| {
        ((i as u64 * 31 + d as u64 * 17 + seed * 13) % 29) as f32 / 7.0 - 2.0
    })
}

proptest! {
    #[test]
    fn viterbi_below_forward_and_forward_equals_backward(
        s in 1usize..5, t in 0usize..25, seed in 0u64..1000, skip: bool, any_end: bool
    ) {
        let hmm = model(s, seed, skip, any_end);
        let em = hmm.emissions(utt(t, seed).view()).unwrap();
        let (_, f) = hmm.forward(&em);
        let (_, b) = hmm.backward(&em);
        let v = hmm.viterbi(&em);
        if t < hmm.min_frames() {
            prop_assert_eq!(f, f64::NEG_INFINITY);
            prop_assert_eq!(v.score, f64::NEG_INFINITY);
        } else {
            prop_assert!(f.is_finite());
            prop_assert!((f - b).abs() <= 1e-9 * f.abs().max(1.0), "{} vs {}", f, b);
            prop_assert!(v.score <= f + 1e-9 * f.abs().max(1.0));
            prop_assert_eq!(v.states.len(), t);
        }
    }

    #[test]
    fn merge_is_union(s in 1usize..4, n in 2usize..7, cut in 1usize..6, seed in 0u64..1000) {
        let cut = cut.min(n - 1);
        let hmm = model(s, seed, false, false);
        let utts: Vec<Array2<f32>> = (0..n).map(|u| utt(s + 3 + u, seed + u as u64)).collect();
        let acc = |us: &[Array2<f32>]| {
            let mut st = HmmStats::for_model(&hmm);
            for x in us {
                let em = hmm.emissions(x.view()).unwrap();
                st.add(&hmm, x.view(), &hmm.posteriors(&em).unwrap()).unwrap();
            }
            st
        };
        let all = acc(&utts);
        let mut a = acc(&utts[..cut]);
        a.merge(&acc(&utts[cut..])).unwrap();
        prop_assert_eq!(a.num_utts, all.num_utts);
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1.0);
        prop_assert!(close(a.total_loglike, all.total_loglike));
        for (x, y) in a.trans_counts.iter().zip(&all.trans_counts) {
            prop_assert!(close(*x, *y));
        }
        for (x, y) in a.states.iter().zip(&all.states) {
            for (p, q) in x.occupancy().iter().zip(y.occupancy()) { prop_assert!(close(*p, *q)); }
            for (p, q) in x.first().iter().zip(y.first()) { prop_assert!(close(*p, *q)); }
        }
    }
}
