use super::*;
use crate::kernels::testing::simd_sets;
use ndarray::{Array1, Array2, Array3};

fn val(a: usize, b: usize, m: usize) -> f64 {
    ((a * 31 + b * 17) % m) as f64 / m as f64 - 0.5
}

fn frames(n: usize, d: usize) -> Array2<f32> {
    Array2::<f32>::from_shape_fn((n, d), |(f, i)| {
        (3.0 * val(f % 7, i, 13) + val(f, i, 101)) as f32
    })
}

fn model(cov: CovarianceType, k: usize, d: usize) -> Gmm {
    let weights = Array1::from_iter((0..k).map(|c| 1.0 + c as f64));
    let weights = &weights / weights.sum();
    let means = Array2::from_shape_fn((k, d), |(c, i)| 3.0 * val(c, i, 13));
    let covars = Array3::from_shape_fn((k, d, d), |(c, i, j)| {
        let off = if cov == CovarianceType::Full {
            0.005 * val(c + i, j, 7)
        } else {
            0.0
        };
        if i == j {
            0.3 + 0.1 * (c as f64) + 0.01 * i as f64
        } else {
            off * (i.min(j) % 3 == 0) as u8 as f64
        }
    });
    Gmm::from_params(cov, weights, means, covars).unwrap()
}

fn close(u: &[f64], v: &[f64], tol: f64, what: &str) {
    assert_eq!(u.len(), v.len(), "{what}");
    let scale = v.iter().fold(1.0f64, |m, y| m.max(y.abs()));
    let worst = u
        .iter()
        .zip(v)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
    assert!(worst <= tol * scale, "{what}: {worst:e} of {scale:e}");
}

/// Every SIMD kernel set (f32 whitening E-step, AVX tile GEMMs and exp) against the portable set
/// on the same frames: per-frame log-likelihoods, statistics, total log-likelihood within 1e-6
/// relative; the SIMD sets give each other's bits.
#[test]
fn kernel_sets_match_portable_path() {
    let (k, d, n) = (6usize, 39usize, 3001usize);
    let x = frames(n, d);
    let sets = simd_sets("kernel_sets_match_portable_path");
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let g = model(cov, k, d);
        let portable = Prepared::<f32>::with_kernel_set(&g, KernelSet::Portable).unwrap();
        assert_eq!(portable.kernel_set(), KernelSet::Portable);
        for want in [Want::CompLl, Want::Stats] {
            let b = portable.run_chunk(x.view(), None, 0, want).unwrap();
            let mut simd_out: Option<ChunkOut> = None;
            for &ks in &sets {
                let fast = Prepared::<f32>::with_kernel_set(&g, ks.set()).unwrap();
                assert_eq!(fast.kernel_set(), ks.set());
                let a = fast.run_chunk(x.view(), None, 0, want).unwrap();
                let what = format!("{cov:?} {want:?} {}", ks.set());
                close(&a.per_comp, &b.per_comp, 1e-6, &what);
                close(&a.acc, &b.acc, 1e-6, &what);
                assert!(
                    (a.loglike - b.loglike).abs() <= 1e-6 * b.loglike.abs(),
                    "{what}"
                );
                if let Some(o) = &simd_out {
                    assert_eq!(o.acc, a.acc, "{what}: SIMD sets differ");
                    assert_eq!(o.per_comp, a.per_comp, "{what}: SIMD sets differ");
                    assert_eq!(o.loglike.to_bits(), a.loglike.to_bits(), "{what}");
                }
                simd_out = Some(a);
            }
        }
    }
}

/// With a given kernel set, the statistics are the same bits for 1 and 2 threads.
#[test]
fn same_bits_for_any_thread_count_per_kernel_set() {
    let (k, d, n) = (5usize, 13usize, 20_011usize);
    let x = frames(n, d);
    let mut sets = simd_sets("same_bits_for_any_thread_count_per_kernel_set");
    sets.push(Kernels::portable());
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let g = model(cov, k, d);
        for &ks in &sets {
            let prep = Prepared::<f32>::with_kernel_set(&g, ks.set()).unwrap();
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    let mut st = GmmStats::for_model(&g);
                    prep.accumulate(&mut st, x.view(), None).unwrap();
                    st
                })
            };
            assert_eq!(run(1), run(2), "{cov:?} {}", ks.set());
        }
    }
}

/// Given posteriors equal to the model's own reproduce its statistics (up to rounding), and the
/// frame count is their sum.
#[test]
fn accumulate_weighted_matches_own_posteriors() {
    let (k, d, n) = (4usize, 7usize, 901usize);
    let x = frames(n, d).mapv(|v| v as f64);
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let g = model(cov, k, d);
        let prep = Prepared::<f64>::new(&g);
        let (post, _) = prep.posteriors(x.view()).unwrap();
        let mut own = GmmStats::for_model(&g);
        prep.accumulate(&mut own, x.view(), None).unwrap();
        let mut given = GmmStats::for_model(&g);
        given
            .accumulate_weighted(&g, x.view(), post.view())
            .unwrap();
        let flat = |s: &GmmStats| -> Vec<f64> {
            let mut v: Vec<f64> = s.occupancy().to_vec();
            v.extend(s.first().iter());
            match s.second() {
                crate::SecondOrder::Diag(a) => v.extend(a.iter()),
                crate::SecondOrder::Full(a) => v.extend(a.iter()),
            }
            v
        };
        close(&flat(&given), &flat(&own), 1e-12, &format!("{cov:?}"));
        assert!((given.num_frames() - n as f64).abs() < 1e-9);
        // Every kernel set gives the same statistics up to rounding.
        let mut sets = simd_sets("accumulate_weighted_matches_own_posteriors");
        sets.push(Kernels::portable());
        for ks in sets {
            let p = Prepared::<f64>::with_kernel_set(&g, ks.set()).unwrap();
            let mut st = GmmStats::for_model(&g);
            p.accumulate_posteriors(&mut st, x.view(), post.view())
                .unwrap();
            close(
                &flat(&st),
                &flat(&given),
                1e-12,
                &format!("{cov:?} {}", ks.set()),
            );
        }
        // A negative weight is an error naming frame and component.
        let mut bad = post.clone();
        bad[[3, 2]] = -1.0;
        let e = given
            .accumulate_weighted(&g, x.view(), bad.view())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    frame: 3,
                    dim: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = given
            .accumulate_weighted(&g, x.view(), post.slice(ndarray::s![..5, ..]))
            .unwrap_err();
        assert!(matches!(e, Error::DimensionMismatch { .. }), "{e}");
    }
}

#[test]
fn unsupported_kernel_set_is_an_error() {
    let g = model(CovarianceType::Diag, 2, 3);
    for set in KernelSet::ALL {
        let r = Prepared::<f32>::with_kernel_set(&g, set);
        assert_eq!(r.is_ok(), set.is_supported(), "{set}");
        if let Err(e) = r {
            assert!(matches!(
                e,
                Error::InvalidOption {
                    option: "kernels",
                    ..
                }
            ));
        }
    }
}

#[test]
fn autotraits() {
    fn check<T: Send + Sync>() {}
    check::<Prepared<f32>>();
    check::<Prepared<f64>>();
    check::<KernelSet>();
}
