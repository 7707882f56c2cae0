//! Shared helpers for the reference tests: WAV and ark reading, Kaldi-style option strings,
//! comparison with the team tolerance.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cepstra_feat::{FbankOptions, MfccOptions, WindowType};
use cepstra_io::table::SequentialReader;
use ndarray::Array2;

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// int16 samples as f32 (Kaldi's scale) and the sample rate.
pub fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = r.spec().sample_rate;
    assert_eq!(r.spec().channels, 1);
    let s = r
        .samples::<i16>()
        .map(|x| f32::from(x.expect("sample")))
        .collect();
    (s, rate)
}

/// The first (only) matrix of an archive, with its key.
pub fn read_ark_f32(path: &Path) -> Vec<(String, Array2<f32>)> {
    let spec = format!("ark:{}", path.display());
    SequentialReader::<Array2<f32>>::open(&spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{spec}: {e}")))
        .collect()
}

pub fn read_ark_f64(path: &Path) -> Vec<(String, Array2<f64>)> {
    let spec = format!("ark:{}", path.display());
    SequentialReader::<Array2<f64>>::open(&spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{spec}: {e}")))
        .collect()
}

/// Max over elements of |a-b| / max(1, |b|), of |a-b|, and where the first max is;
/// panics on shape mismatch.
pub fn max_diffs(ours: &Array2<f32>, want: &Array2<f32>) -> (f64, f64, (usize, usize)) {
    assert_eq!(ours.dim(), want.dim(), "shape");
    let mut rel = 0.0f64;
    let mut abs = 0.0f64;
    let mut at = (0, 0);
    for ((i, a), b) in ours.indexed_iter().zip(want) {
        let d = (f64::from(*a) - f64::from(*b)).abs();
        abs = abs.max(d);
        let r = d / f64::from(b.abs()).max(1.0);
        if r > rel {
            rel = r;
            at = i;
        }
    }
    (rel, abs, at)
}

pub const TOLERANCE: f64 = 1e-3;

/// Which Kaldi program an option string is for.
pub enum Computer {
    Mfcc(MfccOptions),
    Fbank(FbankOptions),
}

fn parse_bool(v: &str) -> bool {
    match v {
        "true" => true,
        "false" => false,
        _ => panic!("bad bool {v}"),
    }
}

/// Parses `compute-mfcc-feats --a=b ...` / `compute-fbank-feats ...` into options.
pub fn parse_command(cmd: &str) -> Computer {
    let mut words = cmd.split_whitespace();
    let program = words.next().expect("program");
    let mut m = MfccOptions::default();
    let mut f = FbankOptions::default();
    for w in words {
        let (k, v) = w
            .strip_prefix("--")
            .and_then(|w| w.split_once('='))
            .unwrap_or_else(|| panic!("bad option {w}"));
        let num = || {
            v.parse::<f32>()
                .unwrap_or_else(|_| panic!("bad number {w}"))
        };
        let int = || {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("bad integer {w}"))
        };
        for fo in [&mut m.frame_opts, &mut f.frame_opts] {
            match k {
                "sample-frequency" => fo.samp_freq = num(),
                "frame-length" => fo.frame_length_ms = num(),
                "frame-shift" => fo.frame_shift_ms = num(),
                "dither" => fo.dither = num(),
                "preemphasis-coefficient" => fo.preemph_coeff = num(),
                "remove-dc-offset" => fo.remove_dc_offset = parse_bool(v),
                "window-type" => fo.window_type = v.parse::<WindowType>().expect("window"),
                "round-to-power-of-two" => fo.round_to_power_of_two = parse_bool(v),
                "blackman-coeff" => fo.blackman_coeff = num(),
                "snip-edges" => fo.snip_edges = parse_bool(v),
                _ => {}
            }
        }
        for mo in [&mut m.mel_opts, &mut f.mel_opts] {
            match k {
                "num-mel-bins" => mo.num_bins = int(),
                "low-freq" => mo.low_freq = num(),
                "high-freq" => mo.high_freq = num(),
                _ => {}
            }
        }
        match k {
            "num-ceps" => m.num_ceps = int(),
            "use-energy" => (m.use_energy, f.use_energy) = (parse_bool(v), parse_bool(v)),
            "energy-floor" => (m.energy_floor, f.energy_floor) = (num(), num()),
            "raw-energy" => (m.raw_energy, f.raw_energy) = (parse_bool(v), parse_bool(v)),
            "htk-compat" => (m.htk_compat, f.htk_compat) = (parse_bool(v), parse_bool(v)),
            "cepstral-lifter" => m.cepstral_lifter = num(),
            "use-log-fbank" => f.use_log_fbank = parse_bool(v),
            "use-power" => f.use_power = parse_bool(v),
            "sample-frequency"
            | "frame-length"
            | "frame-shift"
            | "dither"
            | "preemphasis-coefficient"
            | "remove-dc-offset"
            | "window-type"
            | "round-to-power-of-two"
            | "blackman-coeff"
            | "snip-edges"
            | "num-mel-bins"
            | "low-freq"
            | "high-freq" => {}
            _ => panic!("unknown option {k}"),
        }
    }
    match program {
        "compute-mfcc-feats" => Computer::Mfcc(m),
        "compute-fbank-feats" => Computer::Fbank(f),
        _ => panic!("unknown program {program}"),
    }
}

pub fn compute(c: &Computer, wave: &[f32]) -> Array2<f32> {
    match c {
        Computer::Mfcc(o) => cepstra_feat::Mfcc::new(o)
            .expect("valid options")
            .compute(wave)
            .expect("features"),
        Computer::Fbank(o) => cepstra_feat::Fbank::new(o)
            .expect("valid options")
            .compute(wave)
            .expect("features"),
    }
}
