//! Parity with real Kaldi (tests/data/kaldi, see its README).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use cepstra_gmm::io::{self, ModelFormat, StatsFormat};
use cepstra_gmm::kaldi_compat;
use cepstra_gmm::{estimate, CovarianceType, EstimateOptions, Gmm, GmmStats, SecondOrder};
use cepstra_io::table::SequentialReader;
use ndarray::{concatenate, Array1, Array2, Axis};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kaldi")
        .join(name)
}
fn p(name: &str) -> String {
    data(name).to_string_lossy().into_owned()
}

/// The utterances of data.ark, in order.
fn utterances() -> Vec<Array2<f32>> {
    let r = SequentialReader::<Array2<f32>>::open(&format!("ark:{}", p("data.ark"))).unwrap();
    r.map(|x| x.unwrap().1).collect()
}

fn feats() -> Array2<f32> {
    let mats = utterances();
    let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
    concatenate(Axis(0), &views).unwrap()
}

fn kaldi_frame_likes(name: &str) -> Vec<f32> {
    let r = SequentialReader::<Array1<f32>>::open(&format!("ark:{}", p(name))).unwrap();
    r.flat_map(|e| e.unwrap().1.to_vec()).collect()
}

/// |a−b| ≤ rtol·max(|b|, floor·max|b|) element-wise; returns the worst ratio to the tolerance.
fn check_close(what: &str, a: &[f64], b: &[f64], rtol: f64, floor: f64) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut worst = 0.0f64;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let tol = rtol * y.abs().max(floor * scale).max(1e-300);
        let r = (x - y).abs() / tol;
        assert!(
            r <= 1.0,
            "{what}[{i}]: ours {x} vs Kaldi {y} (rel {:e})",
            (x - y).abs() / y.abs().max(floor * scale)
        );
        worst = worst.max((x - y).abs() / y.abs().max(floor * scale));
    }
    worst
}

fn flat2(a: ndarray::ArrayView2<f64>) -> Vec<f64> {
    a.iter().cloned().collect()
}

fn model_params(g: &Gmm) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (
        g.weights().to_vec(),
        flat2(g.means()),
        g.covars_full().iter().cloned().collect(),
    )
}

const MODELS: &[&str] = &[
    "diag_init",
    "diag_kaldi.5",
    "diag_none.5",
    "diag_occ100.5",
    "diag_mixup6",
    "full_init",
    "full_kaldi.5",
    "full_none.5",
    "full_mixup6",
];

#[test]
fn read_all_models_and_write_binary_back_identically() {
    for m in MODELS {
        let bin = std::fs::read(data(&format!("{m}.mdl"))).unwrap();
        let g = io::model_from_bytes(&bin).unwrap();
        assert_eq!(
            io::model_to_bytes(&g, ModelFormat::KaldiBinary).unwrap(),
            bin,
            "{m}: binary write-back differs"
        );
        let t = io::read_model(&p(&format!("{m}.mdl.txt"))).unwrap();
        assert_eq!(t.num_gauss(), g.num_gauss());
        assert_eq!(t.covariance_type(), g.covariance_type());
        let (a, b) = (model_params(&t), model_params(&g));
        check_close(&format!("{m} text weights"), &a.0, &b.0, 1e-5, 0.0);
        check_close(&format!("{m} text means"), &a.1, &b.1, 1e-4, 1e-3);
        check_close(&format!("{m} text covars"), &a.2, &b.2, 1e-4, 1e-3);
        // Our own text writer is readable by our reader and JSON round-trips.
        let t2 =
            io::model_from_bytes(&io::model_to_bytes(&g, ModelFormat::KaldiText).unwrap()).unwrap();
        check_close(
            &format!("{m} our text"),
            &model_params(&t2).1,
            &b.1,
            1e-4,
            1e-3,
        );
        let j = io::model_from_bytes(&io::model_to_bytes(&g, ModelFormat::Json).unwrap()).unwrap();
        assert_eq!(model_params(&j), b, "{m}: JSON round trip");
    }
}

fn stats_flat(s: &GmmStats) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let second = match s.second() {
        SecondOrder::Diag(a) => a.iter().cloned().collect(),
        SecondOrder::Full(a) => a.iter().cloned().collect(),
    };
    (s.occupancy().to_vec(), flat2(s.first()), second)
}

#[test]
fn stats_match_kaldi_first_accs() {
    let x = feats();
    for (init, runs) in [
        ("diag_init", &["diag_kaldi", "diag_none", "diag_occ100"][..]),
        ("full_init", &["full_kaldi", "full_none"][..]),
    ] {
        let g = io::read_model(&p(&format!("{init}.mdl"))).unwrap();
        let mut ours = GmmStats::for_model(&g);
        ours.accumulate(&g, x.view(), None).unwrap();
        let mut ours64 = GmmStats::for_model(&g);
        ours64
            .accumulate_f64(&g, x.mapv(|v| v as f64).view(), None)
            .unwrap();
        for run in runs {
            let bytes = std::fs::read(data(&format!("{run}.0.acc"))).unwrap();
            let k = io::stats_from_bytes(&bytes).unwrap();
            for (label, o) in [("f32", &ours), ("f64", &ours64)] {
                let (a, b) = (stats_flat(o), stats_flat(&k));
                let w0 = check_close(&format!("{run} {label} occupancy"), &a.0, &b.0, 1e-5, 0.0);
                let w1 = check_close(&format!("{run} {label} first"), &a.1, &b.1, 1e-5, 1e-3);
                let w2 = check_close(&format!("{run} {label} second"), &a.2, &b.2, 1e-5, 1e-3);
                eprintln!("{run} {label}: worst relative diff occ {w0:.2e} first {w1:.2e} second {w2:.2e}");
            }
            // Kaldi write-back: diag bytes identical; full within float rounding.
            let back = io::stats_to_bytes(&k, StatsFormat::KaldiBinary).unwrap();
            if k.covariance_type() == CovarianceType::Diag {
                assert_eq!(back, bytes, "{run}: acc write-back");
            } else {
                let k2 = io::stats_from_bytes(&back).unwrap();
                check_close(
                    "full acc round trip",
                    &stats_flat(&k2).2,
                    &stats_flat(&k).2,
                    1e-6,
                    1e-3,
                );
            }
        }
    }
}

#[test]
fn frame_likes_match_kaldi() {
    let x = feats();
    for m in ["diag_init", "full_init"] {
        let g = io::read_model(&p(&format!("{m}.mdl"))).unwrap();
        let r = SequentialReader::<Array1<f32>>::open(&format!(
            "ark:{}",
            p(&format!("{m}.frame_likes.ark"))
        ))
        .unwrap();
        let kl: Vec<f64> = r
            .flat_map(|e| e.unwrap().1.to_vec())
            .map(|v| v as f64)
            .collect();
        assert_eq!(kl.len(), x.nrows());
        let ours = g.log_likelihoods(x.view()).unwrap();
        let ours64 = g.log_likelihoods_f64(x.mapv(|v| v as f64).view()).unwrap();
        // Kaldi computes gconst + μᵀPx − ½xᵀPx in float32: error scales with |gconst|.
        let gmax = g.gconsts().iter().fold(0.0f64, |a, b| a.max(b.abs()));
        let tol = 4.0 * f32::EPSILON as f64 * gmax + 1e-4;
        let mut worst = 0.0f64;
        let mut worst64 = 0.0f64;
        for t in 0..kl.len() {
            worst = worst.max((ours[t] - kl[t]).abs());
            worst64 = worst64.max((ours64[t] - kl[t]).abs());
        }
        eprintln!("{m}: max |ours − Kaldi| f32 path {worst:.3e}, f64 path {worst64:.3e}, tolerance {tol:.3e}");
        assert!(worst <= tol && worst64 <= tol);
    }
}

fn run_opts(run: &str) -> EstimateOptions {
    match run {
        "diag_kaldi" => EstimateOptions::kaldi_diag(),
        "diag_none" => EstimateOptions {
            min_gaussian_occupancy: 0.0,
            min_gaussian_weight: 0.0,
            var_floor: 1e-20,
            ..EstimateOptions::kaldi_diag()
        },
        "diag_occ100" => EstimateOptions {
            min_gaussian_occupancy: 100.0,
            ..EstimateOptions::kaldi_diag()
        },
        "full_kaldi" => EstimateOptions::kaldi_full(),
        "full_none" => EstimateOptions {
            min_gaussian_occupancy: 0.0,
            min_gaussian_weight: 0.0,
            var_floor: 1e-20,
            max_condition: 1e20,
            ..EstimateOptions::kaldi_full()
        },
        _ => unreachable!(),
    }
}

#[test]
fn em_traces_match_kaldi() {
    let x = feats();
    let traces: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("em_traces.json")).unwrap()).unwrap();
    for run in [
        "diag_kaldi",
        "diag_none",
        "diag_occ100",
        "full_kaldi",
        "full_none",
    ] {
        let tr = &traces[run];
        let init = if run.starts_with("diag") {
            "diag_init"
        } else {
            "full_init"
        };
        let mut g = io::read_model(&p(&format!("{init}.mdl"))).unwrap();
        let opts = run_opts(run);
        let mut worst = 0.0f64;
        let mut worst_native = 0.0f64;
        for it in 0..5 {
            let mut st = GmmStats::for_model(&g);
            st.accumulate(&g, x.view(), None).unwrap();
            let native = st.avg_loglike();
            // Kaldi's own figure: its formula on its float parameters (the model between
            // iterations is a float Kaldi file, here too).
            let ll = g.kaldi_log_likelihoods(x.view()).unwrap().mean().unwrap();
            let kl = tr["ll_per_frame_before_each_update"][it].as_f64().unwrap();
            worst = worst.max((ll - kl).abs());
            worst_native = worst_native.max((native - kl).abs());
            // Kaldi evaluates in float32 from float natural parameters: its own noise grows with
            // |gconst| (≈1e4–1.5e5 here because of the 1e-4/1e-3 variances).
            let gmax = g.gconsts().iter().fold(0.0f64, |a, b| a.max(b.abs()));
            let tol = 1e-4 + 0.2 * f32::EPSILON as f64 * gmax;
            eprintln!("{run} iteration {}: LL/frame ours {ll} (f64 {native}) vs Kaldi {kl}, tolerance {tol:.1e}", it + 1);
            assert!(
                (ll - kl).abs() < tol,
                "{run} iteration {}: LL/frame ours {ll} vs Kaldi {kl}",
                it + 1
            );
            let (ng, rep) = estimate(&st, &g, &opts).unwrap();
            let warnings: Vec<String> = tr["est_warnings"][it]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .collect();
            let k_removed = warnings
                .iter()
                .filter(|w| w.starts_with("Too little data"))
                .count();
            assert_eq!(
                rep.removed.len(),
                k_removed,
                "{run} iteration {}: removed {:?} vs {warnings:?}",
                it + 1,
                rep.removed
            );
            if run.starts_with("full") {
                let k_floor = warnings.iter().find(|w| w.contains("variances floored"));
                let ours = (rep.floored_elements > 0).then(|| {
                    format!(
                        "{} variances floored in {} Gaussians.",
                        rep.floored_elements, rep.floored_gaussians
                    )
                });
                assert_eq!(
                    ours.as_deref(),
                    k_floor.map(|s| s.as_str()),
                    "{run} iteration {}",
                    it + 1
                );
            }
            for (w, kw) in rep
                .messages
                .iter()
                .filter(|m| m.starts_with("Too little"))
                .zip(warnings.iter().filter(|w| w.starts_with("Too little")))
            {
                assert_eq!(w, kw);
            }
            g = io::model_from_bytes(&io::model_to_bytes(&ng, ModelFormat::KaldiBinary).unwrap())
                .unwrap();
        }
        assert_eq!(
            g.num_gauss() as u64,
            tr["components_final"].as_u64().unwrap(),
            "{run}: final K"
        );
        let kfinal = io::read_model(&p(&format!("{run}.5.mdl"))).unwrap();
        let (a, b) = (model_params(&g), model_params(&kfinal));
        // 1e-4 relative; diag_none keeps a 9e-5 variance (E[x²]−μ² = 28.4 − 28.4) that Kaldi's float
        // posteriors only resolve to ~1e-4.
        let rtol = if run == "diag_none" { 2e-4 } else { 1e-4 };
        let w0 = check_close(&format!("{run} weights"), &a.0, &b.0, rtol, 0.0);
        let w1 = check_close(&format!("{run} means"), &a.1, &b.1, rtol, 1e-3);
        let w2 = check_close(&format!("{run} covars"), &a.2, &b.2, rtol, 1e-3);
        eprintln!("{run}: max |ΔLL/frame| {worst:.2e} (f64 LL of the same models: {worst_native:.2e}); final model rel diff weights {w0:.2e} means {w1:.2e} covars {w2:.2e}");
    }
}

#[test]
fn mix_up_splits_as_kaldi() {
    for (cov, init, acc) in [
        ("diag", "diag_init", "diag_kaldi.0.acc"),
        ("full", "full_init", "full_kaldi.0.acc"),
    ] {
        let g = io::read_model(&p(&format!("{init}.mdl"))).unwrap();
        let st = io::read_stats(&p(acc)).unwrap();
        let base = if cov == "diag" {
            EstimateOptions::kaldi_diag()
        } else {
            EstimateOptions::kaldi_full()
        };
        let (plain, _) = estimate(&st, &g, &base).unwrap();
        let (ours, rep) = estimate(&st, &g, &EstimateOptions { mix_up: 6, ..base }).unwrap();
        let kaldi = io::read_model(&p(&format!("{cov}_mixup6.mdl"))).unwrap();
        assert_eq!(ours.num_gauss(), 6);
        assert_eq!(kaldi.num_gauss(), 6);
        let k0 = plain.num_gauss();
        // Heaviest first, then the next heaviest (ties → first), as Kaldi.
        let mut w = plain.weights().to_vec();
        let mut expect = Vec::new();
        while w.len() < 6 {
            let mut b = 0;
            for i in 1..w.len() {
                if w[i] > w[b] {
                    b = i;
                }
            }
            expect.push(b);
            w[b] /= 2.0;
            let h = w[b];
            w.push(h);
        }
        assert_eq!(rep.split, expect);
        for model in [&ours, &kaldi] {
            check_close(
                &format!("{cov} mix-up weights"),
                &model.weights().to_vec(),
                &w,
                1e-5,
                0.0,
            );
            let cv = model.covars_full();
            let pcv = plain.covars_full();
            // Family of each original component (splits copy the parent's root).
            let mut root: Vec<usize> = (0..k0).collect();
            for &src in &expect {
                root.push(root[src]);
            }
            for c in 0..k0 {
                let fam: Vec<usize> = (0..6).filter(|&j| root[j] == c).collect();
                for i in 0..model.dim() {
                    let sd = pcv[[c, i, i]].sqrt();
                    // Equal-weight halves moved by ±δ keep the family's weighted mean.
                    let wm: f64 = fam
                        .iter()
                        .map(|&j| model.weights()[j] * model.means()[[j, i]])
                        .sum();
                    let target = plain.weights()[c] * plain.means()[[c, i]];
                    assert!(
                        (wm - target).abs() < 1e-4 * sd.max(1.0) * plain.weights()[c],
                        "{cov}: family {c} weighted mean"
                    );
                    for &j in &fam {
                        let delta = (model.means()[[j, i]] - plain.means()[[c, i]]).abs() / sd;
                        assert!(delta < 0.1, "{cov}: perturbation {delta}σ is not ~0.01σ");
                        for l in 0..model.dim() {
                            let (a, b) = (cv[[j, i, l]], pcv[[c, i, l]]);
                            assert!(
                                (a - b).abs() <= 1e-4 * (b.abs() + 1e-3 * pcv[[c, i, i]]),
                                "{cov}: split covariance"
                            );
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Kaldi-compatible path (cepstra_gmm::kaldi_compat): Kaldi's float32 arithmetic.

#[test]
fn kaldi_compat_frame_likes_are_kaldis() {
    let x = feats();
    for m in ["diag_init", "full_init"] {
        let g = io::read_model(&p(&format!("{m}.mdl"))).unwrap();
        let kl = kaldi_frame_likes(&format!("{m}.frame_likes.ark"));
        let ours = kaldi_compat::kaldi_frame_log_likelihoods(&g, x.view()).unwrap();
        assert_eq!(ours.len(), kl.len());
        let differ = ours.iter().zip(&kl).filter(|(a, b)| a != b).count();
        eprintln!(
            "{m}: {differ} of {} frame log-likelihoods differ from Kaldi's float32 values",
            kl.len()
        );
        assert_eq!(
            differ, 0,
            "{m}: Kaldi-compatible frame likes are not bit-identical"
        );
    }
}

#[test]
fn kaldi_compat_stats_are_kaldis_accs() {
    let us = utterances();
    for (init, runs) in [
        ("diag_init", &["diag_kaldi", "diag_none", "diag_occ100"][..]),
        ("full_init", &["full_kaldi", "full_none"][..]),
    ] {
        let g = io::read_model(&p(&format!("{init}.mdl"))).unwrap();
        let mut ours = GmmStats::for_model(&g);
        for u in &us {
            kaldi_compat::accumulate_kaldi(&mut ours, &g, u.view(), None).unwrap();
        }
        // Kaldi writes accumulators as float32 (full second order centred): the bytes of our
        // statistics written as a Kaldi acc equal Kaldi's file.
        let ours_bytes = io::stats_to_bytes(&ours, StatsFormat::KaldiBinary).unwrap();
        for run in runs {
            let bytes = std::fs::read(data(&format!("{run}.0.acc"))).unwrap();
            if g.covariance_type() == CovarianceType::Diag {
                assert_eq!(ours_bytes, bytes, "{run}: acc bytes");
            }
            // Values as Kaldi's estimator reads them: identical.
            let k =
                kaldi_compat::round_stats_like_kaldi_acc(&io::stats_from_bytes(&bytes).unwrap());
            let o = kaldi_compat::round_stats_like_kaldi_acc(&ours);
            assert_eq!(stats_flat(&o), stats_flat(&k), "{run}: statistics");
        }
    }
}

/// Five iterations of acc → est with the Kaldi-compatible path reproduce Kaldi's traces:
/// `ll_per_frame_before_each_update` (mean of `get-frame-likes`) within 1e-4 (in fact equal to
/// the last bit: every model is byte-identical to Kaldi's), the acc-stats log values, the removed
/// Gaussians and warnings, the final model bytes, and its natural and moment parameters within
/// 1e-4 relative.
#[test]
fn kaldi_compat_em_traces_match_kaldi() {
    let us = utterances();
    let views: Vec<_> = us.iter().map(|u| u.view()).collect();
    let traces: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data("em_traces.json")).unwrap()).unwrap();
    for run in [
        "diag_kaldi",
        "diag_none",
        "diag_occ100",
        "full_kaldi",
        "full_none",
    ] {
        let tr = &traces[run];
        let init = if run.starts_with("diag") {
            "diag_init"
        } else {
            "full_init"
        };
        let g0 = io::read_model(&p(&format!("{init}.mdl"))).unwrap();
        let (g, rep) = kaldi_compat::fit_kaldi(&g0, &views, &run_opts(run), 5).unwrap();
        let mut worst = 0.0f64;
        for (it, r) in rep.iterations.iter().enumerate() {
            let kl = tr["ll_per_frame_before_each_update"][it].as_f64().unwrap();
            let diff = (r.frame_likes_mean - kl).abs();
            worst = worst.max(diff);
            eprintln!(
                "{run} iteration {}: LL/frame ours {} vs Kaldi {kl} (|Δ| {diff:.1e}); acc-stats {:.6} vs Kaldi log {}",
                it + 1,
                r.frame_likes_mean,
                r.acc_loglike,
                tr["acc_stats_log_ll"][it]
            );
            assert!(
                diff <= 1e-4,
                "{run} iteration {}: LL/frame {} vs Kaldi {kl}",
                it + 1,
                r.frame_likes_mean
            );
            // Kaldi's log prints 6 significant digits.
            let klog = tr["acc_stats_log_ll"][it].as_f64().unwrap();
            assert!(
                (r.acc_loglike - klog).abs() <= 5e-6 * klog.abs(),
                "{run} iteration {}: acc-stats LL",
                it + 1
            );
            let warnings: Vec<&str> = tr["est_warnings"][it]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            let k_removed: Vec<&str> = warnings
                .iter()
                .copied()
                .filter(|w| w.starts_with("Too little data"))
                .collect();
            let ours_removed: Vec<&str> = r
                .estimate
                .messages
                .iter()
                .map(|m| m.as_str())
                .filter(|w| w.starts_with("Too little data"))
                .collect();
            assert_eq!(
                ours_removed,
                k_removed,
                "{run} iteration {}: removed Gaussians",
                it + 1
            );
            assert_eq!(r.estimate.removed.len(), k_removed.len());
            // fgmm-global-est warns about floored eigenvalues (gmm-global-est only logs at -v 2).
            if run.starts_with("full") {
                let k_floor = warnings
                    .iter()
                    .copied()
                    .find(|w| w.contains("variances floored"));
                let ours_floor = r
                    .estimate
                    .messages
                    .iter()
                    .map(|m| m.as_str())
                    .find(|w| w.contains("variances floored"));
                assert_eq!(ours_floor, k_floor, "{run} iteration {}: flooring", it + 1);
            }
        }
        let kf = tr["ll_final"].as_f64().unwrap();
        assert!(
            (rep.final_frame_likes_mean - kf).abs() <= 1e-4,
            "{run}: final LL"
        );
        worst = worst.max((rep.final_frame_likes_mean - kf).abs());
        assert_eq!(
            g.num_gauss() as u64,
            tr["components_final"].as_u64().unwrap(),
            "{run}: final K"
        );
        let kbytes = std::fs::read(data(&format!("{run}.5.mdl"))).unwrap();
        let obytes = io::model_to_bytes(&g, ModelFormat::KaldiBinary).unwrap();
        let kfinal = io::model_from_bytes(&kbytes).unwrap();
        // Moment parameters (weights, means, covariances) and natural parameters (gconsts).
        let (a, b) = (model_params(&g), model_params(&kfinal));
        let w0 = check_close(&format!("{run} weights"), &a.0, &b.0, 1e-4, 0.0);
        let w1 = check_close(&format!("{run} means"), &a.1, &b.1, 1e-4, 1e-3);
        let w2 = check_close(&format!("{run} covars"), &a.2, &b.2, 1e-4, 1e-3);
        let w3 = check_close(
            &format!("{run} gconsts"),
            &g.gconsts().to_vec(),
            &kfinal.gconsts().to_vec(),
            1e-4,
            0.0,
        );
        eprintln!("{run}: max |ΔLL/frame| {worst:.1e}; final model rel diff weights {w0:.1e} means {w1:.1e} covars {w2:.1e} gconsts {w3:.1e}; bytes identical: {}", obytes == kbytes);
        assert_eq!(obytes, kbytes, "{run}: final model bytes");
    }
}

/// Other dimensions and component counts (tests/data/kaldi/dims, see its README): frame
/// log-likelihoods of the initial models bit-identical, and two EM iterations ending at Kaldi's
/// model bytes.
#[test]
fn kaldi_compat_other_dimensions() {
    for dim in [13, 39] {
        let dir = format!("dims/d{dim}.ark");
        let r = SequentialReader::<Array2<f32>>::open(&format!("ark:{}", p(&dir))).unwrap();
        let us: Vec<Array2<f32>> = r.map(|x| x.unwrap().1).collect();
        let views: Vec<_> = us.iter().map(|u| u.view()).collect();
        for (cov, opts) in [
            ("diag", EstimateOptions::kaldi_diag()),
            ("full", EstimateOptions::kaldi_full()),
        ] {
            let name = format!("dims/{cov}_d{dim}");
            let g0 = io::read_model(&p(&format!("{name}.0.mdl"))).unwrap();
            let kl = kaldi_frame_likes(&format!("{name}.0.frame_likes.ark"));
            let mut ours = Vec::new();
            for u in &us {
                ours.extend(
                    kaldi_compat::kaldi_frame_log_likelihoods(&g0, u.view())
                        .unwrap()
                        .to_vec(),
                );
            }
            assert_eq!(ours, kl, "{name}: frame log-likelihoods");
            let (g, rep) = kaldi_compat::fit_kaldi(&g0, &views, &opts, 2).unwrap();
            let kbytes = std::fs::read(data(&format!("{name}.2.mdl"))).unwrap();
            eprintln!(
                "{name}: K {} → {}, LL/frame {:?}",
                g0.num_gauss(),
                g.num_gauss(),
                rep.iterations
                    .iter()
                    .map(|i| i.frame_likes_mean)
                    .collect::<Vec<_>>()
            );
            assert_eq!(
                io::model_to_bytes(&g, ModelFormat::KaldiBinary).unwrap(),
                kbytes,
                "{name}: model after two iterations"
            );
        }
    }
}
