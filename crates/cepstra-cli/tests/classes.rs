//! The per-class trainer and scorer from the command line: train-classes, init/acc/est-classes,
//! classify, compute-accuracy, on small synthetic features.

// Helpers outside #[test] functions may unwrap too: a panic is the failure report we want.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::path::Path;

use ndarray::Array2;
use util::{files, ok, run, write_table};

/// Class c's frames: a 2-component mixture around 4·c in every dimension (dim 3), deterministic.
fn utt(c: usize, u: usize, frames: usize, dim: usize) -> Array2<f32> {
    let mut state = (c * 1000 + u * 7 + 1) as u32;
    Array2::from_shape_fn((frames, dim), |(t, j)| {
        state = state.wrapping_mul(1664525).wrapping_add(1013904223);
        let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        4.0 * c as f32 + if t % 2 == 0 { 1.0 } else { -1.0 } + noise * (1.0 + 0.2 * j as f32)
    })
}

fn ark(dir: &Path, name: &str) -> String {
    format!("ark:{}", dir.join(name).display())
}

const LABELS: [&str; 3] = ["a", "b", "c"];

/// Writes `name.ark` and `name.text` with `n` utterances per class (ids `<set>_<c>_<u>`).
fn make_set(dir: &Path, name: &str, n: usize, offset: usize) {
    let mut entries = Vec::new();
    let mut text = String::new();
    for (c, l) in LABELS.iter().enumerate() {
        for u in 0..n {
            let id = format!("{name}_{l}_{u:02}");
            entries.push((id.clone(), utt(c, u + offset, 30 + (u * 5) % 17, 3)));
            text.push_str(&format!("{id} {l}\n"));
        }
    }
    let refs: Vec<(&str, Array2<f32>)> = entries
        .iter()
        .map(|(k, m)| (k.as_str(), m.clone()))
        .collect();
    write_table(
        &format!("ark:{}", dir.join(format!("{name}.ark")).display()),
        &refs,
    );
    std::fs::write(dir.join(format!("{name}.text")), text).unwrap();
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    make_set(d.path(), "train", 12, 0);
    make_set(d.path(), "test", 6, 100);
    // Two jobs: every other utterance (features and text split alike).
    let text = std::fs::read_to_string(d.path().join("train.text")).unwrap();
    let table = util::read_table(&format!("ark:{}", d.path().join("train.ark").display()));
    for job in 0..2 {
        let t: String = text
            .lines()
            .enumerate()
            .filter(|(i, _)| i % 2 == job)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        std::fs::write(d.path().join(format!("split{}.text", job + 1)), t).unwrap();
        let e: Vec<(&str, Array2<f32>)> = table
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == job)
            .map(|(_, (k, m))| (k.as_str(), m.clone()))
            .collect();
        write_table(
            &format!(
                "ark:{}",
                d.path().join(format!("split{}.ark", job + 1)).display()
            ),
            &e,
        );
    }
    d
}

const OPTS: [&str; 2] = ["--num-gauss=2", "--num-iters=3"];

#[test]
fn distributed_training_gives_the_same_bytes_as_train_classes() {
    let d = setup();
    let p = d.path();
    let mut args = vec!["train-classes"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "all.mdl"]);
    ok(p, &args);
    let mut args = vec!["init-classes"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "0.mdl"]);
    ok(p, &args);
    for x in 0..3 {
        for job in 1..=2 {
            let out = util::cepstra()
                .current_dir(p)
                .env("RAYON_NUM_THREADS", job.to_string())
                .args([
                    "acc-classes",
                    &format!("{x}.mdl"),
                    &format!("ark:split{job}.ark"),
                    &format!("split{job}.text"),
                    &format!("{x}.{job}.acc"),
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The order of the accumulators does not matter either.
        let (a1, a2) = (format!("{x}.2.acc"), format!("{x}.1.acc"));
        ok(
            p,
            &[
                "est-classes",
                &format!("{x}.mdl"),
                &a1,
                &a2,
                &format!("{}.mdl", x + 1),
            ],
        );
    }
    let all = std::fs::read(p.join("all.mdl")).unwrap();
    let dist = std::fs::read(p.join("3.mdl")).unwrap();
    assert!(all == dist, "train-classes and init/acc/est differ");
    let v: serde_json::Value = serde_json::from_slice(&all).unwrap();
    assert_eq!(v["format"], "cepstra-modelset");
    assert_eq!(v["iteration"], 3);
    assert_eq!(v["classes"].as_array().unwrap().len(), 3);
    assert_eq!(v["classes"][1]["label"], "b");
    assert_eq!(v["classes"][1]["loglikes"].as_array().unwrap().len(), 3);
    assert_eq!(v["classes"][1]["num_utts"], 12);

    // One job with all the data: the same again.
    ok(
        p,
        &[
            "acc-classes",
            "0.mdl",
            "ark:train.ark",
            "train.text",
            "one.acc",
        ],
    );
    ok(p, &["est-classes", "0.mdl", "one.acc", "one.mdl"]);
    assert_eq!(
        std::fs::read(p.join("one.mdl")).unwrap(),
        std::fs::read(p.join("1.mdl")).unwrap()
    );

    // Statistics of one job only: refused, nothing written.
    let out = run(p, &["est-classes", "0.mdl", "0.1.acc", "partial.mdl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass the statistics of every"));
    assert!(!p.join("partial.mdl").exists());
    // Statistics of another pass: refused.
    let out = run(p, &["est-classes", "1.mdl", "0.1.acc", "0.2.acc", "x.mdl"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("another model set"));
    // Options given to est-classes replace the recorded ones.
    ok(
        p,
        &[
            "est-classes",
            "--reg-covar=0.5",
            "0.mdl",
            "0.1.acc",
            "0.2.acc",
            "r.mdl",
        ],
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("r.mdl")).unwrap()).unwrap();
    assert_eq!(r["options"]["estimate"]["reg_covar"], 0.5);
    assert_eq!(
        r["options"]["estimate"]["var_floor"],
        v["options"]["estimate"]["var_floor"]
    );
}

#[test]
fn classify_and_compute_accuracy_on_separable_classes() {
    let d = setup();
    let p = d.path();
    ok(
        p,
        &[
            "train-classes",
            "--num-gauss=2",
            "ark:train.ark",
            "train.text",
            "final.mdl",
        ],
    );
    ok(
        p,
        &[
            "classify",
            "final.mdl",
            "ark:test.ark",
            "scores.tsv",
            "hyp.txt",
        ],
    );
    let hyp = std::fs::read_to_string(p.join("hyp.txt")).unwrap();
    let reference = std::fs::read_to_string(p.join("test.text")).unwrap();
    assert_eq!(hyp, reference); // all right, and in the same (sorted) order
    let scores = std::fs::read_to_string(p.join("scores.tsv")).unwrap();
    let lines: Vec<&str> = scores.lines().collect();
    assert_eq!(lines[0], "utt\ta\tb\tc");
    assert_eq!(lines.len(), 19);
    let row: Vec<f64> = lines[1]
        .split('\t')
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(row[0] > row[1] && row[0] > row[2], "{row:?}");
    let out = ok(
        p,
        &[
            "compute-accuracy",
            "--report",
            "report.html",
            "--acc-out",
            "acc.txt",
            "--models",
            "final.mdl",
            "test.text",
            "hyp.txt",
        ],
    );
    assert_eq!(out.lines().last(), Some("accuracy 1.0000 (18/18)"));
    assert_eq!(
        std::fs::read_to_string(p.join("acc.txt")).unwrap().trim(),
        "1.0"
    );
    let html = std::fs::read_to_string(p.join("report.html")).unwrap();
    assert!(html.contains("<svg"));

    // Per-frame scores and a rejection threshold above every score: all <unk>.
    ok(
        p,
        &[
            "classify",
            "--normalize-per-frame",
            "--threshold=1e9",
            "final.mdl",
            "ark:test.ark",
            "s2.tsv",
            "h2.txt",
        ],
    );
    let h2 = std::fs::read_to_string(p.join("h2.txt")).unwrap();
    assert!(h2.lines().all(|l| l.ends_with(" <unk>")), "{h2}");
    let s2 = std::fs::read_to_string(p.join("s2.tsv")).unwrap();
    let v: f64 = s2
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (v * 1.0 - row[0] / 30.0).abs() < 1e-9,
        "{v} vs {}",
        row[0] / 30.0
    );
    let out = ok(p, &["compute-accuracy", "test.text", "h2.txt"]);
    assert_eq!(out.lines().last(), Some("accuracy 0.0000 (0/18)"));
}

#[test]
fn class_options_and_model_selection_are_recorded() {
    let d = setup();
    let p = d.path();
    std::fs::write(
        p.join("class.opts"),
        "# per-class options\nb --num-gauss=1 --covariance=diag\n",
    )
    .unwrap();
    ok(
        p,
        &[
            "train-classes",
            "--class-opts=class.opts",
            "--num-iters=2",
            "ark:train.ark",
            "train.text",
            "a.mdl",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("a.mdl")).unwrap()).unwrap();
    let b = &v["classes"][1];
    assert_eq!(b["overrides"]["covariance"], "diag");
    assert_eq!(b["model"]["covariance"], "diag");
    assert_eq!(b["num_gauss"], 1);
    assert_eq!(v["classes"][0]["model"]["covariance"], "full");
    assert_eq!(v["classes"][0]["num_gauss"], 5);

    ok(
        p,
        &[
            "train-classes",
            "--select-k=1,2,3",
            "--criterion=heldout",
            "--num-iters=2",
            "ark:train.ark",
            "train.text",
            "s.mdl",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("s.mdl")).unwrap()).unwrap();
    for c in v["classes"].as_array().unwrap() {
        let sel = &c["selection"];
        assert_eq!(sel["criterion"], "heldout");
        assert_eq!(sel["candidates"].as_array().unwrap().len(), 3);
        assert_eq!(c["num_gauss_requested"], sel["chosen"]);
    }
    // A bad per-class option names the file and line.
    std::fs::write(
        p.join("bad.opts"),
        "a --num-gauss=1\nc --no-such-option=3\n",
    )
    .unwrap();
    let out = run(
        p,
        &[
            "train-classes",
            "--class-opts=bad.opts",
            "ark:train.ark",
            "train.text",
            "x.mdl",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.opts:2"));
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let d = setup();
    let p = d.path();
    let before = files(p);
    let err = |args: &[&str]| -> String {
        let out = run(p, args);
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A text entry without features.
    let mut text = std::fs::read_to_string(p.join("train.text")).unwrap();
    text.push_str("train_z_99 z\n");
    std::fs::write(p.join("extra.text"), &text).unwrap();
    let e = err(&["train-classes", "ark:train.ark", "extra.text", "x.mdl"]);
    assert!(
        e.contains("1 utterance(s) of the text file have no features (e.g. train_z_99)"),
        "{e}"
    );
    // Features without a label.
    let e = err(&["train-classes", "ark:train.ark", "split1.text", "x.mdl"]);
    assert!(e.contains("have features but no label"), "{e}");
    // A class with too few frames for one full-covariance component (3 frames, D=3).
    write_table(&ark(p, "tiny.ark"), &[("t1", utt(0, 0, 3, 3))]);
    std::fs::write(p.join("tiny.text"), "t1 q\n").unwrap();
    let e = err(&["train-classes", "ark:tiny.ark", "tiny.text", "x.mdl"]);
    assert!(e.contains("class 'q' has 3 frames"), "{e}");
    // The model set lacks a class of the data.
    ok(
        p,
        &[
            "init-classes",
            "--num-gauss=1",
            "ark:split1.ark",
            "split1.text",
            "0.mdl",
        ],
    );
    std::fs::write(p.join("other.text"), "test_a_00 a\ntest_a_01 a\n").unwrap();
    write_table(
        &ark(p, "other.ark"),
        &[
            ("test_a_00", utt(0, 1, 20, 3)),
            ("test_a_01", utt(3, 1, 20, 3)),
        ],
    );
    std::fs::write(p.join("other.text"), "test_a_00 a\ntest_a_01 d\n").unwrap();
    let e = err(&[
        "acc-classes",
        "0.mdl",
        "ark:other.ark",
        "other.text",
        "x.acc",
    ]);
    assert!(
        e.contains("class 'd' (utterance 'test_a_01') has no model"),
        "{e}"
    );
    // Mismatched feature dimension when classifying.
    write_table(&ark(p, "wide.ark"), &[("w1", utt(0, 0, 10, 5))]);
    let e = err(&["classify", "0.mdl", "ark:wide.ark", "x.tsv", "x.txt"]);
    assert!(
        e.contains("feature dimension 5, but the model set has 3"),
        "{e}"
    );
    // Not a model set.
    let e = err(&["classify", "train.text", "ark:test.ark", "x.tsv", "x.txt"]);
    assert!(e.contains("bad model set train.text"), "{e}");
    // Nothing half written.
    let mut after = files(p);
    after.retain(|f| !before.contains(f));
    after.sort();
    assert_eq!(
        after,
        [
            "0.mdl",
            "extra.text",
            "other.ark",
            "other.text",
            "tiny.ark",
            "tiny.text",
            "wide.ark"
        ]
    );
    // A model set missing a reference class: compute-accuracy warns and counts the errors.
    std::fs::write(p.join("hyp.txt"), "test_a_00 a\ntest_a_01 a\n").unwrap();
    let out = run(
        p,
        &[
            "compute-accuracy",
            "--models",
            "0.mdl",
            "other.text",
            "hyp.txt",
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model for class(es) d"));
}

#[test]
fn compute_accuracy_report_has_setting_final_loglike_and_seed_summary() {
    let d = setup();
    let p = d.path();
    ok(
        p,
        &[
            "train-classes",
            "--num-gauss=2",
            "--num-iters=3",
            "ark:train.ark",
            "train.text",
            "final.mdl",
        ],
    );
    // The final model's statistics on the training data (what recipes/train_classes.sh leaves).
    ok(
        p,
        &[
            "acc-classes",
            "final.mdl",
            "ark:train.ark",
            "train.text",
            "final.1.acc",
        ],
    );
    ok(
        p,
        &[
            "classify",
            "final.mdl",
            "ark:test.ark",
            "scores.tsv",
            "hyp.txt",
        ],
    );
    std::fs::create_dir(p.join("s0")).unwrap();
    ok(
        p,
        &[
            "compute-accuracy",
            "--report",
            "s0/report.html",
            "--models",
            "final.mdl",
            "--final-accs",
            "final.1.acc",
            "--scores",
            "scores.tsv",
            "test.text",
            "hyp.txt",
        ],
    );
    let html = std::fs::read_to_string(p.join("s0/report.html")).unwrap();
    assert!(html.contains("<section id=\"setting\">"), "{html}");
    assert!(html.contains("num-gauss 2"), "the model options: {html}");
    // 3 classes, each with its final model ringed as point 3 (after 3 updates).
    assert_eq!(html.matches("<circle class=\"final\"").count(), 3);
    assert!(html.contains("Ringed, point 3: the final model"));
    // Statistics of another model set are refused.
    ok(
        p,
        &[
            "train-classes",
            "--num-gauss=1",
            "ark:train.ark",
            "train.text",
            "other.mdl",
        ],
    );
    let out = run(
        p,
        &[
            "compute-accuracy",
            "--models",
            "other.mdl",
            "--final-accs",
            "final.1.acc",
            "test.text",
            "hyp.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // Two runs: the summary page, its last line mean ± sd.
    std::fs::copy(p.join("hyp.txt"), p.join("hyp2.txt")).unwrap();
    let out = ok(
        p,
        &[
            "compute-accuracy",
            "--report",
            "seeds.html",
            "test.text",
            "s0/../hyp.txt",
            "hyp2.txt",
        ],
    );
    assert_eq!(
        out.lines().last(),
        Some("accuracy 1.0000 ± 0.0000 over 2 seeds (min 1.0000, max 1.0000)")
    );
    let html = std::fs::read_to_string(p.join("seeds.html")).unwrap();
    assert!(html.contains("<section id=\"runs\">"));
}
