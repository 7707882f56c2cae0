//! Rough single-process speed of one Baum-Welch pass and of scoring, on synthetic data the size
//! of the TI training set per word (2072/11 utterances × 56 frames, D=39, S=8, M=4 diag).
//! `cargo run --release -p cepstra-hmm --example bw_speed` (set RAYON_NUM_THREADS=1 for one thread).

use std::time::Instant;

use cepstra_gmm::{CovarianceType, FitOptions};
use cepstra_hmm::{estimate_hmm, flat_start, HmmStats, Topology};
use ndarray::Array2;

fn main() -> Result<(), cepstra_hmm::Error> {
    let (n, t, d, s) = (188, 56, 39, 8);
    let utts: Vec<(String, Array2<f32>)> = (0..n)
        .map(|u| {
            let x = Array2::from_shape_fn((t, d), |(i, j)| {
                ((i * s / t) as f32) + (((i * 131 + j * 71 + u * 37) % 97) as f32 / 97.0 - 0.5)
            });
            (format!("u{u}"), x)
        })
        .collect();
    let views: Vec<_> = utts.iter().map(|(k, x)| (k.clone(), x.view())).collect();
    let fit = FitOptions {
        num_gauss: 4,
        covariance: CovarianceType::Diag,
        ..Default::default()
    };
    let (hmm, _) = flat_start(&views, s, &fit, Topology::Linear, 0.5, false)?;
    let start = Instant::now();
    let mut st = HmmStats::for_model(&hmm);
    for (_, x) in &utts {
        let em = hmm.emissions(x.view())?;
        if let Some(p) = hmm.posteriors(&em) {
            st.add(&hmm, x.view(), &p)?;
        }
    }
    let (hmm, _) = estimate_hmm(&hmm, &st, &Default::default())?;
    let bw = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut total = 0.0;
    for (_, x) in &utts {
        total += hmm.forward(&hmm.emissions(x.view())?).1;
    }
    let score = start.elapsed().as_secs_f64();
    println!(
        "one word, {n} utts × {t} frames, S{s}M4 diag: one Baum-Welch pass {bw:.4} s, forward scoring {score:.4} s ({:.1} µs/utt), total ll {total:.1}",
        1e6 * score / n as f64
    );
    Ok(())
}
