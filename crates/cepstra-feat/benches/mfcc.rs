//! MFCC and fbank throughput on synthetic audio (ids `mfcc/<rate>/<seconds>`); the report also
//! prints µs per frame. Kaldi's `compute-mfcc-feats` takes about 2.6 µs/frame single-threaded on
//! the team machine.

use std::hint::black_box;

use cepstra_feat::{Fbank, FbankOptions, Mfcc, MfccOptions, Scratch};
use criterion::{criterion_group, Criterion, Throughput};
use ndarray::Array2;

/// Chirp plus deterministic noise on the int16 scale.
fn synth(rate: u32, seconds: f32) -> Vec<f32> {
    let n = (rate as f32 * seconds) as usize;
    let mut state = 12345u32;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            6000.0 * (std::f32::consts::TAU * (200.0 + 800.0 * t) * t).sin() + 300.0 * noise
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mfcc");
    for (rate, label) in [(8000u32, "8k"), (16000, "16k")] {
        for (seconds, dither, suffix) in [
            (1.0f32, 1.0f32, ""),
            (10.0, 1.0, ""),
            (10.0, 0.0, "/nodither"),
        ] {
            let mut opts = MfccOptions::default();
            opts.frame_opts.samp_freq = rate as f32;
            opts.frame_opts.dither = dither;
            let mfcc = Mfcc::new(&opts).expect("valid options");
            let wave = synth(rate, seconds);
            let frames = mfcc.num_frames(wave.len());
            let mut out = Array2::zeros((frames, mfcc.dim()));
            let mut scratch = Scratch::default();
            group.throughput(Throughput::Elements(frames as u64));
            group.bench_function(format!("{label}/{seconds}s{suffix}"), |b| {
                b.iter(|| {
                    mfcc.compute_into(black_box(&wave), 0, out.view_mut(), &mut scratch)
                        .expect("compute");
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("fbank");
    let mut opts = FbankOptions::default();
    opts.mel_opts.num_bins = 80;
    let fbank = Fbank::new(&opts).expect("valid options");
    let wave = synth(16000, 10.0);
    let frames = fbank.num_frames(wave.len());
    let mut out = Array2::zeros((frames, fbank.dim()));
    let mut scratch = Scratch::default();
    group.throughput(Throughput::Elements(frames as u64));
    group.bench_function("16k/80bins/10s", |b| {
        b.iter(|| {
            fbank
                .compute_into(black_box(&wave), 0, out.view_mut(), &mut scratch)
                .expect("compute");
        })
    });
    group.finish();
}

/// CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`), so the
/// per-frame figure below is not inflated when other processes share the cores.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Prints µs/frame (thread CPU time) for the main configurations, to compare with Kaldi's
/// `compute-mfcc-feats` (about 2.6 µs/frame single-threaded on the team machine).
fn cpu_time_report() {
    for (rate, dither) in [(8000u32, 1.0f32), (8000, 0.0), (16000, 1.0), (16000, 0.0)] {
        let mut opts = MfccOptions::default();
        opts.frame_opts.samp_freq = rate as f32;
        opts.frame_opts.dither = dither;
        let mfcc = Mfcc::new(&opts).expect("valid options");
        let wave = synth(rate, 10.0);
        let frames = mfcc.num_frames(wave.len());
        let mut out = Array2::zeros((frames, mfcc.dim()));
        let mut scratch = Scratch::default();
        let mut run = || {
            mfcc.compute_into(black_box(&wave), 0, out.view_mut(), &mut scratch)
                .expect("compute")
        };
        run();
        let Some(t0) = thread_cpu_seconds() else {
            return;
        };
        let reps = 30;
        for _ in 0..reps {
            run();
        }
        let t = thread_cpu_seconds().unwrap_or(t0) - t0;
        println!(
            "cpu-time mfcc/{}k/10s dither={dither}: {:.3} us/frame",
            rate / 1000,
            t * 1e6 / (reps * frames) as f64
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
