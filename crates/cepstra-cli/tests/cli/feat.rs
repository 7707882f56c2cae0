//! The feature subcommands end to end against real Kaldi's outputs (fixtures of cepstra-feat and
//! cepstra-io, made by Kaldi 5.5; see their READMEs).

use ndarray::Array2;

use crate::util::{fixture, ok, read_table};

fn golden(rel: &str) -> String {
    fixture("cepstra-feat/tests/data/golden")
        .join(rel)
        .display()
        .to_string()
}

fn max_rel_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

fn assert_close(ours: &str, kaldi: &str) {
    let (a, b) = (read_table(ours), read_table(kaldi));
    assert_eq!(a.len(), b.len());
    for ((ka, ma), (kb, mb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        let d = max_rel_diff(ma, mb);
        assert!(d <= 1e-3, "{ka}: max relative difference {d}");
    }
}

#[test]
fn mfcc_cmvn_deltas_pipeline_matches_kaldi() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wavdir = golden("wav");
    std::fs::write(d.join("wav.scp"), format!("synth8k {wavdir}/synth8k.wav\n")).unwrap();
    std::fs::write(
        d.join("mfcc.conf"),
        "# as Kaldi's conf/mfcc.conf\n--sample-frequency=8000\n--use-energy=false\n",
    )
    .unwrap();
    // Config file + `--dither 0` in the two-word form.
    ok(
        d,
        &[
            "compute-mfcc-feats",
            "--config",
            "mfcc.conf",
            "--dither",
            "0",
            "scp:wav.scp",
            "ark,scp:mfcc.ark,mfcc.scp",
        ],
    );
    assert_close(
        &format!("scp:{}", d.join("mfcc.scp").display()),
        &format!("ark:{}", golden("feat/mfcc_8k.ark")),
    );
    ok(d, &["compute-cmvn-stats", "scp:mfcc.scp", "ark:cmvn.ark"]);
    ok(
        d,
        &[
            "apply-cmvn",
            "--norm-vars=true",
            "ark:cmvn.ark",
            "scp:mfcc.scp",
            "ark:cmvn_applied.ark",
        ],
    );
    assert_close(
        &format!("ark:{}", d.join("cmvn_applied.ark").display()),
        &format!("ark:{}", golden("feat/cmvn_applied_normvars_true_8k.ark")),
    );
    ok(d, &["add-deltas", "scp:mfcc.scp", "ark:deltas.ark"]);
    assert_close(
        &format!("ark:{}", d.join("deltas.ark").display()),
        &format!("ark:{}", golden("feat/deltas_8k.ark")),
    );
    assert_eq!(ok(d, &["feat-to-dim", "ark:deltas.ark", "-"]).trim(), "39");
    ok(d, &["feat-to-len", "scp:mfcc.scp", "ark,t:utt2num_frames"]);
    let n = read_table(&format!("scp:{}", d.join("mfcc.scp").display()))[0]
        .1
        .nrows();
    assert_eq!(
        std::fs::read_to_string(d.join("utt2num_frames")).unwrap(),
        format!("synth8k {n}\n")
    );
}

#[test]
fn compress_writes_kaldis_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cm = fixture("cepstra-io/tests/data/cm");
    for m in 1..=7 {
        let out = d.join(format!("m{m}.ark"));
        ok(
            d,
            &[
                "copy-feats",
                "--compress=true",
                &format!("--compression-method={m}"),
                &format!("ark:{}", cm.join("input.ark").display()),
                &format!("ark:{}", out.display()),
            ],
        );
        let ours = std::fs::read(&out).unwrap();
        let kaldi = std::fs::read(cm.join(format!("method{m}.ark"))).unwrap();
        assert!(
            ours == kaldi,
            "method {m}: bytes differ from Kaldi's copy-feats"
        );
    }
}

#[test]
fn dither_is_seeded_and_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wavdir = golden("wav");
    std::fs::write(
        d.join("wav.scp"),
        format!("a {wavdir}/synth8k.wav\nb {wavdir}/synth8k.wav\n"),
    )
    .unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = crate::util::cepstra()
            .current_dir(d)
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "compute-mfcc-feats",
                "--sample-frequency=8000",
                "--dither-seed=3",
                "scp:wav.scp",
                "ark:-",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        outs.push(out.stdout);
    }
    assert_eq!(
        outs[0], outs[1],
        "dithered features depend on the thread count"
    );
    let t = read_table_bytes(&outs[0]);
    assert_ne!(t[0].1, t[1].1, "two utterances got the same dither noise");
}

fn read_table_bytes(bytes: &[u8]) -> Vec<(String, Array2<f32>)> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.ark");
    std::fs::write(&p, bytes).unwrap();
    read_table(&format!("ark:{}", p.display()))
}
