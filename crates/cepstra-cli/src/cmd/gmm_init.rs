//! `cepstra gmm-init`: an initial GMM from features (k-means, random points or k-means++).

use anyhow::Result;
use cepstra_gmm::{init_gmm, FitOptions};

use crate::common::gmm_io::{read_all_frames, write_model, ModelOutArgs};

/// Initialise a GMM from features: --init=kmeans (cluster means, covariances, proportions),
/// random (random frames as means, identity or global covariance, uniform weights) or kmeans++.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-init --num-gauss=5 --covariance=full scp:feats.scp 0.mdl\nSee also: gmm-acc-stats, gmm-est, gmm-train"
)]
pub struct Args {
    #[command(flatten)]
    opts: FitOptions,
    #[command(flatten)]
    out: ModelOutArgs,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the model
    model_out: String,
}

pub fn run(a: Args) -> Result<()> {
    a.opts.validate()?;
    let (x, utts) = read_all_frames(&a.feats_rspecifier)?;
    let gmm = init_gmm(x.view(), &a.opts, a.opts.seed)?;
    log::info!(
        "initialised {} Gaussians ({:?}) on {} frames of {utts} utterances",
        gmm.num_gauss(),
        gmm.covariance_type(),
        x.nrows()
    );
    write_model(&gmm, &a.model_out, &a.out)
}
