//! Property tests, determinism across thread counts, bad input.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use cepstra_gmm::io::{self, ModelFormat, StatsFormat};
use cepstra_gmm::{
    estimate, fit, CovarianceType, Error, EstimateOptions, FitOptions, Gmm, GmmStats, InitMethod,
    SecondOrder,
};
use ndarray::{s, Array2};
use proptest::prelude::*;

fn data(n: usize, d: usize, seed: u64) -> Array2<f32> {
    // Deterministic pseudo-random clusters.
    let mut st = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((st >> 33) as f64 / (1u64 << 31) as f64) as f32 - 0.5
    };
    Array2::from_shape_fn((n, d), |(i, j)| {
        next() * 2.0 + ((i % 3) as f32) * 4.0 + j as f32 * 0.1
    })
}

fn model(cov: CovarianceType) -> Gmm {
    let x = data(300, 3, 7);
    let opts = FitOptions {
        num_gauss: 3,
        covariance: cov,
        num_iters: 2,
        ..Default::default()
    };
    fit(x.view(), &opts).unwrap().0
}

fn flat(s: &GmmStats) -> Vec<f64> {
    let mut v: Vec<f64> = s.occupancy().to_vec();
    v.extend(s.first().iter());
    match s.second() {
        SecondOrder::Diag(a) => v.extend(a.iter()),
        SecondOrder::Full(a) => v.extend(a.iter()),
    }
    v.push(s.num_frames());
    v.push(s.total_loglike());
    v
}

fn close(a: &GmmStats, b: &GmmStats) -> bool {
    let (x, y) = (flat(a), flat(b));
    x.len() == y.len()
        && x.iter()
            .zip(&y)
            .all(|(p, q)| (p - q).abs() <= 1e-9 * (1.0 + p.abs().max(q.abs())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn merge_equals_union(split in 1usize..299, full in any::<bool>(), seed in 0u64..1000) {
        let cov = if full { CovarianceType::Full } else { CovarianceType::Diag };
        let g = model(cov);
        let x = data(300, 3, seed);
        let mut a = GmmStats::for_model(&g);
        a.accumulate(&g, x.slice(s![..split, ..]), None).unwrap();
        let mut b = GmmStats::for_model(&g);
        b.accumulate(&g, x.slice(s![split.., ..]), None).unwrap();
        let mut all = GmmStats::for_model(&g);
        all.accumulate(&g, x.view(), None).unwrap();
        a.merge(&b).unwrap();
        prop_assert!(close(&a, &all));
    }

    #[test]
    fn write_read_sum_estimate_equals_in_memory(split in 1usize..299, full in any::<bool>(), seed in 0u64..1000) {
        let cov = if full { CovarianceType::Full } else { CovarianceType::Diag };
        let g = model(cov);
        let x = data(300, 3, seed);
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.acc"), dir.path().join("b.acc"));
        let mut a = GmmStats::for_model(&g);
        a.accumulate(&g, x.slice(s![..split, ..]), None).unwrap();
        let mut b = GmmStats::for_model(&g);
        b.accumulate(&g, x.slice(s![split.., ..]), None).unwrap();
        io::write_stats(&a, pa.to_str().unwrap(), StatsFormat::Cepstra).unwrap();
        io::write_stats(&b, pb.to_str().unwrap(), StatsFormat::Cepstra).unwrap();
        let mut sum = io::read_stats(pa.to_str().unwrap()).unwrap();
        sum.merge(&io::read_stats(pb.to_str().unwrap()).unwrap()).unwrap();
        let mut mem = a.clone();
        mem.merge(&b).unwrap();
        let o = EstimateOptions::default();
        let (g1, _) = estimate(&sum, &g, &o).unwrap();
        let (g2, _) = estimate(&mem, &g, &o).unwrap();
        prop_assert_eq!(io::model_to_bytes(&g1, ModelFormat::Json).unwrap(), io::model_to_bytes(&g2, ModelFormat::Json).unwrap());
    }
}

#[test]
fn same_model_bytes_for_1_and_2_threads() {
    let x = data(20000, 5, 3);
    for cov in [CovarianceType::Diag, CovarianceType::Full] {
        let opts = FitOptions {
            num_gauss: 6,
            covariance: cov,
            num_iters: 4,
            ..Default::default()
        };
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| {
                let (g, _) = fit(x.view(), &opts).unwrap();
                io::model_to_bytes(&g, ModelFormat::KaldiBinary).unwrap()
            })
        };
        assert_eq!(run(1), run(2), "{cov:?}");
    }
}

#[test]
fn bad_inputs_give_exact_errors() {
    let x = data(10, 3, 1);
    // Fewer frames than components.
    let e = fit(
        x.view(),
        &FitOptions {
            num_gauss: 11,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooFewFrames {
                frames: 10,
                components: 11
            }
        ),
        "{e}"
    );
    // Constant dimension without floors.
    let mut c = data(100, 3, 2);
    c.column_mut(1).fill(2.5);
    let o = FitOptions {
        num_gauss: 2,
        estimate: EstimateOptions::no_floors(),
        ..Default::default()
    };
    assert!(matches!(
        fit(c.view(), &o).unwrap_err(),
        Error::ConstantDimension { dim: 1, .. }
    ));
    // ... but with the default floor it trains and gives a finite model.
    let (g, _) = fit(
        c.view(),
        &FitOptions {
            num_gauss: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(g.covars_full().iter().all(|v| v.is_finite()));
    // NaN / Inf.
    let mut n = data(100, 3, 3);
    n[[17, 2]] = f32::NAN;
    assert!(matches!(
        fit(
            n.view(),
            &FitOptions {
                num_gauss: 2,
                ..Default::default()
            }
        )
        .unwrap_err(),
        Error::NonFinite {
            frame: 17,
            dim: 2,
            ..
        }
    ));
    n[[17, 2]] = f32::INFINITY;
    let g = model(CovarianceType::Diag);
    let mut st = GmmStats::for_model(&g);
    assert!(matches!(
        st.accumulate(&g, n.view(), None).unwrap_err(),
        Error::NonFinite {
            frame: 17,
            dim: 2,
            ..
        }
    ));
    // Dimension mismatch.
    let w = data(50, 4, 4);
    assert!(matches!(
        g.log_likelihoods(w.view()).unwrap_err(),
        Error::DimensionMismatch {
            expected: 3,
            got: 4,
            ..
        }
    ));
    assert!(matches!(
        st.accumulate(&g, w.view(), None).unwrap_err(),
        Error::DimensionMismatch { .. }
    ));
    // Truncated model and stats files.
    for fmt in [
        ModelFormat::KaldiBinary,
        ModelFormat::KaldiText,
        ModelFormat::Json,
    ] {
        let b = io::model_to_bytes(&g, fmt).unwrap();
        let e = io::model_from_bytes(&b[..b.len() / 2]).unwrap_err();
        assert!(
            matches!(e, Error::Truncated { what: "model", .. }),
            "{fmt:?}: {e}"
        );
    }
    assert!(matches!(
        io::model_from_bytes(b"").unwrap_err(),
        Error::Truncated { .. }
    ));
    st.accumulate(&g, data(40, 3, 5).view(), None).unwrap();
    for fmt in [StatsFormat::Cepstra, StatsFormat::KaldiBinary] {
        let b = io::stats_to_bytes(&st, fmt).unwrap();
        let e = io::stats_from_bytes(&b[..b.len() - 5]).unwrap_err();
        assert!(
            matches!(e, Error::Truncated { what: "stats", .. }),
            "{fmt:?}: {e}"
        );
    }
    // Merging mismatched stats.
    let gf = model(CovarianceType::Full);
    assert!(matches!(
        st.merge(&GmmStats::for_model(&gf)).unwrap_err(),
        Error::CovarianceMismatch(_)
    ));
    // Invalid options.
    assert!(matches!(
        fit(
            x.view(),
            &FitOptions {
                num_gauss: 0,
                ..Default::default()
            }
        )
        .unwrap_err(),
        Error::InvalidOption {
            option: "num-gauss",
            ..
        }
    ));
    assert!(matches!(
        fit(
            x.view(),
            &FitOptions {
                n_init: 0,
                ..Default::default()
            }
        )
        .unwrap_err(),
        Error::InvalidOption {
            option: "n-init",
            ..
        }
    ));
    assert!(matches!(
        fit(
            x.view(),
            &FitOptions {
                tol: -1.0,
                ..Default::default()
            }
        )
        .unwrap_err(),
        Error::InvalidOption { option: "tol", .. }
    ));
    let bad = FitOptions {
        estimate: EstimateOptions {
            var_floor: -1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        fit(x.view(), &bad).unwrap_err(),
        Error::InvalidOption {
            option: "var-floor",
            ..
        }
    ));
    let bad = FitOptions {
        estimate: EstimateOptions {
            max_condition: 0.5,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        fit(x.view(), &bad).unwrap_err(),
        Error::InvalidOption {
            option: "max-condition",
            ..
        }
    ));
}

#[test]
fn init_schemes_n_init_and_streaming() {
    let x = data(600, 3, 9);
    for init in [
        InitMethod::Kmeans,
        InitMethod::Random,
        InitMethod::KmeansPlusPlus,
    ] {
        for cov in [CovarianceType::Diag, CovarianceType::Full] {
            let o = FitOptions {
                num_gauss: 3,
                covariance: cov,
                init,
                n_init: 2,
                num_iters: 20,
                ..Default::default()
            };
            let (g, r) = fit(x.view(), &o).unwrap();
            assert!(g.num_gauss() >= 1 && r.final_loglike.is_finite());
            assert_eq!(r.init_loglikes.len(), 2);
            assert!(r.init_loglikes.iter().all(|&l| l <= r.final_loglike));
            // EM never decreases the likelihood without floors kicking in (up to round-off).
            for w in r.loglikes.windows(2) {
                assert!(w[1] >= w[0] - 1e-6, "{init:?} {cov:?}: {:?}", r.loglikes);
            }
        }
    }
    // Streaming in 7 chunks gives the same model as in memory.
    let o = FitOptions {
        num_gauss: 3,
        covariance: CovarianceType::Full,
        num_iters: 5,
        tol: 0.0,
        ..Default::default()
    };
    let init = cepstra_gmm::init_gmm(x.view(), &o, 0).unwrap();
    let (a, _) = cepstra_gmm::fit_from(x.view(), init.clone(), &o).unwrap();
    let (b, rb) = cepstra_gmm::fit_streaming(init, &o, |sink| {
        for c in x.axis_chunks_iter(ndarray::Axis(0), 90) {
            sink(c)?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(rb.loglikes.len(), 5);
    let (pa, pb) = (a.covars_full(), b.covars_full());
    assert!(pa
        .iter()
        .zip(pb.iter())
        .all(|(u, v)| (u - v).abs() < 1e-9 * (1.0 + u.abs())));
    // Scoring helpers.
    let s = a.score(x.view()).unwrap();
    assert!((s.average * 600.0 - s.total).abs() < 1e-6);
    let (post, _) = a.posteriors(x.view()).unwrap();
    assert!(post
        .rows()
        .into_iter()
        .all(|r| (r.sum() - 1.0).abs() < 1e-9));
    assert!(a.bic(x.view()).unwrap() > a.aic(x.view()).unwrap());
}
