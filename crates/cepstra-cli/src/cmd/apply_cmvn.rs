//! `cepstra apply-cmvn`: cepstral mean (and variance) normalisation, as Kaldi's binary; without a
//! statistics argument, per-utterance statistics are computed on the fly.

use anyhow::{bail, Context, Result};
use cepstra_feat::{check_finite, ApplyCmvnOptions, CmvnChoice, CmvnSource, CmvnStats};
use cepstra_io::table::{
    read_text_table, RSpecifier, RandomAccessReader, SequentialReader, Writer,
};
use ndarray::Array2;
use std::borrow::Cow;
use std::collections::HashMap;

/// Apply cepstral mean and (optionally) variance normalisation (Kaldi's apply-cmvn).
///
/// Statistics are per utterance, per speaker with --utt2spk, or global when CMVN is a single
/// matrix file; with only two arguments each utterance is normalised by its own statistics.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra apply-cmvn --utt2spk=ark:data/train/utt2spk scp:data/train/cmvn.scp scp:data/train/feats.scp ark:-
       cepstra apply-cmvn ark:- ark:-        (per-utterance mean normalisation)
See also: compute-cmvn-stats, add-deltas"
)]
pub struct Args {
    #[command(flatten)]
    opts: ApplyCmvnOptions,
    /// Rspecifier (or file) mapping utterances to speakers; statistics are then looked up by speaker
    #[arg(long = "utt2spk", value_name = "RSPECIFIER")]
    utt2spk: Option<String>,
    /// [CMVN_RSPECIFIER_OR_RXFILENAME] FEATS_RSPECIFIER FEATS_WSPECIFIER
    #[arg(num_args = 2..=3, required = true)]
    args: Vec<String>,
}

pub fn run(a: Args) -> Result<()> {
    a.opts.validate()?;
    let (stats_arg, feats_in, feats_out) = match a.args.as_slice() {
        [i, o] => (None, i, o),
        [s, i, o] => (Some(s.as_str()), i, o),
        _ => bail!("expected [CMVN] FEATS_IN FEATS_OUT"),
    };
    let (mut table, global) = match stats_arg {
        None => (None, None),
        Some(s) if RSpecifier::parse(s).is_ok() => {
            (Some(RandomAccessReader::<Array2<f64>>::open(s)?), None)
        }
        Some(file) => {
            let mut input = cepstra_io::filename::Input::open(file)?;
            let binary = cepstra_io::basic::read_binary_flag(&mut input)?;
            let m = cepstra_io::basic::read_matrix_f64(&mut input, binary)
                .with_context(|| format!("reading {file}"))?;
            (None, Some(CmvnStats::from_array(m)?))
        }
    };
    let utt2spk: Option<HashMap<String, String>> = a
        .utt2spk
        .as_deref()
        .map(read_text_table)
        .transpose()?
        .map(|v| v.into_iter().collect());
    let source = match (&table, global) {
        (_, Some(g)) => CmvnSource::Global(g),
        (Some(_), None) => CmvnSource::Table { utt2spk },
        (None, None) => CmvnSource::PerUtterance,
    };
    let permissive = RSpecifier::parse(feats_in)?.permissive;
    let reader = SequentialReader::<Array2<f32>>::open(feats_in)?;
    let mut writer = Writer::<Array2<f32>>::open(feats_out)?;
    let (mut done, mut total) = (0usize, 0usize);
    for item in reader {
        total += 1;
        let (utt, mut feats) = match item {
            Ok(kv) => kv,
            Err(e) if permissive => {
                log::warn!("{e} (skipped)");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        check_finite(feats.view()).with_context(|| format!("{feats_in}: utterance {utt}"))?;
        let st = match (source.select(&utt, feats.view())?, table.as_mut()) {
            (CmvnChoice::Stats(s), _) => s,
            (CmvnChoice::Key(key), Some(t)) => match t.get(key)? {
                Some(m) => Cow::Owned(CmvnStats::from_array(m)?),
                None if permissive => {
                    log::warn!("no CMVN statistics for {key} (utterance {utt}); skipped");
                    continue;
                }
                None => bail!("no CMVN statistics for {key} (utterance {utt})"),
            },
            (CmvnChoice::Key(key), None) => bail!("no CMVN statistics table to look {key} up in"),
        };
        a.opts
            .apply(&st, feats.view_mut())
            .with_context(|| format!("utterance {utt}"))?;
        writer.write(&utt, &feats)?;
        done += 1;
    }
    writer.commit()?;
    log::info!(
        "Applied cepstral mean{} normalization to {done} out of {total} utterances.",
        if a.opts.norm_vars {
            " and variance"
        } else {
            ""
        }
    );
    Ok(())
}
