//! Hand-written SVG for the HTML report: the confusion heat-map and the training curves.
//!
//! Written by hand rather than with `plotters`: both plots are a few dozen elements, the output
//! must be deterministic text inlined in a page with no external resources, and the heat-map
//! needs per-cell counts, tooltips and error outlines that are simpler to emit directly.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::accuracy::{ConfusionMatrix, MISSING_COLUMN};

/// Training log-likelihood curves, one per class, for the report's line chart.
///
/// `per_class[label][i]` is the average log-likelihood per frame after EM iteration
/// `first_iteration + i` (non-finite values are left out of the line).
///
/// ```
/// use cepstra_score::TrainingCurves;
/// let mut curves = TrainingCurves::default();
/// curves.per_class.insert("1".into(), vec![-62.0, -60.5, -60.1]);
/// curves.per_class.insert("2".into(), vec![-64.2, -61.0, -60.7]);
/// assert!(cepstra_score::training_curves_svg(&curves).contains("EM iteration"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingCurves {
    /// The EM iteration number of the first value of each curve (0 = after initialisation).
    pub first_iteration: usize,
    /// Class label → average log-likelihood per frame, one value per iteration.
    pub per_class: BTreeMap<String, Vec<f64>>,
    /// Class label → the final model's average log-likelihood per frame (after the last update,
    /// which `per_class` does not hold: it records the models before each update). Plotted as a
    /// ringed last point of the class's line; empty: not known.
    #[serde(default)]
    pub final_loglikes: BTreeMap<String, f64>,
}

impl TrainingCurves {
    /// The values plotted for `label`: its curve, then its final model's value if known.
    fn series(&self, label: &str) -> Vec<f64> {
        let mut v = self.per_class.get(label).cloned().unwrap_or_default();
        if let Some(&f) = self.final_loglikes.get(label) {
            v.push(f);
        }
        v
    }
}

/// Escapes text for HTML/SVG content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// ColorBrewer "Blues", light to dark.
const BLUES: [(u8, u8, u8); 9] = [
    (0xf7, 0xfb, 0xff),
    (0xde, 0xeb, 0xf7),
    (0xc6, 0xdb, 0xef),
    (0x9e, 0xca, 0xe1),
    (0x6b, 0xae, 0xd6),
    (0x42, 0x92, 0xc6),
    (0x21, 0x71, 0xb5),
    (0x08, 0x51, 0x9c),
    (0x08, 0x30, 0x6b),
];

fn blues(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (BLUES.len() - 1) as f64;
    let i = (x.floor() as usize).min(BLUES.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(a.0, b.0),
        lerp(a.1, b.1),
        lerp(a.2, b.2)
    )
}

/// Series colours (matplotlib's tab10 plus two), cycled with dash patterns beyond twelve classes.
const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a",
];
const DASHES: [&str; 3] = ["", "6 3", "2 3"];

const ERROR_RED: &str = "#d62728";

/// Approximate width in pixels of `s` at `font_px` in a sans-serif face.
fn text_width(s: &str, font_px: f64) -> f64 {
    s.chars().count() as f64 * font_px * 0.62
}

/// The confusion heat-map: rows = reference ("reference" axis, left), columns = hypothesis
/// ("hypothesis" axis, below), each cell coloured by its share of the reference class and
/// labelled with its count; off-diagonal non-zero cells are outlined in red; a colour scale on
/// the right. A `(missing)` column is added when reference utterances had no hypothesis.
pub fn confusion_svg(cm: &ConfusionMatrix) -> String {
    let mut cols: Vec<&str> = cm.hypothesis_labels.iter().map(String::as_str).collect();
    if cm.has_missing() {
        cols.push(MISSING_COLUMN);
    }
    let (n, m) = (cm.reference_labels.len(), cols.len());
    let biggest = n.max(m).max(1) as f64;
    let cell = (420.0 / biggest).clamp(18.0, 44.0).floor();
    let count_font = (cell * 0.36).clamp(8.0, 14.0);
    let tick_font = 13.0;

    let row_tick_w = cm
        .reference_labels
        .iter()
        .map(|l| text_width(l, tick_font))
        .fold(0.0, f64::max);
    let col_tick_w = cols
        .iter()
        .map(|l| text_width(l, tick_font))
        .fold(0.0, f64::max);
    let rotate_cols = col_tick_w > cell - 4.0;
    let left = 34.0 + row_tick_w + 8.0;
    let top = 12.0;
    let (gw, gh) = (m as f64 * cell, n as f64 * cell);
    let col_tick_h = if rotate_cols {
        col_tick_w * 0.72 + 16.0
    } else {
        20.0
    };
    let bottom = col_tick_h + 34.0;
    let legend_x = left + gw + 28.0;
    let bar_w = 14.0;
    let bar_h = gh.max(140.0);
    let width = legend_x + bar_w + 44.0 + 24.0;
    let height = top + bar_h.max(gh) + bottom + 8.0;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="heatmap" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="cm-title" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif">"#
    );
    let _ = write!(
        s,
        r#"<title id="cm-title">Confusion matrix: rows reference, columns hypothesis</title>"#
    );
    let _ = write!(
        s,
        r#"<defs><linearGradient id="cm-scale" x1="0" y1="1" x2="0" y2="0">"#
    );
    for (i, _) in BLUES.iter().enumerate() {
        let t = i as f64 / (BLUES.len() - 1) as f64;
        let _ = write!(s, r#"<stop offset="{:.3}" stop-color="{}"/>"#, t, blues(t));
    }
    s.push_str("</linearGradient></defs>");

    // Cells.
    for (i, rlab) in cm.reference_labels.iter().enumerate() {
        let support: usize = cm.counts.row(i).sum() + cm.missing[i];
        for (j, clab) in cols.iter().enumerate() {
            let count = if j < cm.hypothesis_labels.len() {
                cm.counts[[i, j]]
            } else {
                cm.missing[i]
            };
            let frac = if support > 0 {
                count as f64 / support as f64
            } else {
                0.0
            };
            let (x, y) = (left + j as f64 * cell, top + i as f64 * cell);
            let _ = write!(
                s,
                r##"<g><title>reference {} → hypothesis {}: {} of {} ({:.1}%)</title><rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
                esc(rlab),
                esc(clab),
                count,
                support,
                100.0 * frac,
                blues(frac)
            );
            if i != j && count > 0 {
                let _ = write!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="{ERROR_RED}" stroke-width="2"/>"#,
                    x + 1.5,
                    y + 1.5,
                    cell - 3.0,
                    cell - 3.0
                );
            }
            let colour = if count == 0 {
                "#b8c2cc"
            } else if frac > 0.55 {
                "#ffffff"
            } else {
                "#1a1a1a"
            };
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="{count_font:.0}" text-anchor="middle" dominant-baseline="central" fill="{colour}">{count}</text></g>"#,
                x + cell / 2.0,
                y + cell / 2.0
            );
        }
    }
    // Grid frame.
    let _ = write!(
        s,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{gw:.1}" height="{gh:.1}" fill="none" stroke="#5f6b77" stroke-width="1"/>"##
    );

    // Row ticks and axis title.
    for (i, rlab) in cm.reference_labels.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text class="tick" x="{:.1}" y="{:.1}" font-size="{tick_font:.0}" text-anchor="end" dominant-baseline="central" fill="#222">{}</text>"##,
            left - 6.0,
            top + (i as f64 + 0.5) * cell,
            esc(rlab)
        );
    }
    let _ = write!(
        s,
        r##"<text class="axis-label" x="14" y="{:.1}" font-size="14" font-weight="600" text-anchor="middle" transform="rotate(-90 14 {:.1})" fill="#222">reference</text>"##,
        top + gh / 2.0,
        top + gh / 2.0
    );

    // Column ticks and axis title.
    for (j, clab) in cols.iter().enumerate() {
        let cx = left + (j as f64 + 0.5) * cell;
        let ty = top + gh + 14.0;
        if rotate_cols {
            let _ = write!(
                s,
                r##"<text class="tick" x="{cx:.1}" y="{ty:.1}" font-size="{tick_font:.0}" text-anchor="end" transform="rotate(-45 {cx:.1} {ty:.1})" fill="#222">{}</text>"##,
                esc(clab)
            );
        } else {
            let _ = write!(
                s,
                r##"<text class="tick" x="{cx:.1}" y="{ty:.1}" font-size="{tick_font:.0}" text-anchor="middle" dominant-baseline="hanging" fill="#222">{}</text>"##,
                esc(clab)
            );
        }
    }
    let _ = write!(
        s,
        r##"<text class="axis-label" x="{:.1}" y="{:.1}" font-size="14" font-weight="600" text-anchor="middle" fill="#222">hypothesis</text>"##,
        left + gw / 2.0,
        top + gh + col_tick_h + 22.0
    );

    // Colour scale legend.
    let _ = write!(
        s,
        r##"<g class="legend"><rect x="{legend_x:.1}" y="{top:.1}" width="{bar_w:.1}" height="{bar_h:.1}" fill="url(#cm-scale)" stroke="#5f6b77" stroke-width="0.5"/>"##
    );
    for k in 0..=4 {
        let t = k as f64 / 4.0;
        let y = top + bar_h * (1.0 - t);
        let _ = write!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#5f6b77"/><text x="{:.1}" y="{y:.1}" font-size="11" dominant-baseline="central" fill="#222">{:.0}%</text>"##,
            legend_x + bar_w,
            legend_x + bar_w + 4.0,
            legend_x + bar_w + 6.0,
            t * 100.0
        );
    }
    let lx = legend_x + bar_w + 50.0;
    let ly = top + bar_h / 2.0;
    let _ = write!(
        s,
        r##"<text x="{lx:.1}" y="{ly:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {lx:.1} {ly:.1})" fill="#444">share of reference class</text></g>"##
    );
    s.push_str("</svg>");
    s
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` intervals over `range`.
fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let mut v = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 && v.len() < 100 {
        v.push(k * step);
        k += 1.0;
    }
    v
}

fn decimals_for(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    }
}

/// The training curves as an SVG line chart: x = EM iteration, y = average log-likelihood per
/// frame, one line (colour, and dash pattern beyond twelve classes) per class, a legend on the
/// right, axis labels and grid lines. The final model's value, when known, is the line's last
/// point, drawn as a ring.
pub fn training_curves_svg(curves: &TrainingCurves) -> String {
    let n_classes = curves.per_class.len();
    let all: Vec<(&String, Vec<f64>)> = curves
        .per_class
        .keys()
        .map(|k| (k, curves.series(k)))
        .collect();
    let max_len = all.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let finite = || {
        all.iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| v.is_finite())
    };
    let (mut ymin, mut ymax) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !ymin.is_finite() {
        (ymin, ymax) = (0.0, 1.0);
    }
    if ymax - ymin < 1e-9 {
        (ymin, ymax) = (ymin - 0.5, ymax + 0.5);
    }
    let pad = 0.05 * (ymax - ymin);
    let ystep = nice_step(ymax - ymin + 2.0 * pad, 6.0);
    let (ylo, yhi) = (
        ((ymin - pad) / ystep).floor() * ystep,
        ((ymax + pad) / ystep).ceil() * ystep,
    );
    let x0 = curves.first_iteration as f64;
    let (xlo, xhi) = (x0, x0 + (max_len.max(2) - 1) as f64);
    let xstep = nice_step(xhi - xlo, 10.0).max(1.0).round();

    let tick_font = 12.0;
    let ydec = decimals_for(ystep);
    let ylab_w = ticks(ylo, yhi, ystep)
        .iter()
        .map(|v| text_width(&format!("{v:.ydec$}"), tick_font))
        .fold(0.0, f64::max);
    let left = 30.0 + ylab_w + 10.0;
    let top = 14.0;
    let pw = 540.0;
    let ph = (n_classes as f64 * 20.0 + 40.0).max(320.0);
    let bottom = 52.0;
    let legend_x = left + pw + 22.0;
    let legend_w = 40.0
        + curves
            .per_class
            .keys()
            .map(|k| text_width(k, 13.0))
            .fold(text_width("final model", 13.0), f64::max);
    let width = legend_x + legend_w + 10.0;
    let height = top + ph + bottom;
    let sx = |x: f64| left + (x - xlo) / (xhi - xlo) * pw;
    let sy = |y: f64| top + (yhi - y) / (yhi - ylo) * ph;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="curves" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="ll-title" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif">"#
    );
    s.push_str(r#"<title id="ll-title">Training log-likelihood per class by EM iteration</title>"#);
    let _ = write!(
        s,
        r##"<rect x="{left:.1}" y="{top:.1}" width="{pw:.1}" height="{ph:.1}" fill="#fbfcfd" stroke="none"/>"##
    );
    // Grid and ticks.
    for y in ticks(ylo, yhi, ystep) {
        let py = sy(y);
        let _ = write!(
            s,
            r##"<line x1="{left:.1}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e3e7eb"/><text class="tick" x="{:.1}" y="{py:.1}" font-size="{tick_font:.0}" text-anchor="end" dominant-baseline="central" fill="#222">{}</text>"##,
            left + pw,
            left - 6.0,
            format!("{y:.ydec$}").replace('-', "−")
        );
    }
    for x in ticks(xlo, xhi, xstep) {
        let px = sx(x);
        let _ = write!(
            s,
            r##"<line x1="{px:.1}" y1="{top:.1}" x2="{px:.1}" y2="{:.1}" stroke="#e3e7eb"/><text class="tick" x="{px:.1}" y="{:.1}" font-size="{tick_font:.0}" text-anchor="middle" dominant-baseline="hanging" fill="#222">{x:.0}</text>"##,
            top + ph,
            top + ph + 6.0
        );
    }
    // Axes.
    let _ = write!(
        s,
        r##"<path d="M{left:.1},{top:.1}V{:.1}H{:.1}" fill="none" stroke="#5f6b77" stroke-width="1"/>"##,
        top + ph,
        left + pw
    );
    let _ = write!(
        s,
        r##"<text class="axis-label" x="{:.1}" y="{:.1}" font-size="14" font-weight="600" text-anchor="middle" fill="#222">EM iteration</text>"##,
        left + pw / 2.0,
        top + ph + 40.0
    );
    let ay = top + ph / 2.0;
    let _ = write!(
        s,
        r##"<text class="axis-label" x="14" y="{ay:.1}" font-size="14" font-weight="600" text-anchor="middle" transform="rotate(-90 14 {ay:.1})" fill="#222">average log-likelihood per frame</text>"##
    );

    // Series.
    let markers = max_len <= 40;
    for (k, (label, values)) in all.iter().enumerate() {
        let has_final = curves.final_loglikes.contains_key(label.as_str());
        let colour = PALETTE[k % PALETTE.len()];
        let dash = DASHES[(k / PALETTE.len()) % DASHES.len()];
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(s, r#"<g class="series"><title>{}</title>"#, esc(label));
        // Split at non-finite values.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            if v.is_finite() {
                run.push((sx(x0 + i as f64), sy(v)));
            } else if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for r in &runs {
            if r.len() > 1 {
                let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr} stroke-linejoin="round"/>"#,
                    pts.join(" ")
                );
            }
            if markers || r.len() == 1 {
                for (x, y) in r {
                    let _ = write!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.8" fill="{colour}"/>"#
                    );
                }
            }
        }
        if has_final && values.last().is_some_and(|v| v.is_finite()) {
            let (fx, fy) = (
                sx(x0 + (values.len() - 1) as f64),
                sy(values[values.len() - 1]),
            );
            let _ = write!(
                s,
                r##"<circle class="final" cx="{fx:.1}" cy="{fy:.1}" r="5.5" fill="#ffffff" stroke="{colour}" stroke-width="2"><title>{}: final model {:.3}</title></circle>"##,
                esc(label),
                values[values.len() - 1]
            );
        }
        s.push_str("</g>");
    }

    // Legend.
    let _ = write!(
        s,
        r##"<g class="legend"><text x="{legend_x:.1}" y="{:.1}" font-size="13" font-weight="600" fill="#222">class</text>"##,
        top + 4.0
    );
    for (k, label) in curves.per_class.keys().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let dash = DASHES[(k / PALETTE.len()) % DASHES.len()];
        let y = top + 24.0 + k as f64 * 20.0;
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            s,
            r##"<line x1="{legend_x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"{dash_attr}/><circle cx="{:.1}" cy="{y:.1}" r="2.8" fill="{colour}"/><text x="{:.1}" y="{y:.1}" font-size="13" dominant-baseline="central" fill="#222">{}</text>"##,
            legend_x + 24.0,
            legend_x + 12.0,
            legend_x + 30.0,
            esc(label)
        );
    }
    if !curves.final_loglikes.is_empty() {
        let y = top + 24.0 + n_classes as f64 * 20.0 + 6.0;
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{y:.1}" r="5.5" fill="#ffffff" stroke="#5f6b77" stroke-width="2"/><text x="{:.1}" y="{y:.1}" font-size="13" dominant-baseline="central" fill="#222">final model</text>"##,
            legend_x + 12.0,
            legend_x + 30.0
        );
    }
    s.push_str("</g></svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<unk> & \"x\""), "&lt;unk&gt; &amp; &quot;x&quot;");
    }

    #[test]
    fn blues_ends() {
        assert_eq!(blues(0.0), "#f7fbff");
        assert_eq!(blues(1.0), "#08306b");
        assert_eq!(blues(f64::NAN), "#f7fbff");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(7.0, 6.0), 1.0);
        assert!((nice_step(0.3, 6.0) - 0.05).abs() < 1e-12);
        assert_eq!(ticks(-3.5, 1.0, 1.0), vec![-3.0, -2.0, -1.0, 0.0, 1.0]);
    }

    #[test]
    fn curves_svg_skips_non_finite_and_handles_empty() {
        let mut c = TrainingCurves::default();
        c.per_class
            .insert("a".into(), vec![-3.0, f64::NAN, -2.0, -1.5]);
        let svg = training_curves_svg(&c);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        // One isolated point, then a two-point line.
        assert_eq!(svg.matches("<polyline").count(), 1);
        let empty = training_curves_svg(&TrainingCurves::default());
        assert!(empty.starts_with("<svg") && empty.ends_with("</svg>"));
    }
}

/// One word's Viterbi path over an utterance, for [`alignment_svg`].
#[derive(Debug, Clone, Copy)]
pub struct StatePath<'a> {
    /// What the band is ("reference", "recognised").
    pub role: &'a str,
    /// The word.
    pub label: &'a str,
    /// The 0-based state of each frame; `None`: no path (e.g. the utterance was too short for
    /// the word's model).
    pub states: Option<&'a [usize]>,
}

/// Grey levels of the feature heat-map (light = low, dark = high).
const HEAT_LEVELS: usize = 16;

/// The runs of equal states: (first frame, frames, state).
fn state_runs(states: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (t, &s) in states.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.2 == s => r.1 += 1,
            _ => runs.push((t, 1, s)),
        }
    }
    runs
}

/// An utterance's features as an SVG heat-map (x = frame, y = feature dimension, the first at
/// the top; each dimension scaled to its own mean ± 2.5 standard deviations over the
/// utterance, light to dark), with the Viterbi state boundaries of the reference word (solid
/// blue lines, band above) and of the recognised word (dashed red lines, band below); each band
/// numbers the states (1-based) of its word. One `<path>` per grey level keeps the picture a
/// few dozen elements whatever the number of frames.
///
/// ```
/// use cepstra_score::{alignment_svg, StatePath};
/// let feats = ndarray::Array2::from_shape_fn((6, 3), |(t, d)| (t * d) as f32);
/// let svg = alignment_svg(
///     "u1",
///     feats.view(),
///     StatePath { role: "reference", label: "one", states: Some(&[0, 0, 1, 1, 2, 2]) },
///     StatePath { role: "recognised", label: "two", states: Some(&[0, 1, 1, 1, 1, 2]) },
/// );
/// assert_eq!(svg.matches("class=\"ref-boundary\"").count(), 2);
/// assert_eq!(svg.matches("class=\"hyp-boundary\"").count(), 2);
/// ```
pub fn alignment_svg(
    utt: &str,
    feats: ndarray::ArrayView2<'_, f32>,
    reference: StatePath<'_>,
    hypothesis: StatePath<'_>,
) -> String {
    let (t_len, dim) = feats.dim();
    let cw = (720.0 / t_len.max(1) as f64).clamp(1.0, 8.0);
    let ch = (180.0 / dim.max(1) as f64).clamp(2.0, 8.0).floor();
    let (left, top, band) = (96.0, 8.0, 18.0);
    let (gw, gh) = (t_len as f64 * cw, dim as f64 * ch);
    let map_top = top + band + 2.0;
    let hyp_top = map_top + gh + 2.0;
    let axis_y = hyp_top + band;
    let width = left + gw.max(120.0) + 16.0;
    let height = axis_y + 34.0;

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"alignment\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"system-ui, sans-serif\" font-size=\"11\" role=\"img\">\
         <title>{}: {} frames × {} dimensions; states of {} '{}' (above) and {} '{}' (below)</title>",
        esc(utt),
        t_len,
        dim,
        esc(reference.role),
        esc(reference.label),
        esc(hypothesis.role),
        esc(hypothesis.label)
    );
    // The heat-map: each dimension scaled by its own statistics over the utterance.
    let mut paths = vec![String::new(); HEAT_LEVELS];
    for d in 0..dim {
        let col = feats.column(d);
        let n = t_len.max(1) as f64;
        let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = col
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let sd = var.sqrt().max(1e-9);
        let y = map_top + d as f64 * ch;
        for (t, &v) in col.iter().enumerate() {
            let z = ((f64::from(v) - mean) / sd).clamp(-2.5, 2.5);
            let z = if z.is_finite() { z } else { 0.0 };
            let level = (((z + 2.5) / 5.0) * (HEAT_LEVELS - 1) as f64).round() as usize;
            let _ = write!(
                paths[level.min(HEAT_LEVELS - 1)],
                "M{:.1} {y:.0}h{cw:.2}v{ch:.0}h-{cw:.2}z",
                left + t as f64 * cw
            );
        }
    }
    for (level, p) in paths.iter().enumerate() {
        if p.is_empty() {
            continue;
        }
        let g = 245 - (level * 215 / (HEAT_LEVELS - 1)) as u8;
        let _ = write!(
            s,
            "<path class=\"cells\" fill=\"#{g:02x}{g:02x}{g:02x}\" d=\"{p}\"/>"
        );
    }
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"{map_top}\" width=\"{gw:.1}\" height=\"{gh}\" fill=\"none\" stroke=\"#888\"/>"
    );
    // The two bands and their boundaries.
    let bands = [
        (reference, top, "ref", "#2171b5", "", "#deebf7", "#c6dbef"),
        (
            hypothesis,
            hyp_top,
            "hyp",
            ERROR_RED,
            " stroke-dasharray=\"4 2\"",
            "#fde0dd",
            "#fcc5c0",
        ),
    ];
    for (path, y, class, colour, dash, fill_a, fill_b) in bands {
        let _ = write!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{colour}\">{} <tspan font-weight=\"600\">{}</tspan></text>",
            left - 6.0,
            y + band * 0.7,
            esc(path.role),
            esc(path.label)
        );
        let Some(states) = path.states.filter(|st| !st.is_empty()) else {
            let _ = write!(
                s,
                "<text class=\"{class}-none\" x=\"{:.0}\" y=\"{:.1}\" fill=\"#5b6670\">no path (shorter than the model's shortest path)</text>",
                left + 4.0,
                y + band * 0.7
            );
            continue;
        };
        for (i, &(t0, n, st)) in state_runs(states).iter().enumerate() {
            let x = left + t0 as f64 * cw;
            let w = n as f64 * cw;
            let fill = if i % 2 == 0 { fill_a } else { fill_b };
            let _ = write!(
                s,
                "<rect class=\"{class}-state\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{band}\" fill=\"{fill}\">\
                 <title>{} '{}': state {} frames {}-{}</title></rect>",
                esc(path.role),
                esc(path.label),
                st + 1,
                t0,
                t0 + n - 1
            );
            if w >= 10.0 {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{colour}\">{}</text>",
                    x + w / 2.0,
                    y + band * 0.7,
                    st + 1
                );
            }
            if t0 > 0 {
                let (y1, y2) = if class == "ref" {
                    (y, map_top + gh)
                } else {
                    (map_top, y + band)
                };
                let _ = write!(
                    s,
                    "<line class=\"{class}-boundary\" x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{y2:.1}\" \
                     stroke=\"{colour}\" stroke-width=\"1.5\"{dash}/>"
                );
            }
        }
    }
    // Frame axis.
    let step = nice_step(t_len.max(1) as f64, 8.0).max(1.0);
    for v in ticks(0.0, t_len as f64, step) {
        let x = left + v * cw;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{axis_y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#5b6670\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5b6670\">{v:.0}</text>",
            axis_y + 4.0,
            axis_y + 15.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5b6670\">frame</text>\
         <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#5b6670\">{} dims</text></svg>",
        left + gw / 2.0,
        axis_y + 29.0,
        left - 6.0,
        map_top + gh / 2.0,
        dim
    );
    s
}
