//! What every subcommand shares: argument preprocessing, the ordered parallel loop, progress,
//! logging.

pub mod args;
pub mod class_args;
pub mod feature_table;
pub mod features;
pub mod gmm_io;
pub mod parallel;
pub mod progress;
pub mod scalars;
pub mod signals;

pub use parallel::{map_ordered, Counts};

/// A minimal Kaldi-style logger on stderr: `LOG (cepstra add-deltas) message`.
pub struct Logger {
    program: String,
}

static LOGGER: std::sync::OnceLock<Logger> = std::sync::OnceLock::new();

impl Logger {
    /// Installs the logger for `program` (the subcommand name); `verbose` shows debug lines.
    pub fn install(program: &str, verbose: bool) {
        let logger = LOGGER.get_or_init(|| Logger {
            program: program.to_string(),
        });
        if log::set_logger(logger).is_ok() {
            log::set_max_level(if verbose {
                log::LevelFilter::Debug
            } else {
                log::LevelFilter::Info
            });
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let level = match record.level() {
            log::Level::Error => "ERROR",
            log::Level::Warn => "WARNING",
            log::Level::Info => "LOG",
            _ => "VLOG",
        };
        eprintln!("{level} (cepstra {}) {}", self.program, record.args());
    }
    fn flush(&self) {}
}

/// An error and its causes as one line, `outer: cause: …`, each text once: a cause whose text an
/// outer message already includes (a library error that prints its `source`) is not repeated.
pub fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Checks, before any work, every output file argument of a subcommand (positional or option
/// whose name ends in `_out` or `_wxfilename`, the convention of `cmd/*.rs`): a missing
/// directory or a directory given as a file is reported at once, not after training.
/// Table wspecifiers need no check: their writers open at the start.
pub fn check_output_args(sub: &clap::Command, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        if !(id.ends_with("_out") || id.ends_with("_wxfilename")) {
            continue;
        }
        let Ok(Some(values)) = matches.try_get_raw(id) else {
            continue;
        };
        for v in values {
            if let Some(name) = v.to_str() {
                cepstra_io::filename::check_output(name)?;
            }
        }
    }
    Ok(())
}

/// Fails when a feature matrix holds NaN or infinity, naming the frame and column
/// ([`cepstra_feat::check_finite`]).
pub fn ensure_finite(feats: &ndarray::Array2<f32>) -> anyhow::Result<()> {
    Ok(cepstra_feat::check_finite(feats.view())?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn render_error_names_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e =
            anyhow::Error::new(cepstra_io::Error::io("m.json", io)).context("reading the model");
        let text = super::render_error(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(text.starts_with("reading the model: m.json: "), "{text}");
    }
}
