//! `cepstra recognize`: label recordings with a model set, running the front-end it records.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use cepstra_feat::{CmvnMode, FrontEnd};
use cepstra_io::filename::{Input, Output};
use cepstra_io::table::{read_scp, read_scp_entry, read_text_table, RSpecifier, ScpEntry};
use cepstra_io::WaveData;
use cepstra_score::classify::{classify_utterance, Classification, ClassifyOptions, UttResult};
use cepstra_train::ModelSet;
use ndarray::Array2;
use rayon::prelude::*;

/// Label WAV recordings with a model set: its recorded front-end (compute-mfcc-feats options,
/// CMN/CMVN, deltas) is run on each input, every class scored, and one line printed per input,
/// in input order: `utt<TAB>label<TAB>log-likelihood<TAB>margin`, both per frame (the margin is
/// best minus second-best class). Audio at another sample rate is resampled to the model's
/// (Kaldi's LinearResample). Inputs that cannot be labelled (no such file, not audio, too short
/// for one frame) get one error line each; the others are still labelled, and the exit status is 1.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra recognize exp/classes_cmn_full_k5_i5_s0/final.mdl a.wav b.wav
       cepstra recognize --hyp=hyp.txt exp/final.mdl scp:data/test/wav.scp
       sox in.flac -t wav - | cepstra recognize exp/final.mdl -
See also: classify, train-classes --feature-config"
)]
pub struct Args {
    /// Channel of multi-channel audio: -1 accepts mono files only; 0, 1, ... pick one
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    channel: i32,
    /// `utt spk` lines grouping the inputs by speaker for a model with per-speaker CMVN (utterance
    /// ids are the scp keys, or the file names as given); without it each input is its own speaker
    #[arg(long, value_name = "FILE")]
    utt2spk: Option<String>,
    /// `spk utt1 utt2 ...` lines, instead of --utt2spk
    #[arg(long, value_name = "FILE", conflicts_with = "utt2spk")]
    spk2utt: Option<String>,
    /// Also write the hypotheses (`utt label`, sorted by utterance id, as classify does)
    #[arg(long, value_name = "FILE")]
    hyp: Option<String>,
    /// Also write the total log-likelihood of every class (TSV, as classify does)
    #[arg(long, value_name = "FILE")]
    scores: Option<String>,
    /// The model set (train-classes/init-classes with --feature-config)
    model: String,
    /// WAV files, scp:wav.scp, or - (a WAV on stdin)
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
}

/// Where one input's audio comes from.
enum Source {
    File(String),
    /// An scp entry, the scp file's directory and its name.
    Entry(
        ScpEntry,
        Option<std::sync::Arc<std::path::PathBuf>>,
        std::sync::Arc<str>,
    ),
}

pub fn run(a: Args) -> Result<()> {
    let set = ModelSet::read(&a.model).with_context(|| format!("reading {}", a.model))?;
    let recorded = set.frontend.as_ref().with_context(|| {
        format!(
            "{} records no front-end: train it with --feature-config conf/mfcc.conf --cmvn utterance \
             --deltas 2 (as its features were made), or score features with classify",
            a.model
        )
    })?;
    let fe = FrontEnd::new(&recorded.allowing_resampling())?;
    log::info!("front-end: {}", recorded.describe());
    let rate = recorded.features.samp_freq();
    let channel = usize::try_from(a.channel).ok();

    let mut inputs: Vec<(String, Source)> = Vec::new();
    for arg in &a.inputs {
        match RSpecifier::parse(arg) {
            Ok(spec) if spec.is_scp => {
                let (entries, dir) = read_scp(&spec.filename)?;
                let dir = dir.map(std::sync::Arc::new);
                let name: std::sync::Arc<str> = spec.filename.as_str().into();
                inputs.extend(
                    entries
                        .into_iter()
                        .map(|e| (e.key.clone(), Source::Entry(e, dir.clone(), name.clone()))),
                );
            }
            Ok(_) => bail!(
                "{arg}: give WAV files, scp:wav.scp or - (an archive of waves is not supported)"
            ),
            Err(_) => inputs.push((arg.clone(), Source::File(arg.clone()))),
        }
    }

    // Features before normalisation, in parallel, one result per input.
    let raw: Vec<Result<Array2<f32>>> = inputs
        .par_iter()
        .map(|(key, source)| {
            let wave = match source {
                Source::File(name) => {
                    let bytes = Input::open(name)?.read_all()?;
                    WaveData::read(&bytes[..])?
                }
                Source::Entry(e, dir, name) => {
                    read_scp_entry::<WaveData>(e, dir.as_deref().map(|d| d.as_path()), name)?
                }
            };
            let place = match source {
                Source::File(_) => String::new(),
                Source::Entry(e, _, name) => format!("{name}:{}: ", e.line),
            };
            let samples = wave.channel(channel).map_err(|e| anyhow!("{place}{e}"))?;
            if wave.samp_freq != rate {
                log::info!(
                    "{key}: {} Hz audio resampled to the model's {rate} Hz",
                    wave.samp_freq
                );
            }
            let feats = fe
                .raw(samples, wave.samp_freq, key)
                .map_err(|e| anyhow!("{place}{e}"))?;
            if feats.nrows() == 0 {
                bail!(
                    "too short for one frame ({:.3} s; a frame is {} ms)",
                    wave.duration(),
                    recorded.features.frame_options().frame_length_ms
                );
            }
            Ok(feats)
        })
        .collect();

    // Per-speaker statistics (in input order), when the model normalises per speaker.
    let speaker_of = speakers(&a, recorded.cmvn)?;
    let mut results: Vec<Result<Array2<f32>>> = raw;
    let mut stats = HashMap::new();
    if recorded.cmvn == CmvnMode::Speaker {
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (key, _)) in inputs.iter().enumerate() {
            let spk = match &speaker_of {
                Some(m) => match m.get(key) {
                    Some(s) => s.as_str(),
                    None => {
                        if results[i].is_ok() {
                            results[i] = Err(anyhow!("not in --utt2spk/--spk2utt"));
                        }
                        continue;
                    }
                },
                None => key.as_str(),
            };
            if results[i].is_ok() {
                groups.entry(spk).or_default().push(i);
            }
        }
        for (spk, members) in &groups {
            let views: Vec<_> = members
                .iter()
                .filter_map(|&i| results[i].as_ref().ok().map(|m| m.view()))
                .collect();
            let st = fe.speaker_stats(&views)?;
            for &i in members {
                stats.insert(i, st.clone());
            }
            log::debug!("speaker {spk}: {} inputs", members.len());
        }
    }

    // Normalise, add deltas, score.
    let opts = ClassifyOptions::default();
    let labelled: Vec<Result<UttResult>> = results
        .into_par_iter()
        .enumerate()
        .map(|(i, raw)| {
            let feats = fe.finish(raw?, stats.get(&i))?;
            Ok(classify_utterance(&set, &inputs[i].0, feats.view(), &opts)?)
        })
        .collect();

    let mut out = std::io::stdout().lock();
    let (mut ok, mut failed) = (Vec::new(), 0usize);
    for ((key, _), r) in inputs.iter().zip(labelled) {
        match r {
            Ok(r) => {
                let (ll, margin) = best_and_margin(&r);
                writeln!(out, "{key}\t{}\t{ll:.4}\t{margin:.4}", r.label)?;
                ok.push(r);
            }
            Err(e) => {
                failed += 1;
                log::error!("{key}: {e:#}");
            }
        }
    }
    out.flush()?;
    if !ok.is_empty() && (a.hyp.is_some() || a.scores.is_some()) {
        let c = Classification::new(&set, ok)?;
        for (path, text) in [(&a.hyp, c.hypothesis_text()), (&a.scores, c.scores_tsv())] {
            if let Some(p) = path {
                let mut f = Output::create(p)?;
                f.write_all(text.as_bytes())
                    .with_context(|| format!("writing {p}"))?;
                f.commit()?;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} inputs could not be labelled", inputs.len());
    }
    log::info!("Labelled {} inputs.", inputs.len());
    Ok(())
}

/// The best class's log-likelihood per frame and its margin over the second best, per frame.
fn best_and_margin(r: &UttResult) -> (f64, f64) {
    let n = r.num_frames as f64;
    let best = r.scores[r.best];
    let second = r
        .scores
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != r.best)
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max);
    (best / n, (best - second) / n)
}

/// utterance → speaker from --utt2spk or --spk2utt; `None` when neither is given (then, for a
/// model with per-speaker CMVN, each input is normalised by its own statistics, as logged).
fn speakers(a: &Args, cmvn: CmvnMode) -> Result<Option<HashMap<String, String>>> {
    let map: Option<HashMap<String, String>> = if let Some(f) = &a.utt2spk {
        Some(read_text_table(f)?.into_iter().collect())
    } else if let Some(f) = &a.spk2utt {
        let mut m = HashMap::new();
        for (spk, utts) in read_text_table(f)? {
            for u in utts.split_whitespace() {
                m.insert(u.to_string(), spk.clone());
            }
        }
        Some(m)
    } else {
        None
    };
    if cmvn == CmvnMode::Speaker && map.is_none() {
        log::info!(
            "the model normalises per speaker, but no --utt2spk/--spk2utt groups the inputs: \
             each input is normalised by its own statistics"
        );
    }
    Ok(map)
}
