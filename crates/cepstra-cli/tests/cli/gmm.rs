//! The GMM subcommands on real Kaldi's models and statistics (fixtures of cepstra-gmm, made by
//! Kaldi's gmm-global-*/fgmm-global-*; see its README).

use crate::util::{fixture, ok, run};

fn kaldi(rel: &str) -> String {
    fixture("cepstra-gmm/tests/data/kaldi")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn kaldi_models_copy_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    for m in [
        "diag_init.mdl",
        "full_init.mdl",
        "diag_kaldi.5.mdl",
        "full_kaldi.5.mdl",
    ] {
        let out = dir.path().join(m);
        ok(
            dir.path(),
            &[
                "gmm-copy",
                "--format=kaldi",
                &kaldi(m),
                out.to_str().unwrap(),
            ],
        );
        assert!(
            std::fs::read(&out).unwrap() == std::fs::read(kaldi(m)).unwrap(),
            "{m}"
        );
        // Kaldi's text form reads back to the same model (7 digits).
        let info_bin = ok(dir.path(), &["gmm-info", &kaldi(m)]);
        let info_txt = ok(dir.path(), &["gmm-info", &kaldi(&format!("{m}.txt"))]);
        assert_eq!(
            info_bin.lines().take(4).collect::<Vec<_>>(),
            info_txt.lines().take(4).collect::<Vec<_>>()
        );
    }
}

#[test]
fn acc_sum_est_equals_train_in_memory_and_threads_do_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = format!("ark:{}", kaldi("data.ark"));
    for (i, cov) in ["diag", "full"].iter().enumerate() {
        ok(
            d,
            &[
                "gmm-init",
                "--num-gauss=3",
                &format!("--covariance={cov}"),
                "--seed=1",
                &data,
                &format!("{i}.init"),
            ],
        );
        // Two passes of acc → sum → est by hand, through files, with the Kaldi names.
        let mut model = format!("{i}.init");
        for pass in 0..2 {
            let acc = format!("{i}.{pass}.acc");
            ok(d, &["gmm-global-acc-stats", &model, &data, &acc]);
            ok(d, &["gmm-sum-accs", &format!("{acc}.sum"), &acc]);
            let next = format!("{i}.{pass}.mdl");
            ok(d, &["gmm-global-est", &model, &format!("{acc}.sum"), &next]);
            model = next;
        }
        // The same in one command, with one and with two threads.
        let mut bytes = Vec::new();
        for threads in ["1", "2"] {
            let out = format!("{i}.train.{threads}");
            let o = crate::util::cepstra()
                .current_dir(d)
                .env("RAYON_NUM_THREADS", threads)
                .args([
                    "gmm-train",
                    "--init-model",
                    &format!("{i}.init"),
                    "--num-iters=2",
                    "--tol=0",
                    &data,
                    &out,
                ])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            bytes.push(std::fs::read(d.join(&out)).unwrap());
        }
        assert_eq!(
            bytes[0], bytes[1],
            "{cov}: model bytes depend on the thread count"
        );
        // Through files the statistics are summed per utterance, in memory per block of frames:
        // the same model up to rounding.
        let numbers = |b: &[u8]| -> Vec<f64> {
            fn walk(v: &serde_json::Value, out: &mut Vec<f64>) {
                match v {
                    serde_json::Value::Number(n) => out.push(n.as_f64().unwrap()),
                    serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                    serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                    _ => {}
                }
            }
            let mut out = Vec::new();
            walk(&serde_json::from_slice(b).unwrap(), &mut out);
            out
        };
        let (a, b) = (
            numbers(&bytes[0]),
            numbers(&std::fs::read(d.join(&model)).unwrap()),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{cov}: gmm-train {x} vs acc/sum/est {y}"
            );
        }
    }
}

#[test]
fn frame_likes_and_bad_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = format!("ark:{}", kaldi("data.ark"));
    let out = ok(
        d,
        &[
            "gmm-get-frame-likes",
            "--average",
            &kaldi("diag_kaldi.5.mdl"),
            &data,
            "ark,t:-",
        ],
    );
    assert_eq!(out.lines().count(), 2);
    std::fs::write(d.join("bad.mdl"), b"\0B<DiagGMM> <GCONSTS> FV \x04\x10\x00").unwrap();
    let o = run(d, &["gmm-info", "bad.mdl"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.mdl") && !err.contains("panicked"),
        "{err}"
    );
    // A 4-dimensional model against 39-dimensional features.
    std::fs::write(d.join("f.scp"), "").unwrap();
    let o = run(
        d,
        &[
            "gmm-acc-stats",
            &kaldi("diag_init.mdl"),
            "scp:f.scp",
            "x.acc",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!d.join("x.acc").exists());
}
