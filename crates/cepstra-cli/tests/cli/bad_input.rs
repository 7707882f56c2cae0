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

/// A case whose exit status or stderr differs from the default (status 1, nothing forbidden).
struct Strict {
    case: Case,
    /// The exit status (1: bad input; 2: a usage error, as clap reports a bad option value).
    status: i32,
    /// None of these may appear in stderr (repeated fields, work done before the error…).
    lacks: &'static [&'static str],
}

/// Three 3-dimensional utterances, `u1`..`u3`, in `feats.ark` (labels `a`, `b`, `a` in `text`).
fn three_utts(d: &Path) {
    let m = |off: f32, n: usize| {
        Array2::from_shape_fn((n, 3), |(t, j)| {
            off + ((t * 7 + j * 3) % 5) as f32 * 0.3 + j as f32
        })
    };
    write_table(
        &format!("ark:{}", d.join("feats.ark").display()),
        &[("u1", m(0.0, 40)), ("u2", m(5.0, 40)), ("u3", m(0.5, 40))],
    );
    std::fs::write(d.join("text"), "u1 a\nu2 b\nu3 a\n").unwrap();
}

/// `three_utts` and a 2-component diagonal model of them in `m.json`.
fn model(d: &Path) {
    three_utts(d);
    crate::util::ok(
        d,
        &[
            "gmm-init",
            "--num-gauss=2",
            "--min-gaussian-occupancy=1",
            "ark:feats.ark",
            "m.json",
        ],
    );
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A model file with `covars` replaced.
fn full_model_json(covars: &str) -> String {
    format!(
        r#"{{"format":"cepstra-gmm","version":1,"covariance":"full","dim":2,"num_gauss":1,"weights":[1.0],"means":[[0.0,0.0]],"covars":{covars}}}"#
    )
}

/// The streamed-header variant of a 16-bit WAV: data size 0xFFFFFFFF (`sox … -t wav - |`).
fn streamed_wav(d: &Path, name: &str) {
    good_wav(d, name);
    let mut b = std::fs::read(d.join(name)).unwrap();
    let at = b.windows(4).position(|w| w == b"data").unwrap() + 4;
    b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(d.join(name), b).unwrap();
}

const fn strict(case: Case, status: i32, lacks: &'static [&'static str]) -> Strict {
    Strict {
        case,
        status,
        lacks,
    }
}

/// The cases of issue 9's campaign (config files, option bounds, models, inputs, messages).
const MORE: &[Strict] = &[
    strict(
        Case {
            name: "config file that includes itself",
            setup: |d| {
                std::fs::write(d.join("r.conf"), "--dither=0\n--config=r.conf\n").unwrap();
                args(&[
                    "compute-mfcc-feats",
                    "--config=r.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["r.conf", "includes itself"],
        },
        2,
        &["overflow"],
    ),
    strict(
        Case {
            name: "config files in a cycle",
            setup: |d| {
                std::fs::write(d.join("a.conf"), "--config=b.conf\n").unwrap();
                std::fs::write(d.join("b.conf"), "--dither=0\n--config=a.conf\n").unwrap();
                args(&[
                    "compute-mfcc-feats",
                    "--config",
                    "a.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["a.conf -> b.conf -> a.conf", "b.conf, line 2"],
        },
        2,
        &[],
    ),
    strict(
        Case {
            name: "bad value in a config file",
            setup: |d| {
                std::fs::write(
                    d.join("m.conf"),
                    "# mfcc\n--use-energy=false\n--dither=lots\n",
                )
                .unwrap();
                args(&[
                    "compute-mfcc-feats",
                    "--config=m.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["lots", "config file m.conf, line 3"],
        },
        2,
        &[],
    ),
    strict(
        Case {
            name: "out-of-range value in a config file",
            setup: |d| {
                good_wav(d, "a.wav");
                wav_scp(d, "u1 a.wav\n");
                std::fs::write(
                    d.join("m.conf"),
                    "--sample-frequency=8000\n--num-mel-bins=4294967295\n",
                )
                .unwrap();
                args(&[
                    "compute-mfcc-feats",
                    "--config=m.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["--num-mel-bins=4294967295", "config file m.conf, line 2"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "config line that is not an option",
            setup: |d| {
                std::fs::write(d.join("m.conf"), "--dither=0\nsample-frequency=8000\n").unwrap();
                args(&[
                    "compute-mfcc-feats",
                    "--config=m.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["m.conf:2", "--name=value"],
        },
        2,
        &[],
    ),
    strict(
        Case {
            name: "missing config file",
            setup: |_| {
                args(&[
                    "compute-mfcc-feats",
                    "--config=none.conf",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["none.conf", "No such file"],
        },
        2,
        &["(os error 2): No such file"],
    ),
    strict(
        Case {
            name: "--num-mel-bins beyond the FFT (mfcc)",
            setup: |d| mfcc_of_one_wav(d, "--num-mel-bins=4294967295"),
            expect: &["--num-mel-bins=4294967295", "FFT bins"],
        },
        1,
        &["memory allocation"],
    ),
    strict(
        Case {
            name: "--num-mel-bins beyond the FFT (fbank)",
            setup: |d| {
                good_wav(d, "a.wav");
                wav_scp(d, "u1 a.wav\n");
                args(&[
                    "compute-fbank-feats",
                    "--sample-frequency=8000",
                    "--num-mel-bins=129",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["--num-mel-bins=129", "128 FFT bins"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "--frame-length=1e7",
            setup: |d| mfcc_of_one_wav(d, "--frame-length=1e7"),
            expect: &["--frame-length=10000000", "at most"],
        },
        1,
        &["memory allocation"],
    ),
    strict(
        Case {
            name: "--frame-length=1e9",
            setup: |d| mfcc_of_one_wav(d, "--frame-length=1e9"),
            expect: &["--frame-length=1000000000"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "absurd --sample-frequency",
            setup: |d| {
                good_wav(d, "a.wav");
                wav_scp(d, "u1 a.wav\n");
                args(&[
                    "compute-mfcc-feats",
                    "--sample-frequency=1e30",
                    "scp:wav.scp",
                    "ark:out/f.ark",
                ])
            },
            expect: &["--sample-frequency"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "--num-ceps above --num-mel-bins",
            setup: |d| mfcc_of_one_wav(d, "--num-ceps=1000"),
            expect: &["--num-ceps=1000", "--num-mel-bins"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "--delta-order too large",
            setup: |d| {
                three_utts(d);
                args(&[
                    "add-deltas",
                    "--delta-order=1000000",
                    "ark:feats.ark",
                    "ark:out/d.ark",
                ])
            },
            expect: &["--delta-order=1000000"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "--delta-window too large",
            setup: |d| {
                three_utts(d);
                args(&[
                    "add-deltas",
                    "--delta-window=4294967295",
                    "ark:feats.ark",
                    "ark:out/d.ark",
                ])
            },
            expect: &["--delta-window=4294967295"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-est --mix-up without bound",
            setup: |d| {
                model(d);
                crate::util::ok(d, &["gmm-acc-stats", "m.json", "ark:feats.ark", "m.acc"]);
                args(&[
                    "gmm-est",
                    "--mix-up=4294967295",
                    "m.json",
                    "m.acc",
                    "out/m2.json",
                ])
            },
            expect: &["--mix-up=4294967295", "m.acc", "can support"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-est --mix-up below the current size",
            setup: |d| {
                model(d);
                crate::util::ok(d, &["gmm-acc-stats", "m.json", "ark:feats.ark", "m.acc"]);
                args(&["gmm-est", "--mix-up=1", "m.json", "m.acc", "out/m2.json"])
            },
            expect: &["cannot split from 2 to 1"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-init --num-gauss above the frames",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-init",
                    "--num-gauss=4294967295",
                    "ark:feats.ark",
                    "out/m.json",
                ])
            },
            expect: &["--num-gauss", "120 frames"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "kmeans --num-clusters above the frames",
            setup: |d| {
                three_utts(d);
                args(&[
                    "kmeans",
                    "--num-clusters=4294967295",
                    "ark:feats.ark",
                    "out/c.txt",
                ])
            },
            expect: &["--num-clusters=4294967295"],
        },
        1,
        &["--num-gauss"],
    ),
    strict(
        Case {
            name: "gmm-global-init-from-feats --num-gauss above the frames",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-global-init-from-feats",
                    "--num-gauss=4294967295",
                    "ark:feats.ark",
                    "out/m.mdl",
                ])
            },
            expect: &["4294967295", "120 frames"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "asymmetric covariance in a JSON model",
            setup: |d| {
                std::fs::write(d.join("m.json"), full_model_json("[[[2.0,0.5],[0.7,1.0]]]"))
                    .unwrap();
                write_table(
                    &format!("ark:{}", d.join("x.ark").display()),
                    &[("u1", Array2::zeros((2, 2)))],
                );
                args(&[
                    "gmm-get-frame-likes",
                    "m.json",
                    "ark:x.ark",
                    "ark,t:out/l.txt",
                ])
            },
            expect: &["m.json", "component 0", "not symmetric", "(1, 0) is 0.7"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "truncated JSON model",
            setup: |d| {
                let full = full_model_json("[[[2.0,0.5],[0.5,1.0]]]");
                std::fs::write(d.join("m.json"), &full[..full.len() / 2]).unwrap();
                args(&["gmm-info", "m.json"])
            },
            expect: &["m.json"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "covariance that is not positive definite",
            setup: |d| {
                std::fs::write(d.join("m.json"), full_model_json("[[[1.0,2.0],[2.0,1.0]]]"))
                    .unwrap();
                args(&["gmm-info", "m.json"])
            },
            expect: &["m.json", "component 0"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "failed 'false |' in wav.scp",
            setup: |d| {
                good_wav(d, "a.wav");
                wav_scp(d, "u1 a.wav\nu2 false |\n");
                mfcc("scp:wav.scp")
            },
            expect: &[
                "wav.scp:2",
                "utterance u2",
                "command 'false' failed",
                "exit status: 1",
            ],
        },
        1,
        &["not a readable WAV", "RIFF"],
    ),
    strict(
        Case {
            name: "failed 'cat missing.wav |' in wav.scp",
            setup: |d| {
                wav_scp(d, "u1 cat missing.wav |\n");
                mfcc("scp:wav.scp")
            },
            expect: &[
                "wav.scp:1",
                "command 'cat missing.wav' failed",
                "exit status: 1",
            ],
        },
        1,
        &["not a readable WAV"],
    ),
    strict(
        Case {
            name: "text file given as a wav",
            setup: |d| {
                std::fs::write(d.join("a.wav"), "hello, this is not audio\n").unwrap();
                wav_scp(d, "u1 a.wav\n");
                mfcc("scp:wav.scp")
            },
            expect: &["wav.scp:1", "utterance u1 (a.wav)", "RIFF"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "A-law wav",
            setup: |d| {
                good_wav(d, "a.wav");
                let mut b = std::fs::read(d.join("a.wav")).unwrap();
                b[20] = 6;
                std::fs::write(d.join("a.wav"), b).unwrap();
                wav_scp(d, "u1 a.wav\n");
                mfcc("scp:wav.scp")
            },
            expect: &["utterance u1", "format tag 6"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "stereo error names the scp line",
            setup: |d| {
                good_wav(d, "a.wav");
                write_wav(&d.join("s.wav"), 8000, 2, &signal(8000));
                wav_scp(d, "u1 a.wav\nu2 s.wav\n");
                mfcc("scp:wav.scp")
            },
            expect: &[
                "wav.scp:2",
                "utterance u2 (s.wav)",
                "2 channels",
                "--channel",
            ],
        },
        1,
        &["utterance u2: wav.scp"],
    ),
    strict(
        Case {
            name: "sample-rate error names the scp line",
            setup: |d| {
                good_wav(d, "a.wav");
                write_wav(&d.join("h.wav"), 16000, 1, &signal(8000));
                wav_scp(d, "u1 a.wav\nu2 a.wav\nu3 h.wav\n");
                mfcc("scp:wav.scp")
            },
            expect: &[
                "wav.scp:3",
                "utterance u3 (h.wav)",
                "16000",
                "--sample-frequency=8000",
            ],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "missing wav named once",
            setup: |d| {
                wav_scp(d, "u1 gone.wav\n");
                mfcc("scp:wav.scp")
            },
            expect: &["wav.scp:1", "utterance u1", "gone.wav", "No such file"],
        },
        1,
        &["(os error 2): No such file", "utterance u1: wav.scp", ": :"],
    ),
    strict(
        Case {
            name: "NaN entry in a strict archive (copy-feats)",
            setup: |d| {
                std::fs::write(d.join("f.txt"), "u1 [ 1 2 ]\nu2 [ 1 nan ]\n").unwrap();
                args(&["copy-feats", "ark:f.txt", "ark:out/g.ark"])
            },
            expect: &["utterance u2", "non-finite", "column 1"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "NaN entry (compute-cmvn-stats)",
            setup: |d| {
                std::fs::write(d.join("f.txt"), "u1 [ 1 2 ]\nu2 [ inf 1 ]\n").unwrap();
                args(&["compute-cmvn-stats", "ark:f.txt", "ark:out/s.ark"])
            },
            expect: &["utterance u2", "non-finite value inf"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "NaN entry names the utterance (gmm-init)",
            setup: |d| {
                std::fs::write(d.join("f.txt"), "u1 [ 1 2\n 3 4\n 5 6 ]\nu2 [ 1 nan ]\n").unwrap();
                args(&["gmm-init", "--num-gauss=1", "ark:f.txt", "out/m.json"])
            },
            expect: &["utterance u2", "non-finite"],
        },
        1,
        &["frame 3"],
    ),
    strict(
        Case {
            name: "NaN entry (train-classes)",
            setup: |d| {
                three_utts(d);
                std::fs::write(d.join("f.txt"), "u1 [ 1 2\n 3 4\n 5 6 ]\nu2 [ 1 nan ]\n").unwrap();
                args(&[
                    "train-classes",
                    "--num-gauss=1",
                    "ark:f.txt",
                    "text",
                    "out/models.json",
                ])
            },
            expect: &["utterance u2", "non-finite"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "missing output directory reported before training",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-train",
                    "--num-gauss=2",
                    "--min-gaussian-occupancy=1",
                    "ark:feats.ark",
                    "out/no/such/dir/m.json",
                ])
            },
            expect: &["out/no/such/dir", "does not exist"],
        },
        1,
        &["iteration", "frames of"],
    ),
    strict(
        Case {
            name: "output that is a directory",
            setup: |d| {
                three_utts(d);
                std::fs::create_dir(d.join("out").join("m.json")).unwrap();
                args(&["gmm-init", "--num-gauss=1", "ark:feats.ark", "out/m.json"])
            },
            expect: &["out/m.json", "directory"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "missing model named once",
            setup: |d| {
                three_utts(d);
                args(&["gmm-acc-stats", "nope.json", "ark:feats.ark", "out/a.acc"])
            },
            expect: &["nope.json", "No such file"],
        },
        1,
        &["(os error 2): No such file"],
    ),
    strict(
        Case {
            name: "non-UTF-8 text in a data dir",
            setup: |d| {
                let dd = d.join("data");
                std::fs::create_dir_all(&dd).unwrap();
                std::fs::write(dd.join("text"), b"a-1 yes\nb-1 \xff\xfe\n").unwrap();
                std::fs::write(dd.join("utt2spk"), "a-1 a\nb-1 b\n").unwrap();
                std::fs::write(dd.join("spk2utt"), "a a-1\nb b-1\n").unwrap();
                args(&["validate-data-dir", "--no-feats", "--no-wav", "data"])
            },
            expect: &["text:2", "UTF-8"],
        },
        1,
        &["text:0"],
    ),
    strict(
        Case {
            name: "non-UTF-8 scp",
            setup: |d| {
                std::fs::write(d.join("wav.scp"), b"u1 a.wav\nu2 \xff.wav\n").unwrap();
                mfcc("scp:wav.scp")
            },
            expect: &["wav.scp:2", "UTF-8"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "classify with the wrong feature dimension",
            setup: |d| {
                three_utts(d);
                crate::util::ok(
                    d,
                    &[
                        "train-classes",
                        "--num-gauss=1",
                        "--min-gaussian-occupancy=1",
                        "ark:feats.ark",
                        "text",
                        "models.json",
                    ],
                );
                write_table(
                    &format!("ark:{}", d.join("x.ark").display()),
                    &[("x1", Array2::zeros((5, 4)))],
                );
                args(&[
                    "classify",
                    "models.json",
                    "ark:x.ark",
                    "out/scores.tsv",
                    "out/hyp.txt",
                ])
            },
            expect: &["x1", "dimension"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-acc-stats with the wrong feature dimension",
            setup: |d| {
                model(d);
                write_table(
                    &format!("ark:{}", d.join("x.ark").display()),
                    &[("x1", Array2::zeros((5, 4)))],
                );
                args(&["gmm-acc-stats", "m.json", "ark:x.ark", "out/a.acc"])
            },
            expect: &["x1", "dimension"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "compute-accuracy with an unlabelled hypothesis",
            setup: |d| {
                std::fs::write(d.join("text"), "u1 a\nu2 b\n").unwrap();
                std::fs::write(d.join("hyp"), "u1 a\nu2\n").unwrap();
                args(&["compute-accuracy", "text", "hyp", "out/acc.txt"])
            },
            expect: &["hyp:2", "u2"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-sum-accs of different dimensions",
            setup: |d| {
                model(d);
                crate::util::ok(d, &["gmm-acc-stats", "m.json", "ark:feats.ark", "a.acc"]);
                std::fs::write(
                    d.join("m2.json"),
                    full_model_json("[[[2.0,0.5],[0.5,1.0]]]"),
                )
                .unwrap();
                write_table(
                    &format!("ark:{}", d.join("x.ark").display()),
                    &[("x1", Array2::ones((5, 2)))],
                );
                crate::util::ok(d, &["gmm-acc-stats", "m2.json", "ark:x.ark", "b.acc"]);
                args(&["gmm-sum-accs", "out/sum.acc", "a.acc", "b.acc"])
            },
            expect: &["b.acc"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "truncated accumulator",
            setup: |d| {
                model(d);
                crate::util::ok(d, &["gmm-acc-stats", "m.json", "ark:feats.ark", "a.acc"]);
                let b = std::fs::read(d.join("a.acc")).unwrap();
                std::fs::write(d.join("a.acc"), &b[..b.len() / 2]).unwrap();
                args(&["gmm-est", "m.json", "a.acc", "out/m2.json"])
            },
            expect: &["a.acc"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "apply-cmvn without statistics for an utterance",
            setup: |d| {
                three_utts(d);
                std::fs::write(d.join("u1.txt"), "u1 [ 1 2 ]\n").unwrap();
                crate::util::ok(d, &["compute-cmvn-stats", "ark:u1.txt", "ark:cmvn.ark"]);
                args(&[
                    "apply-cmvn",
                    "ark:cmvn.ark",
                    "ark:feats.ark",
                    "ark:out/n.ark",
                ])
            },
            expect: &["u1"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "train-classes with labels for no features",
            setup: |d| {
                three_utts(d);
                std::fs::write(d.join("text2"), "x1 a\nx2 b\n").unwrap();
                args(&[
                    "train-classes",
                    "--num-gauss=1",
                    "ark:feats.ark",
                    "text2",
                    "out/models.json",
                ])
            },
            expect: &["text2"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "recognize with a model that records no front-end",
            setup: |d| {
                three_utts(d);
                good_wav(d, "a.wav");
                crate::util::ok(
                    d,
                    &[
                        "train-classes",
                        "--num-gauss=1",
                        "--min-gaussian-occupancy=1",
                        "ark:feats.ark",
                        "text",
                        "models.json",
                    ],
                );
                args(&["recognize", "models.json", "a.wav"])
            },
            expect: &["models.json", "front-end"],
        },
        1,
        &[],
    ),
    strict(
        Case {
            name: "gmm-train --num-iters without bound",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-train",
                    "--num-gauss=1",
                    "--tol=0",
                    "--num-iters=4294967295",
                    "ark:feats.ark",
                    "out/m.json",
                ])
            },
            expect: &["--num-iters=4294967295", "at most"],
        },
        1,
        &["iteration 1"],
    ),
    strict(
        Case {
            name: "--reg-covar=inf names its own option",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-train",
                    "--num-gauss=1",
                    "--reg-covar=inf",
                    "ark:feats.ark",
                    "out/m.json",
                ])
            },
            expect: &["--reg-covar"],
        },
        1,
        &["--var-floor"],
    ),
    strict(
        Case {
            name: "--rel-var-floor=inf names its own option",
            setup: |d| {
                three_utts(d);
                args(&[
                    "gmm-train",
                    "--num-gauss=1",
                    "--rel-var-floor=inf",
                    "ark:feats.ark",
                    "out/m.json",
                ])
            },
            expect: &["--rel-var-floor"],
        },
        1,
        &["--var-floor="],
    ),
];

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

/// One good wav in `wav.scp` and `compute-mfcc-feats OPTION` of it.
fn mfcc_of_one_wav(d: &Path, option: &str) -> Vec<String> {
    good_wav(d, "a.wav");
    wav_scp(d, "u1 a.wav\n");
    let mut a = mfcc("scp:wav.scp");
    a.insert(1, option.into());
    a
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

/// Runs one case; the problems found (empty: it passed).
fn check(case: &Case, status: i32, lacks: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let args = (case.setup)(dir.path());
    let before = files(&dir.path().join("out"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    if out.status.code() != Some(status) {
        problems.push(format!(
            "exit status {:?}, expected {status}",
            out.status.code()
        ));
    }
    if stderr.contains("panicked") || stderr.contains("memory allocation") {
        problems.push("panicked or aborted".into());
    }
    for e in case.expect {
        if !stderr.contains(e) {
            problems.push(format!("stderr lacks '{e}'"));
        }
    }
    for e in lacks {
        if stderr.contains(e) {
            problems.push(format!("stderr has '{e}'"));
        }
    }
    let left = files(&dir.path().join("out"));
    if left != before {
        problems.push(format!("left files behind: {left:?}"));
    }
    if problems.is_empty() {
        return problems;
    }
    vec![format!(
        "{}: {}\n--- stderr ---\n{stderr}",
        case.name,
        problems.join(", ")
    )]
}

#[test]
fn bad_inputs_fail_cleanly() {
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    for case in CASES {
        failures.extend(check(case, 1, &[]));
        assert!(names.insert(case.name), "two cases named '{}'", case.name);
    }
    for s in MORE {
        failures.extend(check(&s.case, s.status, s.lacks));
        assert!(
            names.insert(s.case.name),
            "two cases named '{}'",
            s.case.name
        );
    }
    let total = CASES.len() + MORE.len();
    eprintln!(
        "bad-input cases: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
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

#[test]
fn streamed_wav_headers_are_read_to_the_end() {
    // As `sox … -t wav - |` writes them: data size 0xFFFFFFFF; through a pipe and as a file.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    good_wav(d, "a.wav");
    streamed_wav(d, "s.wav");
    wav_scp(d, "plain a.wav\nfile s.wav\npipe cat s.wav |\n");
    crate::util::ok(
        d,
        &[
            "compute-mfcc-feats",
            "--sample-frequency=8000",
            "--dither=0",
            "scp:wav.scp",
            "ark:f.ark",
        ],
    );
    let feats = crate::util::read_table(&format!("ark:{}", d.join("f.ark").display()));
    assert_eq!(feats.len(), 3);
    assert_eq!(feats[1].1, feats[0].1, "streamed file");
    assert_eq!(feats[2].1, feats[0].1, "streamed pipe");
}
