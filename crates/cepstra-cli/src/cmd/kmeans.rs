//! `cepstra kmeans`: Lloyd k-means on the frames of a feature table.

use anyhow::Result;
use cepstra_gmm::{kmeans, KmeansOptions};
use cepstra_io::basic::{write_binary_flag, write_matrix_f64};
use cepstra_io::filename::Output;

use crate::common::gmm_io::read_all_frames;

/// Cluster all frames with k-means (k-means++ or random seeding, seeded, empty clusters
/// repaired); writes the centroids as a Kaldi matrix.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra kmeans --num-clusters=8 --seed=1 scp:feats.scp centroids.mat\nSee also: gmm-init, gmm-train"
)]
pub struct Args {
    #[command(flatten)]
    opts: KmeansOptions,
    /// Write the centroids in Kaldi binary (true) or text (false) form
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    binary: bool,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the centroids (K×D matrix)
    centroids_wxfilename: String,
}

pub fn run(a: Args) -> Result<()> {
    let (x, utts) = read_all_frames(&a.feats_rspecifier)?;
    // Checked here so that the message names this subcommand's option (the library's names
    // --num-gauss, the option of the GMM subcommands).
    anyhow::ensure!(
        x.nrows() >= a.opts.num_clusters,
        "{}: {} frames are not enough for --num-clusters={}: lower --num-clusters or give more data",
        a.feats_rspecifier,
        x.nrows(),
        a.opts.num_clusters
    );
    let r = kmeans(x.view(), &a.opts)?;
    log::info!(
        "{} frames of {utts} utterances: inertia {:.6e} after {} iterations ({}converged, {} empty clusters repaired)",
        x.nrows(),
        r.inertia,
        r.iterations,
        if r.converged { "" } else { "not " },
        r.repaired
    );
    let mut out = Output::create(&a.centroids_wxfilename)?;
    write_binary_flag(&mut out, a.binary)?;
    write_matrix_f64(&mut out, a.binary, r.centroids.view())?;
    out.commit()?;
    Ok(())
}
