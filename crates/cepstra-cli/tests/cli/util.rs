//! Helpers for running `cepstra` in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::Array2;

/// The built binary.
pub fn cepstra() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cepstra"))
}

/// Runs `cepstra ARGS` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    cepstra()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("spawn cepstra")
}

/// Runs and asserts success, returning stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "cepstra {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fixture of another crate of the workspace.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Writes a mono or multi-channel 16-bit WAV.
pub fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// A deterministic test signal: a chirp with some noise.
pub fn signal(n: usize) -> Vec<i16> {
    let mut state = 12345u32;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            let noise = ((state >> 16) as f32 / 65536.0 - 0.5) * 200.0;
            let t = i as f32 / 8000.0;
            (4000.0 * (2.0 * std::f32::consts::PI * (200.0 + 800.0 * t) * t).sin() + noise) as i16
        })
        .collect()
}

/// Reads a whole feature table.
pub fn read_table(spec: &str) -> Vec<(String, Array2<f32>)> {
    cepstra_io::table::SequentialReader::<Array2<f32>>::open(spec)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Writes a feature table.
pub fn write_table(spec: &str, entries: &[(&str, Array2<f32>)]) {
    let mut w = cepstra_io::table::Writer::<Array2<f32>>::open(spec).unwrap();
    for (k, m) in entries {
        w.write(k, m).unwrap();
    }
    w.commit().unwrap();
}

/// Files in a directory (names), sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
