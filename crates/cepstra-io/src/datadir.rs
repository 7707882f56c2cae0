//! Kaldi data directories (`wav.scp`, `text`, `utt2spk`, `spk2utt`, `feats.scp`, `cmvn.scp`,
//! `utt2num_frames`, `utt2dur`, `segments`): reading, the checks of Kaldi's
//! `utils/validate_data_dir.sh` and the repairs of `utils/fix_data_dir.sh`.
//!
//! Sort order is the C locale's: byte order of the keys.
//!
//! ```no_run
//! use cepstra_io::datadir::{validate_data_dir, ValidateOptions};
//! let report = validate_data_dir("data/train".as_ref(), &ValidateOptions::default())?;
//! for w in &report.warnings { eprintln!("warning: {w}"); }
//! # Ok::<(), cepstra_io::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::filename::write_atomic;

/// Per-utterance files filtered by [`fix_data_dir`].
pub const UTT_FILES: &[&str] = &[
    "utt2spk",
    "text",
    "wav.scp",
    "feats.scp",
    "utt2num_frames",
    "utt2dur",
    "utt2lang",
    "segments",
];
/// Per-speaker files filtered by [`fix_data_dir`].
pub const SPK_FILES: &[&str] = &["cmvn.scp", "spk2gender"];

/// One `key rest` line of a data-dir file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The first field.
    pub key: String,
    /// The rest of the line (trimmed).
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

/// Reads a `key value…` file, rejecting empty lines and (unless `allow_empty_value`) lines with
/// a key alone.
pub fn read_entries(path: &Path, allow_empty_value: bool) -> Result<Vec<Entry>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let text = crate::error::utf8_text(text, path)?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let bad = |reason: String| Error::Line {
            path: path.into(),
            line: i + 1,
            reason,
        };
        if line.is_empty() {
            return Err(bad("empty line".into()));
        }
        let (k, v) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if v.trim().is_empty() && !allow_empty_value {
            return Err(bad(format!(
                "'{k}' has no value (expected '<key> <value>')"
            )));
        }
        out.push(Entry {
            key: k.to_string(),
            value: v.trim().to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Checks that keys are strictly increasing in C-locale order (sorted, no duplicates).
pub fn check_sorted_unique(path: &Path, entries: &[Entry]) -> Result<()> {
    for w in entries.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.key == b.key {
            return Err(Error::Line {
                path: path.into(),
                line: b.line,
                reason: format!(
                    "duplicate key '{}' (also on line {}); run fix-data-dir",
                    b.key, a.line
                ),
            });
        }
        if a.key.as_bytes() > b.key.as_bytes() {
            return Err(Error::Line {
                path: path.into(),
                line: b.line,
                reason: format!(
                    "not sorted: '{}' after '{}' (sort with LC_ALL=C; run fix-data-dir)",
                    b.key, a.key
                ),
            });
        }
    }
    Ok(())
}

/// Options of `validate-data-dir` (those of Kaldi's `validate_data_dir.sh`).
#[derive(Clone, Debug, Default)]
pub struct ValidateOptions {
    /// Do not require `feats.scp`.
    pub no_feats: bool,
    /// Do not require `text`.
    pub no_text: bool,
    /// Do not require `wav.scp`.
    pub no_wav: bool,
    /// Do not require utt2spk sorted by speaker too.
    pub no_spk_sort: bool,
    /// Do not check that `text` is printable.
    pub non_print: bool,
}

/// What validation found besides errors.
#[derive(Clone, Debug, Default)]
pub struct ValidateReport {
    /// Number of utterances.
    pub num_utts: usize,
    /// Number of speakers.
    pub num_spks: usize,
    /// Things worth knowing that are not errors (e.g. a single speaker).
    pub warnings: Vec<String>,
}

fn keys(entries: &[Entry]) -> BTreeSet<&str> {
    entries.iter().map(|e| e.key.as_str()).collect()
}

fn compare_keys(
    dir: &Path,
    file: &str,
    got: &BTreeSet<&str>,
    want: &BTreeSet<&str>,
    what: &str,
) -> Result<()> {
    if let Some(k) = want.difference(got).next() {
        return Err(Error::DataDir {
            dir: dir.display().to_string(),
            reason: format!(
                "{file}: no entry for {what} '{k}' ({} missing in all; run fix-data-dir)",
                want.difference(got).count()
            ),
        });
    }
    if let Some(k) = got.difference(want).next() {
        return Err(Error::DataDir {
            dir: dir.display().to_string(),
            reason: format!(
                "{file}: '{k}' is not a known {what} ({} extra in all; run fix-data-dir)",
                got.difference(want).count()
            ),
        });
    }
    Ok(())
}

/// Runs the checks of Kaldi's `utils/validate_data_dir.sh`.
pub fn validate_data_dir(dir: &Path, opts: &ValidateOptions) -> Result<ValidateReport> {
    let derr = |reason: String| Error::DataDir {
        dir: dir.display().to_string(),
        reason,
    };
    if !dir.is_dir() {
        return Err(derr("not a directory".into()));
    }
    let mut report = ValidateReport::default();
    let utt2spk_path = dir.join("utt2spk");
    if !utt2spk_path.exists() {
        return Err(derr(
            "no utt2spk (every data dir needs one; speaker = utterance if unknown)".into(),
        ));
    }
    let utt2spk = read_entries(&utt2spk_path, false)?;
    check_sorted_unique(&utt2spk_path, &utt2spk)?;
    for e in &utt2spk {
        if e.value.split_whitespace().count() != 1 {
            return Err(Error::Line {
                path: utt2spk_path.clone(),
                line: e.line,
                reason: "expected exactly 2 fields".into(),
            });
        }
    }
    let utts = keys(&utt2spk);
    report.num_utts = utts.len();
    if utts.is_empty() {
        return Err(derr("utt2spk is empty".into()));
    }
    let spks: BTreeSet<&str> = utt2spk.iter().map(|e| e.value.as_str()).collect();
    report.num_spks = spks.len();
    if spks.len() == 1 {
        report
            .warnings
            .push("you have only one speaker; per-speaker CMVN will be global".into());
    }
    if !opts.no_spk_sort {
        // Sorted by speaker as well: the speaker sequence must be non-decreasing.
        for w in utt2spk.windows(2) {
            if w[0].value.as_bytes() > w[1].value.as_bytes() {
                return Err(Error::Line {
                    path: utt2spk_path.clone(),
                    line: w[1].line,
                    reason: format!(
                        "utt2spk is not sorted by speaker too ('{}' after '{}'): make speaker ids prefixes of utterance ids",
                        w[1].value, w[0].value
                    ),
                });
            }
        }
    }
    let spk2utt_path = dir.join("spk2utt");
    if !spk2utt_path.exists() {
        return Err(derr(
            "no spk2utt (make it from utt2spk: utt2spk_to_spk2utt.pl, or run fix-data-dir)".into(),
        ));
    }
    let spk2utt = read_entries(&spk2utt_path, false)?;
    check_sorted_unique(&spk2utt_path, &spk2utt)?;
    let mut expect: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &utt2spk {
        expect
            .entry(e.value.as_str())
            .or_default()
            .push(e.key.as_str());
    }
    for e in &spk2utt {
        let got: Vec<&str> = e.value.split_whitespace().collect();
        if expect.get(e.key.as_str()) != Some(&got) {
            return Err(Error::Line {
                path: spk2utt_path.clone(),
                line: e.line,
                reason: format!(
                    "speaker '{}' does not match utt2spk (run fix-data-dir)",
                    e.key
                ),
            });
        }
    }
    if spk2utt.len() != expect.len() {
        return Err(derr(
            "spk2utt and utt2spk list different speakers (run fix-data-dir)".into(),
        ));
    }
    let check_utt_file =
        |name: &str, required: bool, allow_empty: bool| -> Result<Option<Vec<Entry>>> {
            let p = dir.join(name);
            if !p.exists() {
                if required {
                    return Err(derr(format!("no {name}")));
                }
                return Ok(None);
            }
            let e = read_entries(&p, allow_empty)?;
            check_sorted_unique(&p, &e)?;
            Ok(Some(e))
        };
    if let Some(text) = check_utt_file("text", !opts.no_text, true)? {
        compare_keys(dir, "text", &keys(&text), &utts, "utterance")?;
        if !opts.non_print {
            if let Some(e) = text
                .iter()
                .find(|e| e.value.chars().any(|c| c.is_control()))
            {
                return Err(Error::Line {
                    path: dir.join("text"),
                    line: e.line,
                    reason: "non-printable characters".into(),
                });
            }
        }
    }
    let segments = check_utt_file("segments", false, false)?;
    if let Some(wav) = check_utt_file("wav.scp", !opts.no_wav, false)? {
        if wav.iter().any(|e| e.value.contains('~')) {
            report
                .warnings
                .push("wav.scp contains '~' (home directories are not expanded)".into());
        }
        match &segments {
            Some(seg) => {
                let recs: BTreeSet<&str> = seg
                    .iter()
                    .filter_map(|e| e.value.split_whitespace().next())
                    .collect();
                compare_keys(dir, "wav.scp", &keys(&wav), &recs, "recording")?;
                compare_keys(dir, "segments", &keys(seg), &utts, "utterance")?;
            }
            None => compare_keys(dir, "wav.scp", &keys(&wav), &utts, "utterance")?,
        }
    }
    if let Some(feats) = check_utt_file("feats.scp", !opts.no_feats, false)? {
        compare_keys(dir, "feats.scp", &keys(&feats), &utts, "utterance")?;
    }
    for name in ["utt2num_frames", "utt2dur"] {
        if let Some(e) = check_utt_file(name, false, false)? {
            compare_keys(dir, name, &keys(&e), &utts, "utterance")?;
            if let Some(bad) = e.iter().find(|e| {
                e.value
                    .parse::<f64>()
                    .map_or(true, |v| v.is_nan() || v < 0.0)
            }) {
                return Err(Error::Line {
                    path: dir.join(name),
                    line: bad.line,
                    reason: format!("not a number: '{}'", bad.value),
                });
            }
        }
    }
    for name in SPK_FILES {
        let p = dir.join(name);
        if p.exists() {
            let e = read_entries(&p, false)?;
            check_sorted_unique(&p, &e)?;
            compare_keys(dir, name, &keys(&e), &spks, "speaker")?;
        }
    }
    Ok(report)
}

/// What [`fix_data_dir`] did.
#[derive(Clone, Debug, Default)]
pub struct FixReport {
    /// Utterances before.
    pub utts_before: usize,
    /// Utterances kept.
    pub utts_after: usize,
    /// Where the original files were copied.
    pub backup: PathBuf,
}

fn write_entries(path: &Path, entries: &BTreeMap<String, String>) -> Result<()> {
    let mut s = String::new();
    for (k, v) in entries {
        s.push_str(k);
        if !v.is_empty() {
            s.push(' ');
            s.push_str(v);
        }
        s.push('\n');
    }
    write_atomic(path, s.as_bytes())
}

fn load_map(path: &Path) -> Result<BTreeMap<String, String>> {
    // Sort and de-duplicate (first occurrence wins, as `sort -u -k1,1` keeps one).
    let mut m = BTreeMap::new();
    for e in read_entries(path, true)? {
        m.entry(e.key).or_insert(e.value);
    }
    Ok(m)
}

/// Sorts and de-duplicates every file, keeps only utterances present in all per-utterance
/// files (and speakers with utterances), regenerates `spk2utt`; originals are copied to
/// `DIR/.backup/` first, as Kaldi's `utils/fix_data_dir.sh`.
pub fn fix_data_dir(dir: &Path) -> Result<FixReport> {
    let utt2spk_path = dir.join("utt2spk");
    if !utt2spk_path.exists() {
        return Err(Error::DataDir {
            dir: dir.display().to_string(),
            reason: "no utt2spk".into(),
        });
    }
    let backup = dir.join(".backup");
    std::fs::create_dir_all(&backup).map_err(|e| Error::io(backup.display().to_string(), e))?;
    let mut files: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for name in UTT_FILES.iter().chain(SPK_FILES).chain(["spk2utt"].iter()) {
        let p = dir.join(name);
        if p.exists() {
            std::fs::copy(&p, backup.join(name))
                .map_err(|e| Error::io(p.display().to_string(), e))?;
            files.insert(name, load_map(&p)?);
        }
    }
    let utt2spk = files.get("utt2spk").cloned().unwrap_or_default();
    let utts_before = utt2spk.len();
    let mut keep: BTreeSet<String> = utt2spk.keys().cloned().collect();
    for name in UTT_FILES {
        if *name == "segments" || *name == "wav.scp" && files.contains_key("segments") {
            continue;
        }
        if let Some(m) = files.get(name) {
            keep.retain(|u| m.contains_key(u));
        }
    }
    if let Some(seg) = files.get("segments") {
        let wav = files.get("wav.scp");
        keep.retain(|u| {
            seg.get(u).is_some_and(|v| {
                let rec = v.split_whitespace().next().unwrap_or("");
                wav.is_none_or(|w| w.contains_key(rec))
            })
        });
    }
    for name in UTT_FILES {
        if let Some(m) = files.get_mut(name) {
            if *name == "wav.scp" && files_has_segments(dir) {
                continue;
            }
            m.retain(|u, _| keep.contains(u));
            write_entries(&dir.join(name), m)?;
        }
    }
    let utt2spk: BTreeMap<String, String> = utt2spk
        .into_iter()
        .filter(|(u, _)| keep.contains(u))
        .collect();
    let mut spk2utt: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (u, s) in &utt2spk {
        spk2utt.entry(s.clone()).or_default().push(u.clone());
    }
    let spk2utt_text: BTreeMap<String, String> = spk2utt
        .iter()
        .map(|(s, us)| (s.clone(), us.join(" ")))
        .collect();
    write_entries(&dir.join("spk2utt"), &spk2utt_text)?;
    for name in SPK_FILES {
        if let Some(m) = files.get_mut(name) {
            m.retain(|s, _| spk2utt.contains_key(s));
            write_entries(&dir.join(name), m)?;
        }
    }
    Ok(FixReport {
        utts_before,
        utts_after: keep.len(),
        backup,
    })
}

fn files_has_segments(dir: &Path) -> bool {
    dir.join("segments").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn validate_and_fix() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        write(p, "utt2spk", "a-1 a\na-2 a\nb-1 b\n");
        write(p, "spk2utt", "a a-1 a-2\nb b-1\n");
        write(p, "text", "a-1 Z\na-2 O\nb-1 5\n");
        write(p, "wav.scp", "a-1 x.wav\na-2 y.wav\nb-1 z.wav\n");
        let r = validate_data_dir(
            p,
            &ValidateOptions {
                no_feats: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((r.num_utts, r.num_spks), (3, 2));
        assert!(
            validate_data_dir(p, &ValidateOptions::default()).is_err(),
            "feats.scp required"
        );
        // Break it: unsorted, duplicate and missing entries.
        write(p, "text", "a-2 O\na-1 Z\n");
        let e = validate_data_dir(
            p,
            &ValidateOptions {
                no_feats: true,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("text:2: not sorted"), "{e}");
        let fix = fix_data_dir(p).unwrap();
        assert_eq!((fix.utts_before, fix.utts_after), (3, 2));
        assert_eq!(
            std::fs::read_to_string(p.join("spk2utt")).unwrap(),
            "a a-1 a-2\n"
        );
        assert_eq!(
            std::fs::read_to_string(p.join("wav.scp")).unwrap(),
            "a-1 x.wav\na-2 y.wav\n"
        );
        validate_data_dir(
            p,
            &ValidateOptions {
                no_feats: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(p.join(".backup/text").exists());
    }
}
