//! Reading and writing models, statistics and whole feature tables for the GMM subcommands.
//! Files may be `-` (stdin/stdout) or pipes; outputs are atomic.
//!
//! A GMM subcommand called by one of Kaldi's names (`fgmm-global-est`, …) behaves like that
//! Kaldi program: [`Invocation`] tells it which name was used and which options the user gave,
//! so it applies Kaldi's defaults (formats, floors) to every option left out. See
//! `docs/kaldi-names.md`.

use anyhow::{bail, Result};
use cepstra_gmm::io::{ModelFormat, StatsFormat};
use cepstra_gmm::{EstimateOptions, Gmm, GmmStats};
use ndarray::{concatenate, Array2, Axis};

/// How a model is written: `--format=json|kaldi`, `--binary` for Kaldi.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelOutArgs {
    /// Model file format: json (cepstra's own) or kaldi (<DiagGMM>/<FullGMM>)
    #[arg(long, default_value = "json", value_parser = ["json", "kaldi"])]
    pub format: String,
    /// For --format=kaldi: write binary (true) or text (false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub binary: bool,
}

impl ModelOutArgs {
    /// Under a Kaldi name, Kaldi's binary (or `--binary=false` text) format unless `--format`
    /// was given.
    pub fn apply_kaldi_defaults(&mut self, inv: &Invocation) {
        if inv.is_kaldi() && !inv.given("format") {
            self.format = "kaldi".into();
        }
    }
    fn format(&self) -> ModelFormat {
        match (self.format.as_str(), self.binary) {
            ("kaldi", true) => ModelFormat::KaldiBinary,
            ("kaldi", false) => ModelFormat::KaldiText,
            _ => ModelFormat::Json,
        }
    }
}

/// Reads a model in any format (detected): [`cepstra_gmm::io::read_model`], its content errors
/// naming the file.
pub fn read_model(name: &str) -> Result<Gmm> {
    cepstra_gmm::io::read_model(name).map_err(|e| named(e, || format!("reading model {name}")))
}

/// Writes a model atomically ([`cepstra_gmm::io::write_model`]).
pub fn write_model(gmm: &Gmm, name: &str, how: &ModelOutArgs) -> Result<()> {
    Ok(cepstra_gmm::io::write_model(gmm, name, how.format())?)
}

/// An error of reading `name`: errors of opening or reading the file (cepstra-io's, which name
/// it already) as they are; errors about its content with `what` as context.
fn named(e: cepstra_gmm::Error, what: impl FnOnce() -> String) -> anyhow::Error {
    match e {
        cepstra_gmm::Error::KaldiIo(_) => e.into(),
        e => anyhow::Error::from(e).context(what()),
    }
}

/// How statistics are written: cepstra's format, or `--kaldi-format` (binary unless `--binary=false`).
#[derive(clap::Args, Debug, Clone)]
pub struct StatsOutArgs {
    /// Write Kaldi's AccumDiagGmm/AccumFullGmm format instead of cepstra's
    #[arg(long = "kaldi-format", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub kaldi_format: bool,
    /// With --kaldi-format: binary (true) or text (false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub binary: bool,
}

impl StatsOutArgs {
    /// Under a Kaldi name, Kaldi's accumulator format unless `--kaldi-format` was given.
    pub fn apply_kaldi_defaults(&mut self, inv: &Invocation) {
        if inv.is_kaldi() && !inv.given("kaldi_format") {
            self.kaldi_format = true;
        }
    }
}

/// Which name a GMM subcommand was called by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// cepstra's own name (`gmm-est`): cepstra's defaults and formats.
    Cepstra,
    /// One of Kaldi's names (`gmm-global-est`, `fgmm-global-est`, …): Kaldi's defaults and
    /// formats for every option not given.
    Kaldi,
}

/// How a subcommand was called: the name used and the options given on the command line (or in
/// a `--config` file).
pub struct Invocation<'a> {
    name: &'a str,
    matches: &'a clap::ArgMatches,
}

impl<'a> Invocation<'a> {
    /// `name` is the subcommand token of the command line, `matches` its parsed options.
    pub fn new(name: &'a str, matches: &'a clap::ArgMatches) -> Self {
        Self { name, matches }
    }
    /// The name the subcommand was called by.
    pub fn name(&self) -> &str {
        self.name
    }
    /// cepstra's name or Kaldi's.
    pub fn flavour(&self) -> Flavour {
        if self.name.starts_with("gmm-global-") || self.name.starts_with("fgmm-global-") {
            Flavour::Kaldi
        } else {
            Flavour::Cepstra
        }
    }
    /// Called by a Kaldi name.
    pub fn is_kaldi(&self) -> bool {
        self.flavour() == Flavour::Kaldi
    }
    /// Called by a Kaldi full-covariance name (`fgmm-global-*`).
    pub fn is_kaldi_full(&self) -> bool {
        self.name.starts_with("fgmm-global-")
    }
    /// Whether the option with clap id `id` (the field name) was given by the user.
    pub fn given(&self, id: &str) -> bool {
        // A misspelt id would silently override what the user gave: caught by the tests.
        debug_assert!(
            self.matches.try_get_raw(id).is_ok(),
            "no option with id {id} in {}",
            self.name
        );
        matches!(
            self.matches
                .try_get_raw(id)
                .map(|_| self.matches.value_source(id)),
            Ok(Some(clap::parser::ValueSource::CommandLine))
        )
    }
}

/// Under a Kaldi name, Kaldi's `MleDiagGmmOptions` (`gmm-global-*`) or `MleFullGmmOptions`
/// (`fgmm-global-*`: minimum occupancy 100) for every estimation option not given.
pub fn apply_kaldi_estimate_defaults(opts: &mut EstimateOptions, inv: &Invocation) {
    if !inv.is_kaldi() {
        return;
    }
    let k = if inv.is_kaldi_full() {
        EstimateOptions::kaldi_full()
    } else {
        EstimateOptions::kaldi_diag()
    };
    macro_rules! default_unless_given {
        ($($f:ident),*) => {$(
            if !inv.given(stringify!($f)) {
                opts.$f = k.$f.clone();
            }
        )*};
    }
    default_unless_given!(
        min_gaussian_weight,
        min_gaussian_occupancy,
        remove_low_count_gaussians,
        var_floor,
        rel_var_floor,
        reg_covar,
        max_condition,
        mix_up,
        perturb_factor,
        mix_up_seed
    );
}

/// Kaldi's `--update-flags`: cepstra always updates means, variances and weights, so only a
/// set of exactly `m`, `v`, `w` (any order; Kaldi's default `mvw`) is accepted.
pub fn check_update_flags(flags: &str) -> Result<()> {
    let mut seen: Vec<char> = flags.chars().collect();
    seen.sort_unstable();
    seen.dedup();
    if seen != ['m', 'v', 'w'] {
        bail!(
            "--update-flags={flags}: not supported by cepstra (it always updates means, \
             variances and weights: use mvw)"
        );
    }
    Ok(())
}

/// Kaldi's `--gselect`: not supported; a clear error rather than silently scoring all
/// Gaussians.
pub fn reject_gselect(gselect: &Option<String>) -> Result<()> {
    if let Some(g) = gselect {
        bail!(
            "--gselect={g}: not supported by cepstra (Gaussian selection is not implemented; \
             every Gaussian is evaluated on every frame)"
        );
    }
    Ok(())
}

/// An average log-likelihood per frame for a log line: "not recorded" when the statistics
/// came (in part) from Kaldi-format accumulators, which do not store it (NaN).
pub fn show_avg_loglike(avg: f64) -> String {
    if avg.is_nan() {
        "not recorded (Kaldi-format accumulators do not store it)".into()
    } else {
        format!("{avg:.6}")
    }
}

/// Reads statistics in any format (detected): [`cepstra_gmm::io::read_stats`], its content
/// errors naming the file.
pub fn read_stats(name: &str) -> Result<GmmStats> {
    cepstra_gmm::io::read_stats(name).map_err(|e| named(e, || format!("reading statistics {name}")))
}

/// Writes statistics atomically in the format `how` asks for ([`cepstra_gmm::io::write_stats`]).
pub fn write_stats(stats: &GmmStats, name: &str, how: &StatsOutArgs) -> Result<()> {
    let format = match (how.kaldi_format, how.binary) {
        (false, _) => StatsFormat::Cepstra,
        (true, true) => StatsFormat::KaldiBinary,
        (true, false) => StatsFormat::KaldiText,
    };
    Ok(cepstra_gmm::io::write_stats(stats, name, format)?)
}

/// Reads every matrix of a feature table and stacks the frames (utterance order kept).
pub fn read_all_frames(rspecifier: &str) -> Result<(Array2<f32>, usize)> {
    let mut mats = Vec::new();
    let mut dim = None;
    for (key, m) in crate::common::feature_table::FeatureTable::open(rspecifier)?.read_all()? {
        match dim {
            None => dim = Some(m.ncols()),
            Some(d) if d != m.ncols() => bail!(
                "utterance {key} has dimension {}, earlier ones {d}",
                m.ncols()
            ),
            _ => {}
        }
        mats.push(m);
    }
    if mats.is_empty() {
        bail!("{rspecifier}: no features");
    }
    let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
    Ok((concatenate(Axis(0), &views)?, mats.len()))
}
