//! `cepstra copy-feats`: copy feature tables, converting binary ↔ text and compressing.

use anyhow::Result;
use cepstra_io::table::Writer;
use cepstra_io::{CompressedMatrix, CompressionMethod};
use ndarray::Array2;

/// Copy features (Kaldi's copy-feats): `ark,t:` writes text; --compress stores Kaldi compressed
/// matrices (as Kaldi's make_mfcc.sh does by default).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra copy-feats --compress=true ark:raw.ark ark,scp:feats.ark,feats.scp
       cepstra copy-feats scp:feats.scp ark,t:-
See also: feat-to-dim, feat-to-len"
)]
pub struct Args {
    /// Write Kaldi compressed matrices
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    compress: bool,
    /// Kaldi's compression method: 1 auto, 2 speech-feature, 3 two-byte-auto, 4 two-byte, 5 one-byte-auto, 6 one-byte-uint, 7 one-byte-zero-one
    #[arg(long = "compression-method", default_value_t = 1)]
    compression_method: i32,
    /// Rspecifier of the input features
    feats_rspecifier: String,
    /// Wspecifier of the output features
    feats_wspecifier: String,
}

pub fn run(a: Args) -> Result<()> {
    let reader = crate::common::feature_table::FeatureTable::open(&a.feats_rspecifier)?;
    let permissive = reader.permissive();
    let n = if a.compress {
        let method = CompressionMethod::from_kaldi(a.compression_method)?;
        let mut writer = Writer::<CompressedMatrix>::open(&a.feats_wspecifier)?;
        let n = crate::common::map_ordered(
            reader,
            permissive,
            |_k, m: Array2<f32>| Ok(CompressedMatrix::try_new(m.view(), method)?),
            |k, cm| Ok(writer.write(k, &cm)?),
        )?;
        writer.commit()?;
        n
    } else {
        let mut writer = Writer::<Array2<f32>>::open(&a.feats_wspecifier)?;
        let mut n = crate::common::Counts::default();
        for item in reader {
            n.total += 1;
            match item {
                Ok((k, m)) => {
                    writer.write(&k, &m)?;
                    n.done += 1;
                }
                Err(e) if permissive => log::warn!("{e} (skipped)"),
                Err(e) => return Err(e.into()),
            }
        }
        writer.commit()?;
        n
    };
    log::info!("Copied {} feature matrices.", n.done);
    Ok(())
}
