//! The summary page of several runs of one setting (e.g. `run.sh --seeds 0,1,2,3,4`): the
//! accuracy of each run, mean ± sd, per-class recall across runs and the utterances that more
//! than one run gets wrong.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::accuracy::{AccuracyReport, MISSING_COLUMN};
use crate::report::{page_foot, page_head, setting_html, ReportContext};
use crate::svg::esc;

/// One run of the summary page.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    /// What the run is called on the page (e.g. its exp directory).
    pub name: String,
    /// Its accuracy figures.
    pub report: AccuracyReport,
    /// A link to its own report (relative to the summary page), if any.
    pub link: Option<String>,
}

/// Mean, sample standard deviation, min and max of the runs' accuracies.
///
/// ```
/// let (m, sd, lo, hi) = cepstra_score::accuracy_spread(&[0.9, 1.0]);
/// assert!((m - 0.95).abs() < 1e-12 && (sd - 0.0707).abs() < 1e-4 && lo == 0.9 && hi == 1.0);
/// ```
pub fn accuracy_spread(acc: &[f64]) -> (f64, f64, f64, f64) {
    let n = acc.len().max(1) as f64;
    let m = acc.iter().sum::<f64>() / n;
    let sd = if acc.len() > 1 {
        (acc.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let lo = acc.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = acc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (m, sd, lo, hi)
}

/// The result line of several runs, as `scripts/summarize_accuracy.sh` prints it:
/// `accuracy 0.9782 ± 0.0050 over 5 seeds (min 0.9727, max 0.9818)`.
pub fn seeds_line(runs: &[SeedRun]) -> String {
    let acc: Vec<f64> = runs.iter().map(|r| r.report.accuracy).collect();
    let (m, sd, lo, hi) = accuracy_spread(&acc);
    format!(
        "accuracy {m:.4} ± {sd:.4} over {} seeds (min {lo:.4}, max {hi:.4})",
        runs.len()
    )
}

/// Renders the summary page of `runs` (same reference, different seeds or settings): no
/// scripts, no external resources. `ctx.setting` is shown; the curves, speakers and details of
/// `ctx` are not used (each run's own report has them).
///
/// ```
/// use cepstra_score::{AccuracyReport, ReportContext, SeedRun, UttLabel};
/// let t = |u: &str, l: &str| UttLabel { utt: u.into(), label: l.into() };
/// let reference = [t("a", "1"), t("b", "2")];
/// let run = |name: &str, hb: &str| SeedRun {
///     name: name.into(),
///     report: AccuracyReport::compute(&reference, &[t("a", "1"), t("b", hb)]).unwrap(),
///     link: None,
/// };
/// let html = cepstra_score::render_seeds_html(&[run("s0", "2"), run("s1", "1")], &ReportContext::default());
/// assert!(html.contains("accuracy 0.7500 ± 0.3536 over 2 seeds (min 0.5000, max 1.0000)"));
/// ```
pub fn render_seeds_html(runs: &[SeedRun], ctx: &ReportContext) -> String {
    let mut h = page_head(ctx, "cepstra accuracy over seeds");
    let acc: Vec<f64> = runs.iter().map(|r| r.report.accuracy).collect();
    let (m, sd, lo, hi) = accuracy_spread(&acc);
    let total = runs.first().map_or(0, |r| r.report.total);
    let _ = writeln!(
        h,
        "<div class=\"cards\" id=\"summary\">\
         <div class=\"card\"><div class=\"k\">mean accuracy</div><div class=\"v acc\">{:.2}%</div><div class=\"s\">± {:.2} (sample sd)</div></div>\
         <div class=\"card\"><div class=\"k\">range</div><div class=\"v\">{:.2}–{:.2}%</div><div class=\"s\">min – max</div></div>\
         <div class=\"card\"><div class=\"k\">runs</div><div class=\"v\">{}</div><div class=\"s\">{} test utterances each</div></div>\
         </div>\n<p class=\"meta mono\" id=\"seeds-line\">{}</p>",
        100.0 * m,
        100.0 * sd,
        100.0 * lo,
        100.0 * hi,
        runs.len(),
        total,
        esc(&seeds_line(runs))
    );
    h.push_str(&setting_html(&ctx.setting));

    // One row per run.
    h.push_str(
        "<section id=\"runs\">\n<h2>Runs</h2>\n<table class=\"runs\">\n<thead><tr><th>run</th>\
         <th class=\"num\">accuracy</th><th></th><th class=\"num\">correct</th><th class=\"num\">errors</th>\
         <th>%SER</th></tr></thead>\n<tbody>\n",
    );
    for r in runs {
        let name = match &r.link {
            Some(l) => format!("<a href=\"{}\">{}</a>", esc(l), esc(&r.name)),
            None => esc(&r.name),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{name}</td><td class=\"num\">{:.4}</td><td class=\"bar\"><span style=\"width:{:.1}%\"></span></td>\
             <td class=\"num\">{} / {}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
            r.report.accuracy,
            100.0 * r.report.accuracy,
            r.report.correct,
            r.report.total,
            r.report.num_errors(),
            esc(&r.report.ser_line())
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");

    // Per-class recall over the runs.
    let mut recall: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in runs {
        for c in &r.report.classes {
            recall.entry(c.label.as_str()).or_default().push(c.recall);
        }
    }
    h.push_str(
        "<section id=\"per-class-seeds\">\n<h2>Per-class recall over the runs</h2>\n<table class=\"classes\">\n\
         <thead><tr><th>class</th><th class=\"num\">mean</th><th></th><th class=\"num\">sd</th>\
         <th class=\"num\">min</th><th class=\"num\">max</th></tr></thead>\n<tbody>\n",
    );
    for (label, v) in &recall {
        let (m, sd, lo, hi) = accuracy_spread(v);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num{}\">{m:.4}</td><td class=\"bar\"><span style=\"width:{:.1}%\"></span></td>\
             <td class=\"num\">{sd:.4}</td><td class=\"num\">{lo:.4}</td><td class=\"num\">{hi:.4}</td></tr>",
            esc(label),
            if m < 0.9 { " low" } else { "" },
            100.0 * m
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");

    // Utterances wrong in several runs: the hard ones, whatever the seed.
    let mut wrong: BTreeMap<&str, (&str, BTreeMap<&str, usize>)> = BTreeMap::new();
    for r in runs {
        for e in &r.report.errors {
            let w = wrong
                .entry(e.utt.as_str())
                .or_insert((e.reference.as_str(), BTreeMap::new()));
            *w.1.entry(e.hypothesis.as_deref().unwrap_or(MISSING_COLUMN))
                .or_default() += 1;
        }
    }
    let mut rows: Vec<(&str, &str, usize, String)> = wrong
        .iter()
        .map(|(u, (r, hyps))| {
            let n = hyps.values().sum();
            let hs: Vec<String> = hyps.iter().map(|(l, c)| format!("{l} ×{c}")).collect();
            (*u, *r, n, hs.join(", "))
        })
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let _ = writeln!(
        h,
        "<section id=\"errors-seeds\">\n<h2>Misrecognised utterances ({} distinct)</h2>\n\
         <p class=\"note\">Sorted by the number of runs that get the utterance wrong: at the top, \
         the errors no seed avoids.</p>",
        rows.len()
    );
    if rows.is_empty() {
        h.push_str("<p class=\"note\">No errors in any run.</p>\n");
    } else {
        h.push_str(
            "<table class=\"errors\">\n<thead><tr><th>utterance</th><th>reference</th>\
             <th class=\"num\">wrong in</th><th>hypotheses</th></tr></thead>\n<tbody>\n",
        );
        for (u, r, n, hs) in &rows {
            let _ = writeln!(
                h,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{n} of {}</td><td class=\"hyp\">{}</td></tr>",
                esc(u),
                esc(r),
                runs.len(),
                esc(hs)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
    h.push_str(&page_foot());
    h
}
