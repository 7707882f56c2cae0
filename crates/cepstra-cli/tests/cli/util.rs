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

/// A small corpus in `d`: `f.ark` (four 3-dimensional utterances `u1`..`u4` of two classes),
/// `text` (`a`, `b`, `a`, `b`), `a.wav` (8 kHz) in `wav.scp` as `w1`, and `m.json`
/// (`gmm-init --num-gauss=2` of `f.ark`).
pub fn small_corpus(d: &Path) {
    let m = |off: f32, n: usize| {
        Array2::from_shape_fn((n, 3), |(t, j)| {
            off + ((t * 7 + j * 3) % 5) as f32 * 0.3 + j as f32
        })
    };
    write_table(
        &format!("ark:{}", d.join("f.ark").display()),
        &[
            ("u1", m(0.0, 30)),
            ("u2", m(5.0, 30)),
            ("u3", m(0.4, 30)),
            ("u4", m(5.2, 30)),
        ],
    );
    std::fs::write(d.join("text"), "u1 a\nu2 b\nu3 a\nu4 b\n").unwrap();
    write_wav(&d.join("a.wav"), 8000, 1, &signal(4000));
    std::fs::write(d.join("wav.scp"), "w1 a.wav\n").unwrap();
    ok(
        d,
        &[
            "gmm-init",
            "--num-gauss=2",
            "--min-gaussian-occupancy=1",
            "ark:f.ark",
            "m.json",
        ],
    );
}

/// A character device to write to: a `mknod` copy of /dev/null in `dir` as root (the real one
/// is never touched as root), else /dev/null itself, which a user without root cannot replace.
pub fn char_device(dir: &Path) -> PathBuf {
    let dev = dir.join("null-device");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        dev
    } else {
        eprintln!(
            "mknod not permitted: the device case writes /dev/null, which this user cannot replace"
        );
        PathBuf::from("/dev/null")
    }
}
