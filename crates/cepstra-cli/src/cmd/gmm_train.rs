//! `cepstra gmm-train`: initialisation and EM for one model, all in one.

use crate::common::feature_table::FeatureTable;
use anyhow::{Context, Result};
use cepstra_gmm::{fit, fit_streaming, init_gmm, FitOptions};

use crate::common::gmm_io::{read_all_frames, read_model, write_model, ModelOutArgs};

/// Train a GMM: initialisation (--init), then EM until |Δ avg log-likelihood| < --tol or
/// --num-iters, best of --n-init restarts. --stream re-reads the features every pass (memory
/// flat in the number of frames).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-train --num-gauss=64 --covariance=diag scp:feats.scp final.mdl\nSee also: gmm-init, gmm-acc-stats, gmm-est, gmm-get-frame-likes"
)]
pub struct Args {
    #[command(flatten)]
    opts: FitOptions,
    #[command(flatten)]
    out: ModelOutArgs,
    /// Start from this model instead of initialising (warm start)
    #[arg(long = "init-model", value_name = "MODEL")]
    init_model: Option<String>,
    /// Stream the features from the table on every EM pass instead of holding them in memory
    /// (the initialisation then uses the first --stream-init-frames frames)
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    stream: bool,
    /// With --stream: frames read for the initialisation
    #[arg(long = "stream-init-frames", default_value_t = 200_000)]
    stream_init_frames: usize,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the model
    model_out: String,
}

pub fn run(a: Args) -> Result<()> {
    let (gmm, report) = if a.stream {
        let init = match &a.init_model {
            Some(m) => read_model(m)?,
            None => {
                let mut mats = Vec::new();
                let mut n = 0;
                let mut table = FeatureTable::open(&a.feats_rspecifier)?;
                while let Some(item) = table.next_good() {
                    let (_, m) = item?;
                    n += m.nrows();
                    mats.push(m);
                    if n >= a.stream_init_frames {
                        break;
                    }
                }
                let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
                anyhow::ensure!(!views.is_empty(), "{}: no features", a.feats_rspecifier);
                let x = ndarray::concatenate(ndarray::Axis(0), &views)?;
                init_gmm(x.view(), &a.opts, a.opts.seed)?
            }
        };
        let spec = a.feats_rspecifier.clone();
        fit_streaming(init, &a.opts, |sink| {
            let mut table = FeatureTable::open(&spec)
                .map_err(|e| cepstra_gmm::Error::NoData(format!("{e:#}")))?;
            while let Some(item) = table.next_good() {
                let (_, m) = item.map_err(|e| cepstra_gmm::Error::NoData(format!("{e:#}")))?;
                sink(m.view())?;
            }
            Ok(())
        })?
    } else {
        let (x, utts) = read_all_frames(&a.feats_rspecifier)?;
        log::info!("{} frames of {utts} utterances", x.nrows());
        match &a.init_model {
            Some(m) => cepstra_gmm::fit_from(x.view(), read_model(m)?, &a.opts)?,
            None => fit(x.view(), &a.opts).context("training")?,
        }
    };
    for (i, ll) in report.loglikes.iter().enumerate() {
        log::info!("iteration {i}: average log-likelihood per frame {ll:.6}");
    }
    log::info!(
        "final average log-likelihood per frame {:.6} ({}converged), {} Gaussians",
        report.final_loglike,
        if report.converged { "" } else { "not " },
        gmm.num_gauss()
    );
    write_model(&gmm, &a.model_out, &a.out)
}
