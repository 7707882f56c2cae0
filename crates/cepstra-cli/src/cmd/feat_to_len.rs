//! `cepstra feat-to-len`: number of frames per utterance (or in total).

use std::io::Write;

use anyhow::Result;
use cepstra_io::table::SequentialReader;
use ndarray::Array2;

use crate::common::scalars::ScalarWriter;

/// Print the number of frames of each utterance to a table (`utt2num_frames`), or with one
/// argument the total, as Kaldi's feat-to-len.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra feat-to-len scp:data/train/feats.scp ark,t:data/train/utt2num_frames"
)]
pub struct Args {
    /// Rspecifier of the features
    feats_rspecifier: String,
    /// Wspecifier of `utt frames` lines; without it the total is printed
    lengths_wspecifier: Option<String>,
}

pub fn run(a: Args) -> Result<()> {
    let reader = SequentialReader::<Array2<f32>>::open(&a.feats_rspecifier)?;
    match a.lengths_wspecifier {
        Some(spec) => {
            let mut w = ScalarWriter::open(&spec)?;
            for item in reader {
                let (k, m) = item?;
                w.write(&k, &m.nrows().to_string())?;
            }
            w.commit()?;
        }
        None => {
            let mut total = 0usize;
            for item in reader {
                total += item?.1.nrows();
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{total}")?;
        }
    }
    Ok(())
}
