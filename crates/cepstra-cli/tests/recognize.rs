//! `cepstra recognize` against the recipe's own pipeline (compute-mfcc-feats --config |
//! apply-cmvn | add-deltas, then train-classes and classify), for per-utterance CMN and
//! per-speaker CMVN; resampled and stereo inputs; bad inputs; the front-end checks of classify.

// Helpers outside #[test] functions may unwrap too: a panic is the failure report we want.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use util::{cepstra, ok, run, write_wav};

const WORDS: [&str; 3] = ["a", "b", "c"];
const SPEAKERS: [&str; 3] = ["s1", "s2", "s3"];

/// A "word": two tones whose frequencies depend on the word, varied per utterance and speaker
/// (pitch factor, gain, a speaker-specific third tone), with deterministic noise; at `rate` Hz.
fn word(w: usize, spk: usize, u: usize, rate: u32) -> Vec<i16> {
    let f = [(300.0, 900.0), (500.0, 1500.0), (800.0, 2200.0)][w];
    let pitch = 1.0 + 0.03 * ((u * 7 + spk * 3) % 5) as f32 - 0.06;
    let gain = [1.0, 0.6, 1.4][spk];
    let colour = [600.0, 1200.0, 1800.0][spk];
    let n = ((0.35 + 0.01 * u as f32) * rate as f32) as usize;
    let mut state = (w * 1_000_003 + spk * 1009 + u * 17 + 1) as u32;
    (0..n)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((state >> 16) as f32 / 65536.0 - 0.5) * 300.0;
            let t = i as f32 / rate as f32;
            let tau = 2.0 * std::f32::consts::PI * t;
            let s = 3000.0 * (tau * f.0 * pitch).sin()
                + 2000.0 * (tau * f.1 * pitch).sin()
                + 800.0 * (tau * colour).sin();
            (gain * s + noise) as i16
        })
        .collect()
}

/// Writes `<set>.scp`, `<set>.text`, `<set>.utt2spk`, `<set>.spk2utt` and the wavs.
fn make_set(dir: &Path, set: &str, utts: std::ops::Range<usize>) {
    std::fs::create_dir_all(dir.join("wav")).unwrap();
    let (mut scp, mut text, mut utt2spk, mut spk2utt) =
        (String::new(), String::new(), String::new(), String::new());
    for (s, spk) in SPEAKERS.iter().enumerate() {
        let mut mine = Vec::new();
        for (w, label) in WORDS.iter().enumerate() {
            for u in utts.clone() {
                let id = format!("{spk}_{label}_{u:02}");
                let path = dir.join("wav").join(format!("{id}.wav"));
                write_wav(&path, 8000, 1, &word(w, s, u, 8000));
                scp.push_str(&format!("{id} {}\n", path.display()));
                text.push_str(&format!("{id} {label}\n"));
                utt2spk.push_str(&format!("{id} {spk}\n"));
                mine.push(id);
            }
        }
        mine.sort();
        spk2utt.push_str(&format!("{spk} {}\n", mine.join(" ")));
    }
    // Kaldi tables are sorted by key.
    let sorted = |s: String| {
        let mut l: Vec<&str> = s.lines().collect();
        l.sort();
        l.iter().map(|x| format!("{x}\n")).collect::<String>()
    };
    std::fs::write(dir.join(format!("{set}.scp")), sorted(scp)).unwrap();
    std::fs::write(dir.join(format!("{set}.text")), sorted(text)).unwrap();
    std::fs::write(dir.join(format!("{set}.utt2spk")), sorted(utt2spk)).unwrap();
    std::fs::write(dir.join(format!("{set}.spk2utt")), spk2utt).unwrap();
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    make_set(d.path(), "train", 0..6);
    make_set(d.path(), "test", 10..13);
    std::fs::create_dir_all(d.path().join("conf")).unwrap();
    std::fs::write(
        d.path().join("conf/mfcc.conf"),
        "--sample-frequency=8000\n--use-energy=false\n--dither=0\n",
    )
    .unwrap();
    d
}

/// The recipe's features of `set`: per-utterance CMN, or per-speaker CMVN (norm-vars), + deltas.
fn features(dir: &Path, set: &str, speaker: bool) -> String {
    let raw = format!("ark:{set}_raw.ark");
    ok(
        dir,
        &[
            "compute-mfcc-feats",
            "--config=conf/mfcc.conf",
            &format!("scp:{set}.scp"),
            &raw,
        ],
    );
    let cmn = format!("ark:{set}_cmn.ark");
    if speaker {
        let stats = format!("ark:{set}_cmvn.ark");
        ok(
            dir,
            &[
                "compute-cmvn-stats",
                &format!("--spk2utt=ark:{set}.spk2utt"),
                &raw,
                &stats,
            ],
        );
        ok(
            dir,
            &[
                "apply-cmvn",
                "--norm-vars=true",
                &format!("--utt2spk=ark:{set}.utt2spk"),
                &stats,
                &raw,
                &cmn,
            ],
        );
    } else {
        ok(dir, &["apply-cmvn", &raw, &cmn]);
    }
    let feats = format!("ark:{set}_feats.ark");
    ok(dir, &["add-deltas", &cmn, &feats]);
    feats
}

/// Trains on the recipe's features with the front-end recorded, classifies the test features,
/// and checks that recognize on the test wavs gives the same hypotheses and scores.
fn recognize_equals_classify(speaker: bool) {
    let d = setup();
    let dir = d.path();
    let train = features(dir, "train", speaker);
    let test = features(dir, "test", speaker);
    let cmvn = if speaker {
        ["--cmvn=speaker", "--norm-vars=true"]
    } else {
        ["--cmvn=utterance", "--norm-vars=false"]
    };
    ok(
        dir,
        &[
            "train-classes",
            "--num-gauss=2",
            "--covariance=diag",
            "--feature-config=conf/mfcc.conf",
            cmvn[0],
            cmvn[1],
            "--deltas=2",
            &train,
            "train.text",
            "final.mdl",
        ],
    );
    let info = ok(dir, &["gmm-info", "final.mdl"]);
    assert!(info.contains("front-end: compute-mfcc-feats --dither=0 --sample-frequency=8000 --use-energy=false | apply-cmvn"), "{info}");
    ok(
        dir,
        &["classify", "final.mdl", &test, "scores.tsv", "hyp.txt"],
    );
    let mut args = vec!["recognize", "--hyp=rhyp.txt", "--scores=rscores.tsv"];
    if speaker {
        args.push("--utt2spk=test.utt2spk");
    }
    args.extend(["final.mdl", "scp:test.scp"]);
    let stdout = ok(dir, &args);
    let hyp = std::fs::read_to_string(dir.join("hyp.txt")).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("rhyp.txt")).unwrap(), hyp);
    assert_eq!(
        std::fs::read_to_string(dir.join("rscores.tsv")).unwrap(),
        std::fs::read_to_string(dir.join("scores.tsv")).unwrap()
    );
    // stdout: one line per input in input order, the same labels, positive margins.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), hyp.lines().count());
    for (line, h) in lines.iter().zip(hyp.lines()) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        assert_eq!(format!("{} {}", f[0], f[1]), h);
        let (ll, margin): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(ll.is_finite() && margin >= 0.0, "{line}");
    }
    if speaker {
        // --spk2utt groups the inputs the same way.
        ok(
            dir,
            &[
                "recognize",
                "--hyp=shyp.txt",
                "--spk2utt=test.spk2utt",
                "final.mdl",
                "scp:test.scp",
            ],
        );
        assert_eq!(std::fs::read_to_string(dir.join("shyp.txt")).unwrap(), hyp);
        // Without --utt2spk each input is normalised by its own statistics, and the log says so.
        let out = run(dir, &["recognize", "final.mdl", "scp:test.scp"]);
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no --utt2spk/--spk2utt groups the inputs: each input is normalised by its own statistics"), "{err}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            lines.len()
        );
    }
    // The synthetic words are easy: the models must get nearly all of them right (a broken
    // front-end would not).
    let text = std::fs::read_to_string(dir.join("test.text")).unwrap();
    let right = hyp
        .lines()
        .zip(text.lines())
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        right * 10 >= text.lines().count() * 9,
        "{right} right:\n{hyp}"
    );
}

#[test]
fn recognize_equals_classify_with_utterance_cmn() {
    recognize_equals_classify(false);
}

#[test]
fn recognize_equals_classify_with_speaker_cmvn() {
    recognize_equals_classify(true);
}

fn trained() -> tempfile::TempDir {
    let d = setup();
    let dir = d.path();
    let train = features(dir, "train", false);
    ok(
        dir,
        &[
            "train-classes",
            "--num-gauss=2",
            "--covariance=diag",
            "--feature-config=conf/mfcc.conf",
            "--cmvn=utterance",
            "--deltas=2",
            &train,
            "train.text",
            "final.mdl",
        ],
    );
    d
}

fn labels(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

#[test]
fn other_rates_stereo_stdin_and_bad_inputs() {
    let d = trained();
    let dir = d.path();
    // The same words at 16 kHz (resampled), and in stereo (word b left, word c right).
    write_wav(&dir.join("a16.wav"), 16000, 1, &word(0, 1, 11, 16000));
    write_wav(&dir.join("b8.wav"), 8000, 1, &word(1, 0, 11, 8000));
    let (l, r) = (word(1, 2, 12, 8000), word(2, 2, 12, 8000));
    let n = l.len().min(r.len());
    let stereo: Vec<i16> = (0..n).flat_map(|i| [l[i], r[i]]).collect();
    write_wav(&dir.join("stereo.wav"), 8000, 2, &stereo);
    let out = run(dir, &["recognize", "final.mdl", "a16.wav", "b8.wav"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a16.wav: 16000 Hz audio resampled to the model's 8000 Hz"),
        "{err}"
    );
    assert_eq!(
        labels(&String::from_utf8_lossy(&out.stdout)),
        [
            ("a16.wav".into(), "a".into()),
            ("b8.wav".into(), "b".into())
        ]
    );
    for (ch, want) in [("0", "b"), ("1", "c")] {
        let o = ok(
            dir,
            &[
                "recognize",
                &format!("--channel={ch}"),
                "final.mdl",
                "stereo.wav",
            ],
        );
        assert_eq!(labels(&o), [("stereo.wav".to_string(), want.to_string())]);
    }
    // A WAV on stdin.
    let mut child = cepstra()
        .current_dir(dir)
        .args(["recognize", "final.mdl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(dir.join("b8.wav")).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        labels(&String::from_utf8_lossy(&o.stdout)),
        [("-".into(), "b".into())]
    );

    // Bad inputs: one error line each, naming the input; the others still labelled; exit 1.
    std::fs::write(dir.join("notaudio.wav"), "hello\n").unwrap();
    write_wav(&dir.join("short.wav"), 8000, 1, &word(0, 0, 0, 8000)[..100]);
    let out = run(
        dir,
        &[
            "recognize",
            "--hyp=hyp.txt",
            "final.mdl",
            "missing.wav",
            "b8.wav",
            "notaudio.wav",
            "short.wav",
            "stereo.wav",
            "a16.wav",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        labels(&String::from_utf8_lossy(&out.stdout)),
        [
            ("b8.wav".into(), "b".into()),
            ("a16.wav".into(), "a".into())
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("ERROR")).collect();
    assert_eq!(errors.len(), 5, "{err}");
    for (name, what) in [
        ("missing.wav", "No such file"),
        ("notaudio.wav", "WAV"),
        ("short.wav", "too short for one frame"),
        ("stereo.wav", "--channel"),
    ] {
        assert!(
            errors
                .iter()
                .any(|l| l.contains(&format!(") {name}: ")) && l.contains(what)),
            "no error line for {name} ({what}):\n{err}"
        );
    }
    assert!(
        errors[4].contains("4 of 6 inputs could not be labelled"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("hyp.txt")).unwrap(),
        "a16.wav a\nb8.wav b\n"
    );
    // A per-utterance model says nothing about speakers.
    let err = String::from_utf8_lossy(&run(dir, &["recognize", "final.mdl", "b8.wav"]).stderr)
        .into_owned();
    assert!(!err.contains("each input is normalised by its own statistics"));
}

#[test]
fn classify_and_acc_classes_refuse_another_front_end() {
    let d = trained();
    let dir = d.path();
    let test = features(dir, "test", false);
    // Features without deltas: the dimension says which step is missing.
    let out = run(
        dir,
        &[
            "classify",
            "final.mdl",
            "ark:test_cmn.ark",
            "s.tsv",
            "h.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the features have dimension 13") && err.contains("without add-deltas"),
        "{err}"
    );
    // A declared pipeline that differs: named step by step.
    std::fs::write(
        dir.join("conf/mfcc16.conf"),
        "--sample-frequency=16000\n--use-energy=false\n--dither=0\n",
    )
    .unwrap();
    let out = run(
        dir,
        &[
            "classify",
            "--feature-config=conf/mfcc16.conf",
            "final.mdl",
            &test,
            "s.tsv",
            "h.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("compute-mfcc-feats --sample-frequency: 16000 here, 8000 there"),
        "{err}"
    );
    assert!(!dir.join("h.txt").exists());
    ok(
        dir,
        &[
            "classify",
            "--ignore-frontend",
            "--feature-config=conf/mfcc16.conf",
            "final.mdl",
            &test,
            "s.tsv",
            "h.txt",
        ],
    );
    let out = run(
        dir,
        &[
            "acc-classes",
            "--cmvn=speaker",
            "--feature-config=conf/mfcc.conf",
            "final.mdl",
            "ark:train_feats.ark",
            "train.text",
            "x.acc",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("normalisation (apply-cmvn): speaker here, utterance there"),
        "{err}"
    );
    ok(
        dir,
        &[
            "acc-classes",
            "final.mdl",
            "ark:train_feats.ark",
            "train.text",
            "x.acc",
        ],
    );
    // A model set without a front-end cannot recognize, and says what to do.
    ok(
        dir,
        &[
            "train-classes",
            "--num-gauss=1",
            "--covariance=diag",
            "ark:train_feats.ark",
            "train.text",
            "bare.mdl",
        ],
    );
    let out = run(dir, &["recognize", "bare.mdl", "b.wav"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("records no front-end: train it with --feature-config"));
}

#[test]
fn compute_mfcc_feats_resamples_only_when_allowed() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // Noise-free tones (white noise would have half its energy above 4 kHz at 16 kHz).
    let tones = |rate: u32| -> Vec<i16> {
        (0..rate / 2)
            .map(|i| {
                let tau = 2.0 * std::f32::consts::PI * i as f32 / rate as f32;
                let am = 1.0 + 0.5 * (tau * 3.0).sin();
                (am * (3000.0 * (tau * 440.0).sin()
                    + 1500.0 * (tau * 1330.0).sin()
                    + 700.0 * (tau * 2900.0).sin())) as i16
            })
            .collect()
    };
    write_wav(&dir.join("a16.wav"), 16000, 1, &tones(16000));
    write_wav(&dir.join("a8.wav"), 8000, 1, &tones(8000));
    std::fs::write(dir.join("w16.scp"), "a a16.wav\n").unwrap();
    std::fs::write(dir.join("w8.scp"), "a a8.wav\n").unwrap();
    let mfcc = |extra: &[&str], scp: &str, out: &str| {
        let mut args = vec!["compute-mfcc-feats", "--dither=0", "--use-energy=false"];
        args.extend_from_slice(extra);
        args.push(scp);
        args.push(out);
        run(dir, &args)
    };
    let o = mfcc(&["--sample-frequency=8000"], "scp:w16.scp", "ark:x.ark");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --allow-downsample=true"));
    let o = mfcc(&["--sample-frequency=16000"], "scp:w8.scp", "ark:x.ark");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --allow-upsample=true"));
    // Downsampled 16 kHz audio gives nearly the features of the same words rendered at 8 kHz.
    let o = mfcc(
        &["--sample-frequency=8000", "--allow-downsample"],
        "scp:w16.scp",
        "ark:down.ark",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("16000 Hz audio resampled to --sample-frequency=8000"));
    assert!(
        mfcc(&["--sample-frequency=8000"], "scp:w8.scp", "ark:native.ark")
            .status
            .success()
    );
    let down = util::read_table(&format!("ark:{}", dir.join("down.ark").display()));
    let native = util::read_table(&format!("ark:{}", dir.join("native.ark").display()));
    assert_eq!(down[0].1.dim(), native[0].1.dim());
    let (a, b) = (&down[0].1, &native[0].1);
    let mean_abs =
        |m: &ndarray::Array2<f32>| m.iter().map(|v| v.abs() as f64).sum::<f64>() / m.len() as f64;
    let diff = a - b;
    assert!(
        mean_abs(&diff) < 0.05 * mean_abs(b),
        "resampled features differ by {} (mean |feature| {})",
        mean_abs(&diff),
        mean_abs(b)
    );
}

#[test]
fn gmm_info_and_gmm_copy_open_model_sets() {
    let d = trained();
    let dir = d.path();
    let info = ok(dir, &["gmm-info", "final.mdl"]);
    let lines: Vec<&str> = info.lines().collect();
    assert!(
        lines[0].starts_with("model set: 3 classes, feature dimension 39"),
        "{info}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("front-end: compute-mfcc-feats")),
        "{info}"
    );
    for label in WORDS {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("{label}\t")))
            .unwrap_or_else(|| panic!("no line for class {label}:\n{info}"));
        let f: Vec<&str> = row.split('\t').collect();
        // label, K, covariance, utterances (6 per speaker), frames, final LL
        assert_eq!((f[1], f[2], f[3]), ("2", "diag", "18"), "{row}");
        assert!(
            f[4].parse::<usize>().unwrap() > 18 * 30 && f[5].parse::<f64>().is_ok(),
            "{row}"
        );
    }
    // One class as a model file, JSON and Kaldi text; gmm-info reads it back.
    ok(dir, &["gmm-copy", "--class=b", "final.mdl", "b.json"]);
    let one = ok(dir, &["gmm-info", "b.json"]);
    assert!(
        one.contains("number of gaussians 2") && one.contains("feature dimension 39"),
        "{one}"
    );
    ok(
        dir,
        &[
            "gmm-copy",
            "--class=b",
            "--format=kaldi",
            "--binary=false",
            "final.mdl",
            "b.txt",
        ],
    );
    assert!(std::fs::read_to_string(dir.join("b.txt"))
        .unwrap()
        .starts_with("<DiagGMM>"));
    assert_eq!(ok(dir, &["gmm-info", "b.txt"]), one);
    // The whole set as readable text: a Kaldi archive, one model per class.
    let all = ok(
        dir,
        &[
            "gmm-copy",
            "--format=kaldi",
            "--binary=false",
            "final.mdl",
            "-",
        ],
    );
    assert!(
        all.starts_with("a <DiagGMM>")
            && all.contains("b <DiagGMM>")
            && all.contains("c <DiagGMM>")
    );
    // Errors name what is wrong, once.
    let out = run(dir, &["gmm-copy", "--class=zz", "final.mdl", "x.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--class=zz: final.mdl has no such class (classes: a b c)"));
    let out = run(dir, &["gmm-copy", "--class=a", "b.json", "x.json"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("b.json is a single model, not a model set")
    );
    assert!(!dir.join("x.json").exists());
    std::fs::write(dir.join("bad.json"), "{\"format\":\"cepstra-gmm\"}").unwrap();
    let err = String::from_utf8_lossy(&run(dir, &["gmm-info", "bad.json"]).stderr).into_owned();
    assert_eq!(err.matches("missing field").count(), 1, "{err}");
}

#[test]
fn resampling_matches_real_kaldi() {
    let data = util::fixture("cepstra-cli/tests/data/resample");
    let d = tempfile::tempdir().unwrap();
    for (rate, allow, scp, golden, tol) in [
        (
            "8000",
            "--allow-downsample",
            "down.scp",
            "down8k.ark.txt",
            "1e-3",
        ),
        (
            "16000",
            "--allow-upsample",
            "up.scp",
            "up16k.ark.txt",
            "2e-3",
        ),
    ] {
        let ours = format!("ark:{}", d.path().join(golden).display());
        ok(
            &data,
            &[
                "compute-mfcc-feats",
                "--dither=0",
                "--use-energy=false",
                &format!("--sample-frequency={rate}"),
                allow,
                &format!("scp:{scp}"),
                &ours,
            ],
        );
        let kaldi = util::read_table(&format!("ark,t:{}", data.join(golden).display()));
        assert_eq!(kaldi.len(), if rate == "8000" { 2 } else { 1 });
        // Fails when some |ours - kaldi| > tol · max(1, |kaldi|), or the frame counts differ.
        ok(
            &data,
            &[
                "compare-feats",
                &format!("--tolerance={tol}"),
                &ours,
                &format!("ark,t:{golden}"),
            ],
        );
    }
}
