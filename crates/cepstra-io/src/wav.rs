//! WAV input via `hound`, with samples on the int16 scale Kaldi uses.
//!
//! 8-, 16-, 24- and 32-bit integer PCM and 32-bit float WAVs are accepted; samples are converted
//! so that full scale is ±32768 whatever the format (8-bit ×256, 24-bit ÷256, 32-bit ÷65536,
//! float ×32768), as Kaldi's features expect.
//!
//! ```no_run
//! let wave = cepstra_io::wav::read_wav_file("a.wav")?;
//! let samples = wave.channel(None)?;   // a mono file, or an error asking for --channel
//! # Ok::<(), cepstra_io::Error>(())
//! ```

use std::io::{BufRead, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::table::KaldiObject;

/// Decoded audio: per-channel samples on the int16 scale.
#[derive(Clone, Debug, PartialEq)]
pub struct WaveData {
    /// Sampling rate in Hz.
    pub samp_freq: f32,
    /// One vector of samples per channel.
    pub channels: Vec<Vec<f32>>,
}

impl WaveData {
    /// Number of samples per channel.
    pub fn num_samples(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.num_samples() as f64 / self.samp_freq as f64
    }

    /// The samples of one channel. `None` is allowed only for mono audio (Kaldi's
    /// `--channel=-1`); a multi-channel file needs an explicit channel.
    pub fn channel(&self, channel: Option<usize>) -> Result<&[f32]> {
        match (channel, self.channels.len()) {
            (None, 1) => Ok(&self.channels[0]),
            (None, n) => Err(Error::Wav {
                source_name: String::new(),
                reason: format!(
                    "the file has {n} channels: choose one with --channel=0..{}",
                    n.saturating_sub(1)
                ),
            }),
            (Some(c), n) if c < n => Ok(&self.channels[c]),
            (Some(c), n) => Err(Error::Wav {
                source_name: String::new(),
                reason: format!("--channel={c} but the file has {n} channel(s)"),
            }),
        }
    }

    /// Decodes a WAV stream.
    pub fn read<R: Read>(r: R) -> Result<WaveData> {
        let bad = |reason: String| Error::Wav {
            source_name: String::new(),
            reason,
        };
        let reader =
            hound::WavReader::new(r).map_err(|e| bad(format!("not a readable WAV file: {e}")))?;
        let spec = reader.spec();
        let nch = spec.channels as usize;
        if nch == 0 {
            return Err(bad("WAV header says 0 channels".into()));
        }
        let declared = reader.len() as usize;
        let mut interleaved: Vec<f32> = Vec::with_capacity(declared.min(1 << 26));
        let truncated = |e: hound::Error| bad(format!("truncated or corrupt sample data: {e}"));
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 16) if nch > 0 => {
                // The common case, decoded in bulk: hound has parsed the header and left the
                // reader at the first sample.
                let mut data = Vec::with_capacity(declared.min(1 << 27) * 2);
                reader
                    .into_inner()
                    .take(declared as u64 * 2)
                    .read_to_end(&mut data)
                    .map_err(|e| bad(format!("reading sample data: {e}")))?;
                // Resize then convert in place: a loop of known length that vectorises.
                interleaved.resize(data.len() / 2, 0.0);
                for (x, c) in interleaved.iter_mut().zip(data.chunks_exact(2)) {
                    *x = f32::from(i16::from_le_bytes([c[0], c[1]]));
                }
            }
            (hound::SampleFormat::Int, 16) => {
                for s in reader.into_samples::<i16>() {
                    interleaved.push(s.map_err(truncated)? as f32);
                }
            }
            (hound::SampleFormat::Int, bits @ (8 | 24 | 32)) => {
                let scale = match bits {
                    8 => 256.0,
                    24 => 1.0 / 256.0,
                    _ => 1.0 / 65536.0,
                };
                for s in reader.into_samples::<i32>() {
                    interleaved.push((s.map_err(truncated)? as f64 * scale) as f32);
                }
            }
            (hound::SampleFormat::Float, 32) => {
                for s in reader.into_samples::<f32>() {
                    interleaved.push(s.map_err(truncated)? * 32768.0);
                }
            }
            (fmt, bits) => {
                return Err(bad(format!(
                    "unsupported sample format {fmt:?} with {bits} bits"
                )))
            }
        }
        if interleaved.len() < declared {
            return Err(bad(format!(
                "truncated: header declares {declared} samples, found {}",
                interleaved.len()
            )));
        }
        if interleaved.is_empty() {
            return Err(bad("the file holds no samples".into()));
        }
        let frames = interleaved.len() / nch;
        let channels = if nch == 1 {
            vec![interleaved]
        } else {
            (0..nch)
                .map(|c| (0..frames).map(|i| interleaved[i * nch + c]).collect())
                .collect()
        };
        Ok(WaveData {
            samp_freq: spec.sample_rate as f32,
            channels,
        })
    }
}

/// Reads a WAV file.
pub fn read_wav_file(path: impl AsRef<Path>) -> Result<WaveData> {
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    WaveData::read(std::io::BufReader::new(f)).map_err(|e| match e {
        Error::Wav { reason, .. } => Error::Wav {
            source_name: path.display().to_string(),
            reason,
        },
        other => other,
    })
}

impl KaldiObject for WaveData {
    fn read_object<R: BufRead>(r: &mut R, _binary: bool) -> Result<Self> {
        WaveData::read(r)
    }

    fn write_object<W: Write>(&self, w: &mut W, _binary: bool) -> Result<()> {
        let spec = hound::WavSpec {
            channels: self.channels.len() as u16,
            sample_rate: self.samp_freq as u32,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut ww =
                hound::WavWriter::new(&mut buf, spec).map_err(|e| Error::format(e.to_string()))?;
            for i in 0..self.num_samples() {
                for ch in &self.channels {
                    let s = ch[i].round().clamp(-32768.0, 32767.0) as i16;
                    ww.write_sample(s)
                        .map_err(|e| Error::format(e.to_string()))?;
                }
            }
            ww.finalize().map_err(|e| Error::format(e.to_string()))?;
        }
        w.write_all(&buf.into_inner())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(bits: u16, fmt: hound::SampleFormat, channels: u16, samples: &[f64]) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 8000,
            bits_per_sample: bits,
            sample_format: fmt,
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        for &s in samples {
            match (fmt, bits) {
                (hound::SampleFormat::Float, _) => w.write_sample(s as f32).unwrap(),
                (_, 8) => w.write_sample(s as i8).unwrap(),
                (_, 16) => w.write_sample(s as i16).unwrap(),
                _ => w.write_sample(s as i32).unwrap(),
            }
        }
        w.finalize().unwrap();
        buf.into_inner()
    }

    #[test]
    fn all_formats_on_int16_scale() {
        use hound::SampleFormat::{Float, Int};
        let cases: [(u16, hound::SampleFormat, f64); 5] = [
            (8, Int, 64.0),
            (16, Int, 16384.0),
            (24, Int, 4194304.0),
            (32, Int, 1073741824.0),
            (32, Float, 0.5),
        ];
        for (bits, fmt, half) in cases {
            let bytes = wav_bytes(bits, fmt, 1, &[half, -half]);
            let w = WaveData::read(&bytes[..]).unwrap();
            assert_eq!(
                w.channels[0],
                vec![16384.0, -16384.0],
                "{bits} bits {fmt:?}"
            );
        }
    }

    #[test]
    fn stereo_needs_channel_and_truncation_is_detected() {
        let bytes = wav_bytes(16, hound::SampleFormat::Int, 2, &[1.0, 2.0, 3.0, 4.0]);
        let w = WaveData::read(&bytes[..]).unwrap();
        assert!(w.channel(None).is_err());
        assert_eq!(w.channel(Some(1)).unwrap(), &[2.0, 4.0]);
        let cut = &bytes[..bytes.len() - 3];
        assert!(WaveData::read(cut).is_err());
        let empty = wav_bytes(16, hound::SampleFormat::Int, 1, &[]);
        assert!(WaveData::read(&empty[..]).is_err());
    }
}
