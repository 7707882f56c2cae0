//! Writes an accuracy report from made-up data: eleven digit classes, 110 test utterances with a
//! few confusions, one rejection (`<unk>`), one utterance missing from the hypothesis, and
//! invented training curves.
//!
//! `cargo run -p cepstra-score --example report -- /tmp/report.html`

use std::path::PathBuf;

use cepstra_score::{compute_accuracy, ComputeAccuracyOptions, TrainingCurves, UttLabel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "report.html".to_string()),
    );
    let dir = tempfile::tempdir()?;
    let labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "o", "z"];
    let mut reference = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        for s in 0..10 {
            reference.push(UttLabel {
                utt: format!("spk{s:02}_{l}{}", if i % 2 == 0 { "a" } else { "b" }),
                label: l.to_string(),
            });
        }
    }
    // Made-up confusions: 5→9 twice, o→z... one rejection and one missing.
    let mut hypothesis: Vec<UttLabel> = reference.clone();
    let mut set = |utt_idx: usize, label: &str| hypothesis[utt_idx].label = label.to_string();
    set(43, "9");
    set(47, "9");
    set(91, "z");
    set(12, "3");
    set(66, "<unk>");
    hypothesis.remove(105);
    hypothesis.push(UttLabel {
        utt: "spk99_extra".into(),
        label: "1".into(),
    });

    let write = |name: &str, t: &[UttLabel]| -> std::io::Result<PathBuf> {
        let p = dir.path().join(name);
        let body: String = t
            .iter()
            .map(|e| format!("{} {}\n", e.utt, e.label))
            .collect();
        std::fs::write(&p, body)?;
        Ok(p)
    };
    let ref_path = write("text", &reference)?;
    let hyp_path = write("hyp.txt", &hypothesis)?;
    // The data dir: speakers from the utterance ids, 100 frames each.
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    let spk: String = reference
        .iter()
        .map(|e| format!("{} {}\n", e.utt, &e.utt[..5]))
        .collect();
    std::fs::write(data.join("utt2spk"), spk)?;
    let frames: String = reference
        .iter()
        .map(|e| format!("{} 100\n", e.utt))
        .collect();
    std::fs::write(data.join("utt2num_frames"), frames)?;
    // Made-up scores: the hypothesis wins by a few units, the reference second.
    let mut scores = format!("utt\t{}\n", labels.join("\t"));
    let hyp_of: std::collections::HashMap<&str, &str> = hypothesis
        .iter()
        .map(|e| (e.utt.as_str(), e.label.as_str()))
        .collect();
    for r in &reference {
        let h = hyp_of
            .get(r.utt.as_str())
            .copied()
            .unwrap_or(r.label.as_str());
        scores.push_str(&r.utt);
        for l in labels {
            let v = if l == h {
                -6000.0
            } else if l == r.label {
                -6040.0
            } else {
                -6400.0
            };
            scores.push_str(&format!("\t{v}"));
        }
        scores.push('\n');
    }
    let scores_path = dir.path().join("scores.tsv");
    std::fs::write(&scores_path, scores)?;

    // Invented EM curves: rising fast, then flattening, a different level per class.
    let mut curves = TrainingCurves::default();
    for (k, l) in labels.iter().enumerate() {
        let start = -68.0 - (k as f64 * 0.7) % 3.0;
        let end = -57.5 - (k as f64 * 1.3) % 4.0;
        let v = (0..=10)
            .map(|it| end + (start - end) * (-(it as f64) / 1.8).exp())
            .collect();
        curves.per_class.insert(l.to_string(), v);
        curves
            .final_loglikes
            .insert(l.to_string(), end + (start - end) * (-11.0f64 / 1.8).exp());
    }

    let opts = ComputeAccuracyOptions {
        report: Some(out.clone()),
        acc_out: Some(out.with_extension("acc.txt")),
        curves: Some(curves),
        command: "cepstra compute-accuracy --report exp/mono/report.html --models exp/mono/final.mdl data/test/text exp/mono/hyp.txt".into(),
        title: "synth_digits: exp/mono (K=5, full covariance)".into(),
        data: Some(data),
        scores: Some(scores_path),
        scores_per_frame: false,
        setting: vec![
            ("options".into(), "num-gauss 5 covariance full num-iters 10".into()),
            ("front-end".into(), "compute-mfcc-feats | apply-cmvn | add-deltas".into()),
        ],
        hmm: None,
    };
    let res = compute_accuracy(&ref_path, &hyp_path, &opts)?;
    eprint!("{}", res.details);
    for line in &res.summary {
        println!("{line}");
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
