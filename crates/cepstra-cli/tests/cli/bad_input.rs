//! Bad input: every case must fail with status 1, name the file and the utterance or line, never
//! panic, and leave no output file (or temporary file) behind.

use std::path::Path;

use ndarray::Array2;

use crate::util::{files, run, signal, write_table, write_wav};

struct Case {
    name: &'static str,
    /// Prepares the inputs in the directory and returns the arguments.
    setup: fn(&Path) -> Vec<String>,
    /// Every one of these must appear in stderr.
    expect: &'static [&'static str],
}

fn mfcc(scp: &str) -> Vec<String> {
    [
        "compute-mfcc-feats",
        "--sample-frequency=8000",
        "--dither=0",
        scp,
        "ark,scp:out/f.ark,out/f.scp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn wav_scp(dir: &Path, lines: &str) {
    std::fs::write(dir.join("wav.scp"), lines).unwrap();
}

fn good_wav(dir: &Path, name: &str) {
    write_wav(&dir.join(name), 8000, 1, &signal(4000));
}

fn feats_cmd(cmd: &str, rspec: &str) -> Vec<String> {
    [cmd, rspec, "ark,scp:out/f.ark,out/f.scp"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

const CASES: &[Case] = &[
    Case {
        name: "truncated wav",
        setup: |d| {
            good_wav(d, "a.wav");
            let bytes = std::fs::read(d.join("a.wav")).unwrap();
            std::fs::write(d.join("b.wav"), &bytes[..bytes.len() / 2]).unwrap();
            wav_scp(d, "utt1 a.wav\nutt2 b.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["wav.scp", "utt2", "truncated"],
    },
    Case {
        name: "wrong sample rate",
        setup: |d| {
            write_wav(&d.join("a.wav"), 16000, 1, &signal(8000));
            wav_scp(d, "utt1 a.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["utt1", "16000", "--sample-frequency"],
    },
    Case {
        name: "stereo without --channel",
        setup: |d| {
            write_wav(&d.join("a.wav"), 8000, 2, &signal(8000));
            wav_scp(d, "utt1 a.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["utt1", "2 channels", "--channel"],
    },
    Case {
        name: "empty wav",
        setup: |d| {
            write_wav(&d.join("a.wav"), 8000, 1, &[]);
            wav_scp(d, "utt1 a.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["wav.scp", "utt1", "no samples"],
    },
    Case {
        name: "missing wav file",
        setup: |d| {
            wav_scp(d, "utt1 nowhere.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["wav.scp", "utt1", "nowhere.wav"],
    },
    Case {
        name: "failing piped command",
        setup: |d| {
            wav_scp(d, "utt1 sh -c 'exit 7' |\n");
            mfcc("scp:wav.scp")
        },
        expect: &["wav.scp", "utt1"],
    },
    Case {
        name: "malformed wav.scp line",
        setup: |d| {
            good_wav(d, "a.wav");
            wav_scp(d, "utt1 a.wav\nutt2\n");
            mfcc("scp:wav.scp")
        },
        expect: &["wav.scp:2", "utt2"],
    },
    Case {
        name: "duplicate utterance id",
        setup: |d| {
            good_wav(d, "a.wav");
            wav_scp(d, "utt1 a.wav\nutt1 a.wav\n");
            mfcc("scp:wav.scp")
        },
        expect: &["utt1", "duplicate"],
    },
    Case {
        name: "corrupt ark header",
        setup: |d| {
            std::fs::write(d.join("in.ark"), b"utt1 \0BXM \x04\x01\x00\x00\x00").unwrap();
            feats_cmd("add-deltas", "ark:in.ark")
        },
        expect: &["in.ark", "utt1", "XM"],
    },
    Case {
        name: "truncated ark",
        setup: |d| {
            let spec = format!("ark:{}", d.join("in.ark").display());
            write_table(
                &spec,
                &[
                    ("utt1", Array2::ones((20, 13))),
                    ("utt2", Array2::ones((20, 13))),
                ],
            );
            let bytes = std::fs::read(d.join("in.ark")).unwrap();
            std::fs::write(d.join("in.ark"), &bytes[..bytes.len() - 100]).unwrap();
            feats_cmd("copy-feats", "ark:in.ark")
        },
        expect: &["in.ark", "utt2", "truncated"],
    },
    Case {
        name: "scp offset past the end",
        setup: |d| {
            let spec = format!("ark:{}", d.join("in.ark").display());
            write_table(&spec, &[("utt1", Array2::ones((5, 13)))]);
            std::fs::write(d.join("in.scp"), "utt1 in.ark:5\nutt2 in.ark:999999\n").unwrap();
            feats_cmd("copy-feats", "scp:in.scp")
        },
        expect: &["in.scp", "utt2", "past the end"],
    },
    Case {
        name: "non-finite feature values",
        setup: |d| {
            let spec = format!("ark:{}", d.join("in.ark").display());
            let mut m = Array2::<f32>::ones((5, 13));
            m[[3, 4]] = f32::NAN;
            write_table(&spec, &[("utt1", Array2::ones((5, 13))), ("utt2", m)]);
            feats_cmd("add-deltas", "ark:in.ark")
        },
        expect: &["utt2", "non-finite", "frame 3"],
    },
    Case {
        name: "unsorted input where sorted is required",
        setup: |d| {
            let spec = format!("ark:{}", d.join("in.ark").display());
            write_table(
                &spec,
                &[("b", Array2::ones((5, 13))), ("a", Array2::ones((5, 13)))],
            );
            feats_cmd("copy-feats", "ark,s:in.ark")
        },
        expect: &["in.ark", "sorted"],
    },
    Case {
        name: "unsorted data dir",
        setup: |d| {
            let dd = d.join("data");
            std::fs::create_dir_all(&dd).unwrap();
            std::fs::write(dd.join("utt2spk"), "b-1 b\na-1 a\n").unwrap();
            std::fs::write(dd.join("spk2utt"), "a a-1\nb b-1\n").unwrap();
            vec![
                "validate-data-dir".into(),
                "--no-feats".into(),
                "--no-wav".into(),
                "--no-text".into(),
                "data".into(),
            ]
        },
        expect: &["utt2spk:2", "not sorted"],
    },
];

#[test]
fn bad_inputs_fail_cleanly() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let args = (case.setup)(dir.path());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut problems = Vec::new();
        if out.status.code() != Some(1) {
            problems.push(format!("exit status {:?}", out.status.code()));
        }
        if stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        for e in case.expect {
            if !stderr.contains(e) {
                problems.push(format!("stderr lacks '{e}'"));
            }
        }
        let left = files(&dir.path().join("out"));
        if !left.is_empty() {
            problems.push(format!("left files behind: {left:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr ---\n{stderr}",
                case.name,
                problems.join(", ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn permissive_skips_bad_utterances() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    good_wav(d, "a.wav");
    wav_scp(d, "utt1 a.wav\nutt2 missing.wav\nutt3 a.wav\n");
    let out = run(
        d,
        &[
            "compute-mfcc-feats",
            "--sample-frequency=8000",
            "--dither=0",
            "scp,p:wav.scp",
            "ark,t:f.txt",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("utt2"));
    let keys: Vec<String> = crate::util::read_table(
        "ark:f.txt"
            .replace("f.txt", d.join("f.txt").to_str().unwrap())
            .as_str(),
    )
    .into_iter()
    .map(|(k, _)| k)
    .collect();
    assert_eq!(keys, ["utt1", "utt3"]);
}

#[test]
fn usage_error_exits_2_and_broken_pipe_is_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["add-deltas", "--no-such-option", "ark:-", "ark:-"],
    );
    assert_eq!(out.status.code(), Some(2));
    let spec = format!("ark:{}", dir.path().join("in.ark").display());
    let big: Vec<(String, Array2<f32>)> = (0..200)
        .map(|i| (format!("u{i:03}"), Array2::ones((200, 13))))
        .collect();
    let refs: Vec<(&str, Array2<f32>)> = big.iter().map(|(k, m)| (k.as_str(), m.clone())).collect();
    write_table(&spec, &refs);
    // The reader of our stdout goes away after 100 bytes: that is success, as in ripgrep.
    let mut child = crate::util::cepstra()
        .current_dir(dir.path())
        .args(["copy-feats", "ark:in.ark", "ark,t:-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 100];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    drop(stdout);
    assert!(child.wait().unwrap().success());
}
