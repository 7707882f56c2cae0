//! Parity with real Kaldi 5.5 on the golden fixtures (see tests/data/golden/README.md).
//! Tolerance: |ours - kaldi| <= 1e-3 * max(1, |kaldi|); run with `--nocapture` for the maxima.

mod common;

use cepstra_feat::{acc_cmvn_stats, apply_cmvn, compute_deltas, CmvnStats, DeltaFeaturesOptions};
use common::*;
use ndarray::Array2;

fn golden() -> std::path::PathBuf {
    data_dir().join("golden")
}

fn wav(rate: u32) -> Vec<f32> {
    let (w, r) = read_wav(&golden().join(format!("wav/synth{}k.wav", rate / 1000)));
    assert_eq!(r, rate);
    w
}

fn kaldi(file: &str) -> Array2<f32> {
    let mut v = read_ark_f32(&golden().join(file));
    assert_eq!(v.len(), 1, "{file}: one utterance");
    let (key, m) = v.remove(0);
    assert!(key.starts_with("synth"), "{key}");
    m
}

fn check(name: &str, ours: &Array2<f32>, want: &Array2<f32>) -> f64 {
    let (rel, abs, at) = max_diffs(ours, want);
    println!(
        "{name:<44} {:>4}x{:<3} max rel {rel:.2e} at {at:?}  max abs {abs:.2e}",
        want.nrows(),
        want.ncols()
    );
    assert!(rel <= TOLERANCE, "{name}: max rel diff {rel}");
    rel
}

/// The main feature files: command lines from MANIFEST.json.
const MAIN: &[(&str, &str)] = &[
    (
        "mfcc_{k}.ark",
        "compute-mfcc-feats --dither=0 --use-energy=false",
    ),
    (
        "mfcc_energy_{k}.ark",
        "compute-mfcc-feats --dither=0 --use-energy=true",
    ),
    ("fbank_{k}.ark", "compute-fbank-feats --dither=0"),
    (
        "fbank_energy_htk_{k}.ark",
        "compute-fbank-feats --dither=0 --use-energy=true --htk-compat=true",
    ),
];

#[test]
fn mfcc_and_fbank_match_kaldi() {
    let mut worst = 0.0f64;
    for rate in [8000u32, 16000] {
        let wave = wav(rate);
        let k = format!("{}k", rate / 1000);
        for (file, cmd) in MAIN {
            let file = format!("feat/{}", file.replace("{k}", &k));
            let c = parse_command(&format!("{cmd} --sample-frequency={rate}"));
            worst = worst.max(check(&file, &compute(&c, &wave), &kaldi(&file)));
        }
    }
    println!("main features: worst rel diff {worst:.2e}");
}

#[test]
fn every_option_set_matches_kaldi() {
    let index =
        std::fs::read_to_string(golden().join("feat/options/INDEX.tsv")).expect("INDEX.tsv");
    let mut n = 0;
    let mut worst = 0.0f64;
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, cmd, input) = (cols[0], cols[1], cols[2]);
        let rate: u32 = input
            .strip_prefix("scp:")
            .and_then(|s| s.split('.').next())
            .and_then(|s| s.parse().ok())
            .expect("input scp:<rate>.scp");
        let c = parse_command(cmd);
        let want = kaldi(file);
        worst = worst.max(check(
            &format!("{file} ({cmd})"),
            &compute(&c, &wav(rate)),
            &want,
        ));
        n += 1;
    }
    assert_eq!(n, 21, "all 21 option sets");
    println!("option sets: worst rel diff {worst:.2e}");
}

#[test]
fn cmvn_stats_match_kaldi() {
    for k in ["8k", "16k"] {
        let feats = kaldi(&format!("feat/mfcc_{k}.ark"));
        let ours = acc_cmvn_stats(feats.view(), None).expect("stats");
        let (_, want) = read_ark_f64(&golden().join(format!("feat/cmvn_{k}.ark"))).remove(0);
        assert_eq!(ours.as_array().dim(), want.dim());
        let mut rel = 0.0f64;
        for (a, b) in ours.as_array().iter().zip(&want) {
            rel = rel.max((a - b).abs() / b.abs().max(1.0));
        }
        println!("feat/cmvn_{k}.ark  stats max rel {rel:.2e}");
        assert!(rel <= 1e-9, "cmvn stats {k}: {rel}");
    }
}

#[test]
fn applied_cmvn_matches_kaldi() {
    for k in ["8k", "16k"] {
        let feats = kaldi(&format!("feat/mfcc_{k}.ark"));
        let (_, stats) = read_ark_f64(&golden().join(format!("feat/cmvn_{k}.ark"))).remove(0);
        let stats = CmvnStats::from_array(stats).expect("2 x (dim+1)");
        for norm_vars in [false, true] {
            let mut ours = feats.clone();
            apply_cmvn(&stats, ours.view_mut(), norm_vars).expect("apply");
            let file = format!("feat/cmvn_applied_normvars_{norm_vars}_{k}.ark");
            check(&file, &ours, &kaldi(&file));
        }
    }
}

#[test]
fn deltas_match_kaldi() {
    for k in ["8k", "16k"] {
        let feats = kaldi(&format!("feat/mfcc_{k}.ark"));
        let ours = compute_deltas(&DeltaFeaturesOptions::default(), feats.view()).expect("deltas");
        let file = format!("feat/deltas_{k}.ark");
        check(&file, &ours, &kaldi(&file));
    }
}

/// End to end from the WAV: our MFCC → our CMVN / deltas against Kaldi's chain.
#[test]
fn pipeline_from_wav_matches_kaldi() {
    for rate in [8000u32, 16000] {
        let k = format!("{}k", rate / 1000);
        let c = parse_command(&format!(
            "compute-mfcc-feats --dither=0 --use-energy=false --sample-frequency={rate}"
        ));
        let mut feats = compute(&c, &wav(rate));
        let deltas =
            compute_deltas(&DeltaFeaturesOptions::default(), feats.view()).expect("deltas");
        check(
            &format!("wav -> deltas_{k}.ark"),
            &deltas,
            &kaldi(&format!("feat/deltas_{k}.ark")),
        );
        let stats = acc_cmvn_stats(feats.view(), None).expect("stats");
        apply_cmvn(&stats, feats.view_mut(), true).expect("apply");
        let file = format!("feat/cmvn_applied_normvars_true_{k}.ark");
        check(&format!("wav -> {file}"), &feats, &kaldi(&file));
    }
}
