//! HTK MMF text: write → read → byte-identical re-write, a hand-written MMF in the style of the
//! HTK Book's first example (tests/data/htk_book_style.mmf, written for this test), full
//! covariance as <INVCOVAR>, and bad files → errors naming file and line.

// unwrap in tests: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use cepstra_gmm::{CovarianceType, FullGmm, Gmm};
use cepstra_hmm::{htk, train_hmms, Hmm, HmmClass, HmmSet, HmmTrainOptions, Topology};
use cepstra_train::TrainingData;
use ndarray::{array, Array2};

fn trained(cov: CovarianceType, any_end: bool) -> HmmSet {
    let mut feats = Vec::new();
    let mut text = Vec::new();
    for u in 0..12 {
        let t = 15 + u % 5;
        let x = Array2::from_shape_fn((t, 3), |(i, j)| {
            (i * 3 / t) as f32 * (1.0 + (u % 2) as f32)
                + ((i * 37 + j * 11 + u * 7) % 23) as f32 / 23.0
                - 0.5 * j as f32
        });
        feats.push((format!("u{u:02}"), x));
        text.push((format!("u{u:02}"), format!("w{}", u % 2)));
    }
    let data = TrainingData::new(feats, &text).unwrap();
    let o = HmmTrainOptions {
        num_states: 3,
        num_gauss: 2,
        num_iters: 2,
        covariance: cov,
        allow_any_end: any_end,
        min_gaussian_occupancy: 1.0,
        ..Default::default()
    };
    train_hmms(&data, &o).unwrap()
}

#[test]
fn diagonal_round_trip_is_byte_identical() {
    for any_end in [false, true] {
        let set = trained(CovarianceType::Diag, any_end);
        let text = htk::write_mmf(&set).unwrap();
        assert!(text.contains("~h \"w0\"\n<BEGINHMM>\n<NUMSTATES> 5\n<STATE> 2\n<NUMMIXES> 2\n"));
        assert!(text.contains("<VARIANCE> 3\n") && text.contains("<GCONST> "));
        let back = htk::read_mmf(text.as_bytes(), "set.mmf").unwrap();
        assert_eq!(htk::write_mmf(&back).unwrap(), text);
        for (a, b) in set.classes.iter().zip(&back.classes) {
            assert_eq!(a.label, b.label);
            assert_eq!(a.hmm.trans(), b.hmm.trans());
            assert_eq!(a.hmm.allow_any_end(), b.hmm.allow_any_end());
            for j in 0..3 {
                assert_eq!(a.hmm.state(j).means(), b.hmm.state(j).means());
                assert_eq!(a.hmm.state(j).vars(), b.hmm.state(j).vars());
            }
        }
    }
}

#[test]
fn gconst_is_htks() {
    let set = trained(CovarianceType::Diag, false);
    let text = htk::write_mmf(&set).unwrap();
    let g = set.classes[0].hmm.state(0);
    let want = 3.0 * (2.0 * std::f64::consts::PI).ln() + g.vars().row(0).mapv(f64::ln).sum();
    let got: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("<GCONST> "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}

#[test]
fn full_covariance_as_upper_triangle_of_the_inverse() {
    let cov = array![[[2.0, 0.3], [0.3, 1.0]]];
    let g = Gmm::from(FullGmm::new(array![1.0], array![[0.5, -1.0]], cov.clone()).unwrap());
    let hmm = Hmm::left_to_right(vec![g], Topology::Linear, 0.5, false).unwrap();
    let class = HmmClass {
        label: "one".into(),
        overrides: Default::default(),
        num_utts: 0,
        num_frames: 0,
        num_skipped: 0,
        loglikes: vec![],
        global_var: vec![2.0, 1.0],
        hmm,
    };
    let set = HmmSet::new(HmmTrainOptions::default(), vec![class]).unwrap();
    let text = htk::write_mmf(&set).unwrap();
    assert!(text.contains("<VECSIZE> 2<NULLD><USER><FULLC>"));
    // Σ⁻¹ = [[1, -0.3], [-0.3, 2]] / 1.91: the upper triangle row by row, 2 then 1 values.
    let i = text.find("<INVCOVAR> 2\n").unwrap();
    let rows: Vec<Vec<f64>> = text[i..]
        .lines()
        .skip(1)
        .take(2)
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows[0].len(), 2);
    assert_eq!(rows[1].len(), 1);
    for (got, want) in
        [rows[0][0], rows[0][1], rows[1][0]]
            .iter()
            .zip([1.0 / 1.91, -0.3 / 1.91, 2.0 / 1.91])
    {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let back = htk::read_mmf(text.as_bytes(), "full.mmf").unwrap();
    assert_eq!(back.classes[0].hmm.covariance_type(), CovarianceType::Full);
    let c = back.classes[0].hmm.state(0).covars_full();
    for (a, b) in c.iter().zip(cov.iter()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // A trained full-covariance set reads back within rounding.
    let set = trained(CovarianceType::Full, false);
    let back = htk::read_mmf(htk::write_mmf(&set).unwrap().as_bytes(), "f.mmf").unwrap();
    for (a, b) in set.classes.iter().zip(&back.classes) {
        for j in 0..3 {
            let (x, y) = (a.hmm.state(j).covars_full(), b.hmm.state(j).covars_full());
            for (p, q) in x.iter().zip(y.iter()) {
                assert!((p - q).abs() <= 1e-9 * p.abs().max(1.0), "{p} vs {q}");
            }
        }
    }
}

#[test]
fn a_hand_written_mmf_in_the_htk_book_style_reads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/htk_book_style.mmf");
    let set = HmmSet::read(path).unwrap();
    assert_eq!(set.labels().collect::<Vec<_>>(), ["oh", "seven"]);
    assert_eq!(set.dim(), 4);
    let seven = &set.classes[1].hmm;
    assert_eq!(seven.num_states(), 3);
    assert_eq!(seven.state(1).num_gauss(), 2);
    assert_eq!(seven.state(1).weights().to_vec(), [0.35, 0.65]);
    assert_eq!(
        seven.state(2).means().row(0).to_vec(),
        [-1.0, 0.8, 0.6, 0.0]
    );
    assert_eq!(seven.trans()[[0, 2]], 0.3);
    assert_eq!(seven.trans()[[3, 4]], 0.2);
    assert!(!seven.allow_any_end());
    // Entry may go to state 3 directly, so one frame can pass through 3 → 4 → exit: 2 frames.
    assert_eq!(seven.min_frames(), 2);
    let oh = &set.classes[0].hmm;
    assert_eq!(oh.num_states(), 1);
    // It scores: the forward total of a frame at the "oh" mean.
    let x = Array2::<f32>::zeros((3, 4));
    let s = set
        .score(0, x.view(), cepstra_hmm::ScoreMode::Forward)
        .unwrap();
    let want = 3.0 * (-2.0 * (2.0 * std::f64::consts::PI).ln()) + 2.0 * 0.9f64.ln() + 0.1f64.ln();
    assert!((s - want).abs() < 1e-9, "{s} vs {want}");
}

#[test]
fn bad_mmfs_name_the_file_and_line() {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/htk_book_style.mmf"
    ))
    .unwrap();
    let cases: Vec<(String, usize, &str)> = vec![
        (
            good.replace("<TransP> 3", "<Trans> 3"),
            44,
            "expected <TRANSP>",
        ),
        (
            good.replacen("0.9 1.2 0.8 1.0", "0.9 1.2 0.8", 1),
            13,
            "expected a variance, found <STATE>",
        ),
        (
            good.replacen("~v \"varFloor1\"", "~t \"T\"", 1),
            2,
            "macro ~t is not supported",
        ),
        (
            good.replace("<NumStates> 3", "<NumStates> 2"),
            40,
            "<NUMSTATES> 2",
        ),
        (good.replacen("0.3 -0.2", "0.3 abc", 1), 10, "\"abc\""),
        (good.replacen("<State> 4", "<State> 9", 1), 26, "<STATE> 9"),
        (
            good.replacen("0.5 0.6 0.7 0.4", "0.5 -0.6 0.7 0.4", 1),
            19,
            "must be positive",
        ),
        (
            good.replacen("<EndHMM>\n", "", 1),
            37,
            "expected <ENDHMM>, found ~h",
        ),
        (
            good.replace("0.0 0.9 0.1", "0.0 0.9 0.3"),
            46,
            "row 2 of <TRANSP> (state 2) sums to 1.2",
        ),
        ("~o <VecSize> 4 <MFCC>\n".into(), 1, "no HMM definition"),
    ];
    for (text, line, what) in cases {
        let e = htk::read_mmf(text.as_bytes(), "bad.mmf")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("bad.mmf:{line}: ")) && e.contains(what),
            "expected bad.mmf:{line}: …{what}…, got {e}"
        );
    }
}
