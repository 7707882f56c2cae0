//! What the report shows about single utterances and speakers: classify's scores, the data
//! dir's `utt2spk`, `utt2num_frames` and `wav.scp`, per-speaker accuracy and the margin of
//! every error.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::accuracy::{AccuracyReport, Misrecognition};
use crate::error::{Error, Result};
use crate::text::{read_text, UttLabel};

/// `cepstra classify`'s score file: a header `utt<TAB>class…`, then one total log-likelihood
/// per class for each utterance.
///
/// ```
/// use cepstra_score::ScoreTable;
/// let t = ScoreTable::parse("utt\t1\t2\nu1\t-10.5\t-12\n".as_bytes(), "scores.tsv".as_ref())?;
/// assert_eq!(t.labels, ["1", "2"]);
/// assert_eq!(t.scores["u1"], [-10.5, -12.0]);
/// # Ok::<(), cepstra_score::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreTable {
    /// The class labels, in the columns' order.
    pub labels: Vec<String>,
    /// Utterance → one score per class (in `labels`' order).
    pub scores: BTreeMap<String, Vec<f64>>,
}

impl ScoreTable {
    /// Reads a score file (an rxfilename: `-` and `cmd |` work).
    pub fn read(path: &Path) -> Result<Self> {
        let mut input = cepstra_io::filename::Input::open(&path.to_string_lossy())?;
        let t = Self::parse(&mut input, path)?;
        input.close()?;
        Ok(t)
    }

    /// Parses a score file; `path` names it in errors ([`Error::Parse`] with the line).
    pub fn parse<R: BufRead>(reader: R, path: &Path) -> Result<Self> {
        let bad = |line: usize, reason: String| Error::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut t = ScoreTable::default();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let mut fields = line.trim_end_matches('\r').split('\t');
            let first = fields.next().unwrap_or_default();
            if i == 0 {
                if first != "utt" {
                    return Err(bad(
                        1,
                        "the header must start with `utt` (a cepstra classify score file)".into(),
                    ));
                }
                t.labels = fields.map(str::to_string).collect();
                continue;
            }
            let values = fields
                .map(|f| {
                    f.parse::<f64>()
                        .map_err(|_| bad(i + 1, format!("'{f}' is not a number")))
                })
                .collect::<Result<Vec<_>>>()?;
            if values.len() != t.labels.len() {
                return Err(bad(
                    i + 1,
                    format!(
                        "{} scores for the {} classes of the header",
                        values.len(),
                        t.labels.len()
                    ),
                ));
            }
            if t.scores.insert(first.to_string(), values).is_some() {
                return Err(bad(i + 1, format!("utterance '{first}' appears twice")));
            }
        }
        if t.labels.is_empty() {
            return Err(bad(1, "no header line with the class labels".into()));
        }
        Ok(t)
    }
}

/// Per-utterance information from the scored data dir, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UttDetails {
    /// Utterance → speaker (`utt2spk`); empty: no per-speaker table.
    pub speaker: BTreeMap<String, String>,
    /// Utterance → number of frames (`utt2num_frames`), for per-frame margins.
    pub num_frames: BTreeMap<String, usize>,
    /// Utterance → its wav, when `wav.scp` names a local file that exists (pipes, offsets and
    /// missing files have none): the report gets an audio player per error.
    pub wav: BTreeMap<String, PathBuf>,
    /// Classify's scores, for the margin of each error.
    pub scores: Option<ScoreTable>,
    /// The scores are already averages per frame (`classify --normalize-per-frame`): margins are
    /// shown as they are, not divided by `num_frames`.
    pub scores_per_frame: bool,
    /// The data dir's `frontend` record (how its features were made), if any.
    pub frontend: Option<String>,
    /// HMM sets: each error's features and Viterbi state sequences, and per-state durations.
    pub hmm: Option<HmmDetails>,
}

/// What the report of an HMM set shows besides the scores: every misrecognised utterance's
/// features with the Viterbi state sequences against its reference word and against the
/// recognised word (`align-hmms` of the reference text and of the hypothesis file), and the
/// per-state durations of each word ([`StateDurations::from_alignments`]).
///
/// ```
/// use cepstra_score::{HmmDetails, StateDurations, UttLabel};
/// let reference = [UttLabel { utt: "u1".into(), label: "one".into() }];
/// let mut d = HmmDetails::default();
/// d.ref_states.insert("u1".into(), vec![0, 0, 1, 1, 1, 2]);
/// d.durations = StateDurations::from_alignments(&reference, &d.ref_states);
/// assert_eq!(d.durations[0].label, "one");
/// assert_eq!(d.durations[0].mean_frames, [2.0, 3.0, 1.0]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HmmDetails {
    /// Utterance → its features (frames × dimensions); the errors' are enough.
    pub feats: BTreeMap<String, ndarray::Array2<f32>>,
    /// Utterance → the 0-based state of each frame on the best path of its reference word.
    pub ref_states: BTreeMap<String, Vec<usize>>,
    /// Utterance → the 0-based state of each frame on the best path of the recognised word.
    pub hyp_states: BTreeMap<String, Vec<usize>>,
    /// Per-state durations of each word (empty: no table).
    pub durations: Vec<StateDurations>,
}

/// One word's per-state durations over its aligned utterances (frames per state visit; a
/// left-to-right model visits each state once).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDurations {
    /// The word (class label).
    pub label: String,
    /// Aligned utterances of the word.
    pub utterances: usize,
    /// Mean frames in each state (state 1 first).
    pub mean_frames: Vec<f64>,
    /// Fewest frames in each state over the utterances.
    pub min_frames: Vec<usize>,
    /// Most frames in each state over the utterances.
    pub max_frames: Vec<usize>,
}

impl StateDurations {
    /// The durations per word of `reference`'s utterances from their state sequences
    /// (`states[utt]`, 0-based states; utterances without one are left out). A word's number of
    /// states is its highest state seen + 1; a state an utterance skips counts 0 frames. Sorted
    /// by label.
    ///
    /// ```
    /// use cepstra_score::{StateDurations, UttLabel};
    /// let t = |u: &str, l: &str| UttLabel { utt: u.into(), label: l.into() };
    /// let states = [("a", vec![0, 1, 1]), ("b", vec![0, 0, 0, 1])]
    ///     .into_iter().map(|(u, s)| (u.to_string(), s)).collect();
    /// let d = StateDurations::from_alignments(&[t("a", "w"), t("b", "w"), t("c", "w")], &states);
    /// assert_eq!((d[0].utterances, d[0].min_frames.clone(), d[0].max_frames.clone()), (2, vec![1, 1], vec![3, 2]));
    /// ```
    pub fn from_alignments(
        reference: &[UttLabel],
        states: &BTreeMap<String, Vec<usize>>,
    ) -> Vec<StateDurations> {
        let mut by: BTreeMap<&str, Vec<Vec<usize>>> = BTreeMap::new();
        for e in reference {
            let Some(seq) = states.get(&e.utt).filter(|s| !s.is_empty()) else {
                continue;
            };
            let n = seq.iter().max().map_or(0, |&m| m + 1);
            let mut d = vec![0usize; n];
            for &s in seq {
                d[s] += 1;
            }
            by.entry(e.label.as_str()).or_default().push(d);
        }
        by.into_iter()
            .map(|(label, durs)| {
                let n = durs.iter().map(Vec::len).max().unwrap_or(0);
                let at = |d: &Vec<usize>, j: usize| d.get(j).copied().unwrap_or(0);
                StateDurations {
                    label: label.to_string(),
                    utterances: durs.len(),
                    mean_frames: (0..n)
                        .map(|j| {
                            durs.iter().map(|d| at(d, j)).sum::<usize>() as f64 / durs.len() as f64
                        })
                        .collect(),
                    min_frames: (0..n)
                        .map(|j| durs.iter().map(|d| at(d, j)).min().unwrap_or(0))
                        .collect(),
                    max_frames: (0..n)
                        .map(|j| durs.iter().map(|d| at(d, j)).max().unwrap_or(0))
                        .collect(),
                }
            })
            .collect()
    }
}

impl UttDetails {
    /// Reads `utt2spk`, `utt2num_frames`, `wav.scp` and `frontend` of a Kaldi data dir, each when
    /// present. Relative wav paths are taken relative to the current directory (as the
    /// recipes' `wav.scp` are), and stored absolute.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("utt2spk"), "u1 s1\nu2 s2\n")?;
    /// std::fs::write(dir.path().join("utt2num_frames"), "u1 98\nu2 120\n")?;
    /// let d = cepstra_score::UttDetails::read_data_dir(dir.path())?;
    /// assert_eq!(d.speaker["u2"], "s2");
    /// assert_eq!(d.num_frames["u1"], 98);
    /// assert!(d.wav.is_empty() && d.scores.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_data_dir(dir: &Path) -> Result<Self> {
        let mut d = UttDetails::default();
        let present = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        if let Some(p) = present("utt2spk") {
            d.speaker = read_text(&p)?
                .into_iter()
                .map(|e| (e.utt, e.label))
                .collect();
        }
        if let Some(p) = present("utt2num_frames") {
            for (i, e) in read_text(&p)?.into_iter().enumerate() {
                let n = e.label.parse::<usize>().map_err(|_| Error::Parse {
                    path: p.clone(),
                    line: i + 1,
                    reason: format!("'{}' is not a number of frames", e.label),
                })?;
                d.num_frames.insert(e.utt, n);
            }
        }
        if let Some(p) = present("wav.scp") {
            let cwd = std::env::current_dir().unwrap_or_default();
            for e in read_text(&p)? {
                if let Some(w) = local_wav(&e.label, &cwd) {
                    d.wav.insert(e.utt, w);
                }
            }
        }
        if let Some(p) = present("frontend") {
            let s =
                std::fs::read_to_string(&p).map_err(|source| Error::Read { path: p, source })?;
            d.frontend = Some(s.trim().to_string()).filter(|s| !s.is_empty());
        }
        Ok(d)
    }
}

/// The local file a `wav.scp` entry names, made absolute against `base`, when it is one: not a
/// pipe (`cmd |`), not stdin (`-`), not an archive offset (`file.ark:123`), and the file exists.
///
/// ```
/// use std::path::Path;
/// assert_eq!(cepstra_score::local_wav("sox a.wav -t wav - |", Path::new("/")), None);
/// assert_eq!(cepstra_score::local_wav("-", Path::new("/")), None);
/// assert_eq!(cepstra_score::local_wav("/no/such.wav", Path::new("/")), None);
/// ```
pub fn local_wav(entry: &str, base: &Path) -> Option<PathBuf> {
    let e = entry.trim();
    if e.is_empty() || e == "-" || e.ends_with('|') || e.starts_with('|') {
        return None;
    }
    if let Some((file, offset)) = e.rsplit_once(':') {
        if !file.is_empty() && !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let p = base.join(e);
    p.is_file().then(|| std::fs::canonicalize(&p).unwrap_or(p))
}

/// One speaker's row of the per-speaker table.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerAccuracy {
    /// The speaker (from `utt2spk`; `(no speaker)` for utterances it does not list).
    pub speaker: String,
    /// Reference utterances of the speaker.
    pub total: usize,
    /// Of them, recognised correctly.
    pub correct: usize,
}

impl SpeakerAccuracy {
    /// Per-speaker counts of `reference`, errors taken from `report`; sorted by most errors, then
    /// by speaker id.
    ///
    /// ```
    /// use cepstra_score::{AccuracyReport, SpeakerAccuracy, UttLabel};
    /// let t = |u: &str, l: &str| UttLabel { utt: u.into(), label: l.into() };
    /// let reference = [t("a1", "1"), t("a2", "2"), t("b1", "1")];
    /// let r = AccuracyReport::compute(&reference, &[t("a1", "2"), t("a2", "2"), t("b1", "1")])?;
    /// let spk = [("a1", "A"), ("a2", "A"), ("b1", "B")]
    ///     .iter().map(|(u, s)| (u.to_string(), s.to_string())).collect();
    /// let rows = SpeakerAccuracy::compute(&reference, &r, &spk);
    /// assert_eq!((rows[0].speaker.as_str(), rows[0].correct, rows[0].total), ("A", 1, 2));
    /// # Ok::<(), cepstra_score::Error>(())
    /// ```
    pub fn compute(
        reference: &[UttLabel],
        report: &AccuracyReport,
        utt2spk: &BTreeMap<String, String>,
    ) -> Vec<SpeakerAccuracy> {
        let wrong: std::collections::HashSet<&str> =
            report.errors.iter().map(|e| e.utt.as_str()).collect();
        let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for e in reference {
            let s = utt2spk.get(&e.utt).map_or("(no speaker)", String::as_str);
            let c = by.entry(s).or_default();
            c.0 += 1;
            if !wrong.contains(e.utt.as_str()) {
                c.1 += 1;
            }
        }
        let mut rows: Vec<SpeakerAccuracy> = by
            .into_iter()
            .map(|(s, (total, correct))| SpeakerAccuracy {
                speaker: s.to_string(),
                total,
                correct,
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.total - b.correct)
                .cmp(&(a.total - a.correct))
                .then_with(|| a.speaker.cmp(&b.speaker))
        });
        rows
    }

    /// `correct / total`.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }
}

/// How close an error was: the winning class, the closest other class and the reference's
/// score, from classify's scores (total log-likelihoods).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMargin {
    /// The best-scoring class (the hypothesis, unless it was rejected as `<unk>`).
    pub winner: String,
    /// The best-scoring class other than the winner.
    pub runner_up: String,
    /// `score(winner) − score(runner_up)` (≥ 0; recognize's margin, before dividing by frames).
    pub margin: f64,
    /// `score(winner) − score(reference)`, when the reference is one of the classes.
    pub behind: Option<f64>,
}

impl ErrorMargin {
    /// The margin of `error` from `scores`; `None` when the utterance has no scores or there
    /// are fewer than two classes.
    ///
    /// ```
    /// use cepstra_score::{ErrorMargin, Misrecognition, ScoreTable};
    /// let t = ScoreTable::parse("utt\t1\t2\t3\nu\t-9\t-7\t-8\n".as_bytes(), "s".as_ref())?;
    /// let e = Misrecognition { utt: "u".into(), reference: "1".into(), hypothesis: Some("2".into()) };
    /// let m = ErrorMargin::of(&e, &t).unwrap();
    /// assert_eq!((m.winner.as_str(), m.runner_up.as_str(), m.margin, m.behind), ("2", "3", 1.0, Some(2.0)));
    /// # Ok::<(), cepstra_score::Error>(())
    /// ```
    pub fn of(error: &Misrecognition, scores: &ScoreTable) -> Option<ErrorMargin> {
        let s = scores.scores.get(&error.utt)?;
        if s.len() < 2 {
            return None;
        }
        let best = argmax(s, None)?;
        let second = argmax(s, Some(best))?;
        let behind = scores
            .labels
            .iter()
            .position(|l| *l == error.reference)
            .map(|r| s[best] - s[r]);
        Some(ErrorMargin {
            winner: scores.labels[best].clone(),
            runner_up: scores.labels[second].clone(),
            margin: s[best] - s[second],
            behind,
        })
    }
}

fn argmax(s: &[f64], skip: Option<usize>) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in s.iter().enumerate() {
        if Some(i) == skip || v.is_nan() {
            continue;
        }
        if best.is_none_or(|b| v > s[b]) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_table_errors_name_the_line() {
        let p = Path::new("s.tsv");
        let e = ScoreTable::parse("utt\ta\tb\nu1\t1\n".as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("s.tsv:2"), "{e}");
        let e = ScoreTable::parse("utt\ta\nu1\tx\n".as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("'x' is not a number"), "{e}");
        let e = ScoreTable::parse("id\ta\n".as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("s.tsv:1"), "{e}");
        let e = ScoreTable::parse("utt\ta\nu\t1\nu\t2\n".as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn local_wav_kinds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wav"), b"RIFF").unwrap();
        assert!(local_wav("a.wav", dir.path()).is_some());
        assert_eq!(local_wav("a.wav:12", dir.path()), None);
        assert_eq!(local_wav("cat a.wav |", dir.path()), None);
        assert_eq!(local_wav("b.wav", dir.path()), None);
    }
}
