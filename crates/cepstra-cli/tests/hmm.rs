//! The HMM trainer and scorer from the command line: train-hmms = init-hmms + acc-hmms (jobs) +
//! est-hmms bytes, align-hmms tables, hmm-info, hmm-copy --format=htk|json, classify with an
//! HMM set or MMF (--score viterbi|forward), per-class options (--class-opts), bad inputs.

// Helpers outside #[test] functions may unwrap too: a panic is the failure report we want.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::path::Path;

use ndarray::Array2;
use util::{ok, run, write_table};

/// Class c's utterance: three segments with means ±(c+1)·{0, 2, 4} (dim 2), deterministic noise.
fn utt(c: usize, u: usize, frames: usize) -> Array2<f32> {
    let mut state = (c * 1000 + u * 7 + 1) as u32;
    Array2::from_shape_fn((frames, 2), |(t, j)| {
        state = state.wrapping_mul(1664525).wrapping_add(1013904223);
        let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        let seg = (t * 3 / frames) as f32 * 2.0 * (c + 1) as f32;
        (if j == 0 { seg } else { -seg }) + 0.8 * noise
    })
}

const LABELS: [&str; 3] = ["one", "three", "two"];

/// `name.ark` and `name.text` with `n` utterances per class; with `short`, one utterance of
/// 2 frames in class "two".
fn make_set(dir: &Path, name: &str, n: usize, offset: usize, short: bool) {
    let mut entries = Vec::new();
    let mut text = String::new();
    for (c, l) in LABELS.iter().enumerate() {
        for u in 0..n {
            let id = format!("{name}_{l}_{u:02}");
            let t = if short && c == 2 && u == 0 {
                2
            } else {
                18 + (u * 5) % 13
            };
            entries.push((id.clone(), utt(c, u + offset, t)));
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

/// Splits train.ark/train.text into `nj` jobs (utterance i to job i % nj).
fn split(dir: &Path, nj: usize) {
    let text = std::fs::read_to_string(dir.join("train.text")).unwrap();
    let table = util::read_table(&format!("ark:{}", dir.join("train.ark").display()));
    for job in 0..nj {
        let t: String = text
            .lines()
            .enumerate()
            .filter(|(i, _)| i % nj == job)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join(format!("split{nj}.{}.text", job + 1)), t).unwrap();
        let e: Vec<(&str, Array2<f32>)> = table
            .iter()
            .enumerate()
            .filter(|(i, _)| i % nj == job)
            .map(|(_, (k, m))| (k.as_str(), m.clone()))
            .collect();
        write_table(
            &format!(
                "ark:{}",
                dir.join(format!("split{nj}.{}.ark", job + 1)).display()
            ),
            &e,
        );
    }
}

const OPTS: [&str; 5] = [
    "--num-states=3",
    "--num-gauss=2",
    "--num-iters=3",
    "--mix-up-at=2",
    "--min-gaussian-occupancy=1",
];

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    make_set(d.path(), "train", 10, 0, true);
    make_set(d.path(), "test", 5, 100, false);
    d
}

#[test]
fn train_hmms_equals_the_job_path_for_any_nj() {
    let d = setup();
    let p = d.path();
    for mode in ["baum-welch", "viterbi"] {
        let mode_opt = format!("--mode={mode}");
        let mut args = vec!["train-hmms", mode_opt.as_str()];
        args.extend(OPTS);
        args.extend(["ark:train.ark", "train.text", "all.mdl"]);
        let out = run(p, &args);
        assert!(out.status.success());
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            log.contains("'train_two_00'") && log.contains("skipped"),
            "the too-short utterance is named: {log}"
        );
        for nj in [1, 3] {
            split(p, nj);
            let mut args = vec!["init-hmms", mode_opt.as_str()];
            args.extend(OPTS);
            args.extend(["ark:train.ark", "train.text", "0.mdl"]);
            ok(p, &args);
            for x in 0..3 {
                let mut accs = Vec::new();
                for job in (1..=nj).rev() {
                    let acc = format!("{x}.{job}.acc");
                    let out = util::cepstra()
                        .current_dir(p)
                        .env("RAYON_NUM_THREADS", job.to_string())
                        .args([
                            "acc-hmms",
                            &format!("{x}.mdl"),
                            &format!("ark:split{nj}.{job}.ark"),
                            &format!("split{nj}.{job}.text"),
                            &acc,
                        ])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    accs.push(acc);
                }
                let mut args = vec!["est-hmms".to_string(), format!("{x}.mdl")];
                args.extend(accs);
                args.push(format!("{}.mdl", x + 1));
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                ok(p, &args);
            }
            assert_eq!(
                std::fs::read(p.join("3.mdl")).unwrap(),
                std::fs::read(p.join("all.mdl")).unwrap(),
                "{mode}, {nj} jobs: not the bytes of train-hmms"
            );
        }
    }
}

#[test]
fn classify_align_info_and_copy() {
    let d = setup();
    let p = d.path();
    let mut args = vec!["train-hmms"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "final.mdl"]);
    ok(p, &args);
    let reference = std::fs::read_to_string(p.join("test.text")).unwrap();
    for score in ["viterbi", "forward"] {
        let s = format!("--score={score}");
        ok(
            p,
            &[
                "classify",
                &s,
                "final.mdl",
                "ark:test.ark",
                "scores.tsv",
                "hyp.txt",
            ],
        );
        assert_eq!(
            std::fs::read_to_string(p.join("hyp.txt")).unwrap(),
            reference
        );
    }
    let forward = std::fs::read_to_string(p.join("scores.tsv")).unwrap();
    assert!(forward.starts_with("utt\tone\tthree\ttwo\n"));
    // HTK MMF: written, read by hmm-copy back to the same JSON, scored by classify the same.
    ok(p, &["hmm-copy", "--format=htk", "final.mdl", "hmmdefs"]);
    let mmf = std::fs::read_to_string(p.join("hmmdefs")).unwrap();
    assert!(mmf.starts_with("~o\n<STREAMINFO> 1 2\n<VECSIZE> 2<NULLD><USER><DIAGC>\n~h \"one\"\n"));
    ok(p, &["hmm-copy", "--format=htk", "hmmdefs", "hmmdefs2"]);
    assert_eq!(std::fs::read_to_string(p.join("hmmdefs2")).unwrap(), mmf);
    ok(
        p,
        &[
            "classify",
            "hmmdefs",
            "ark:test.ark",
            "scores2.tsv",
            "hyp2.txt",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(p.join("hyp2.txt")).unwrap(),
        reference
    );
    assert_eq!(
        std::fs::read_to_string(p.join("scores2.tsv")).unwrap(),
        forward
    );
    // hmm-info: one line per class.
    let out = run(p, &["hmm-info", "final.mdl"]);
    let info = String::from_utf8(out.stdout).unwrap();
    assert!(info.starts_with("HMM set: 3 classes, feature dimension 2, 3 training passes done\n"));
    assert!(info.contains("\ntwo\t3\t2,2,2\t3\t9\t"), "{info}");
    // align-hmms: ark,t: gives `utt 0 0 … 2 ` lines, sorted, the short one left out.
    let out = run(
        p,
        &[
            "align-hmms",
            "--durations=dur.tsv",
            "final.mdl",
            "ark:train.ark",
            "train.text",
            "ark,t:ali.txt",
        ],
    );
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("'train_two_00'"), "{log}");
    let ali = std::fs::read_to_string(p.join("ali.txt")).unwrap();
    assert_eq!(ali.lines().count(), 29);
    let first = ali.lines().next().unwrap();
    assert!(first.starts_with("train_one_00 0 0 "), "{first}");
    assert!(first.ends_with(" 2 "), "{first}");
    let states: Vec<usize> = first
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(states.len(), 18);
    assert!(states.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1));
    let dur = std::fs::read_to_string(p.join("dur.tsv")).unwrap();
    assert!(dur.starts_with("class\tstate\tutterances\tmean_frames\t"));
    assert!(dur.contains("\ntwo\t1\t9\t"), "{dur}");
    // Binary alignments read back as the same table.
    ok(
        p,
        &[
            "align-hmms",
            "final.mdl",
            "ark:train.ark",
            "train.text",
            "ark:ali.ark",
        ],
    );
    assert!(std::fs::read(p.join("ali.ark"))
        .unwrap()
        .starts_with(b"train_one_00 \0B"));
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let d = setup();
    let p = d.path();
    // An utterance no class can explain: a clear error naming it, no output.
    make_set(p, "tiny", 1, 0, false);
    let tiny: Vec<(&str, Array2<f32>)> = vec![("u_short", utt(0, 0, 2))];
    write_table(&format!("ark:{}", p.join("tiny.ark").display()), &tiny);
    let mut args = vec!["train-hmms"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "final.mdl"]);
    ok(p, &args);
    let out = run(
        p,
        &["classify", "final.mdl", "ark:tiny.ark", "s.tsv", "h.txt"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'u_short'") && err.contains("cannot be explained"),
        "{err}"
    );
    assert!(!p.join("s.tsv").exists() && !p.join("h.txt").exists());
    // A bad MMF: file and line.
    std::fs::write(
        p.join("bad.mmf"),
        "~o <VECSIZE> 2 <USER>\n~h \"x\"\n<BEGINHMM>\n<NUMSTATES> 3\n<STATE> 2\n<MEAN> 2 0 zero\n",
    )
    .unwrap();
    let out = run(p, &["hmm-info", "bad.mmf"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.mmf:6: a mean value must be a finite number"),
        "{err}"
    );
    // Statistics of another pass.
    let mut args = vec!["init-hmms"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "0.mdl"]);
    ok(p, &args);
    ok(
        p,
        &["acc-hmms", "0.mdl", "ark:train.ark", "train.text", "0.acc"],
    );
    let out = run(p, &["est-hmms", "final.mdl", "0.acc", "x.mdl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another model set"));
    assert!(!p.join("x.mdl").exists());
    // A usage error exits 2.
    let out = run(
        p,
        &[
            "train-hmms",
            "--mode=sideways",
            "ark:train.ark",
            "train.text",
            "y.mdl",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// init-hmms (+ acc-hmms in 2 jobs + est-hmms) with `extra` options: the final model set's bytes.
fn job_path(p: &Path, extra: &[&str]) -> Vec<u8> {
    split(p, 2);
    let mut args = vec!["init-hmms"];
    args.extend(OPTS);
    args.extend(extra);
    args.extend(["ark:train.ark", "train.text", "0.mdl"]);
    ok(p, &args);
    for x in 0..3 {
        let mut est = vec!["est-hmms".to_string(), format!("{x}.mdl")];
        for job in 1..=2 {
            let acc = format!("{x}.{job}.acc");
            ok(
                p,
                &[
                    "acc-hmms",
                    &format!("{x}.mdl"),
                    &format!("ark:split2.{job}.ark"),
                    &format!("split2.{job}.text"),
                    &acc,
                ],
            );
            est.push(acc);
        }
        est.push(format!("{}.mdl", x + 1));
        let est: Vec<&str> = est.iter().map(String::as_str).collect();
        ok(p, &est);
    }
    std::fs::read(p.join("3.mdl")).unwrap()
}

#[test]
fn class_opts_set_states_and_gaussians_per_class() {
    let d = setup();
    let p = d.path();
    // Global S3 M2 mixed up after pass 2; "one" S2 M1, "three" S5 M3 (by word length).
    std::fs::write(
        p.join("class.opts"),
        "# states by word length\none --num-states=2 --num-gauss=1\n\n\
         three --num_states=5 --num-gauss=3   # a longer word\n",
    )
    .unwrap();
    let mut args = vec!["train-hmms", "--class-opts=class.opts"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "all.mdl"]);
    ok(p, &args);
    let all = std::fs::read(p.join("all.mdl")).unwrap();
    assert!(
        job_path(p, &["--class-opts=class.opts"]) == all,
        "init-hmms + acc-hmms + est-hmms with --class-opts: not the bytes of train-hmms"
    );
    // The shapes, and the options recorded per class (none for "two").
    let v: serde_json::Value = serde_json::from_slice(&all).unwrap();
    let states = |i: usize| -> Vec<u64> {
        v["classes"][i]["states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["num_gauss"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(v["classes"][0]["label"], "one");
    assert_eq!(states(0), [1, 1]);
    assert_eq!(states(1), [3; 5], "three: mixed up to its own 3 Gaussians");
    assert_eq!(states(2), [2; 3]);
    assert_eq!(v["classes"][1]["overrides"]["num_states"], 5);
    assert_eq!(v["classes"][1]["overrides"]["num_gauss"], 3);
    assert!(v["classes"][2].get("overrides").is_none());
    let info = String::from_utf8(run(p, &["hmm-info", "all.mdl"]).stdout).unwrap();
    let line = |label: &str| {
        let start = format!("{label}\t");
        info.lines()
            .find(|l| l.starts_with(&start))
            .unwrap()
            .to_string()
    };
    let three = line("three");
    assert!(three.starts_with("three\t5\t3,3,3,3,3\t5\t"), "{info}");
    assert!(three.ends_with("\t--num-gauss=3 --num-states=5"), "{info}");
    assert!(line("one").starts_with("one\t2\t1,1\t2\t"), "{info}");
    assert!(line("two").starts_with("two\t3\t2,2,2\t") && line("two").ends_with("\t-"));
    // classify scores the set (every class, every test utterance right); so does the MMF.
    let reference = std::fs::read_to_string(p.join("test.text")).unwrap();
    ok(
        p,
        &[
            "classify",
            "all.mdl",
            "ark:test.ark",
            "scores.tsv",
            "hyp.txt",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(p.join("hyp.txt")).unwrap(),
        reference
    );
    let scores = std::fs::read_to_string(p.join("scores.tsv")).unwrap();
    assert_eq!(scores.lines().count(), 16);
    for line in scores.lines().skip(1) {
        let f: Vec<f64> = line
            .split('\t')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        assert!(f.len() == 3 && f.iter().all(|x| x.is_finite()), "{line}");
    }
    ok(p, &["hmm-copy", "--format=htk", "all.mdl", "hmmdefs"]);
    let mmf = std::fs::read_to_string(p.join("hmmdefs")).unwrap();
    assert!(
        mmf.contains("~h \"one\"\n<BEGINHMM>\n<NUMSTATES> 4\n"),
        "{mmf}"
    );
    assert!(mmf.contains("~h \"three\"\n<BEGINHMM>\n<NUMSTATES> 7\n"));
    ok(
        p,
        &[
            "classify",
            "hmmdefs",
            "ark:test.ark",
            "scores2.tsv",
            "hyp2.txt",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(p.join("hyp2.txt")).unwrap(),
        reference
    );
    let info = String::from_utf8(run(p, &["hmm-info", "hmmdefs"]).stdout).unwrap();
    assert!(info.contains("\nthree\t5\t3,3,3,3,3\t"), "{info}");

    // A label without training data: a warning naming it (as train-classes), the same model.
    std::fs::write(
        p.join("extra.opts"),
        "one --num-states=2 --num-gauss=1\nthree --num-states=5 --num-gauss=3\nfour --num-states=2\n",
    )
    .unwrap();
    let mut args = vec!["train-hmms", "--class-opts=extra.opts"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "extra.mdl"]);
    let out = run(p, &args);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("class 'four', which has no training data")
    );
    assert!(std::fs::read(p.join("extra.mdl")).unwrap() == all);
}

#[test]
fn bad_class_opts_name_the_file_line_and_option() {
    let d = setup();
    let p = d.path();
    for (i, (line, want)) in [
        ("two --mode=viterbi", "--mode: cannot be set per class"),
        ("two --num-iters=5", "--num-iters: cannot be set per class"),
        (
            "two --covariance=full",
            "--covariance: cannot be set per class",
        ),
        ("two --num-states=0", "--num-states=0: must be at least 1"),
        ("two --no-such-option=3", "--no-such-option"),
        ("two", "no options after the label 'two'"),
        (
            "one --num-gauss=1\none --num-gauss=2",
            "class 'one' appears twice",
        ),
    ]
    .iter()
    .enumerate()
    {
        let file = format!("bad{i}.opts");
        std::fs::write(p.join(&file), format!("# comment\n\n{line}\n")).unwrap();
        let line_no = if line.contains('\n') { 4 } else { 3 };
        for cmd in ["init-hmms", "train-hmms"] {
            let opt = format!("--class-opts={file}");
            let mut args = vec![cmd, opt.as_str()];
            args.extend(OPTS);
            args.extend(["ark:train.ark", "train.text", "x.mdl"]);
            let out = run(p, &args);
            assert_eq!(out.status.code(), Some(1), "{cmd} {line}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(&format!("{file}:{line_no}: ")) && err.contains(want),
                "{cmd} {line}: {err}"
            );
            assert!(!p.join("x.mdl").exists());
        }
    }
}

#[test]
fn acc_hmms_along_alignments_equal_and_bad() {
    let d = setup();
    let p = d.path();
    let mut args = vec!["init-hmms", "--mode=viterbi"];
    args.extend(OPTS);
    args.extend(["ark:train.ark", "train.text", "0.mdl"]);
    ok(p, &args);
    let data = ["0.mdl", "ark:train.ark", "train.text"];
    let acc = |extra: &[&str], out: &str| {
        let mut a = vec!["acc-hmms"];
        a.extend(extra);
        a.extend(data);
        a.push(out);
        run(p, &a)
    };
    // Along the best paths (align-hmms): the bytes of acc-hmms --mode viterbi.
    ok(
        p,
        &[
            "align-hmms",
            "0.mdl",
            "ark:train.ark",
            "train.text",
            "ark:best.ark",
        ],
    );
    ok(
        p,
        &[
            "acc-hmms",
            "--mode=viterbi",
            "0.mdl",
            "ark:train.ark",
            "train.text",
            "vit.acc",
        ],
    );
    let out = acc(&["--alignments=ark:best.ark"], "best.acc");
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("utterance 'train_two_00' has no alignment: skipped"),
        "the utterance align-hmms left out is named: {log}"
    );
    assert_eq!(
        std::fs::read(p.join("best.acc")).unwrap(),
        std::fs::read(p.join("vit.acc")).unwrap()
    );
    // The equal alignment (align-equal): 18 frames, 3 states -> 6 frames each.
    let out = run(
        p,
        &[
            "align-hmms",
            "--equal",
            "0.mdl",
            "ark:train.ark",
            "train.text",
            "ark,t:eq.txt",
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("'train_two_00' is shorter than the number of states"));
    let eq = std::fs::read_to_string(p.join("eq.txt")).unwrap();
    assert_eq!(eq.lines().count(), 29);
    assert_eq!(
        eq.lines().next().unwrap(),
        "train_one_00 0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 2 "
    );
    assert!(acc(&["--alignments=ark,t:eq.txt"], "eq.acc")
        .status
        .success());
    // The statistics follow the path given: one boundary moved by a frame changes them.
    let first = "train_one_00 0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 2 ";
    let moved = "train_one_00 0 0 0 0 0 0 0 1 1 1 1 1 2 2 2 2 2 2 ";
    std::fs::write(p.join("moved.txt"), eq.replace(first, moved)).unwrap();
    assert!(acc(&["--alignments=ark,t:moved.txt"], "moved.acc")
        .status
        .success());
    assert!(
        std::fs::read(p.join("moved.acc")).unwrap() != std::fs::read(p.join("eq.acc")).unwrap()
    );
    // Baum-Welch has no single path: refused, nothing written.
    let out = acc(
        &["--mode=baum-welch", "--alignments=ark,t:eq.txt"],
        "bw.acc",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--alignments needs --mode viterbi"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!p.join("bw.acc").exists());
    // Bad alignments: an error naming the utterance and what is wrong, nothing written.
    for (bad, says) in [
        (
            "train_one_00 0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 ",
            "has 17 states for 18 frames",
        ),
        (
            "train_one_00 0 0 0 0 0 0 1 1 1 1 1 1 2 2 2 2 2 3 ",
            "has state 3 at frame 17",
        ),
        (
            "train_one_00 1 1 1 1 1 1 1 1 1 1 1 1 2 2 2 2 2 2 ",
            "starts in state 1",
        ),
        (
            "train_one_00 0 0 0 0 0 0 2 2 2 2 2 2 2 2 2 2 2 2 ",
            "goes from state 0 to state 2 at frame 6",
        ),
        (
            "train_one_00 0 0 0 0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 ",
            "ends in state 1",
        ),
    ] {
        std::fs::write(p.join("bad.txt"), eq.replace(first, bad)).unwrap();
        let out = acc(&["--alignments=ark,t:bad.txt"], "bad.acc");
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("class 'one': utterance 'train_one_00': the alignment ")
                && err.contains(says),
            "{bad}: {err}"
        );
        assert!(!p.join("bad.acc").exists());
    }
}
