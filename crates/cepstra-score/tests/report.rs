//! End-to-end checks of `compute_accuracy` and the HTML report.

// Helpers outside #[test] functions panic on purpose: a failure here is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use cepstra_score::{
    compute_accuracy, render_html, AccuracyReport, ComputeAccuracyOptions, Error, ReportContext,
    TrainingCurves, UttLabel,
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
            title: String::new(),
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
