//! Parity with hmmlearn's GMMHMM (tests/data/hmmlearn_golden.json, made by
//! scripts/hmm/make_hmmlearn_golden.py; see tests/data/README.md).

// unwrap in the helpers: a malformed fixture should fail the test loudly.
#![allow(clippy::unwrap_used)]

use cepstra_gmm::{DiagGmm, EstimateOptions, Gmm};
use cepstra_hmm::{estimate_hmm, Hmm, HmmEstimateOptions, HmmStats};
use ndarray::{Array1, Array2};
use serde_json::Value;

fn arr(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(arr).collect(),
        Value::Number(n) => vec![n.as_f64().expect("number")],
        _ => panic!("not numeric: {v}"),
    }
}

fn model(p: &Value, s: usize, m: usize, d: usize) -> Hmm {
    let w = arr(&p["weights"]);
    let mu = arr(&p["means"]);
    let var = arr(&p["covars"]);
    let states = (0..s)
        .map(|j| {
            Gmm::from(
                DiagGmm::new(
                    Array1::from(w[j * m..(j + 1) * m].to_vec()),
                    Array2::from_shape_vec((m, d), mu[j * m * d..(j + 1) * m * d].to_vec())
                        .unwrap(),
                    Array2::from_shape_vec((m, d), var[j * m * d..(j + 1) * m * d].to_vec())
                        .unwrap(),
                )
                .unwrap(),
            )
        })
        .collect();
    let tm = arr(&p["transmat"]);
    let mut t = Array2::zeros((s + 2, s + 2));
    t[[0, 1]] = 1.0;
    for i in 0..s {
        for j in 0..s {
            t[[i + 1, j + 1]] = tm[i * s + j];
        }
    }
    Hmm::new(states, t, true).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn matches_hmmlearn() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/hmmlearn_golden.json"
    ))
    .unwrap();
    let g: Value = serde_json::from_str(&text).unwrap();
    let (s, m, d) = (3, 2, 3);
    let utts: Vec<Array2<f64>> = g["utts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let v = arr(u);
            Array2::from_shape_vec((v.len() / d, d), v).unwrap()
        })
        .collect();
    let mut hmm = model(&g["init"], s, m, d);
    for (u, x) in utts.iter().enumerate() {
        let em = hmm.emissions_f64(x.view()).unwrap();
        let (_, f) = hmm.forward(&em);
        let want = g["forward"][u].as_f64().unwrap();
        assert!(
            rel(f, want) < 1e-9,
            "utt {u}: forward {f} vs hmmlearn {want}"
        );
        let v = hmm.viterbi(&em);
        let path: Vec<usize> = arr(&g["viterbi_path"][u])
            .iter()
            .map(|&p| p as usize)
            .collect();
        assert_eq!(v.states, path, "utt {u}");
        let vs = g["viterbi_score"][u].as_f64().unwrap();
        assert!(
            rel(v.score, vs) < 1e-9,
            "utt {u}: viterbi {} vs {vs}",
            v.score
        );
    }
    let opts = HmmEstimateOptions {
        gmm: EstimateOptions::no_floors(),
        trans_floor: 0.0,
        ..Default::default()
    };
    for _ in 0..5 {
        let mut st = HmmStats::for_model(&hmm);
        for x in &utts {
            let em = hmm.emissions_f64(x.view()).unwrap();
            let p = hmm.posteriors(&em).unwrap();
            st.add(&hmm, x.mapv(|v| v as f32).view(), &p).unwrap();
        }
        hmm = estimate_hmm(&hmm, &st, &opts).unwrap().0;
    }
    let want = model(&g["after_5_iters"], s, m, d);
    let mut worst = 0.0f64;
    for j in 0..s {
        let (a, b) = (hmm.state(j), want.state(j));
        for (x, y) in a.weights().iter().zip(b.weights()) {
            worst = worst.max(rel(*x, *y));
        }
        for (x, y) in a.means().iter().zip(b.means()) {
            worst = worst.max(rel(*x, *y));
        }
        for (x, y) in a.vars().iter().zip(b.vars().iter()) {
            worst = worst.max(rel(*x, *y));
        }
    }
    for (x, y) in hmm.trans().iter().zip(want.trans()) {
        if *y != 0.0 {
            worst = worst.max(rel(*x, *y));
        } else {
            assert_eq!(*x, 0.0);
        }
    }
    eprintln!("largest relative parameter difference after 5 iterations: {worst:e}");
    assert!(
        worst < 1e-6,
        "largest relative parameter difference {worst:e}"
    );
}
