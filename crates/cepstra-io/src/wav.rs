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
    ///
    /// A data chunk whose size is 0 or 0xFFFFFFFF, as programs writing to a pipe leave it
    /// (`sox … -t wav - |`), is read to the end of the stream, as Kaldi does; otherwise a stream
    /// shorter than the declared size is an error.
    pub fn read<R: Read>(mut r: R) -> Result<WaveData> {
        let bad = |reason: String| Error::Wav {
            source_name: String::new(),
            reason,
        };
        let header = read_header(&mut r).map_err(bad)?;
        let nch = header.channels;
        let width = header.bits.div_ceil(8);
        let mut data = Vec::new();
        let read = match header.data_size {
            Some(size) => {
                data.reserve(size.min(1 << 24) as usize);
                r.by_ref().take(size).read_to_end(&mut data)
            }
            None => r.read_to_end(&mut data),
        };
        read.map_err(|e| bad(format!("reading sample data: {e}")))?;
        if let Some(size) = header.data_size {
            if (data.len() as u64) < size {
                return Err(bad(format!(
                    "truncated: header declares {} samples, found {}",
                    size / width as u64,
                    data.len() / width
                )));
            }
        }
        // Whole frames only (a stream cut mid-frame drops the partial frame).
        let frames = data.len() / (width * nch);
        data.truncate(frames * width * nch);
        let interleaved = decode(&data, header.float, header.bits);
        if interleaved.is_empty() {
            return Err(bad("the file holds no samples".into()));
        }
        let channels = if nch == 1 {
            vec![interleaved]
        } else {
            (0..nch)
                .map(|c| (0..frames).map(|i| interleaved[i * nch + c]).collect())
                .collect()
        };
        Ok(WaveData {
            samp_freq: header.sample_rate as f32,
            channels,
        })
    }
}

/// What the RIFF header says; the reader is left at the first sample.
struct Header {
    channels: usize,
    sample_rate: u32,
    bits: usize,
    float: bool,
    /// `None`: streamed (size 0 or 0xFFFFFFFF), read to the end.
    data_size: Option<u64>,
}

fn read_exact_or<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    what: &str,
) -> std::result::Result<(), String> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("not a readable WAV file: the stream ends inside the {what}")
        } else {
            format!("not a readable WAV file: {e}")
        }
    })
}

/// Parses RIFF/WAVE up to the data chunk (PCM, IEEE float and WAVE_FORMAT_EXTENSIBLE of either).
/// Written here rather than taken from hound, whose reader refuses the streamed sizes.
fn read_header<R: Read>(r: &mut R) -> std::result::Result<Header, String> {
    let mut riff = [0u8; 12];
    read_exact_or(r, &mut riff, "RIFF header")?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err("not a readable WAV file: no RIFF/WAVE header".into());
    }
    let mut fmt: Option<(usize, u32, usize, bool)> = None;
    loop {
        let mut chunk = [0u8; 8];
        read_exact_or(r, &mut chunk, "chunk list before the data chunk")?;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match &chunk[0..4] {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(format!(
                        "not a readable WAV file: fmt chunk of {size} bytes"
                    ));
                }
                let mut f = vec![0u8; size as usize + (size as usize & 1)];
                read_exact_or(r, &mut f, "fmt chunk")?;
                let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
                let mut tag = u16_at(0);
                if tag == 0xFFFE && size >= 26 {
                    // WAVE_FORMAT_EXTENSIBLE: the format is the start of the sub-format GUID.
                    tag = u16_at(24);
                }
                let channels = usize::from(u16_at(2));
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let bits = usize::from(u16_at(14));
                let float = match (tag, bits) {
                    (1, 8 | 16 | 24 | 32) => false,
                    (3, 32) => true,
                    _ => {
                        return Err(format!(
                            "unsupported sample format (format tag {tag}, {bits} bits): use integer PCM of 8, 16, 24 or 32 bits or 32-bit float"
                        ))
                    }
                };
                if channels == 0 {
                    return Err("WAV header says 0 channels".into());
                }
                if rate == 0 {
                    return Err("WAV header says sample rate 0".into());
                }
                fmt = Some((channels, rate, bits, float));
            }
            b"data" => {
                let Some((channels, sample_rate, bits, float)) = fmt else {
                    return Err("not a readable WAV file: data chunk before the fmt chunk".into());
                };
                let data_size = (size != 0 && size != u32::MAX).then_some(u64::from(size));
                return Ok(Header {
                    channels,
                    sample_rate,
                    bits,
                    float,
                    data_size,
                });
            }
            _ => {
                // Skip any other chunk (LIST, fact, …), with its pad byte.
                let skip = u64::from(size) + u64::from(size & 1);
                let n = std::io::copy(&mut r.by_ref().take(skip), &mut std::io::sink())
                    .map_err(|e| format!("not a readable WAV file: {e}"))?;
                if n < skip {
                    return Err("not a readable WAV file: the stream ends inside a chunk before the data chunk".into());
                }
            }
        }
    }
}

/// Little-endian samples → the int16 scale (8-bit ×256 around 128, 24-bit ÷256, 32-bit ÷65536,
/// float ×32768).
fn decode(data: &[u8], float: bool, bits: usize) -> Vec<f32> {
    match (float, bits) {
        (true, _) => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * 32768.0)
            .collect(),
        (false, 8) => data
            .iter()
            .map(|&b| (f32::from(b) - 128.0) * 256.0)
            .collect(),
        (false, 16) => data
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
            .collect(),
        (false, 24) => data
            .chunks_exact(3)
            .map(|c| {
                let v = i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8;
                (f64::from(v) / 256.0) as f32
            })
            .collect(),
        _ => data
            .chunks_exact(4)
            .map(|c| (f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) / 65536.0) as f32)
            .collect(),
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

    /// `bytes` with the data chunk's size (and the RIFF size) set to `size`, as a pipe writer
    /// leaves them.
    fn streamed(mut bytes: Vec<u8>, size: u32) -> Vec<u8> {
        let at = bytes.windows(4).position(|w| w == b"data").unwrap() + 4;
        bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
        bytes[4..8].copy_from_slice(&size.to_le_bytes());
        bytes
    }

    #[test]
    fn streamed_headers_are_read_to_the_end() {
        use hound::SampleFormat::{Float, Int};
        for (bits, fmt) in [(16, Int), (24, Int), (8, Int), (32, Float)] {
            let scale = if fmt == Float { 1.0 / 32768.0 } else { 1.0 };
            let samples: Vec<f64> = (0..10).map(|i| (i as f64 - 5.0) * 2.0 * scale).collect();
            let bytes = wav_bytes(bits, fmt, 2, &samples);
            let plain = WaveData::read(&bytes[..]).unwrap();
            for size in [0, u32::MAX] {
                let w = WaveData::read(&streamed(bytes.clone(), size)[..]).unwrap();
                assert_eq!(w, plain, "{bits} bits, size {size:#x}");
                assert_eq!(w.num_samples(), 5);
                // A stream cut inside a frame keeps the whole frames.
                let mut cut = streamed(bytes.clone(), size);
                cut.truncate(cut.len() - 1);
                assert_eq!(WaveData::read(&cut[..]).unwrap().num_samples(), 4);
            }
        }
        // A streamed header with no data is still an empty file.
        let empty = streamed(wav_bytes(16, Int, 1, &[]), 0);
        assert!(WaveData::read(&empty[..])
            .unwrap_err()
            .to_string()
            .contains("no samples"));
    }

    #[test]
    fn bad_headers_are_errors_not_panics() {
        let good = wav_bytes(16, hound::SampleFormat::Int, 1, &[1.0, 2.0]);
        for n in 0..good.len() - 4 {
            assert!(WaveData::read(&good[..n]).is_err(), "cut at {n}");
        }
        let mut wrong = good.clone();
        wrong[0] = b'X';
        assert!(WaveData::read(&wrong[..]).is_err());
        // A chunk that claims 4 GB before the data chunk.
        let mut big = good[..12].to_vec();
        big.extend_from_slice(b"LIST");
        big.extend_from_slice(&u32::MAX.to_le_bytes());
        big.extend_from_slice(&good[12..]);
        assert!(WaveData::read(&big[..]).is_err());
        // A-law is refused by name.
        let mut alaw = good.clone();
        alaw[20] = 6;
        let e = WaveData::read(&alaw[..]).unwrap_err().to_string();
        assert!(e.contains("format tag 6"), "{e}");
    }
}
