//! The shared driver of `compute-mfcc-feats` and `compute-fbank-feats`: WAV table in, feature
//! table out, parallel over utterances in input order.

use anyhow::{bail, Result};
use cepstra_feat::{FeatureComputer, UtteranceDriver};
use cepstra_io::table::{read_scp, read_scp_entry, RSpecifier, ScpEntry, SequentialReader, Writer};
use cepstra_io::WaveData;
use ndarray::Array2;
use std::sync::atomic::{AtomicBool, Ordering};

use super::scalars::ScalarWriter;

/// A waveform to process: decoded already, or an `scp` entry for the worker to read.
enum WaveSource {
    Decoded(WaveData),
    Entry(ScpEntry, Option<std::sync::Arc<std::path::PathBuf>>),
}

/// Options of the WAV-reading side, as Kaldi's compute-*-feats binaries have them.
#[derive(clap::Args, Debug)]
pub struct WaveArgs {
    /// Channel to use: -1 accepts mono files only; a multi-channel file needs 0, 1, ...
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub channel: i32,
    /// Minimum duration of utterances to process, in seconds (shorter ones are skipped with a warning)
    #[arg(long = "min-duration", default_value_t = 0.0)]
    pub min_duration: f32,
    /// Wspecifier to write the duration of each utterance in seconds, e.g. ark,t:utt2dur
    #[arg(long = "write-utt2dur", value_name = "WSPECIFIER")]
    pub write_utt2dur: Option<String>,
    /// Wspecifier to write the number of frames of each utterance, e.g. ark,t:utt2num_frames
    #[arg(long = "write-num-frames", value_name = "WSPECIFIER")]
    pub write_num_frames: Option<String>,
    /// Rspecifier of the waveforms, e.g. scp:data/train/wav.scp
    pub wav_rspecifier: String,
    /// Wspecifier of the features, e.g. ark,scp:feats.ark,feats.scp or ark:-
    pub feats_wspecifier: String,
}

/// Set once an utterance has been resampled (logged once per run).
static RESAMPLED: AtomicBool = AtomicBool::new(false);

/// Computes features for every utterance of `args.wav_rspecifier`.
pub fn compute_features(computer: &dyn FeatureComputer, args: &WaveArgs) -> Result<()> {
    let spec = RSpecifier::parse(&args.wav_rspecifier)?;
    // From an scp, workers open and decode the files themselves (in parallel); an archive or a
    // pipe is decoded by the reading thread.
    let reader: Box<dyn Iterator<Item = cepstra_io::Result<(String, WaveSource)>>> = if spec.is_scp
    {
        let (entries, dir) = read_scp(&spec.filename)?;
        let dir = dir.map(std::sync::Arc::new);
        Box::new(
            entries
                .into_iter()
                .map(move |e| Ok((e.key.clone(), WaveSource::Entry(e, dir.clone())))),
        )
    } else {
        Box::new(
            SequentialReader::<WaveData>::open(&args.wav_rspecifier)?
                .map(|r| r.map(|(k, w)| (k, WaveSource::Decoded(w)))),
        )
    };
    let mut writer = Writer::<Array2<f32>>::open(&args.feats_wspecifier)?;
    let mut durations = args
        .write_utt2dur
        .as_deref()
        .map(ScalarWriter::open)
        .transpose()?;
    let mut num_frames = args
        .write_num_frames
        .as_deref()
        .map(ScalarWriter::open)
        .transpose()?;
    let opts = computer.frame_options();
    let expected_rate = opts.samp_freq;
    let channel = usize::try_from(args.channel).ok();
    let driver = UtteranceDriver::new(computer, args.min_duration);
    let counts = crate::common::map_ordered(
        reader,
        spec.permissive,
        |key, source: WaveSource| -> Result<Option<(Array2<f32>, f64)>> {
            // Where the audio came from, for the errors about its content.
            let (wave, place) = match source {
                WaveSource::Decoded(w) => (w, String::new()),
                WaveSource::Entry(e, dir) => (
                    read_scp_entry::<WaveData>(
                        &e,
                        dir.as_deref().map(|d| d.as_path()),
                        &spec.filename,
                    )?,
                    format!(
                        "{}:{}: utterance {key} ({}): ",
                        spec.filename, e.line, e.rxfilename
                    ),
                ),
            };
            let duration = wave.duration();
            if let Some(skip) = driver.check_duration(duration) {
                log::warn!("utterance {key}: {skip}");
                return Ok(None);
            }
            let samples = wave
                .channel(channel)
                .map_err(|e| anyhow::anyhow!("{place}{e}"))?;
            // Kaldi's ComputeFeatures: another rate is resampled when --allow-downsample /
            // --allow-upsample allow it, else an error naming both rates.
            let u = driver
                .compute(key, samples, wave.samp_freq)
                .map_err(|e| anyhow::anyhow!("{place}{e}"))?;
            if u.resampled && !RESAMPLED.swap(true, Ordering::Relaxed) {
                log::info!(
                    "utterance {key}: {} Hz audio resampled to --sample-frequency={expected_rate} \
                     (Kaldi's LinearResample; further resampled utterances are not logged)",
                    wave.samp_freq
                );
            }
            if let Some(skip) = u.skip {
                log::warn!("utterance {key}: {skip}");
                return Ok(None);
            }
            Ok(Some((u.feats, duration)))
        },
        |key, out| {
            if let Some((feats, duration)) = out {
                writer.write(key, &feats)?;
                if let Some(d) = durations.as_mut() {
                    d.write(key, &format!("{duration}"))?;
                }
                if let Some(n) = num_frames.as_mut() {
                    n.write(key, &feats.nrows().to_string())?;
                }
            }
            Ok(())
        },
    )?;
    let written = writer.count();
    // All outputs or none: flush every one (the step a full disk fails) before renaming any.
    writer.prepare()?;
    if let Some(d) = durations.as_mut() {
        d.prepare()?;
    }
    if let Some(n) = num_frames.as_mut() {
        n.prepare()?;
    }
    writer.commit()?;
    if let Some(d) = durations {
        d.commit()?;
    }
    if let Some(n) = num_frames {
        n.commit()?;
    }
    log::info!("Done {written} out of {} utterances.", counts.total);
    if written == 0 && counts.total > 0 {
        bail!("no utterance could be processed");
    }
    Ok(())
}
