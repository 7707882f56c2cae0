//! Unit tests of the trainer as a whole (each module has its own small tests).

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::*;

/// `classes` classes; class c has `utts` utterances of 20–40 frames, drawn from a mixture of
/// `comps` well separated Gaussians in `dim` dimensions around a class-specific centre.
fn synth(
    classes: usize,
    utts: usize,
    dim: usize,
    comps: usize,
    seed: u64,
) -> Vec<(String, String, Array2<f32>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n01 = Normal::new(0.0f32, 1.0).unwrap();
    let mut out = Vec::new();
    for c in 0..classes {
        for u in 0..utts {
            let frames = 20 + (u * 7 + c * 3) % 21;
            let mut m = Array2::zeros((frames, dim));
            for t in 0..frames {
                let k = (t + u) % comps;
                for j in 0..dim {
                    let centre = 6.0 * c as f32 + if j == 0 { 8.0 * k as f32 } else { 0.0 };
                    m[[t, j]] = centre + n01.sample(&mut rng) * (1.0 + 0.1 * j as f32);
                }
            }
            out.push((format!("c{c}_u{u:02}"), format!("L{c}"), m));
        }
    }
    out
}

type Feats = Vec<(String, Array2<f32>)>;
type Text = Vec<(String, String)>;

fn split(v: &[(String, String, Array2<f32>)]) -> (Feats, Text) {
    (
        v.iter().map(|(u, _, m)| (u.clone(), m.clone())).collect(),
        v.iter().map(|(u, l, _)| (u.clone(), l.clone())).collect(),
    )
}

fn data_of(v: &[(String, String, Array2<f32>)]) -> TrainingData {
    let (f, t) = split(v);
    TrainingData::new(f, &t).unwrap()
}

fn opts(k: usize, iters: usize) -> TrainOptions {
    let mut o = TrainOptions::default();
    o.fit.num_gauss = k;
    o.fit.num_iters = iters;
    o
}

#[test]
fn exact_sums_do_not_depend_on_grouping_order_or_threads() {
    let all = synth(3, 12, 4, 2, 1);
    let data = data_of(&all);
    let o = opts(2, 1);
    let set = init_classes(&data, &o, &Default::default()).unwrap();
    let whole = accumulate(&set, &data).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for round in 0..4 {
        // Shuffle, cut into 1..=4 jobs of random sizes, sum the jobs in a random order.
        let mut v = all.clone();
        v.shuffle(&mut rng);
        let jobs = 1 + round;
        let parts: Vec<_> = (0..jobs)
            .map(|j| v.iter().skip(j).step_by(jobs).cloned().collect::<Vec<_>>())
            .collect();
        let mut accs: Vec<ClassAccs> = parts
            .iter()
            .map(|p| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1 + round % 3)
                    .build()
                    .unwrap();
                pool.install(|| accumulate(&set, &data_of(p)).unwrap())
            })
            .collect();
        accs.shuffle(&mut rng);
        let mut sum = accs[0].clone();
        for a in &accs[1..] {
            sum.merge(a, "job").unwrap();
        }
        assert_eq!(sum, whole, "round {round}");
        assert_eq!(sum.to_bytes(), whole.to_bytes());
        let a = est_classes(&set, &sum).unwrap().to_bytes().unwrap();
        let b = est_classes(&set, &whole).unwrap().to_bytes().unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn train_classes_equals_distributed_path() {
    let all = synth(3, 10, 3, 2, 2);
    let data = data_of(&all);
    let o = opts(2, 3);
    let one = train_classes(&data, &o, &Default::default()).unwrap();
    let (a, b) = all.split_at(13);
    let mut set = init_classes(&data, &o, &Default::default()).unwrap();
    for _ in 0..3 {
        // Through the files' bytes, as the recipe does.
        let set2 = ModelSet::from_bytes(&set.to_bytes().unwrap(), "x").unwrap();
        let mut acc =
            ClassAccs::from_bytes(&accumulate(&set2, &data_of(b)).unwrap().to_bytes(), "b")
                .unwrap();
        acc.merge(&accumulate(&set2, &data_of(a)).unwrap(), "a")
            .unwrap();
        set = est_classes(&set2, &acc).unwrap();
    }
    assert_eq!(set.to_bytes().unwrap(), one.to_bytes().unwrap());
    assert_eq!(one.iteration, 3);
    for c in &one.classes {
        assert_eq!(c.loglikes.len(), 3);
        // EM never decreases the likelihood (floors aside, these data are benign).
        assert!(
            c.loglikes.windows(2).all(|w| w[1] >= w[0] - 1e-6),
            "{:?}",
            c.loglikes
        );
    }
}

#[test]
fn model_set_json_round_trip() {
    let data = data_of(&synth(2, 6, 3, 2, 3));
    let mut o = opts(2, 2);
    o.select_k = vec![1, 2];
    let mut ov = ClassOverrides::new();
    ov.insert(
        "L1".into(),
        [("covariance".to_string(), serde_json::json!("diag"))].into(),
    );
    let set = train_classes(&data, &o, &ov).unwrap();
    let bytes = set.to_bytes().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("{\n  \"format\": \"cepstra-modelset\",\n  \"version\": 2,"));
    assert!(text.contains("\"criterion\":\"bic\""));
    let back = ModelSet::from_bytes(&bytes, "x").unwrap();
    assert_eq!(back, set);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert_eq!(
        back.classes[1].model.covariance_type(),
        cepstra_gmm::CovarianceType::Diag
    );
    assert_eq!(
        back.classes[0].model.covariance_type(),
        cepstra_gmm::CovarianceType::Full
    );
    assert!(back.classes[0].selection.is_some());
    assert_eq!(back.iteration, 2);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("final.mdl");
    set.write(p.to_str().unwrap()).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), bytes);
    assert_eq!(ModelSet::read(p.to_str().unwrap()).unwrap(), set);
    // Malformed model sets.
    let bad = text.replace("cepstra-modelset", "something-else");
    assert!(matches!(
        ModelSet::from_bytes(bad.as_bytes(), "x"),
        Err(Error::ModelSetFormat { .. })
    ));
    let bad = text.replace("\"version\": 2", "\"version\": 9");
    assert!(
        matches!(ModelSet::from_bytes(bad.as_bytes(), "x"), Err(Error::ModelSetFormat { reason, .. }) if reason.contains("version 9"))
    );
    assert!(matches!(
        ModelSet::from_bytes(&bytes[..bytes.len() / 2], "x"),
        Err(Error::ModelSetFormat { .. })
    ));
}

#[test]
fn acc_file_round_trip_and_errors() {
    let data = data_of(&synth(2, 5, 3, 2, 4));
    let set = init_classes(&data, &opts(2, 1), &Default::default()).unwrap();
    let accs = accumulate(&set, &data).unwrap();
    let bytes = accs.to_bytes();
    assert_eq!(&bytes[..8], ACC_MAGIC);
    let back = ClassAccs::from_bytes(&bytes, "a.acc").unwrap();
    assert_eq!(back, accs);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.1.acc");
    accs.write(p.to_str().unwrap()).unwrap();
    assert_eq!(ClassAccs::read(p.to_str().unwrap()).unwrap(), accs);
    for cut in [3, 20, bytes.len() - 1] {
        assert!(matches!(
            ClassAccs::from_bytes(&bytes[..cut], "a.acc"),
            Err(Error::AccFormat { reason, .. }) if reason.contains("truncated") || reason.contains("magic")
        ));
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(
        matches!(ClassAccs::from_bytes(&long, "a.acc"), Err(Error::AccFormat { reason, .. }) if reason.contains("trailing"))
    );
    let mut v = bytes.clone();
    v[8] = 7;
    assert!(
        matches!(ClassAccs::from_bytes(&v, "a.acc"), Err(Error::AccFormat { reason, .. }) if reason.contains("version 7"))
    );
    // Statistics of another model set are refused.
    let other = init_classes(
        &data,
        &{
            let mut o = opts(2, 1);
            o.fit.seed = 9;
            o
        },
        &Default::default(),
    )
    .unwrap();
    let foreign = accumulate(&other, &data).unwrap();
    assert!(matches!(
        est_classes(&set, &foreign),
        Err(Error::AccMismatch { .. })
    ));
    let mut sum = accs.clone();
    assert!(
        matches!(sum.merge(&foreign, "x.2.acc"), Err(Error::AccMismatch { what, .. }) if what == "x.2.acc")
    );
}

#[test]
fn bad_inputs() {
    let all = synth(2, 4, 3, 1, 5);
    let (f, t) = split(&all);
    // Text entry without features.
    let e = TrainingData::new(f[1..].to_vec(), &t).unwrap_err();
    assert!(
        matches!(&e, Error::MissingFeatures { count: 1, examples } if examples == "c0_u00"),
        "{e}"
    );
    // Features without a label.
    let e = TrainingData::new(f.clone(), &t[..7]).unwrap_err();
    assert!(
        matches!(&e, Error::UnlabelledFeatures { count: 1, examples } if examples == "c1_u03"),
        "{e}"
    );
    // Duplicates.
    let mut f2 = f.clone();
    f2.push(f[0].clone());
    assert!(matches!(
        TrainingData::new(f2, &t),
        Err(Error::DuplicateUtterance {
            what: "features",
            ..
        })
    ));
    let mut t2 = t.clone();
    t2.push(t[0].clone());
    assert!(matches!(
        TrainingData::new(f.clone(), &t2),
        Err(Error::DuplicateUtterance { what: "text", .. })
    ));
    // Bad label.
    let mut t3 = t.clone();
    t3[2].1 = "two words".into();
    assert!(matches!(
        TrainingData::new(f.clone(), &t3),
        Err(Error::BadLabel { .. })
    ));
    // Mixed dimensions.
    let mut f4 = f.clone();
    f4[3].1 = Array2::zeros((10, 5));
    assert!(matches!(
        TrainingData::new(f4, &t),
        Err(Error::FeatureDimension {
            expected: 3,
            got: 5,
            ..
        })
    ));
    // No data.
    let empty = TrainingData::new(vec![], &[]).unwrap();
    assert!(matches!(
        init_classes(&empty, &opts(2, 1), &Default::default()),
        Err(Error::NoTrainingData(_))
    ));
    // A class with too few frames for one component: 3 frames, D=3 needs 11 (occupancy > 10).
    let tiny = TrainingData::new(
        vec![(
            "a".into(),
            Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as f32),
        )],
        &[("a".into(), "z".into())],
    )
    .unwrap();
    let e = init_classes(&tiny, &opts(1, 1), &Default::default()).unwrap_err();
    assert!(
        matches!(&e, Error::TooFewFrames { class, frames: 3, dim: 3, needed: 11, .. } if class == "z"),
        "{e}"
    );
    // Fallback: 4 utterances of ≥20 frames, 11 frames per component.
    let data = data_of(&all);
    let set = init_classes(&data, &opts(40, 1), &Default::default()).unwrap();
    let c = &set.classes[0];
    assert_eq!(c.num_gauss_requested, 40);
    // (k-means may leave a few clusters too small; they are removed)
    assert!(c.model.num_gauss() <= max_components(c.num_frames, 3, &opts(40, 1).fit));
    assert!(c.model.num_gauss() < 40);
    // Data with a class the model set does not have.
    let set = init_classes(&data_of(&all[..4]), &opts(1, 1), &Default::default()).unwrap();
    let e = accumulate(&set, &data).unwrap_err();
    assert!(
        matches!(&e, Error::UnknownClass { class, .. } if class == "L1"),
        "{e}"
    );
    // Dimension mismatch between data and model set.
    let other = data_of(&synth(2, 4, 5, 1, 5));
    assert!(matches!(
        accumulate(&set, &other),
        Err(Error::FeatureDimension {
            expected: 3,
            got: 5,
            ..
        })
    ));
    // Statistics of only one of two jobs.
    let set = init_classes(&data, &opts(1, 1), &Default::default()).unwrap();
    let half = accumulate(&set, &data_of(&all[..6])).unwrap();
    let e = est_classes(&set, &half).unwrap_err();
    assert!(
        matches!(&e, Error::AccMismatch { what, .. } if what == "class 'L1'"),
        "{e}"
    );
    // Unknown per-class option.
    let mut ov = ClassOverrides::new();
    ov.insert(
        "L0".into(),
        [("num_gaus".to_string(), serde_json::json!(3))].into(),
    );
    assert!(matches!(
        init_classes(&data, &opts(1, 1), &ov),
        Err(Error::UnknownOverride { .. })
    ));
}

#[test]
fn tol_marks_classes_converged_and_freezes_them() {
    let data = data_of(&synth(2, 6, 2, 2, 6));
    let mut o = opts(2, 4);
    o.fit.tol = 1e9; // converged after the second pass
    let set = train_classes(&data, &o, &Default::default()).unwrap();
    for c in &set.classes {
        assert!(c.converged);
        assert_eq!(c.loglikes.len(), 2);
    }
    assert_eq!(set.iteration, 4);
    let mut set2 = init_classes(&data, &o, &Default::default()).unwrap();
    for _ in 0..4 {
        let a = accumulate(&set2, &data).unwrap();
        set2 = est_classes(&set2, &a).unwrap();
    }
    assert_eq!(set2.to_bytes().unwrap(), set.to_bytes().unwrap());
}

#[test]
fn select_k_picks_the_true_number_of_components() {
    // One class, 3 well separated components in 2-D, 30 utterances (~900 frames).
    let all = synth(1, 30, 2, 3, 8);
    let data = data_of(&all);
    let fit = opts(1, 10).fit;
    let s = select_num_gauss(&data.classes()[0], &fit, &[1, 2, 3, 5, 8], Criterion::Bic).unwrap();
    assert_eq!(s.chosen, 3, "{s:?}");
    assert_eq!(s.candidates.len(), 5);
    let scores: Vec<f64> = s.candidates.iter().map(|c| c.score.unwrap()).collect();
    assert!(scores[2] < scores[0] && scores[2] < scores[1]);
    let h = select_num_gauss(&data.classes()[0], &fit, &[1, 2, 3], Criterion::Heldout).unwrap();
    assert_eq!(h.chosen, 3, "{h:?}");
    // Candidates that do not fit are recorded, not tried.
    let s = select_num_gauss(&data.classes()[0], &fit, &[1, 10_000], Criterion::Bic).unwrap();
    assert_eq!(s.chosen, 1);
    assert!(s.candidates[1].score.is_none() && s.candidates[1].note.is_some());
    // Through init_classes: the chosen K is used and recorded.
    let mut o = opts(5, 2);
    o.select_k = vec![1, 3];
    let set = train_classes(&data, &o, &Default::default()).unwrap();
    assert_eq!(set.classes[0].model.num_gauss(), 3);
    assert_eq!(set.classes[0].selection.as_ref().unwrap().chosen, 3);
    // heldout needs 2 utterances.
    let one = data_of(&all[..1]);
    assert!(matches!(
        select_num_gauss(&one.classes()[0], &fit, &[1], Criterion::Heldout),
        Err(Error::HeldoutTooFewUtterances { utts: 1, .. })
    ));
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<ModelSet>();
    check::<ClassAccs>();
    check::<TrainingData>();
    check::<TrainOptions>();
    check::<ExactStats>();
    check::<Error>();
}

#[test]
fn n_init_keeps_the_best_seed_and_records_it() {
    let data = data_of(&synth(2, 6, 2, 3, 9));
    let mut o = opts(3, 3);
    o.fit.n_init = 4;
    let set = train_classes(&data, &o, &Default::default()).unwrap();
    let mut best = f64::NEG_INFINITY;
    for seed in 0..4u64 {
        let mut os = opts(3, 3);
        os.fit.seed = seed;
        let one = train_classes(&data, &os, &Default::default()).unwrap();
        let ll = one.classes[0].loglikes.last().copied().unwrap();
        best = best.max(ll);
    }
    let c = &set.classes[0];
    let chosen = c
        .overrides
        .get("seed")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    assert!(chosen < 4);
    assert_eq!(set.class_options(0).unwrap().seed, chosen);
    // The kept initialisation is at least as good as every other seed's (up to the last update).
    let mut os = opts(3, 3);
    os.fit.seed = chosen;
    let again = train_classes(&data, &os, &Default::default()).unwrap();
    assert_eq!(again.classes[0].model, c.model);
    assert!(best.is_finite());
}

#[test]
fn model_set_info_detection_and_kaldi_archive() {
    let data = data_of(&synth(2, 6, 3, 2, 5));
    let set = train_classes(&data, &opts(2, 2), &Default::default()).unwrap();
    let bytes = set.to_bytes().unwrap();
    assert!(is_model_set(&bytes));
    let single = cepstra_gmm::io::model_to_json(&set.classes[0].model).unwrap();
    assert!(!is_model_set(single.as_bytes()));
    assert!(!is_model_set(b""));
    // Found by parsing when the format key is not first.
    let moved = String::from_utf8(bytes.clone())
        .unwrap()
        .replacen("\"format\": \"cepstra-modelset\",\n", "", 1)
        .replacen(
            "{\n",
            "{\n  \"a\": 1, \"format\": \"cepstra-modelset\",\n",
            1,
        );
    assert!(is_model_set(moved.as_bytes()));
    let info = set.info();
    let lines: Vec<&str> = info.lines().collect();
    assert!(lines[0].starts_with("model set: 2 classes, feature dimension 3, 2 EM passes"));
    for c in &set.classes {
        let row = format!(
            "{}\t{}\tfull\t{}\t{}\t{:.4}",
            c.label,
            c.model.num_gauss(),
            c.num_utts,
            c.num_frames,
            c.loglikes.last().unwrap()
        );
        assert!(lines.contains(&row.as_str()), "{row} not in\n{info}");
    }
    let text = String::from_utf8(set.to_kaldi_archive(false).unwrap()).unwrap();
    assert!(text.starts_with("L0 <FullGMM>"));
    assert_eq!(text.matches("<FullGMM>").count(), 2);
    assert!(text.contains("\nL1 <FullGMM>") || text.contains(" L1 <FullGMM>"));
    let bin = set.to_kaldi_archive(true).unwrap();
    assert!(bin.starts_with(b"L0 \0B<FullGMM>"));
}

fn frontend13() -> cepstra_feat::FrontEndOptions {
    let mut m = cepstra_feat::MfccOptions::default();
    m.frame_opts.samp_freq = 8000.0;
    m.use_energy = false;
    m.num_ceps = 1;
    cepstra_feat::FrontEndOptions::new(
        cepstra_feat::FeatureOptions::Mfcc(m),
        cepstra_feat::CmvnMode::Utterance,
        false,
        2,
        2,
    )
}

#[test]
fn frontend_is_recorded_checked_and_kept_by_est() {
    let data = data_of(&synth(2, 6, 3, 2, 7));
    let set = init_classes(&data, &opts(1, 1), &Default::default()).unwrap();
    assert!(set.frontend.is_none());
    // 1 cepstrum + Δ + ΔΔ = 3 = the data's dimension.
    let fe = frontend13();
    let set = set.with_frontend(Some(fe.clone())).unwrap();
    let bytes = set.to_bytes().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("\"version\": 2,")
            && text.contains("\"frontend\": {\"features\":{\"type\":\"mfcc\"")
    );
    let back = ModelSet::from_bytes(&bytes, "x").unwrap();
    assert_eq!(back.frontend.as_ref(), Some(&fe));
    assert!(back.info().contains("front-end: compute-mfcc-feats --sample-frequency=8000 --num-ceps=1 --use-energy=false | apply-cmvn (per utterance) | add-deltas"));
    let accs = accumulate(&back, &data).unwrap();
    let next = est_classes(&back, &accs).unwrap();
    assert_eq!(next.frontend.as_ref(), Some(&fe));
    // Features of another dimension or pipeline are refused, naming the step.
    let e = back
        .check_frontend("scp:f.scp", 1, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("scp:f.scp: the features have dimension 1")
            && e.contains("without add-deltas"),
        "{e}"
    );
    let mut other = fe.clone();
    other.cmvn = cepstra_feat::CmvnMode::Speaker;
    let e = back
        .check_frontend("scp:f.scp", 3, Some(&other))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("normalisation (apply-cmvn): speaker here, utterance there"),
        "{e}"
    );
    back.check_frontend("scp:f.scp", 3, Some(&fe)).unwrap();
    // A front-end of another dimension cannot be recorded.
    let mut wrong = fe;
    wrong.deltas = None;
    assert!(matches!(
        set.clone().with_frontend(Some(wrong)),
        Err(Error::FrontEnd { .. })
    ));
}

#[test]
fn version_1_model_sets_still_read() {
    let bytes = include_bytes!("../tests/data/modelset-v1.mdl");
    assert!(std::str::from_utf8(bytes)
        .unwrap()
        .contains("\"version\": 1,"));
    let set = ModelSet::from_bytes(bytes, "modelset-v1.mdl").unwrap();
    assert_eq!(set.labels().collect::<Vec<_>>(), ["no", "yes"]);
    assert_eq!((set.dim(), set.iteration), (2, 1));
    assert!(set.frontend.is_none());
    assert!(set.info().contains("front-end: not recorded"));
    // Written again, it is a version-2 file that reads back the same.
    let v2 = set.to_bytes().unwrap();
    assert!(std::str::from_utf8(&v2)
        .unwrap()
        .contains("\"version\": 2,\n"));
    assert_eq!(ModelSet::from_bytes(&v2, "x").unwrap(), set);
}
