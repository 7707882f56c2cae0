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

    // Invented EM curves: rising fast, then flattening, a different level per class.
    let mut curves = TrainingCurves::default();
    for (k, l) in labels.iter().enumerate() {
        let start = -68.0 - (k as f64 * 0.7) % 3.0;
        let end = -57.5 - (k as f64 * 1.3) % 4.0;
        let v = (0..=10)
            .map(|it| end + (start - end) * (-(it as f64) / 1.8).exp())
            .collect();
        curves.per_class.insert(l.to_string(), v);
    }

    let opts = ComputeAccuracyOptions {
        report: Some(out.clone()),
        acc_out: Some(out.with_extension("acc.txt")),
        curves: Some(curves),
        command: "cepstra compute-accuracy --report exp/mono/report.html --models exp/mono/final.mdl data/test/text exp/mono/hyp.txt".into(),
        title: "synth_digits: exp/mono (K=5, full covariance)".into(),
    };
    let res = compute_accuracy(&ref_path, &hyp_path, &opts)?;
    eprint!("{}", res.details);
    for line in &res.summary {
        println!("{line}");
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
