//! One EM iteration (acc + est) on synthetic 39-dim data: ids `em/<cov>/K<k>/D<d>/N<frames>`.
//! Reference figures (same machine, one thread, per iteration; anchors.md §2/§4): K=64 full on
//! 115.6k frames: scikit-learn 6.1–7.8 s, Kaldi fgmm-global-acc-stats 2.11 s; K=64 diag: scikit-learn
//! 0.37 s, Kaldi 0.51 s; K=5 full on 18.6k frames: scikit-learn ≈0.05 s.

use cepstra_gmm::{estimate, fit, CovarianceType, EstimateOptions, FitOptions, Gmm, GmmStats};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let centres: Vec<Vec<f32>> = (0..16)
        .map(|_| (0..d).map(|_| rng.random::<f32>() * 10.0).collect())
        .collect();
    Array2::from_shape_fn((n, d), |(i, j)| {
        centres[(i * 7) % 16][j] + rng.random::<f32>() * 2.0 - 1.0
    })
}

fn model(x: &Array2<f32>, k: usize, cov: CovarianceType) -> Gmm {
    let sub = x.slice(ndarray::s![..20000.min(x.nrows()), ..]);
    fit(
        sub,
        &FitOptions {
            num_gauss: k,
            covariance: cov,
            num_iters: 1,
            kmeans_iters: 5,
            ..Default::default()
        },
    )
    .expect("init")
    .0
}

fn bench(c: &mut Criterion) {
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    let mut group = c.benchmark_group("em");
    group.sample_size(10);
    for (cov, k, n) in [
        (CovarianceType::Full, 5usize, 18_593usize),
        (CovarianceType::Full, 64, 115_556),
        (CovarianceType::Diag, 64, 115_556),
        (CovarianceType::Diag, 64, 1_155_560),
    ] {
        let x = data(n, 39);
        let g = model(&x, k, cov);
        let name = if cov == CovarianceType::Full {
            "full"
        } else {
            "diag"
        };
        let id = format!("{name}/K{k}/D39/N{n}/threads-{threads}");
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut st = GmmStats::for_model(&g);
                st.accumulate(&g, x.view(), None).expect("acc");
                estimate(&st, &g, &EstimateOptions::no_floors())
                    .expect("est")
                    .0
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
