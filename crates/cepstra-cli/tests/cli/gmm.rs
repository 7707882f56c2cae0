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
        // Two passes of acc → sum → est by hand, through files (cepstra's names: the Kaldi names
        // write Kaldi's float formats, see kaldi_names.rs).
        let mut model = format!("{i}.init");
        for pass in 0..2 {
            let acc = format!("{i}.{pass}.acc");
            ok(d, &["gmm-acc-stats", &model, &data, &acc]);
            ok(d, &["gmm-sum-accs", &format!("{acc}.sum"), &acc]);
            let next = format!("{i}.{pass}.mdl");
            ok(d, &["gmm-est", &model, &format!("{acc}.sum"), &next]);
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

/// `--kaldi-compat` end to end through files: five iterations of `gmm-acc-stats --kaldi-compat`
/// → `gmm-est --kaldi-compat --format=kaldi`, with each trace's gmm-global-est/fgmm-global-est
/// options (em_traces.json), end at Kaldi's own final model bytes. The first accumulators are
/// Kaldi's acc file byte for byte; later iterations alternate Kaldi's acc format and cepstra's
/// f64 one (which gmm-est rounds as Kaldi's acc file would).
#[test]
fn kaldi_compat_acc_est_five_iterations_give_kaldis_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = format!("ark:{}", kaldi("data.ark"));
    let traces: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kaldi("em_traces.json")).unwrap()).unwrap();
    for (run, init, est_opts) in [
        ("diag_kaldi", "diag_init", &[][..]),
        (
            "diag_none",
            "diag_init",
            &[
                "--min-gaussian-occupancy=0",
                "--min-gaussian-weight=0",
                "--min-variance=1e-20",
            ][..],
        ),
        (
            "diag_occ100",
            "diag_init",
            &["--min-gaussian-occupancy=100"][..],
        ),
        // fgmm-global-est's default minimum occupancy is 100 (cepstra's default is diag's 10).
        (
            "full_kaldi",
            "full_init",
            &["--min-gaussian-occupancy=100"][..],
        ),
        (
            "full_none",
            "full_init",
            &[
                "--min-gaussian-occupancy=0",
                "--min-gaussian-weight=0",
                "--variance-floor=1e-20",
                "--max-condition=1e20",
            ][..],
        ),
    ] {
        // Kaldi's own options (min-variance / variance-floor are aliases of --var-floor).
        let kaldi_opts: Vec<&str> = traces[run]["est_options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        if run != "full_kaldi" {
            assert_eq!(kaldi_opts, est_opts, "{run}: options differ from Kaldi's");
        }
        let mut model = kaldi(&format!("{init}.mdl"));
        for it in 0..5 {
            let acc = format!("{run}.{it}.acc");
            let kaldi_format = if it % 2 == 0 { "true" } else { "false" };
            ok(
                d,
                &[
                    "gmm-acc-stats",
                    "--kaldi-compat",
                    &format!("--kaldi-format={kaldi_format}"),
                    &model,
                    &data,
                    &acc,
                ],
            );
            if it == 0 {
                assert!(
                    std::fs::read(d.join(&acc)).unwrap()
                        == std::fs::read(kaldi(&format!("{run}.0.acc"))).unwrap(),
                    "{run}: first accumulators differ from Kaldi's"
                );
            }
            let next = format!("{run}.{}.mdl", it + 1);
            let mut args = vec!["gmm-est", "--kaldi-compat", "--format=kaldi"];
            args.extend_from_slice(est_opts);
            args.extend([model.as_str(), acc.as_str(), next.as_str()]);
            ok(d, &args);
            model = d.join(&next).display().to_string();
        }
        let ours = std::fs::read(&model).unwrap();
        let theirs = std::fs::read(kaldi(&format!("{run}.5.mdl"))).unwrap();
        let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert!(
            ours == theirs,
            "{run}: final model differs from Kaldi's ({} vs {} bytes, first difference at byte {first_diff:?})",
            ours.len(),
            theirs.len()
        );
    }
    // Without --kaldi-compat the f64 estimator is used: not Kaldi's bytes on this data.
    let plain = "plain.1.mdl";
    ok(
        d,
        &[
            "gmm-est",
            "--format=kaldi",
            &kaldi("diag_init.mdl"),
            &kaldi("diag_kaldi.0.acc"),
            plain,
        ],
    );
    let compat = d.join("diag_kaldi.1.mdl");
    assert_ne!(
        std::fs::read(d.join(plain)).unwrap(),
        std::fs::read(compat).unwrap(),
        "gmm-est --kaldi-compat must not fall back to the f64 estimator"
    );
    // Options without a Kaldi counterpart are refused, not ignored.
    let o = run(
        d,
        &[
            "gmm-est",
            "--kaldi-compat",
            "--mix-up=6",
            &kaldi("diag_init.mdl"),
            &kaldi("diag_kaldi.0.acc"),
            "mixup.mdl",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("mix-up"));
}

#[test]
fn kmeans_names_its_own_option_when_data_is_short() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        dir.path(),
        &[
            "kmeans",
            "--num-clusters=5000",
            &format!("ark:{}", kaldi("data.ark")),
            "c.mat",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1500 frames are not enough for --num-clusters=5000"),
        "{err}"
    );
    assert!(!err.contains("--num-gauss"), "{err}");
    assert!(!dir.path().join("c.mat").exists());
}

#[test]
fn gmm_info_into_a_closed_pipe_is_success_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = crate::util::cepstra()
        .current_dir(dir.path())
        .args(["gmm-info", &kaldi("full_init.mdl")])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
