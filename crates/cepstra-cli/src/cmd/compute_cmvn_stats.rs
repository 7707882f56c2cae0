//! `cepstra compute-cmvn-stats`: per-utterance or per-speaker CMVN statistics, as Kaldi's binary.

use anyhow::{bail, Context, Result};
use cepstra_feat::{acc_cmvn_stats, CmvnStats};
use cepstra_io::table::{read_text_table, RandomAccessReader, Writer};
use ndarray::Array2;

/// Compute cepstral mean and variance statistics (Kaldi's compute-cmvn-stats): a 2×(dim+1)
/// double matrix per utterance, or per speaker with --spk2utt.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra compute-cmvn-stats --spk2utt=ark:data/train/spk2utt scp:data/train/feats.scp ark,scp:cmvn.ark,cmvn.scp
See also: apply-cmvn"
)]
pub struct Args {
    /// Rspecifier (or file) mapping speakers to utterances; statistics are then per speaker
    #[arg(long = "spk2utt", value_name = "RSPECIFIER")]
    spk2utt: Option<String>,
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Wspecifier of the statistics
    stats_wspecifier: String,
}

pub fn run(a: Args) -> Result<()> {
    let mut writer = Writer::<Array2<f64>>::open(&a.stats_wspecifier)?;
    let mut n = 0usize;
    match &a.spk2utt {
        None => {
            let mut table = crate::common::feature_table::FeatureTable::open(&a.feats_rspecifier)?;
            while let Some(item) = table.next_good() {
                let (utt, feats) = item?;
                let st = acc_cmvn_stats(feats.view(), None)
                    .with_context(|| format!("utterance {utt}"))?;
                writer.write(&utt, st.as_array())?;
                n += 1;
            }
        }
        Some(spk2utt) => {
            let mut feats = RandomAccessReader::<Array2<f32>>::open(&a.feats_rspecifier)?;
            for (spk, utts) in read_text_table(spk2utt)? {
                let mut total: Option<CmvnStats> = None;
                for utt in utts.split_whitespace() {
                    let Some(f) = feats.get(utt)? else {
                        log::warn!("no features for utterance {utt} of speaker {spk}");
                        continue;
                    };
                    let st = acc_cmvn_stats(f.view(), None)
                        .with_context(|| format!("utterance {utt}"))?;
                    match &mut total {
                        Some(t) => t.merge(&st)?,
                        None => total = Some(st),
                    }
                }
                let Some(t) = total else {
                    bail!("speaker {spk}: no utterance has features")
                };
                writer.write(&spk, t.as_array())?;
                n += 1;
            }
        }
    }
    writer.commit()?;
    log::info!(
        "Wrote CMVN statistics for {n} {}.",
        if a.spk2utt.is_some() {
            "speakers"
        } else {
            "utterances"
        }
    );
    Ok(())
}
