//! The self-contained HTML report of `compute-accuracy --report`.

use std::fmt::Write as _;
use std::path::Path;

use crate::accuracy::{AccuracyReport, MISSING_COLUMN};
use crate::details::{ErrorMargin, HmmDetails, SpeakerAccuracy, StateDurations, UttDetails};
use crate::error::Result;
use crate::svg::{
    alignment_svg, confusion_svg, esc, training_curves_svg, StatePath, TrainingCurves,
};

/// What the report shows besides the accuracy figures.
///
/// ```
/// use cepstra_score::{AccuracyReport, ReportContext, UttLabel};
/// let t = |u: &str, l: &str| UttLabel { utt: u.into(), label: l.into() };
/// let r = AccuracyReport::compute(&[t("a", "1"), t("b", "2")], &[t("a", "1"), t("b", "1")])?;
/// let ctx = ReportContext {
///     title: "tidigits test".into(),
///     command: "cepstra compute-accuracy data/test/text exp/mono/hyp.txt".into(),
///     date: cepstra_score::utc_now(),
///     ..Default::default()
/// };
/// let html = cepstra_score::render_html(&r, &ctx);
/// assert!(html.contains("<svg") && html.contains("%SER 50.00 [ 1 / 2 ]"));
/// # Ok::<(), cepstra_score::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportContext {
    /// Page title (e.g. the experiment directory).
    pub title: String,
    /// The command line that produced the report, shown verbatim.
    pub command: String,
    /// When the report was made, shown verbatim (see [`utc_now`]).
    pub date: String,
    /// Training log-likelihood curves, if a model set was given.
    pub curves: Option<TrainingCurves>,
    /// The setting, shown as a table: (what, value), e.g. the model options and the front-end
    /// (see [`model_setting`]).
    pub setting: Vec<(String, String)>,
    /// Per-speaker accuracy (see [`SpeakerAccuracy::compute`]); empty: no speaker table.
    pub speakers: Vec<SpeakerAccuracy>,
    /// Speakers, frame counts, wavs and classify's scores of the utterances, for the error table
    /// (margins, closest other class, audio players).
    pub details: UttDetails,
}

/// The setting of a model set as report rows: its summary, training options and recorded
/// front-end (the first lines of `gmm-info`), then each class's Gaussians, frames and final
/// log-likelihood.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_train::{ClassModel, ModelSet, TrainOptions};
/// let model = Gmm::from(DiagGmm::new(ndarray::array![1.0], ndarray::array![[0.0]], ndarray::array![[1.0]])?);
/// let class = ClassModel {
///     label: "7".into(), num_utts: 2, num_frames: 10, num_gauss_requested: 1,
///     loglikes: vec![-1.5], converged: false, overrides: Default::default(), selection: None, model,
/// };
/// let set = ModelSet::new(TrainOptions::default(), vec![class])?;
/// let rows = cepstra_score::model_setting(&set);
/// assert_eq!(rows[0].0, "model set");
/// assert!(rows.iter().any(|(k, v)| k == "front-end" && v.starts_with("not recorded")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn model_setting(set: &cepstra_train::ModelSet) -> Vec<(String, String)> {
    let info = set.info();
    let mut rows: Vec<(String, String)> = info
        .lines()
        .take_while(|l| !l.starts_with("class\t"))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let classes: Vec<String> = set
        .classes
        .iter()
        .map(|c| {
            format!(
                "{} (K={}, {} utts, {} frames)",
                c.label,
                c.model.num_gauss(),
                c.num_utts,
                c.num_frames
            )
        })
        .collect();
    rows.push(("classes".into(), classes.join("; ")));
    rows
}

const CSS: &str = r#"
:root { --ink:#1d2329; --muted:#5b6670; --line:#dde3e8; --accent:#2171b5; --bad:#c62828; --card:#f5f8fb; }
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 36px 40px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0 0 20px; font-size: 13px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.meta code { background: var(--card); padding: 2px 6px; border-radius: 4px; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 26px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px; min-width: 160px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 24px; font-weight: 650; }
.card .v.acc { color: var(--accent); font-size: 30px; }
.card .s { color: var(--muted); font-size: 13px; }
.warn { background: #fff6e5; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 12px; margin: 0 0 18px; font-size: 14px; }
.row { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; margin-bottom: 30px; }
section { margin-bottom: 30px; }
.row section { margin-bottom: 0; }
#confusion { width: min-content; }
.note { color: var(--muted); font-size: 14px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.avg td { font-weight: 600; border-top: 2px solid var(--line); }
td.bar { width: 90px; }
td.bar span { display: block; height: 8px; background: var(--accent); border-radius: 4px; opacity: .75; }
td.low { color: var(--bad); font-weight: 600; }
.errors td.hyp { color: var(--bad); }
.setting td:first-child { color: var(--muted); white-space: nowrap; vertical-align: top; }
.setting td { font-size: 13px; }
audio { height: 28px; width: 220px; vertical-align: middle; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 34px; }
figure.alignment { margin: 0 0 18px; overflow-x: auto; }
figure.alignment figcaption { margin-bottom: 4px; }
figure.alignment .hyp { color: var(--bad); }
"#;

/// Renders the whole report as one HTML page: no scripts, no external styles, fonts or images
/// (the plots are inline SVG), so it opens offline and in a sandboxed browser.
pub fn render_html(report: &AccuracyReport, ctx: &ReportContext) -> String {
    let mut h = page_head(ctx, "cepstra accuracy report");
    // Summary cards.
    let _ = writeln!(
        h,
        "<div class=\"cards\" id=\"summary\">\
         <div class=\"card\"><div class=\"k\">accuracy</div><div class=\"v acc\">{:.2}%</div><div class=\"s\">{} / {} correct</div></div>\
         <div class=\"card\"><div class=\"k\">sentence error rate</div><div class=\"v\">{:.2}%</div><div class=\"s mono\">{}</div></div>\
         <div class=\"card\"><div class=\"k\">classes</div><div class=\"v\">{}</div><div class=\"s\">{}</div></div>\
         <div class=\"card\"><div class=\"k\">errors</div><div class=\"v\">{}</div><div class=\"s\">{} missing from hypothesis</div></div>\
         </div>",
        100.0 * report.accuracy,
        report.correct,
        report.total,
        report.ser_percent(),
        esc(&report.ser_line()),
        report.classes.len(),
        extra_labels_note(report),
        report.num_errors(),
        report.missing_in_hyp.len()
    );
    if !report.missing_in_hyp.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"warn\">{} reference utterance(s) have no hypothesis; they count as errors: {}</p>",
            report.missing_in_hyp.len(),
            esc(&crate::accuracy::abbreviate(&report.missing_in_hyp, 20))
        );
    }
    if !report.extra_in_hyp.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"warn\">{} hypothesis utterance(s) are not in the reference and were ignored: {}</p>",
            report.extra_in_hyp.len(),
            esc(&crate::accuracy::abbreviate(&report.extra_in_hyp, 20))
        );
    }

    h.push_str(&setting_html(&ctx.setting));

    // Confusion matrix and per-class table side by side.
    h.push_str("<div class=\"row\">\n<section id=\"confusion\">\n<h2>Confusion matrix</h2>\n");
    h.push_str(&confusion_svg(&report.confusion));
    h.push_str(
        "\n<p class=\"note\">Rows: reference class; columns: hypothesis. Colour: share of the \
         reference class; red outline: misrecognised.</p>\n</section>\n",
    );
    h.push_str("<section id=\"per-class\">\n<h2>Per-class results</h2>\n");
    h.push_str(&class_table_html(report));
    h.push_str("</section>\n</div>\n");

    if !ctx.speakers.is_empty() {
        h.push_str(&speaker_table_html(report, &ctx.speakers));
    }

    // Training curves.
    h.push_str("<section id=\"training\">\n<h2>Training log-likelihood</h2>\n");
    match &ctx.curves {
        Some(c) if !c.per_class.is_empty() => {
            h.push_str(&training_curves_svg(c));
            let last = c.first_iteration + c.per_class.values().map(Vec::len).max().unwrap_or(0);
            let _ = writeln!(
                h,
                "\n<p class=\"note\" id=\"curve-caption\">Average log-likelihood per frame of each \
                 class's training data. {point0} Point <i>i</i> is the model after <i>i</i> EM \
                 updates. {final_note}</p>",
                point0 = if c.first_iteration == 0 {
                    "Point 0 is the initial model (k-means, before any EM update).".to_string()
                } else {
                    format!(
                        "Point {0} is the model after {0} EM updates (the first recorded).",
                        c.first_iteration
                    )
                },
                final_note = if c.final_loglikes.is_empty() {
                    format!(
                        "The final model (after update {last}) is not plotted: its likelihood needs \
                         one more pass over the training data (<code>--final-accs</code>)."
                    )
                } else {
                    format!(
                        "Ringed, point {last}: the final model (the one scored here), from one more \
                         pass over the training data."
                    )
                }
            );
        }
        _ => h.push_str(
            "<p class=\"note\">No model set given (<code>--models</code>): training curves \
             not shown.</p>\n",
        ),
    }
    h.push_str("</section>\n");

    // Errors.
    let _ = writeln!(
        h,
        "<section id=\"errors\">\n<h2>Errors ({})</h2>",
        report.errors.len()
    );
    if report.errors.is_empty() {
        h.push_str("<p class=\"note\">No errors.</p>\n");
    } else {
        h.push_str(&errors_table_html(report, &ctx.details));
    }
    h.push_str("</section>\n");
    if let Some(hmm) = &ctx.details.hmm {
        h.push_str(&alignments_html(report, hmm));
        h.push_str(&durations_html(&hmm.durations));
    }
    h.push_str(&page_foot());
    h
}

/// The page up to `<main>`'s title and meta line (the shared CSS, no scripts).
pub(crate) fn page_head(ctx: &ReportContext, default_title: &str) -> String {
    let mut h = String::with_capacity(32 * 1024);
    let title = if ctx.title.is_empty() {
        default_title
    } else {
        ctx.title.as_str()
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} &middot; <code>{}</code></p>",
        esc(&ctx.date),
        esc(&ctx.command)
    );
    h
}

/// The footer and the end of the page.
pub(crate) fn page_foot() -> String {
    format!(
        "<footer>Generated by cepstra-score {}.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The setting table (nothing when there are no rows).
pub(crate) fn setting_html(setting: &[(String, String)]) -> String {
    let mut h = String::new();
    if setting.is_empty() {
        return h;
    }
    h.push_str("<section id=\"setting\">\n<h2>Setting</h2>\n<table class=\"setting\">\n<tbody>\n");
    for (k, v) in setting {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(k),
            esc(v)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
    h
}

fn extra_labels_note(report: &AccuracyReport) -> String {
    let cm = &report.confusion;
    let extra = &cm.hypothesis_labels[cm.reference_labels.len()..];
    if extra.is_empty() {
        "no other hypothesis labels".to_string()
    } else {
        format!("hypothesis also used: {}", esc(&extra.join(" ")))
    }
}

fn class_table_html(report: &AccuracyReport) -> String {
    let mut h = String::from(
        "<table class=\"classes\">\n<thead><tr><th>class</th><th class=\"num\">precision</th>\
         <th class=\"num\">recall</th><th></th><th class=\"num\">F1</th><th class=\"num\">support</th></tr></thead>\n<tbody>\n",
    );
    for c in &report.classes {
        let low = |v: f64| if v < 0.9 { " low" } else { "" };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num{}\">{:.4}</td><td class=\"num{}\">{:.4}</td>\
             <td class=\"bar\"><span style=\"width:{:.1}%\"></span></td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td></tr>",
            esc(&c.label),
            low(c.precision),
            c.precision,
            low(c.recall),
            c.recall,
            100.0 * c.recall,
            c.f1,
            c.support
        );
    }
    let (p, r, f) = report.macro_average();
    let _ = writeln!(
        h,
        "<tr class=\"avg\"><td>macro avg</td><td class=\"num\">{p:.4}</td><td class=\"num\">{r:.4}</td>\
         <td></td><td class=\"num\">{f:.4}</td><td class=\"num\">{}</td></tr>",
        report.total
    );
    h.push_str("</tbody>\n</table>\n");
    h
}

fn speaker_table_html(report: &AccuracyReport, speakers: &[SpeakerAccuracy]) -> String {
    let n_err = report.num_errors();
    let with_errors: Vec<&SpeakerAccuracy> =
        speakers.iter().filter(|s| s.correct < s.total).collect();
    let mut h = String::from("<section id=\"per-speaker\">\n<h2>Per-speaker results</h2>\n");
    let worst = with_errors.first();
    let _ = writeln!(
        h,
        "<p class=\"note\">{} speakers; {} of them with errors.{}</p>",
        speakers.len(),
        with_errors.len(),
        match worst {
            Some(w) if n_err > 0 => format!(
                " {} of the {} errors come from speaker <b>{}</b>.",
                w.total - w.correct,
                n_err,
                esc(&w.speaker)
            ),
            _ => String::new(),
        }
    );
    let table = |rows: &[&SpeakerAccuracy]| {
        let mut t = String::from(
            "<table class=\"speakers\">\n<thead><tr><th>speaker</th><th class=\"num\">accuracy</th><th></th>\
             <th class=\"num\">correct</th><th class=\"num\">utterances</th><th class=\"num\">errors</th>\
             <th class=\"num\">share of all errors</th></tr></thead>\n<tbody>\n",
        );
        for s in rows {
            let errs = s.total - s.correct;
            let _ = writeln!(
                t,
                "<tr><td class=\"mono\">{}</td><td class=\"num{}\">{:.4}</td><td class=\"bar\"><span style=\"width:{:.1}%\"></span></td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td></tr>",
                esc(&s.speaker),
                if s.accuracy() < 0.9 { " low" } else { "" },
                s.accuracy(),
                100.0 * s.accuracy(),
                s.correct,
                s.total,
                errs,
                if n_err > 0 { 100.0 * errs as f64 / n_err as f64 } else { 0.0 }
            );
        }
        t.push_str("</tbody>\n</table>\n");
        t
    };
    if !with_errors.is_empty() {
        h.push_str(&table(&with_errors));
    }
    let all: Vec<&SpeakerAccuracy> = speakers.iter().collect();
    let _ = writeln!(
        h,
        "<details><summary>all {} speakers</summary>\n{}</details>",
        speakers.len(),
        table(&all)
    );
    h.push_str("</section>\n");
    h
}

fn errors_table_html(report: &AccuracyReport, d: &UttDetails) -> String {
    let has_spk = !d.speaker.is_empty();
    let has_audio = report.errors.iter().any(|e| d.wav.contains_key(&e.utt));
    // Scores already per frame (classify --normalize-per-frame) are shown as they are.
    let divide = !d.scores_per_frame && !d.num_frames.is_empty();
    let per_frame = divide || d.scores_per_frame;
    let mut h = String::from("<table class=\"errors\">\n<thead><tr><th>utterance</th>");
    if has_spk {
        h.push_str("<th>speaker</th>");
    }
    h.push_str("<th>reference</th><th>hypothesis</th>");
    if d.scores.is_some() {
        let unit = if per_frame {
            " (per frame)"
        } else {
            " (total)"
        };
        let _ = write!(
            h,
            "<th>closest other class</th><th class=\"num\">margin{unit}</th><th class=\"num\">reference behind by{unit}</th>"
        );
    }
    if has_audio {
        h.push_str("<th>audio</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for e in &report.errors {
        let _ = write!(h, "<tr><td class=\"mono\">{}</td>", esc(&e.utt));
        if has_spk {
            let _ = write!(
                h,
                "<td class=\"mono\">{}</td>",
                esc(d.speaker.get(&e.utt).map_or("", String::as_str))
            );
        }
        let _ = write!(
            h,
            "<td>{}</td><td class=\"hyp\">{}</td>",
            esc(&e.reference),
            esc(e.hypothesis.as_deref().unwrap_or(MISSING_COLUMN))
        );
        if let Some(scores) = &d.scores {
            let frames = d.num_frames.get(&e.utt).copied().filter(|&n| n > 0);
            let fmt = |v: f64| match (divide, frames) {
                (true, Some(n)) => format!("{:.3}", v / n as f64),
                (true, None) => "?".to_string(),
                (false, _) if per_frame => format!("{v:.3}"),
                (false, _) => format!("{v:.2}"),
            };
            match ErrorMargin::of(e, scores) {
                Some(m) => {
                    let runner = if m.runner_up == e.reference {
                        format!("<b>{}</b> (the reference)", esc(&m.runner_up))
                    } else {
                        esc(&m.runner_up)
                    };
                    let _ = write!(
                        h,
                        "<td>{runner}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                        fmt(m.margin),
                        m.behind.map_or("-".to_string(), fmt)
                    );
                }
                None => h.push_str("<td>-</td><td class=\"num\">-</td><td class=\"num\">-</td>"),
            }
        }
        if has_audio {
            match d.wav.get(&e.utt) {
                Some(w) => {
                    let _ = write!(
                        h,
                        "<td><audio controls preload=\"none\" src=\"{}\"></audio></td>",
                        esc(&file_url(w))
                    );
                }
                None => h.push_str("<td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    if d.scores.is_some() {
        h.push_str(
            "<p class=\"note\">Margin: the winning class's log-likelihood minus the closest other \
             class's; reference behind by: the winner's minus the reference class's.</p>\n",
        );
    }
    h
}

/// HMM sets: every error's features with the state boundaries of both words.
fn alignments_html(report: &AccuracyReport, hmm: &HmmDetails) -> String {
    let mut h = String::from(
        "<section id=\"alignments\">\n<h2>Errors: features and Viterbi state boundaries</h2>\n",
    );
    if report.errors.is_empty() {
        h.push_str("<p class=\"note\">No errors.</p>\n</section>\n");
        return h;
    }
    h.push_str(
        "<p class=\"note\">Each misrecognised utterance's features (frames left to right, one row \
         per dimension, each dimension scaled to its own mean &plusmn; 2.5 sd; dark = high) with the \
         best path of its reference word (solid blue lines, numbered states above) and of the \
         recognised word (dashed red lines, below).</p>\n",
    );
    for e in &report.errors {
        let hyp = e.hypothesis.as_deref().unwrap_or(MISSING_COLUMN);
        let _ = writeln!(
            h,
            "<figure class=\"alignment\" id=\"ali-{}\"><figcaption class=\"mono\">{} &middot; \
             reference <b>{}</b>, recognised <b class=\"hyp\">{}</b></figcaption>",
            esc(&e.utt),
            esc(&e.utt),
            esc(&e.reference),
            esc(hyp)
        );
        match hmm.feats.get(&e.utt) {
            Some(f) => h.push_str(&alignment_svg(
                &e.utt,
                f.view(),
                StatePath {
                    role: "reference",
                    label: &e.reference,
                    states: hmm.ref_states.get(&e.utt).map(Vec::as_slice),
                },
                StatePath {
                    role: "recognised",
                    label: hyp,
                    states: hmm.hyp_states.get(&e.utt).map(Vec::as_slice),
                },
            )),
            None => h.push_str("<p class=\"note\">No features for this utterance.</p>"),
        }
        h.push_str("</figure>\n");
    }
    h.push_str("</section>\n");
    h
}

/// HMM sets: the per-state duration table of each word (frames: mean, min–max).
fn durations_html(durations: &[StateDurations]) -> String {
    let mut h = String::from("<section id=\"durations\">\n<h2>Per-state durations</h2>\n");
    if durations.is_empty() {
        h.push_str("<p class=\"note\">No alignments.</p>\n</section>\n");
        return h;
    }
    let n = durations
        .iter()
        .map(|d| d.mean_frames.len())
        .max()
        .unwrap_or(0);
    h.push_str(
        "<p class=\"note\">Frames spent in each state on the best path of the reference word, over \
         the scored utterances of that word: mean, and min&ndash;max below.</p>\n\
         <table class=\"durations\">\n<thead><tr><th>word</th><th class=\"num\">utterances</th>\
         <th class=\"num\">frames</th>",
    );
    for j in 1..=n {
        let _ = write!(h, "<th class=\"num\">state {j}</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for d in durations {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td>",
            esc(&d.label),
            d.utterances,
            d.mean_frames.iter().sum::<f64>()
        );
        for j in 0..n {
            match d.mean_frames.get(j) {
                Some(m) => {
                    let _ = write!(
                        h,
                        "<td class=\"num\">{m:.1}<br><span class=\"note\">{}&ndash;{}</span></td>",
                        d.min_frames[j], d.max_frames[j]
                    );
                }
                None => h.push_str("<td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
    h
}

/// A `file://` URL for an absolute local path (bytes outside the unreserved set and `/`
/// percent-encoded).
fn file_url(p: &Path) -> String {
    let mut u = String::from("file://");
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            u.push(b as char);
        } else {
            let _ = write!(u, "%{b:02X}");
        }
    }
    u
}

/// Renders the report and writes it to `path` atomically (temporary file, then rename).
pub fn write_html_report(path: &Path, report: &AccuracyReport, ctx: &ReportContext) -> Result<()> {
    crate::fsutil::write_atomic(path, render_html(report, ctx).as_bytes())
}

/// The current time in UTC as `YYYY-MM-DD HH:MM:SS UTC` (no time-zone database needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        // 2000-02-29 12:34:56 UTC = 951827696 (leap day).
        assert_eq!(format_utc(951_827_696), "2000-02-29 12:34:56 UTC");
        // 2024-12-31 23:59:59 UTC = 1735689599.
        assert_eq!(format_utc(1_735_689_599), "2024-12-31 23:59:59 UTC");
    }

    #[test]
    fn file_urls_are_encoded() {
        assert_eq!(
            file_url(Path::new("/data/a b/#1.wav")),
            "file:///data/a%20b/%231.wav"
        );
    }
}
