//! `cepstra add-deltas`: append Δ and ΔΔ features, as Kaldi's binary.

use anyhow::Result;
use cepstra_feat::{DeltaFeatures, DeltaFeaturesOptions};
use cepstra_io::table::{RSpecifier, SequentialReader, Writer};
use ndarray::Array2;

/// Add delta features (Kaldi's add-deltas: order 2, window 2; ΔΔ is the Δ filter convolved with
/// itself applied to the statics; edge frames replicated).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra add-deltas ark:raw.ark ark,scp:feats.ark,feats.scp
See also: apply-cmvn, copy-feats"
)]
pub struct Args {
    #[command(flatten)]
    opts: DeltaFeaturesOptions,
    /// Rspecifier of the input features
    feats_rspecifier: String,
    /// Wspecifier of the output features
    feats_wspecifier: String,
}

pub fn run(a: Args) -> Result<()> {
    let deltas = DeltaFeatures::new(&a.opts)?;
    let permissive = RSpecifier::parse(&a.feats_rspecifier)?.permissive;
    let reader = SequentialReader::<Array2<f32>>::open(&a.feats_rspecifier)?;
    let mut writer = Writer::<Array2<f32>>::open(&a.feats_wspecifier)?;
    let n = crate::common::map_ordered(
        reader,
        permissive,
        |_key, feats: Array2<f32>| {
            crate::common::ensure_finite(&feats)?;
            Ok(deltas.process(feats.view()))
        },
        |key, out| Ok(writer.write(key, &out)?),
    )?;
    writer.commit()?;
    log::info!("Done {} out of {} utterances.", n.done, n.total);
    Ok(())
}
