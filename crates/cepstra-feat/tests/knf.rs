//! Parity with kaldi-native-fbank on extra signals and option sets made by
//! scripts/golden/make_golden.py (tests/data/knf/README.md).
//! Tolerance: |ours - knf| <= 1e-3 * max(1, |knf|); `--nocapture` prints the maxima.

mod common;

use cepstra_feat::{compute_deltas, DeltaFeaturesOptions};
use common::*;
use ndarray::Array2;

fn knf_dir() -> std::path::PathBuf {
    data_dir().join("knf")
}

fn reference(file: &str) -> (String, Array2<f32>) {
    let mut v = read_ark_f32(&knf_dir().join(file));
    assert_eq!(v.len(), 1, "{file}: one matrix");
    v.remove(0)
}

#[test]
fn features_and_deltas_match_knf() {
    let index = std::fs::read_to_string(knf_dir().join("INDEX.tsv")).expect("INDEX.tsv");
    let mut computed = std::collections::HashMap::<String, Array2<f32>>::new();
    let (mut n, mut worst) = (0, 0.0f64);
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, wav, cmd) = (cols[0], cols[1], cols[2]);
        let (key, want) = reference(file);
        let ours = if let Some(rest) = cmd.strip_prefix("add-deltas ") {
            let mut opts = DeltaFeaturesOptions::default();
            let mut of = "";
            for w in rest.split_whitespace() {
                let (k, v) = w.trim_start_matches("--").split_once('=').expect("--k=v");
                match k {
                    "delta-order" => opts.order = v.parse().expect("int"),
                    "delta-window" => opts.window = v.parse().expect("int"),
                    "of" => of = v,
                    _ => panic!("unknown option {k}"),
                }
            }
            let statics = computed.get(of).expect("statics computed earlier");
            compute_deltas(&opts, statics.view()).expect("deltas")
        } else {
            let (samples, rate) = read_wav(&knf_dir().join(wav));
            assert!(wav.contains(&key), "{key} vs {wav}");
            let c = parse_command(cmd);
            let ours = compute(&c, &samples);
            assert!(cmd.contains(&format!("--sample-frequency={rate}")));
            ours
        };
        let (rel, abs, at) = max_diffs(&ours, &want);
        println!(
            "{file:<12} {:>4}x{:<3} max rel {rel:.2e} at {at:?}  max abs {abs:.2e}  ({cmd})",
            want.nrows(),
            want.ncols()
        );
        assert!(rel <= TOLERANCE, "{file}: max rel diff {rel}");
        worst = worst.max(rel);
        computed.insert(file.to_string(), ours);
        n += 1;
    }
    assert_eq!(n, 12, "10 feature sets + 2 delta sets");
    println!("knf: worst rel diff {worst:.2e}");
}
