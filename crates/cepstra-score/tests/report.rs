//! End-to-end checks of `compute_accuracy` and the HTML report.

// Helpers outside #[test] functions panic on purpose: a failure here is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use cepstra_score::{
    compute_accuracy, compute_accuracy_runs, render_html, AccuracyReport, ComputeAccuracyOptions,
    Error, ReportContext, TrainingCurves, UttLabel,
};

fn t(pairs: &[(&str, &str)]) -> Vec<UttLabel> {
    pairs
        .iter()
        .map(|(u, l)| UttLabel {
            utt: u.to_string(),
            label: l.to_string(),
        })
        .collect()
}

fn sample_report() -> AccuracyReport {
    let reference = t(&[
        ("a1", "1"),
        ("a2", "1"),
        ("b1", "2"),
        ("b2", "2"),
        ("c1", "o"),
    ]);
    let hypothesis = t(&[("a1", "1"), ("a2", "2"), ("b1", "2"), ("b2", "<unk>")]);
    AccuracyReport::compute(&reference, &hypothesis).unwrap()
}

fn curves() -> TrainingCurves {
    let mut c = TrainingCurves::default();
    c.per_class
        .insert("1".into(), vec![-70.0, -65.0, -63.5, -63.1]);
    c.per_class
        .insert("2".into(), vec![-72.0, -66.0, -64.0, -63.9]);
    c.per_class
        .insert("o".into(), vec![-69.0, -64.2, -62.0, -61.8]);
    c
}

fn html_with_curves() -> String {
    render_html(
        &sample_report(),
        &ReportContext {
            title: "test <report>".into(),
            command: "cepstra compute-accuracy ref hyp".into(),
            date: "2026-01-01 00:00:00 UTC".into(),
            curves: Some(curves()),
            ..Default::default()
        },
    )
}

#[test]
fn html_has_plots_axes_and_legends() {
    let html = html_with_curves();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 2, "heat-map and curves");
    assert_eq!(html.matches("</svg>").count(), 2);
    // Heat-map axes, ticks and colour scale.
    assert!(html.contains(">reference</text>"));
    assert!(html.contains(">hypothesis</text>"));
    assert!(
        html.contains("&lt;unk&gt;</text>"),
        "the <unk> column is labelled"
    );
    assert!(
        html.contains(">(missing)</text>"),
        "the missing column is labelled"
    );
    assert!(html.contains("linearGradient") && html.contains("share of reference class"));
    // Curves: axes labels, legend with one entry per class.
    assert!(html.contains(">EM iteration</text>"));
    assert!(html.contains(">average log-likelihood per frame</text>"));
    assert_eq!(html.matches("<polyline").count(), 3);
    assert_eq!(html.matches(r#"<g class="legend">"#).count(), 2);
    for label in ["1", "2", "o"] {
        assert!(
            html.contains(&format!(r##"fill="#222">{label}</text>"##)),
            "{label}"
        );
    }
    // Summary, tables, errors; title escaped.
    assert!(html.contains("<title>test &lt;report&gt;</title>"));
    assert!(html.contains("%SER 60.00 [ 3 / 5 ]"));
    assert!(html.contains("2026-01-01 00:00:00 UTC"));
    assert!(html.contains("cepstra compute-accuracy ref hyp"));
    assert!(html.contains(r#"<table class="classes">"#));
    assert!(html.contains(r#"<table class="errors">"#));
    assert!(html.contains("<td class=\"mono\">b2</td><td>2</td><td class=\"hyp\">&lt;unk&gt;</td>"));
    assert!(html.contains("<td class=\"mono\">c1</td><td>o</td><td class=\"hyp\">(missing)</td>"));
}

#[test]
fn html_is_self_contained() {
    let html = html_with_curves();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no URLs"
    );
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("<link rel=\"stylesheet\""),
        "no external CSS"
    );
    assert!(!html.contains("@import") && !html.contains("@font-face"));
    assert!(!html.contains(" src="), "no external images or frames");
    assert!(!html.contains("<audio"), "no audio without a data dir");
    // Every counted cell text appears: 5 ref utts, row 'o' all missing.
    assert!(!html.contains("NaN"));
}

#[test]
fn html_without_models_says_so() {
    let html = render_html(&sample_report(), &ReportContext::default());
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("No model set given"));
}

#[test]
fn compute_accuracy_writes_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("text");
    let h = dir.path().join("hyp.txt");
    std::fs::write(&r, "u3 z\nu1 1\nu2 2\nu4 2\n").unwrap();
    std::fs::write(&h, "u1 1\nu2 2\nu4 z\nu3 z\nstray 1\n").unwrap();
    let report = dir.path().join("report.html");
    let acc = dir.path().join("acc.txt");
    let out = compute_accuracy(
        &r,
        &h,
        &ComputeAccuracyOptions {
            report: Some(report.clone()),
            acc_out: Some(acc.clone()),
            curves: Some(curves()),
            command: "cmd".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        out.summary,
        ["%SER 25.00 [ 1 / 4 ]", "accuracy 0.7500 (3/4)"]
    );
    assert_eq!(std::fs::read_to_string(&acc).unwrap(), "0.75\n");
    assert_eq!(out.report.extra_in_hyp, ["stray"]);
    assert!(out.details.contains("Confusion matrix"));
    assert!(out.details.contains("u4 2 z"));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.ends_with("</html>\n"));
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["acc.txt", "hyp.txt", "report.html", "text"],
        "no temp files left"
    );
}

#[test]
fn compute_accuracy_bad_input_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("text");
    let h = dir.path().join("hyp.txt");
    std::fs::write(&r, "u1 1\nu2 2\n").unwrap();
    std::fs::write(&h, "u1 1\nu2\n").unwrap();
    let opts = ComputeAccuracyOptions {
        report: Some(dir.path().join("report.html")),
        acc_out: Some(dir.path().join("acc.txt")),
        ..Default::default()
    };
    match compute_accuracy(&r, &h, &opts) {
        Err(Error::MissingLabel { path, line, utt }) => {
            assert_eq!(path, h);
            assert_eq!((line, utt.as_str()), (2, "u2"));
        }
        other => panic!("expected MissingLabel, got {other:?}"),
    }
    assert!(!dir.path().join("report.html").exists());
    assert!(!dir.path().join("acc.txt").exists());

    std::fs::write(&r, "").unwrap();
    std::fs::write(&h, "u1 1\n").unwrap();
    assert!(matches!(
        compute_accuracy(&r, &h, &opts),
        Err(Error::EmptyReference)
    ));
    let e = compute_accuracy(Path::new("/nonexistent/text"), &h, &opts).unwrap_err();
    assert!(matches!(e, Error::File(_)), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/text"), "{e}");
}

/// The section `id` of the page, from its opening tag to the next `</section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

/// A data dir and score file for `sample_report`'s utterances: speakers a (a1, a2), b (b1, b2),
/// c (c1); 100 frames each; a local wav for a2 and b2, a pipe for c1.
fn details_fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("utt2spk"), "a1 a\na2 a\nb1 b\nb2 b\nc1 c\n").unwrap();
    std::fs::write(
        data.join("utt2num_frames"),
        "a1 100\na2 100\nb1 100\nb2 100\nc1 100\n",
    )
    .unwrap();
    std::fs::write(dir.join("a2.wav"), b"RIFF").unwrap();
    std::fs::write(dir.join("b 2.wav"), b"RIFF").unwrap();
    std::fs::write(
        data.join("wav.scp"),
        format!(
            "a1 {0}/missing.wav\na2 {0}/a2.wav\nb1 {0}/a2.wav:44\nb2 {0}/b 2.wav\nc1 sox x.wav -t wav - |\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        data.join("frontend"),
        "compute-mfcc-feats --x=1 | apply-cmvn | add-deltas\n",
    )
    .unwrap();
    // a2 (ref 1, hyp 2): 2 wins by 50 over the reference 1 (runner-up); b2 (ref 2, <unk>): 1 wins
    // by 10 over o, the reference 2 is 200 behind.
    let scores = dir.join("scores.tsv");
    std::fs::write(
        &scores,
        "utt\t1\t2\to\na1\t-100\t-200\t-300\na2\t-250\t-200\t-400\n\
         b1\t-300\t-100\t-200\nb2\t-100\t-300\t-110\n",
    )
    .unwrap();
    (data, scores)
}

fn full_report(dir: &Path) -> String {
    let (data, scores) = details_fixture(dir);
    let r = dir.join("text");
    let h = dir.join("hyp.txt");
    std::fs::write(&r, "a1 1\na2 1\nb1 2\nb2 2\nc1 o\n").unwrap();
    std::fs::write(&h, "a1 1\na2 2\nb1 2\nb2 <unk>\n").unwrap();
    let mut c = curves();
    c.final_loglikes.insert("1".into(), -62.9);
    c.final_loglikes.insert("2".into(), -63.8);
    let report = dir.join("report.html");
    compute_accuracy(
        &r,
        &h,
        &ComputeAccuracyOptions {
            report: Some(report.clone()),
            curves: Some(c),
            command: "cmd".into(),
            data: Some(data),
            scores: Some(scores),
            setting: vec![
                ("options".into(), "num-gauss 5 covariance full".into()),
                (
                    "front-end".into(),
                    "compute-mfcc-feats --num-ceps=13 | <cmvn>".into(),
                ),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    std::fs::read_to_string(report).unwrap()
}

#[test]
fn report_shows_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let html = full_report(dir.path());
    let s = section(&html, "setting");
    assert!(
        s.contains("<td>options</td><td class=\"mono\">num-gauss 5 covariance full</td>"),
        "{s}"
    );
    assert!(
        s.contains("compute-mfcc-feats --num-ceps=13 | &lt;cmvn&gt;"),
        "escaped: {s}"
    );
    // The data dir's own record of its features.
    assert!(
        s.contains("compute-mfcc-feats --x=1 | apply-cmvn | add-deltas"),
        "{s}"
    );
    // Without a setting, no section.
    assert!(!html_with_curves().contains("id=\"setting\""));
}

#[test]
fn report_has_a_per_speaker_table() {
    let dir = tempfile::tempdir().unwrap();
    let html = full_report(dir.path());
    let s = section(&html, "per-speaker");
    // 3 errors: a2, b2, c1 (missing); one per speaker, so the most is 1 of 3.
    assert!(s.contains("3 speakers; 3 of them with errors."), "{s}");
    assert!(
        s.contains("1 of the 3 errors come from speaker <b>a</b>"),
        "{s}"
    );
    // speaker, accuracy, bar, correct, utterances, errors, share
    assert!(
        s.contains("<td class=\"mono\">a</td><td class=\"num low\">0.5000</td>"),
        "{s}"
    );
    assert!(s.contains("<td class=\"num\">1</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">33.3%</td>"), "{s}");
    assert!(
        s.contains("<td class=\"mono\">c</td><td class=\"num low\">0.0000</td>"),
        "{s}"
    );
    assert!(
        s.contains("<details><summary>all 3 speakers</summary>"),
        "{s}"
    );
    assert!(!html_with_curves().contains("id=\"per-speaker\""));
}

#[test]
fn per_speaker_counts_one_voice() {
    use cepstra_score::SpeakerAccuracy;
    // 12 of 14 errors from one voice, as in the synthetic corpus.
    let mut reference = Vec::new();
    let mut hypothesis = Vec::new();
    let mut spk = std::collections::BTreeMap::new();
    for i in 0..40 {
        let (s, wrong) = if i < 20 {
            ("v1", i < 12)
        } else {
            ("v2", i < 22)
        };
        let u = format!("{s}_{i:02}");
        reference.push(UttLabel {
            utt: u.clone(),
            label: "1".into(),
        });
        hypothesis.push(UttLabel {
            utt: u.clone(),
            label: if wrong { "2" } else { "1" }.into(),
        });
        spk.insert(u, s.to_string());
    }
    let r = AccuracyReport::compute(&reference, &hypothesis).unwrap();
    let rows = SpeakerAccuracy::compute(&reference, &r, &spk);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].speaker.as_str(), rows[0].total, rows[0].correct),
        ("v1", 20, 8)
    );
    assert_eq!(
        (rows[1].speaker.as_str(), rows[1].total, rows[1].correct),
        ("v2", 20, 18)
    );
    let html = render_html(
        &r,
        &ReportContext {
            speakers: rows,
            ..Default::default()
        },
    );
    assert!(html.contains("12 of the 14 errors come from speaker <b>v1</b>"));
}

#[test]
fn errors_show_margin_closest_class_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let html = full_report(dir.path());
    let s = section(&html, "errors");
    assert!(
        s.contains("<th>closest other class</th><th class=\"num\">margin (per frame)</th>"),
        "{s}"
    );
    // a2: 2 (-200) wins over the reference 1 (-250): margin 50 / 100 frames; the runner-up is the reference.
    let a2 = s.lines().find(|l| l.contains(">a2<")).unwrap();
    assert!(
        a2.contains("<td class=\"mono\">a</td><td>1</td><td class=\"hyp\">2</td>"),
        "{a2}"
    );
    assert!(a2.contains("<td><b>1</b> (the reference)</td><td class=\"num\">0.500</td><td class=\"num\">0.500</td>"), "{a2}");
    // b2: rejected; 1 (-100) wins, o (-110) is closest, the reference 2 is 200 behind.
    let b2 = s.lines().find(|l| l.contains(">b2<")).unwrap();
    assert!(
        b2.contains("<td>o</td><td class=\"num\">0.100</td><td class=\"num\">2.000</td>"),
        "{b2}"
    );
    // c1 has no scores (missing from the hypothesis).
    let c1 = s.lines().find(|l| l.contains(">c1<")).unwrap();
    assert!(
        c1.contains("<td>-</td><td class=\"num\">-</td><td class=\"num\">-</td>"),
        "{c1}"
    );
    // Audio: a local wav for a2 and b2 (space encoded); none for c1's pipe.
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        a2.contains(&format!(
            "<audio controls preload=\"none\" src=\"file://{}/a2.wav\">",
            canon.display()
        )),
        "{a2}"
    );
    assert!(b2.contains("/b%202.wav\">"), "{b2}");
    assert!(!c1.contains("<audio"), "{c1}");
    assert_eq!(html.matches("<audio").count(), 2);
    // Every src is a local audio file: the page loads nothing else.
    assert_eq!(
        html.matches(" src=").count(),
        html.matches("<audio").count()
    );
    assert_eq!(html.matches(" src=\"file:///").count(), 2);
}

#[test]
fn curve_caption_says_what_point_0_is_and_plots_the_final_model() {
    let dir = tempfile::tempdir().unwrap();
    let html = full_report(dir.path());
    let s = section(&html, "training");
    assert!(
        s.contains("Point 0 is the initial model (k-means, before any EM update)."),
        "{s}"
    );
    // 4 recorded points (0..3): the final model is point 4, ringed, for the two classes given.
    assert!(s.contains("Ringed, point 4: the final model"), "{s}");
    assert_eq!(s.matches("<circle class=\"final\"").count(), 2, "{s}");
    assert!(s.contains("1: final model -62.900"), "{s}");
    assert!(s.contains(">final model</text>"), "legend entry: {s}");
    // Without the final model's statistics the caption says it is not plotted.
    let s = html_with_curves();
    let s = section(&s, "training");
    assert!(
        s.contains("The final model (after update 4) is not plotted"),
        "{s}"
    );
    assert!(!s.contains("class=\"final\""));
}

#[test]
fn final_point_extends_the_axes() {
    let mut c = curves();
    c.final_loglikes.insert("o".into(), -50.0);
    let svg = cepstra_score::training_curves_svg(&c);
    // x runs to 4 (the final model) and y up to -50.
    assert!(svg.contains(">4</text>"), "{svg}");
    assert!(svg.contains(">−50</text>"), "{svg}");
}

#[test]
fn seeds_summary_page() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("text"), "u1 1\nu2 2\nu3 o\nu4 o\n").unwrap();
    let mut hyps = Vec::new();
    for (s, hyp) in [
        ("s0", "u1 1\nu2 1\nu3 o\nu4 o\n"),
        ("s1", "u1 1\nu2 1\nu3 2\nu4 o\n"),
        ("s2", "u1 1\nu2 2\nu3 o\nu4 o\n"),
    ] {
        std::fs::create_dir_all(p(s).join("score")).unwrap();
        std::fs::write(p(s).join("score/hyp.txt"), hyp).unwrap();
        if s != "s2" {
            std::fs::write(p(s).join("score/report.html"), "x").unwrap();
        }
        hyps.push(p(s).join("score/hyp.txt"));
    }
    std::fs::create_dir(p("seeds")).unwrap();
    let out = compute_accuracy_runs(
        &p("text"),
        &hyps,
        &ComputeAccuracyOptions {
            report: Some(p("seeds/report.html")),
            setting: vec![("options".into(), "K=5".into())],
            ..Default::default()
        },
    )
    .unwrap();
    // 0.75, 0.5, 1.0: mean 0.75, sample sd 0.25.
    assert_eq!(
        out.last().unwrap(),
        "accuracy 0.7500 ± 0.2500 over 3 seeds (min 0.5000, max 1.0000)"
    );
    assert_eq!(out.len(), 4);
    let html = std::fs::read_to_string(p("seeds/report.html")).unwrap();
    assert!(html.contains("accuracy 0.7500 ± 0.2500 over 3 seeds"));
    let runs = section(&html, "runs");
    assert!(
        runs.contains("<a href=\"../s0/score/report.html\">"),
        "{runs}"
    );
    assert!(
        runs.contains("<a href=\"../s1/score/report.html\">"),
        "{runs}"
    );
    assert_eq!(
        runs.matches("<a href").count(),
        2,
        "s2 has no report: {runs}"
    );
    let errs = section(&html, "errors-seeds");
    // u2 is wrong in two runs (hyp 1 both times), u3 in one.
    assert!(errs.contains("(2 distinct)"), "{errs}");
    let first = errs.lines().find(|l| l.starts_with("<tr><td")).unwrap();
    assert!(
        first.contains(">u2<") && first.contains("2 of 3") && first.contains("1 ×2"),
        "{first}"
    );
    let classes = section(&html, "per-class-seeds");
    // class 2: recall 0, 0, 1 → mean 0.3333
    assert!(
        classes.contains("<td>2</td><td class=\"num low\">0.3333</td>"),
        "{classes}"
    );
    assert!(section(&html, "setting").contains("K=5"));
    // Per-run options are refused.
    let e = compute_accuracy_runs(
        &p("text"),
        &hyps,
        &ComputeAccuracyOptions {
            acc_out: Some(p("acc")),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("--acc-out"), "{e}");
    assert!(compute_accuracy_runs(&p("text"), &hyps[..1], &Default::default()).is_err());
}

#[test]
fn bad_details_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (data, scores) = details_fixture(dir.path());
    std::fs::write(data.join("utt2num_frames"), "a1 100\na2 many\n").unwrap();
    let r = dir.path().join("text");
    let h = dir.path().join("hyp.txt");
    std::fs::write(&r, "a1 1\n").unwrap();
    std::fs::write(&h, "a1 1\n").unwrap();
    let opts = ComputeAccuracyOptions {
        report: Some(dir.path().join("report.html")),
        data: Some(data.clone()),
        scores: Some(scores.clone()),
        ..Default::default()
    };
    let e = compute_accuracy(&r, &h, &opts).unwrap_err();
    assert!(
        e.to_string()
            .contains("utt2num_frames:2: 'many' is not a number of frames"),
        "{e}"
    );
    assert!(!dir.path().join("report.html").exists());
    std::fs::write(data.join("utt2num_frames"), "a1 100\n").unwrap();
    std::fs::write(&scores, "utt\t1\t2\na1\t-1\n").unwrap();
    let e = compute_accuracy(&r, &h, &opts).unwrap_err();
    assert!(
        e.to_string()
            .contains("scores.tsv:2: 1 scores for the 2 classes"),
        "{e}"
    );
    assert!(!dir.path().join("report.html").exists());
}

#[test]
fn scores_already_per_frame_are_not_divided_again() {
    let dir = tempfile::tempdir().unwrap();
    let (data, scores) = details_fixture(dir.path());
    let r = dir.path().join("text");
    let h = dir.path().join("hyp.txt");
    std::fs::write(&r, "a2 1\n").unwrap();
    std::fs::write(&h, "a2 2\n").unwrap();
    let report = dir.path().join("report.html");
    compute_accuracy(
        &r,
        &h,
        &ComputeAccuracyOptions {
            report: Some(report.clone()),
            data: Some(data),
            scores: Some(scores),
            scores_per_frame: true,
            ..Default::default()
        },
    )
    .unwrap();
    let html = std::fs::read_to_string(report).unwrap();
    let s = section(&html, "errors");
    // a2: 2 (-200) over 1 (-250): 50 per frame as given, not 50 / 100 frames.
    assert!(s.contains("margin (per frame)"), "{s}");
    assert!(s.contains("<td class=\"num\">50.000</td>"), "{s}");
}

// ---------------------------------------------------------------- HMM sets

/// The sample report's errors (a2: 1 → 2, b2: 2 → <unk>, c1: o missing) with features and
/// state sequences for a2 and b2.
fn hmm_fixture() -> (AccuracyReport, ReportContext) {
    use cepstra_score::{HmmDetails, StateDurations, UttDetails};
    let reference = t(&[
        ("a1", "1"),
        ("a2", "1"),
        ("b1", "2"),
        ("b2", "2"),
        ("c1", "o"),
    ]);
    let report = sample_report();
    let mut hmm = HmmDetails::default();
    for (utt, frames) in [("a2", 12), ("b2", 9)] {
        let f = ndarray::Array2::from_shape_fn((frames, 4), |(i, d)| ((i * 7 + d * 3) % 5) as f32);
        hmm.feats.insert(utt.into(), f);
    }
    let states = |v: &[usize]| v.to_vec();
    // references: a1 and a2 of word 1 (3 states), b1 and b2 of word 2 (2 states)
    hmm.ref_states
        .insert("a1".into(), states(&[0, 0, 1, 2, 2, 2]));
    hmm.ref_states
        .insert("a2".into(), states(&[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]));
    hmm.ref_states.insert("b1".into(), states(&[0, 1, 1, 1]));
    hmm.ref_states
        .insert("b2".into(), states(&[0, 0, 0, 0, 0, 1, 1, 1, 1]));
    // a2 recognised as 2 (2 states); b2 has no path in its hypothesis (<unk>)
    hmm.hyp_states
        .insert("a2".into(), states(&[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]));
    hmm.durations = StateDurations::from_alignments(&reference, &hmm.ref_states);
    let ctx = ReportContext {
        title: "hmm run".into(),
        command: "cepstra compute-accuracy --models final.mdl ref hyp".into(),
        date: "2026-01-01 00:00:00 UTC".into(),
        details: UttDetails {
            hmm: Some(hmm),
            ..Default::default()
        },
        ..Default::default()
    };
    (report, ctx)
}

#[test]
fn hmm_report_draws_every_error_with_both_words_state_boundaries() {
    let (report, ctx) = hmm_fixture();
    let html = render_html(&report, &ctx);
    let ali = section(&html, "alignments");
    // one figure per error (a2, b2, c1), in the error list's order
    assert_eq!(
        ali.matches("<figure class=\"alignment\"").count(),
        3,
        "{ali}"
    );
    let a2 = &ali[ali.find("id=\"ali-a2\"").unwrap()..ali.find("id=\"ali-b2\"").unwrap()];
    assert!(
        a2.contains("reference <b>1</b>, recognised <b class=\"hyp\">2</b>"),
        "{a2}"
    );
    assert!(a2.contains("<svg class=\"alignment\""), "{a2}");
    // reference 1: states 0,0,0,0 | 1,1,1,1 | 2,2,2,2 → boundaries at frames 4 and 8
    assert_eq!(a2.matches("class=\"ref-boundary\"").count(), 2, "{a2}");
    // recognised 2: 0×6 | 1×6 → one boundary at frame 6
    assert_eq!(a2.matches("class=\"hyp-boundary\"").count(), 1, "{a2}");
    assert_eq!(a2.matches("class=\"ref-state\"").count(), 3);
    assert_eq!(a2.matches("class=\"hyp-state\"").count(), 2);
    // the boundaries sit at their frames: 12 frames over 720 px → 8 px per frame (clamped), left 96
    for x in [96 + 4 * 8, 96 + 8 * 8] {
        assert!(
            a2.contains(&format!("class=\"ref-boundary\" x1=\"{x}.0\"")),
            "ref boundary at x={x}: {a2}"
        );
    }
    assert!(
        a2.contains(&format!("class=\"hyp-boundary\" x1=\"{}.0\"", 96 + 6 * 8)),
        "{a2}"
    );
    // the heat-map: grey cells, 12 frames × 4 dims, every cell drawn once
    assert_eq!(a2.matches("h8.00v").count(), 48, "{a2}");
    // b2: its hypothesis has no path; c1: no features
    let b2 = &ali[ali.find("id=\"ali-b2\"").unwrap()..ali.find("id=\"ali-c1\"").unwrap()];
    assert!(b2.contains("class=\"hyp-none\""), "{b2}");
    assert_eq!(b2.matches("class=\"ref-boundary\"").count(), 1);
    assert_eq!(b2.matches("class=\"hyp-boundary\"").count(), 0);
    let c1 = &ali[ali.find("id=\"ali-c1\"").unwrap()..];
    assert!(c1.contains("No features for this utterance."), "{c1}");
    // still self-contained: no scripts, nothing fetched (the only URLs are the SVG namespace)
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http")
    );
}

#[test]
fn hmm_report_has_a_per_state_duration_table_per_word() {
    let (report, ctx) = hmm_fixture();
    let html = render_html(&report, &ctx);
    let d = section(&html, "durations");
    assert!(d.contains("<th class=\"num\">state 3</th>"), "{d}");
    assert!(!d.contains("state 4"), "{d}");
    // word 1: a1 (2,1,3) and a2 (4,4,4): means 3.0, 2.5, 3.5; min–max 2–4, 1–4, 3–4; 9.0 frames
    let row1 = d.lines().find(|l| l.starts_with("<tr><td>1</td>")).unwrap();
    assert!(
        row1.contains("<td class=\"num\">2</td><td class=\"num\">9.0</td>"),
        "{row1}"
    );
    for (mean, lo, hi) in [("3.0", 2, 4), ("2.5", 1, 4), ("3.5", 3, 4)] {
        assert!(
            row1.contains(&format!(
                "{mean}<br><span class=\"note\">{lo}&ndash;{hi}</span>"
            )),
            "{row1}"
        );
    }
    // word 2 has two states: the third column is empty
    let row2 = d.lines().find(|l| l.starts_with("<tr><td>2</td>")).unwrap();
    assert!(
        row2.contains("3.0<br><span class=\"note\">1&ndash;5</span>"),
        "{row2}"
    );
    assert!(row2.ends_with("<td></td></tr>"), "{row2}");
    // word o has no alignment: no row
    assert!(!d.contains("<tr><td>o</td>"), "{d}");
}

#[test]
fn gmm_report_has_no_hmm_sections() {
    let html = html_with_curves();
    assert!(!html.contains("id=\"alignments\"") && !html.contains("id=\"durations\""));
}

#[test]
fn compute_accuracy_passes_the_hmm_details_to_the_report() {
    let (_, ctx) = hmm_fixture();
    let dir = tempfile::tempdir().unwrap();
    let (r, h) = (dir.path().join("text"), dir.path().join("hyp.txt"));
    std::fs::write(&r, "a1 1\na2 1\nb1 2\nb2 2\nc1 o\n").unwrap();
    std::fs::write(&h, "a1 1\na2 2\nb1 2\nb2 <unk>\n").unwrap();
    let opts = ComputeAccuracyOptions {
        report: Some(dir.path().join("report.html")),
        hmm: ctx.details.hmm.clone(),
        ..Default::default()
    };
    compute_accuracy(&r, &h, &opts).unwrap();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(
        section(&html, "alignments")
            .matches("<svg class=\"alignment\"")
            .count(),
        2
    );
    assert!(section(&html, "durations").contains("<tr><td>2</td>"));
}
