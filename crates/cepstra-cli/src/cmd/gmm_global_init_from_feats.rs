//! `cepstra gmm-global-init-from-feats`: Kaldi's program of that name (a diagonal GMM from
//! random frames and the global variance, trained by EM on frames kept in memory, mixing up
//! from --num-gauss-init to --num-gauss). cepstra's own initialiser is `gmm-init`.

use anyhow::{Context, Result};
use cepstra_gmm::kaldi_compat::{init_from_feats, FrameReservoir};
use cepstra_gmm::InitFromFeatsOptions;
use cepstra_io::table::RSpecifier;

use crate::common::gmm_io::{write_model, Invocation, ModelOutArgs};

/// Initialise a diagonal GMM and train it for --num-iters passes on at most --num-frames frames
/// (a random sample of the input), as Kaldi's gmm-global-init-from-feats.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-global-init-from-feats --num-gauss=64 --num-iters=20 scp:train.scp 1.mdl\nSee also: gmm-init, gmm-acc-stats, gmm-est"
)]
pub struct Args {
    #[command(flatten)]
    opts: InitFromFeatsOptions,
    #[command(flatten)]
    out: ModelOutArgs,
    /// Number of threads for the statistics (Kaldi's default 4; the model is the same for any
    /// number)
    #[arg(long = "num-threads", default_value_t = 4)]
    num_threads: usize,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Where to write the model
    model_out: String,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    a.out.apply_kaldi_defaults(inv);
    a.opts.validate()?;
    anyhow::ensure!(a.num_threads >= 1, "--num-threads must be at least 1");
    let permissive = RSpecifier::parse(&a.feats_rspecifier)?.permissive;
    log::info!("Reading features (will keep {} frames.)", a.opts.num_frames);
    let mut sample = FrameReservoir::new(a.opts.num_frames, a.opts.srand)?;
    for item in crate::common::feature_table::FeatureTable::open(&a.feats_rspecifier)? {
        let (key, feats) = match item {
            Ok(kv) => kv,
            Err(e) if permissive => {
                log::warn!("{e} (skipped)");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        sample
            .push(feats.view())
            .with_context(|| format!("utterance {key}"))?;
    }
    let read = sample.num_read();
    anyhow::ensure!(read > 0, "{}: no features", a.feats_rspecifier);
    if read < a.opts.num_frames as u64 {
        log::warn!(
            "Number of frames read {read} was less than target number {}, using all we read.",
            a.opts.num_frames
        );
    } else {
        log::info!(
            "Kept {} out of {read} input frames = {:.2}%.",
            a.opts.num_frames,
            a.opts.num_frames as f64 * 100.0 / read as f64
        );
    }
    let frames = sample.into_frames()?;
    // The model is the same for any number of threads: more than the machine has buys nothing.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.num_threads.min(cores))
        .build()
        .context("starting the threads")?;
    let (gmm, _trace) = pool.install(|| init_from_feats(frames.view(), &a.opts))?;
    write_model(&gmm, &a.model_out, &a.out)?;
    log::info!("Wrote model to {}", a.model_out);
    Ok(())
}
