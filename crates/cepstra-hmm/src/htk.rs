//! HTK model definitions (text MMF, the HTK Book's "HMM definition language"), read and write.
//!
//! Written (one file for the whole set; numbers in the shortest form that reads back exactly):
//!
//! ```text
//! ~o
//! <STREAMINFO> 1 39
//! <VECSIZE> 39<NULLD><USER><DIAGC>        <FULLC> for full covariance
//! ~h "one"
//! <BEGINHMM>
//! <NUMSTATES> 10                          S + 2: HTK's entry (1) and exit (N) do not emit
//! <STATE> 2
//! <NUMMIXES> 4
//! <MIXTURE> 1 2.5e-1
//! <MEAN> 39
//!  ...
//! <VARIANCE> 39                           diagonal; full: <INVCOVAR> 39, the upper triangle
//!  ...                                    of the inverse covariance, row by row
//! <GCONST> 1.1e2                          ln((2π)^D |Σ|)
//! ...
//! <TRANSP> 10
//!  ...                                    N×N, the exit row zero
//! <ENDHMM>
//! ```
//!
//! The parameter kind is always `<USER>`: cepstra's features keep Kaldi's coefficient order
//! (C0 first), which is not HTK's `MFCC_0`, so the file does not claim an HTK kind.
//!
//! Read: keywords in any case, global options (`~o`, or `<VECSIZE>` and a parameter kind inside
//! a model, as in the HTK Book's first example), a `~v "varFloor1"` macro (skipped), `<NUMMIXES>`
//! optional (one mixture), `<GCONST>` ignored (recomputed), `<VARIANCE>` or `<INVCOVAR>`.
//! Anything else (tied-parameter macros `~s ~m ~u ~t` used inside models, streams, duration
//! vectors, discrete models) is an error naming the file and line. A model whose exit cannot be
//! reached (an hmmlearn-style model written with `--allow-any-end`) reads back as
//! `allow_any_end`.

use cepstra_gmm::{CovarianceType, Gmm};
use ndarray::{Array1, Array2, Array3};

use crate::error::{Error, Result};
use crate::model::Hmm;
use crate::options::HmmTrainOptions;
use crate::set::{HmmClass, HmmSet};

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Whether `bytes` start like an HTK MMF (`~o`, `~h`, `~v` or `<BEGINHMM>`), not JSON.
pub fn looks_like_mmf(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    rest.starts_with(b"~") || rest.len() >= 2 && rest[0] == b'<' && rest[1].is_ascii_alphabetic()
}

fn num(v: f64) -> String {
    format!("{v:e}")
}

fn push_vec(out: &mut String, v: impl Iterator<Item = f64>) {
    for x in v {
        out.push(' ');
        out.push_str(&num(x));
    }
    out.push('\n');
}

/// Lower triangle Cholesky factor of a symmetric positive definite matrix (`None` if not).
fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            if i == j {
                if !(s > 0.0) {
                    return None;
                }
                l[[i, i]] = s.sqrt();
            } else {
                l[[i, j]] = s / l[[j, j]];
            }
        }
    }
    Some(l)
}

/// The inverse of a symmetric positive definite matrix and ln of its determinant.
fn spd_inverse(a: &Array2<f64>) -> Option<(Array2<f64>, f64)> {
    let n = a.nrows();
    let l = cholesky(a)?;
    let logdet = 2.0 * l.diag().iter().map(|v| v.ln()).sum::<f64>();
    // L⁻¹ by forward substitution, then A⁻¹ = L⁻ᵀ L⁻¹.
    let mut li = Array2::<f64>::zeros((n, n));
    for c in 0..n {
        for i in c..n {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in c..i {
                s -= l[[i, k]] * li[[k, c]];
            }
            li[[i, c]] = s / l[[i, i]];
        }
    }
    Some((li.t().dot(&li), logdet))
}

/// One MMF text for `set` (see the [module docs](self)).
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_hmm::{htk, Hmm, HmmClass, HmmSet, HmmTrainOptions, Topology};
/// use ndarray::array;
/// let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m, 0.0]], array![[1.0, 2.0]]).unwrap());
/// let hmm = Hmm::left_to_right(vec![g(0.0), g(3.0)], Topology::Linear, 0.5, false)?;
/// let class = HmmClass { label: "yes".into(), overrides: Default::default(), num_utts: 0,
///                        num_frames: 0, num_skipped: 0,
///                        loglikes: vec![], global_var: vec![1.0, 2.0], hmm };
/// let set = HmmSet::new(HmmTrainOptions::default(), vec![class])?;
/// let text = htk::write_mmf(&set)?;
/// assert!(text.starts_with("~o\n<STREAMINFO> 1 2\n<VECSIZE> 2<NULLD><USER><DIAGC>\n~h \"yes\"\n"));
/// let back = htk::read_mmf(text.as_bytes(), "yes.mmf")?;
/// assert_eq!(htk::write_mmf(&back)?, text);
/// # Ok::<(), cepstra_hmm::Error>(())
/// ```
pub fn write_mmf(set: &HmmSet) -> Result<String> {
    let d = set.dim();
    let full = set
        .classes
        .first()
        .is_some_and(|c| c.hmm.covariance_type() == CovarianceType::Full);
    let mut out = format!(
        "~o\n<STREAMINFO> 1 {d}\n<VECSIZE> {d}<NULLD><USER><{}>\n",
        if full { "FULLC" } else { "DIAGC" }
    );
    for c in &set.classes {
        let hmm = &c.hmm;
        let n = hmm.num_states() + 2;
        out.push_str(&format!(
            "~h \"{}\"\n<BEGINHMM>\n<NUMSTATES> {n}\n",
            c.label
        ));
        for j in 0..hmm.num_states() {
            let g = hmm.state(j);
            out.push_str(&format!(
                "<STATE> {}\n<NUMMIXES> {}\n",
                j + 2,
                g.num_gauss()
            ));
            let covs = g.covars_full();
            for m in 0..g.num_gauss() {
                out.push_str(&format!("<MIXTURE> {} {}\n", m + 1, num(g.weights()[m])));
                out.push_str(&format!("<MEAN> {d}\n"));
                push_vec(&mut out, g.means().row(m).iter().copied());
                let cov = covs.index_axis(ndarray::Axis(0), m).to_owned();
                let (inv, logdet) = spd_inverse(&cov).ok_or_else(|| {
                    Error::InvalidModel(format!(
                        "class '{}', state {}, component {}: covariance not positive definite",
                        c.label,
                        j + 1,
                        m + 1
                    ))
                })?;
                if full {
                    out.push_str(&format!("<INVCOVAR> {d}\n"));
                    for i in 0..d {
                        push_vec(&mut out, (i..d).map(|k| inv[[i, k]]));
                    }
                } else {
                    out.push_str(&format!("<VARIANCE> {d}\n"));
                    push_vec(&mut out, (0..d).map(|i| cov[[i, i]]));
                }
                out.push_str(&format!("<GCONST> {}\n", num(d as f64 * LN_2PI + logdet)));
            }
        }
        out.push_str(&format!("<TRANSP> {n}\n"));
        for i in 0..n {
            push_vec(&mut out, hmm.trans().row(i).iter().copied());
        }
        out.push_str("<ENDHMM>\n");
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// `<KEYWORD>`, upper-cased.
    Key(String),
    /// `~x`.
    Macro(char),
    /// A quoted string or a bare word (numbers).
    Word(String),
}

fn lex(text: &str, path: &str) -> Result<Vec<(Tok, usize)>> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut it = text.chars().peekable();
    let bad = |line: usize, reason: String| Error::Mmf {
        path: path.to_string(),
        line,
        reason,
    };
    while let Some(&c) = it.peek() {
        if c == '\n' {
            line += 1;
            it.next();
        } else if c.is_whitespace() {
            it.next();
        } else if c == '<' {
            it.next();
            let mut k = String::new();
            loop {
                match it.next() {
                    Some('>') => break,
                    Some(ch) if !ch.is_whitespace() => k.push(ch.to_ascii_uppercase()),
                    _ => return Err(bad(line, format!("unterminated keyword <{k}"))),
                }
            }
            toks.push((Tok::Key(k), line));
        } else if c == '~' {
            it.next();
            match it.next() {
                Some(m) if m.is_ascii_alphabetic() => toks.push((Tok::Macro(m), line)),
                _ => return Err(bad(line, "'~' must be followed by a macro letter".into())),
            }
        } else if c == '"' {
            it.next();
            let mut w = String::new();
            loop {
                match it.next() {
                    Some('"') => break,
                    Some('\n') | None => {
                        return Err(bad(line, format!("unterminated string \"{w}")))
                    }
                    Some(ch) => w.push(ch),
                }
            }
            toks.push((Tok::Word(w), line));
        } else {
            let mut w = String::new();
            while let Some(&ch) = it.peek() {
                if ch.is_whitespace() || ch == '<' || ch == '~' || ch == '"' {
                    break;
                }
                w.push(ch);
                it.next();
            }
            toks.push((Tok::Word(w), line));
        }
    }
    Ok(toks)
}

const PARM_KINDS: &[&str] = &[
    "USER",
    "MFCC",
    "FBANK",
    "MELSPEC",
    "LPC",
    "LPCEPSTRA",
    "LPREFC",
    "PLP",
    "DISCRETE",
];

fn is_parm_kind(k: &str) -> bool {
    let base = k.split('_').next().unwrap_or("");
    PARM_KINDS.contains(&base)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    path: &'a str,
}

impl Parser<'_> {
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(1, |t| t.1)
    }
    fn err(&self, reason: String) -> Error {
        Error::Mmf {
            path: self.path.to_string(),
            line: self.line(),
            reason,
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }
    fn peek_key(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Key(x)) if x == k)
    }
    fn expect_key(&mut self, k: &str) -> Result<()> {
        match self.peek() {
            Some(Tok::Key(x)) if x == k => {
                self.pos += 1;
                Ok(())
            }
            other => Err(self.err(format!("expected <{k}>, found {}", show(other)))),
        }
    }
    fn word(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            other => Err(self.err(format!("expected {what}, found {}", show(other)))),
        }
    }
    fn int(&mut self, what: &str) -> Result<usize> {
        let w = self.word(what)?;
        w.parse()
            .map_err(|_| self.err_prev(format!("{what} must be a non-negative integer, not {w:?}")))
    }
    fn float(&mut self, what: &str) -> Result<f64> {
        let w = self.word(what)?;
        match w.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.err_prev(format!("{what} must be a finite number, not {w:?}"))),
        }
    }
    fn err_prev(&self, reason: String) -> Error {
        Error::Mmf {
            path: self.path.to_string(),
            line: self.toks.get(self.pos.saturating_sub(1)).map_or(1, |t| t.1),
            reason,
        }
    }
    fn floats(&mut self, n: usize, what: &str) -> Result<Vec<f64>> {
        (0..n).map(|_| self.float(what)).collect()
    }
    /// Global options: `<VECSIZE> n`, `<STREAMINFO> 1 n`, parameter kinds, `<NULLD>`,
    /// `<DIAGC>`/`<FULLC>`. Returns false at the first token that is not one.
    fn option(&mut self, vecsize: &mut Option<usize>, full: &mut Option<bool>) -> Result<bool> {
        let Some(Tok::Key(k)) = self.peek().cloned() else {
            return Ok(false);
        };
        match k.as_str() {
            "VECSIZE" => {
                self.pos += 1;
                let v = self.int("the vector size")?;
                if vecsize.is_some_and(|d| d != v) {
                    return Err(self.err_prev(format!(
                        "<VECSIZE> {v} differs from the {} given before",
                        vecsize.unwrap_or(0)
                    )));
                }
                *vecsize = Some(v);
            }
            "STREAMINFO" => {
                self.pos += 1;
                let n = self.int("the number of streams")?;
                if n != 1 {
                    return Err(self.err_prev(format!(
                        "{n} streams: only single-stream models are supported"
                    )));
                }
                self.int("the stream width")?;
            }
            "NULLD" | "POISSOND" | "GAMMAD" | "GEND" => {
                if k != "NULLD" {
                    return Err(self.err(format!("duration kind <{k}> is not supported")));
                }
                self.pos += 1;
            }
            "DIAGC" | "INVDIAGC" => {
                self.pos += 1;
                *full = Some(false);
            }
            "FULLC" => {
                self.pos += 1;
                *full = Some(true);
            }
            k if is_parm_kind(k) => {
                if k == "DISCRETE" {
                    return Err(self.err("discrete HMMs are not supported".into()));
                }
                self.pos += 1;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn show(t: Option<&Tok>) -> String {
    match t {
        Some(Tok::Key(k)) => format!("<{k}>"),
        Some(Tok::Macro(m)) => format!("~{m}"),
        Some(Tok::Word(w)) => format!("{w:?}"),
        None => "the end of the file".into(),
    }
}

/// Reads an MMF (one or several `~h` models, or one bare `<BEGINHMM>` model named after the
/// file) into a model set with default options (the first model's states and Gaussians per
/// state; a model shaped otherwise records its own as per-class options); `path` names the file in errors, which give
/// the line. The classes' global variances (the reference of the relative variance floor if the
/// set is trained further) are the occupancy-free average of their states' variances.
pub fn read_mmf(bytes: &[u8], path: &str) -> Result<HmmSet> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Mmf {
        path: path.to_string(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: "not UTF-8 text".into(),
    })?;
    let mut p = Parser {
        toks: lex(text, path)?,
        pos: 0,
        path,
    };
    let mut vecsize = None;
    let mut full = None;
    let mut models: Vec<(String, Hmm, usize)> = Vec::new();
    while let Some(t) = p.peek().cloned() {
        match t {
            Tok::Macro('o') => {
                p.pos += 1;
                while p.option(&mut vecsize, &mut full)? {}
            }
            Tok::Macro('v') => {
                // A variance floor macro (HCompV's varFloor1): read and ignored.
                p.pos += 1;
                p.word("the macro name")?;
                p.expect_key("VARIANCE")?;
                let n = p.int("the vector size")?;
                p.floats(n, "a variance")?;
            }
            Tok::Macro('h') => {
                p.pos += 1;
                let line = p.line();
                let name = p.word("the model name")?;
                let hmm = parse_hmm(&mut p, &mut vecsize, &mut full)?;
                models.push((name, hmm, line));
            }
            Tok::Key(k) if k == "BEGINHMM" => {
                let line = p.line();
                let name = std::path::Path::new(path)
                    .file_stem()
                    .map_or("hmm".into(), |s| s.to_string_lossy().to_string());
                let hmm = parse_hmm(&mut p, &mut vecsize, &mut full)?;
                models.push((name, hmm, line));
            }
            Tok::Macro(m) => {
                return Err(p.err(format!(
                    "macro ~{m} is not supported (cepstra reads ~o, ~v and ~h: untie the models with HHEd first)"
                )))
            }
            other => return Err(p.err(format!("unexpected {}", show(Some(&other))))),
        }
    }
    if models.is_empty() {
        return Err(Error::Mmf {
            path: path.to_string(),
            line: p.line(),
            reason: "no HMM definition (~h \"name\" <BEGINHMM> ... <ENDHMM>) in the file".into(),
        });
    }
    let mut classes = Vec::with_capacity(models.len());
    let mut seen = std::collections::BTreeSet::new();
    for (label, hmm, line) in models {
        if !seen.insert(label.clone()) {
            return Err(Error::Mmf {
                path: path.to_string(),
                line,
                reason: format!("model \"{label}\" is defined twice"),
            });
        }
        let d = hmm.dim();
        let mut gv = vec![0.0; d];
        for j in 0..hmm.num_states() {
            let g = hmm.state(j);
            let v = g.vars();
            for (m, w) in g.weights().iter().enumerate() {
                for i in 0..d {
                    gv[i] += w * v[[m, i]] / hmm.num_states() as f64;
                }
            }
        }
        classes.push(HmmClass {
            label,
            overrides: Default::default(),
            num_utts: 0,
            num_frames: 0,
            num_skipped: 0,
            loglikes: Vec::new(),
            global_var: gv,
            hmm,
        });
    }
    let first = &classes[0].hmm;
    let options = HmmTrainOptions {
        num_states: first.num_states(),
        num_gauss: first.state(0).num_gauss(),
        covariance: first.covariance_type(),
        allow_any_end: first.allow_any_end(),
        ..HmmTrainOptions::default()
    };
    // Classes shaped unlike the first record their own states and Gaussians (per-class options,
    // as --class-opts would have given them).
    for c in &mut classes {
        let (s, m) = (c.hmm.num_states(), c.hmm.state(0).num_gauss());
        if s != options.num_states {
            c.overrides.insert("num_states".into(), s.into());
        }
        if m != options.num_gauss {
            c.overrides.insert("num_gauss".into(), m.into());
        }
    }
    HmmSet::new(options, classes).map_err(|e| Error::Mmf {
        path: path.to_string(),
        line: 1,
        reason: e.to_string(),
    })
}

fn parse_hmm(
    p: &mut Parser<'_>,
    vecsize: &mut Option<usize>,
    full: &mut Option<bool>,
) -> Result<Hmm> {
    p.expect_key("BEGINHMM")?;
    while p.option(vecsize, full)? {}
    p.expect_key("NUMSTATES")?;
    let n = p.int("the number of states")?;
    if n < 3 {
        return Err(p.err_prev(format!(
            "<NUMSTATES> {n}: an HMM needs an entry, an exit and at least one emitting state"
        )));
    }
    let Some(d) = *vecsize else {
        return Err(p.err("no <VECSIZE> before the first state (give it in ~o)".into()));
    };
    let mut states: Vec<Option<Gmm>> = vec![None; n - 2];
    while p.peek_key("STATE") {
        p.pos += 1;
        let i = p.int("the state number")?;
        if i < 2 || i > n - 1 {
            return Err(p.err_prev(format!(
                "<STATE> {i}: emitting states are 2 to {} (<NUMSTATES> {n})",
                n - 1
            )));
        }
        if states[i - 2].is_some() {
            return Err(p.err_prev(format!("<STATE> {i} is defined twice")));
        }
        states[i - 2] = Some(parse_state(p, d, full)?);
    }
    p.expect_key("TRANSP")?;
    let tn = p.int("the transition matrix size")?;
    if tn != n {
        return Err(p.err_prev(format!("<TRANSP> {tn} but <NUMSTATES> {n}")));
    }
    let mut trans = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        let line = p.line();
        let row = p.floats(n, "a transition probability")?;
        let s: f64 = row.iter().sum();
        let bad = |reason: String| Error::Mmf {
            path: p.path.to_string(),
            line,
            reason,
        };
        if let Some(v) = row.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(bad(format!(
                "row {} of <TRANSP> has {v}, not a probability",
                i + 1
            )));
        }
        if i + 1 < n && (s - 1.0).abs() > 1e-3 {
            return Err(bad(format!(
                "row {} of <TRANSP> (state {}) sums to {s}, not 1",
                i + 1,
                i + 1
            )));
        }
        trans.row_mut(i).assign(&Array1::from(row));
        // HTK writes 6 significant digits: rows summing to 1 within 1e-3 are renormalised.
        if i + 1 < n && (s - 1.0).abs() > 1e-6 {
            trans.row_mut(i).mapv_inplace(|v| v / s);
        }
    }
    p.expect_key("ENDHMM")?;
    let states: Vec<Gmm> = states
        .into_iter()
        .enumerate()
        .map(|(j, s)| s.ok_or_else(|| p.err(format!("<STATE> {} is missing", j + 2))))
        .collect::<Result<_>>()?;
    // No way into the exit: an hmmlearn-style model that may end anywhere.
    let any_end = trans.column(n - 1).iter().all(|&v| v == 0.0);
    Hmm::new(states, trans, any_end).map_err(|e| p.err_prev(e.to_string()))
}

fn parse_state(p: &mut Parser<'_>, d: usize, full: &mut Option<bool>) -> Result<Gmm> {
    let m = if p.peek_key("NUMMIXES") {
        p.pos += 1;
        p.int("the number of mixtures")?
    } else {
        1
    };
    if m == 0 {
        return Err(p.err_prev("<NUMMIXES> 0".into()));
    }
    let mut weights = vec![0.0; m];
    let mut means = Array2::<f64>::zeros((m, d));
    let mut covs = Array3::<f64>::zeros((m, d, d));
    let mut seen = vec![false; m];
    let mut kind: Option<bool> = None;
    for k in 0..m {
        let idx = if p.peek_key("MIXTURE") {
            p.pos += 1;
            let i = p.int("the mixture number")?;
            if i == 0 || i > m {
                return Err(p.err_prev(format!("<MIXTURE> {i}: mixtures are 1 to {m}")));
            }
            let w = p.float("a mixture weight")?;
            weights[i - 1] = w;
            i - 1
        } else if m == 1 {
            weights[0] = 1.0;
            0
        } else {
            return Err(p.err(format!("expected <MIXTURE> {} of {m}", k + 1)));
        };
        if seen[idx] {
            return Err(p.err_prev(format!("<MIXTURE> {} is defined twice", idx + 1)));
        }
        seen[idx] = true;
        p.expect_key("MEAN")?;
        let n = p.int("the mean size")?;
        if n != d {
            return Err(p.err_prev(format!("<MEAN> {n} but <VECSIZE> {d}")));
        }
        let mean = p.floats(d, "a mean value")?;
        means.row_mut(idx).assign(&Array1::from(mean));
        match p.next() {
            Some(Tok::Key(k)) if k == "VARIANCE" => {
                let n = p.int("the variance size")?;
                if n != d {
                    return Err(p.err_prev(format!("<VARIANCE> {n} but <VECSIZE> {d}")));
                }
                let v = p.floats(d, "a variance")?;
                if let Some(bad) = v.iter().position(|&x| !(x > 0.0)) {
                    return Err(p.err_prev(format!(
                        "variance {} of mixture {} is {}: variances must be positive",
                        bad + 1,
                        idx + 1,
                        v[bad]
                    )));
                }
                for i in 0..d {
                    covs[[idx, i, i]] = v[i];
                }
                if kind == Some(true) {
                    return Err(p.err_prev("mixed <VARIANCE> and <INVCOVAR> in one state".into()));
                }
                kind = Some(false);
            }
            Some(Tok::Key(k)) if k == "INVCOVAR" => {
                let n = p.int("the matrix size")?;
                if n != d {
                    return Err(p.err_prev(format!("<INVCOVAR> {n} but <VECSIZE> {d}")));
                }
                let mut inv = Array2::<f64>::zeros((d, d));
                for i in 0..d {
                    for j in i..d {
                        let v = p.float("an inverse covariance value")?;
                        inv[[i, j]] = v;
                        inv[[j, i]] = v;
                    }
                }
                let (cov, _) = spd_inverse(&inv).ok_or_else(|| {
                    p.err_prev(format!(
                        "the <INVCOVAR> of mixture {} is not positive definite",
                        idx + 1
                    ))
                })?;
                covs.index_axis_mut(ndarray::Axis(0), idx).assign(&cov);
                if kind == Some(false) {
                    return Err(p.err_prev("mixed <VARIANCE> and <INVCOVAR> in one state".into()));
                }
                kind = Some(true);
            }
            other => {
                p.pos -= 1;
                return Err(p.err(format!(
                    "expected <VARIANCE> or <INVCOVAR>, found {}",
                    show(other.as_ref())
                )));
            }
        }
        if p.peek_key("GCONST") {
            p.pos += 1;
            p.float("the gconst")?;
        }
    }
    let is_full = kind.unwrap_or(false);
    if full.is_some_and(|f| f != is_full) {
        return Err(p.err_prev(format!(
            "a {} state in a {} model set (cepstra needs one covariance kind for all)",
            if is_full {
                "full-covariance"
            } else {
                "diagonal"
            },
            if is_full {
                "diagonal"
            } else {
                "full-covariance"
            }
        )));
    }
    *full = Some(is_full);
    let cov = if is_full {
        CovarianceType::Full
    } else {
        CovarianceType::Diag
    };
    let wsum: f64 = weights.iter().sum();
    if !(wsum > 0.0) || weights.iter().any(|&w| !(w >= 0.0)) {
        return Err(p.err_prev(format!(
            "mixture weights {weights:?} must be non-negative with a positive sum"
        )));
    }
    Gmm::from_params(cov, Array1::from(weights), means, covs).map_err(|e| p.err_prev(e.to_string()))
}
