#![allow(clippy::unwrap_used)]
use super::accs::*;
use super::blas::*;
use super::estimate::*;
use super::init::*;
use crate::error::Error;
use crate::model::{DiagGmm, Gmm};
use crate::options::{CovarianceType, EstimateOptions};
use crate::stats::GmmStats;
use ndarray::array;
use ndarray::{Array1, Array2};

fn model(cov: CovarianceType) -> Gmm {
    let d = DiagGmm::new(
        array![0.3, 0.7],
        array![[0.0, 1.0], [3.0, -2.0]],
        array![[1.0, 0.5], [2.0, 1.5]],
    )
    .unwrap();
    match cov {
        CovarianceType::Diag => Gmm::Diag(d),
        CovarianceType::Full => Gmm::Full(d.to_full()),
    }
}

#[test]
fn reservoir_keeps_a_sample_of_the_rows_given() {
    let x = Array2::from_shape_fn((100, 2), |(t, j)| (t * 2 + j) as f32);
    let mut r = FrameReservoir::new(10, 5).unwrap();
    r.push(x.slice(ndarray::s![..40, ..])).unwrap();
    r.push(x.slice(ndarray::s![40.., ..])).unwrap();
    assert_eq!(r.num_read(), 100);
    assert!(r.push(Array2::<f32>::zeros((1, 3)).view()).is_err());
    let kept = r.into_frames().unwrap();
    assert_eq!(kept.dim(), (10, 2));
    // Every kept row is an input row, none twice, and the sample is not just the first ten.
    let mut idx: Vec<usize> = kept.outer_iter().map(|row| row[0] as usize / 2).collect();
    for (row, &t) in kept.outer_iter().zip(&idx) {
        assert_eq!(row[1], (t * 2 + 1) as f32);
    }
    idx.sort_unstable();
    idx.dedup();
    assert_eq!(idx.len(), 10);
    assert!(idx.iter().any(|&t| t >= 10));
    // Fewer frames than the capacity: all of them, in order.
    let mut r = FrameReservoir::new(500, 0).unwrap();
    r.push(x.view()).unwrap();
    assert_eq!(r.into_frames().unwrap(), x);
    assert!(FrameReservoir::new(0, 0).is_err());
}

fn frames() -> Array2<f32> {
    Array2::from_shape_fn((60, 2), |(t, j)| {
        ((t * 13 + j * 7) % 17) as f32 * 0.35 - 2.5 + if t % 3 == 0 { 3.0 } else { 0.0 }
    })
}

#[test]
fn frame_likes_agree_with_f64_on_a_well_conditioned_model() {
    for cov in [CovarianceType::Diag, CovarianceType::Full] {
        let g = model(cov);
        let x = frames();
        let k = kaldi_frame_log_likelihoods(&g, x.view()).unwrap();
        let r = g.log_likelihoods(x.view()).unwrap();
        for (a, b) in k.iter().zip(&r) {
            assert!((*a as f64 - b).abs() < 1e-4, "{cov:?}: {a} vs {b}");
        }
    }
}

#[test]
fn weights_scale_posteriors_and_zero_weight_frames_are_skipped() {
    let g = model(CovarianceType::Full);
    let x = frames();
    let w = Array1::from_shape_fn(x.nrows(), |t| if t % 4 == 0 { 0.0 } else { 0.5 });
    let mut st = GmmStats::for_model(&g);
    accumulate_kaldi(&mut st, &g, x.view(), Some(w.view())).unwrap();
    assert!((st.occupancy().sum() - w.sum() as f64).abs() < 1e-5);
    assert!((st.num_frames() - w.sum() as f64).abs() < 1e-9);
}

#[test]
fn bad_inputs_are_errors() {
    let g = model(CovarianceType::Diag);
    let mut st = GmmStats::for_model(&g);
    let mut x = frames();
    x[[5, 1]] = f32::NAN;
    assert!(matches!(
        accumulate_kaldi(&mut st, &g, x.view(), None),
        Err(Error::NonFinite {
            frame: 5,
            dim: 1,
            ..
        })
    ));
    let x3 = Array2::<f32>::zeros((4, 3));
    assert!(kaldi_frame_log_likelihoods(&g, x3.view()).is_err());
    let x = frames();
    let w = Array1::<f32>::ones(3);
    assert!(accumulate_kaldi(&mut st, &g, x.view(), Some(w.view())).is_err());
    let full = GmmStats::for_model(&model(CovarianceType::Full));
    assert!(estimate_kaldi(&full, &g, &EstimateOptions::kaldi_diag()).is_err());
    let mut st = GmmStats::for_model(&g);
    accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
    for opts in [
        EstimateOptions {
            reg_covar: 1e-6,
            ..EstimateOptions::kaldi_diag()
        },
        EstimateOptions {
            mix_up: 4,
            ..EstimateOptions::kaldi_diag()
        },
    ] {
        assert!(matches!(
            estimate_kaldi(&st, &g, &opts),
            Err(Error::InvalidOption { .. })
        ));
    }
    let empty = GmmStats::for_model(&g);
    assert!(matches!(
        estimate_kaldi(&empty, &g, &EstimateOptions::kaldi_diag()),
        Err(Error::NoData(_))
    ));
}

#[test]
fn acc_rounding_is_idempotent_and_estimate_is_close_to_f64() {
    for cov in [CovarianceType::Diag, CovarianceType::Full] {
        let g = model(cov);
        let x = frames();
        let mut st = GmmStats::for_model(&g);
        accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
        let r1 = round_stats_like_kaldi_acc(&st);
        let r2 = round_stats_like_kaldi_acc(&r1);
        assert_eq!(r1.occupancy(), r2.occupancy());
        assert_eq!(r1.first(), r2.first());
        let opts = EstimateOptions {
            min_gaussian_occupancy: 0.0,
            ..EstimateOptions::kaldi_diag()
        };
        let (ours, _) = estimate_kaldi(&r1, &g, &opts).unwrap();
        let (reference, _) = crate::estimate(&st, &g, &opts).unwrap();
        let (a, b) = (ours.covars_full(), reference.covars_full());
        for (u, v) in a.iter().zip(b.iter()) {
            assert!(
                (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                "{cov:?}: {u} vs {v}"
            );
        }
        for (u, v) in ours.means().iter().zip(reference.means().iter()) {
            assert!(
                (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                "{cov:?}: {u} vs {v}"
            );
        }
    }
}

#[test]
fn starved_component_is_removed_or_kept() {
    let g = model(CovarianceType::Diag);
    // Every frame near component 1: component 0 starves.
    let x = Array2::from_shape_fn((40, 2), |(t, j)| {
        [3.0f32, -2.0][j] + ((t * 7 + j) % 5) as f32 * 0.1
    });
    let mut st = GmmStats::for_model(&g);
    accumulate_kaldi(&mut st, &g, x.view(), None).unwrap();
    let (m, rep) = estimate_kaldi(&st, &g, &EstimateOptions::kaldi_diag()).unwrap();
    assert_eq!(rep.removed, vec![0]);
    assert_eq!(m.num_gauss(), 1);
    assert_eq!(m.weights()[0], 1.0);
    let keep = EstimateOptions {
        remove_low_count_gaussians: false,
        ..EstimateOptions::kaldi_diag()
    };
    let (m, rep) = estimate_kaldi(&st, &g, &keep).unwrap();
    assert_eq!(rep.kept_starved, vec![0]);
    assert_eq!(m.num_gauss(), 2);
    assert!((m.means()[[0, 1]] - 1.0).abs() < 1e-6);
}

#[test]
fn sdot_kernel_is_a_dot_product() {
    let a: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
    let b: Vec<f32> = (0..100).map(|i| (i as f32 * 0.11).cos()).collect();
    let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
    assert!((sdot(&a, &b) as f64 - exact).abs() < 1e-5);
    let y = sspmv(&[2.0, 1.0, 3.0], &[1.0, -1.0]);
    assert_eq!(y, vec![1.0, -2.0]);
}
