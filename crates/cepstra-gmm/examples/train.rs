//! Train a GMM on a Kaldi feature archive and write it.
//!
//! `cargo run --release -p cepstra-gmm --example train -- ark:feats.ark model.json [K] [full|diag]`
//! (the model format follows the extension: `.json` → JSON, otherwise Kaldi binary).

use cepstra_gmm::io::{write_model, ModelFormat};
use cepstra_gmm::{fit, CovarianceType, FitOptions};
use cepstra_io::table::SequentialReader;
use ndarray::{concatenate, Array2, Axis};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: train <feats-rspecifier> <model-out> [num-gauss] [full|diag]");
        std::process::exit(2);
    }
    let mut mats = Vec::new();
    for item in SequentialReader::<Array2<f32>>::open(&args[1])? {
        mats.push(item?.1);
    }
    let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
    let x = concatenate(Axis(0), &views)?;
    let opts = FitOptions {
        num_gauss: args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5),
        covariance: if args.get(4).map(String::as_str) == Some("diag") {
            CovarianceType::Diag
        } else {
            CovarianceType::Full
        },
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let (gmm, report) = fit(x.view(), &opts)?;
    eprintln!(
        "{} frames, K={}, {} iterations in {:.3} s, LL/frame per iteration {:?}, final {:.6}",
        x.nrows(),
        gmm.num_gauss(),
        report.loglikes.len(),
        t.elapsed().as_secs_f64(),
        report.loglikes,
        report.final_loglike
    );
    let fmt = if args[2].ends_with(".json") {
        ModelFormat::Json
    } else {
        ModelFormat::KaldiBinary
    };
    write_model(&gmm, &args[2], fmt)?;
    Ok(())
}
