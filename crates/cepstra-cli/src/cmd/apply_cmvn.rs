//! `cepstra apply-cmvn`: cepstral mean (and variance) normalisation, as Kaldi's binary; without a
//! statistics argument, per-utterance statistics are computed on the fly.

use anyhow::{bail, Context, Result};
use cepstra_feat::{acc_cmvn_stats, apply_cmvn, apply_cmvn_reverse, CmvnStats};
use cepstra_io::table::{
    read_text_table, RSpecifier, RandomAccessReader, SequentialReader, Writer,
};
use ndarray::Array2;
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
    /// Normalise means
    #[arg(long = "norm-means", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    norm_means: bool,
    /// Normalise variances
    #[arg(long = "norm-vars", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    norm_vars: bool,
    /// Undo a previous normalisation with the same statistics
    #[arg(long = "reverse", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    reverse: bool,
    /// Rspecifier (or file) mapping utterances to speakers; statistics are then looked up by speaker
    #[arg(long = "utt2spk", value_name = "RSPECIFIER")]
    utt2spk: Option<String>,
    /// [CMVN_RSPECIFIER_OR_RXFILENAME] FEATS_RSPECIFIER FEATS_WSPECIFIER
    #[arg(num_args = 2..=3, required = true)]
    args: Vec<String>,
}

enum Stats {
    PerUtterance,
    Global(CmvnStats),
    Table(RandomAccessReader<Array2<f64>>),
}

pub fn run(a: Args) -> Result<()> {
    if a.norm_vars && !a.norm_means {
        bail!("--norm-vars=true needs --norm-means=true");
    }
    let (stats_arg, feats_in, feats_out) = match a.args.as_slice() {
        [i, o] => (None, i, o),
        [s, i, o] => (Some(s.as_str()), i, o),
        _ => bail!("expected [CMVN] FEATS_IN FEATS_OUT"),
    };
    let mut stats = match stats_arg {
        None => Stats::PerUtterance,
        Some(s) if RSpecifier::parse(s).is_ok() => Stats::Table(RandomAccessReader::open(s)?),
        Some(file) => {
            let mut input = cepstra_io::filename::Input::open(file)?;
            let binary = cepstra_io::basic::read_binary_flag(&mut input)?;
            let m = cepstra_io::basic::read_matrix_f64(&mut input, binary)
                .with_context(|| format!("reading {file}"))?;
            Stats::Global(CmvnStats::from_array(m)?)
        }
    };
    let utt2spk: Option<HashMap<String, String>> = a
        .utt2spk
        .as_deref()
        .map(read_text_table)
        .transpose()?
        .map(|v| v.into_iter().collect());
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
        crate::common::ensure_finite(&feats)
            .map_err(|e| e.context(format!("{feats_in}: utterance {utt}")))?;
        let st = match &mut stats {
            Stats::PerUtterance => acc_cmvn_stats(feats.view(), None)?,
            Stats::Global(s) => s.clone(),
            Stats::Table(t) => {
                let key = match &utt2spk {
                    Some(m) => m
                        .get(&utt)
                        .with_context(|| format!("utterance {utt} is not in --utt2spk"))?,
                    None => &utt,
                };
                match t.get(key)? {
                    Some(m) => CmvnStats::from_array(m)?,
                    None if permissive => {
                        log::warn!("no CMVN statistics for {key} (utterance {utt}); skipped");
                        continue;
                    }
                    None => bail!("no CMVN statistics for {key} (utterance {utt})"),
                }
            }
        };
        if a.norm_means {
            if a.reverse {
                apply_cmvn_reverse(&st, feats.view_mut(), a.norm_vars)
            } else {
                apply_cmvn(&st, feats.view_mut(), a.norm_vars)
            }
            .with_context(|| format!("utterance {utt}"))?;
        }
        writer.write(&utt, &feats)?;
        done += 1;
    }
    writer.commit()?;
    log::info!(
        "Applied cepstral mean{} normalization to {done} out of {total} utterances.",
        if a.norm_vars { " and variance" } else { "" }
    );
    Ok(())
}
