//! What the per-class trainer subcommands share (`train-classes`, `init-classes`,
//! `acc-classes`, `est-classes`, and `classify` / the HMM trainers for the front-end): the
//! training options, the recorded front-end, reading the features and labels, `--class-opts`
//! files, the detection of options given explicitly, the end-of-run summary.

use std::path::Path;

use anyhow::{bail, Context, Result};
use cepstra_feat::{
    CmvnMode, FbankOptions, FeatureOptions, FrontEnd, FrontEndOptions, MfccOptions,
};
use cepstra_gmm::FitOptions;
use cepstra_io::table::read_text_table;
use cepstra_train::{ClassOverrides, Criterion, ModelSet, Overrides, TrainOptions, TrainingData};
use clap::parser::ValueSource;
use clap::{ArgMatches, FromArgMatches};
use ndarray::Array2;

use crate::common::progress::Progress;

/// Options of train-classes and init-classes: every option of the GMM engine (with the
/// coursework's defaults: 5 Gaussians, full covariance, 5 EM iterations, tol 0, k-means per
/// class, seed 0, reg-covar 1e-6 on top of Kaldi's floors), model selection and per-class
/// overrides.
#[derive(clap::Args, Debug)]
#[command(
    mut_arg("num_iters", |a| a.default_value("5")),
    mut_arg("tol", |a| a.default_value("0")),
    mut_arg("reg_covar", |a| a.default_value("0.000001"))
)]
pub struct TrainArgs {
    #[command(flatten)]
    pub fit: FitOptions,
    /// Choose the number of Gaussians per class among these candidates, e.g. 1,2,4,5,8,16
    /// (overrides --num-gauss)
    #[arg(long = "select-k", value_delimiter = ',', value_name = "K,K,...")]
    pub select_k: Vec<usize>,
    /// Model selection criterion: bic (training frames) or heldout (every 5th utterance of the
    /// class held out, best average log-likelihood)
    #[arg(long, default_value = "bic", value_parser = ["bic", "heldout"])]
    pub criterion: String,
    /// Per-class options: lines `<label> --num-gauss=8 --covariance=diag ...` (`#` comments)
    #[arg(long = "class-opts", value_name = "FILE")]
    pub class_opts: Option<String>,
}

impl TrainArgs {
    /// The library's options and the per-class overrides.
    pub fn options(&self) -> Result<(TrainOptions, ClassOverrides)> {
        let opts = TrainOptions {
            fit: self.fit.clone(),
            select_k: self.select_k.clone(),
            criterion: if self.criterion == "heldout" {
                Criterion::Heldout
            } else {
                Criterion::Bic
            },
        };
        opts.validate()?;
        let overrides = match &self.class_opts {
            Some(f) => read_class_opts(f)?,
            None => ClassOverrides::new(),
        };
        Ok((opts, overrides))
    }
}

/// The feature pipeline of the features given (recorded in the model set by train-classes and
/// init-classes; compared with the model's by classify and acc-classes).
#[derive(clap::Args, Debug, Clone)]
pub struct FrontEndArgs {
    /// The compute-mfcc-feats (or compute-fbank-feats) config file the features were made with,
    /// e.g. conf/mfcc.conf: recorded as the model's front-end, so that `cepstra recognize` can
    /// run it on new audio (with --cmvn and --deltas)
    #[arg(long = "feature-config", value_name = "FILE")]
    pub feature_config: Option<String>,
    /// Which features --feature-config configures
    #[arg(long = "feature-type", default_value = "mfcc", value_parser = ["mfcc", "fbank"])]
    pub feature_type: String,
    /// The normalisation the features had (apply-cmvn): none, utterance (per-utterance
    /// statistics) or speaker (compute-cmvn-stats --spk2utt, apply-cmvn --utt2spk)
    #[arg(long, value_enum, default_value_t = CmvnMode::Utterance)]
    pub cmvn: CmvnMode,
    /// Whether apply-cmvn normalised variances too
    #[arg(long = "norm-vars", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub norm_vars: bool,
    /// The add-deltas order of the features (0: no add-deltas)
    #[arg(long = "deltas", default_value_t = 2, value_name = "ORDER")]
    pub deltas: usize,
    /// The add-deltas --delta-window of the features
    #[arg(long = "delta-window", default_value_t = 2)]
    pub delta_window: usize,
}

impl FrontEndArgs {
    /// The pipeline, when --feature-config is given.
    pub fn frontend(&self) -> Result<Option<FrontEndOptions>> {
        let Some(path) = &self.feature_config else {
            return Ok(None);
        };
        let lines = crate::common::args::read_config(path)?;
        let args: Vec<String> = lines
            .iter()
            .map(|w| match w.split_once('=') {
                Some((n, v)) => format!("{}={v}", n.replace('_', "-")),
                None => w.replace('_', "-"),
            })
            .collect();
        let parse = |cmd: clap::Command| {
            cmd.no_binary_name(true)
                .try_get_matches_from(&args)
                .map_err(|e| {
                    anyhow::anyhow!("--feature-config {path}: {}", e.render().to_string().trim())
                })
        };
        let features = if self.feature_type == "fbank" {
            let m = parse(<FbankOptions as clap::Args>::augment_args(
                clap::Command::new("compute-fbank-feats"),
            ))?;
            FeatureOptions::Fbank(FbankOptions::from_arg_matches(&m)?)
        } else {
            let m = parse(<MfccOptions as clap::Args>::augment_args(
                clap::Command::new("compute-mfcc-feats"),
            ))?;
            FeatureOptions::Mfcc(MfccOptions::from_arg_matches(&m)?)
        };
        let fe = FrontEndOptions::new(
            features,
            self.cmvn,
            self.norm_vars,
            self.deltas,
            self.delta_window,
        );
        FrontEnd::new(&fe).with_context(|| format!("--feature-config {path}"))?;
        Ok(Some(fe))
    }
}

/// Logs one line per class: components, frames, last log-likelihood.
pub fn log_summary(set: &ModelSet) {
    for c in &set.classes {
        log::info!(
            "class '{}': {} Gaussians, {} utterances, {} frames, average log-likelihood {}",
            c.label,
            c.model.num_gauss(),
            c.num_utts,
            c.num_frames,
            c.loglikes
                .last()
                .map_or("(not trained yet)".to_string(), |v| format!("{v:.4}"))
        );
    }
    match &set.frontend {
        Some(fe) => log::info!("front-end: {}", fe.describe()),
        None => log::info!(
            "no front-end recorded (give --feature-config to let `recognize` use the model set)"
        ),
    }
    log::info!(
        "Wrote {} classes after {} EM passes.",
        set.classes.len(),
        set.iteration
    );
}

/// Reads every utterance of a feature table (permissive rspecifiers skip unreadable ones).
pub fn read_features(rspecifier: &str) -> Result<Vec<(String, Array2<f32>)>> {
    let mut table = crate::common::feature_table::FeatureTable::open(rspecifier)?;
    let mut progress = Progress::new("utterances read");
    let mut out = Vec::new();
    while let Some(item) = table.next_good() {
        out.push(item?);
        progress.inc(1);
    }
    progress.finish();
    Ok(out)
}

/// Reads the features and the text file and joins them.
pub fn read_training_data(feats_rspecifier: &str, text: &str) -> Result<TrainingData> {
    let feats = read_features(feats_rspecifier)?;
    let text_entries = read_text_table(text).with_context(|| format!("reading {text}"))?;
    let data = TrainingData::new(feats, &text_entries).with_context(|| {
        format!("joining the features of {feats_rspecifier} with the labels of {text}")
    })?;
    log::info!(
        "{} utterances, {} frames, {} classes",
        data.num_utts(),
        data.num_frames(),
        data.classes().len()
    );
    Ok(data)
}

/// The options given explicitly (on the command line or in a --config file) among the fields
/// of `values` (a serialised options struct; `estimate` is searched too), as overrides.
pub fn explicit_overrides(m: &ArgMatches, values: &serde_json::Value) -> Overrides {
    let mut out = Overrides::new();
    for id in m.ids() {
        let id = id.as_str();
        if m.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let found = values
            .get(id)
            .or_else(|| values.get("estimate").and_then(|e| e.get(id)));
        if let Some(v) = found {
            if id != "estimate" {
                out.insert(id.to_string(), v.clone());
            }
        }
    }
    out
}

/// Reads a `--class-opts` file: `<label> --option=value ...` per line, `#` comments, blank
/// lines ignored; options are those of the GMM engine (e.g. --num-gauss, --covariance,
/// --reg-covar).
pub fn read_class_opts(path: &str) -> Result<ClassOverrides> {
    read_class_opts_of(
        path,
        |o: &FitOptions| serde_json::to_value(o),
        |_, _| Ok(()),
    )
}

/// Reads a `--class-opts` file (format of [`read_class_opts`]) whose options are those of the
/// options struct `T` (its clap long options; the values recorded under its serde field names,
/// which `to_json` gives). `check(label, overrides)` may refuse a line's options; its message is
/// prefixed with the file and line, as clap's parse errors are.
pub fn read_class_opts_of<T>(
    path: &str,
    to_json: impl Fn(&T) -> serde_json::Result<serde_json::Value>,
    check: impl Fn(&str, &Overrides) -> std::result::Result<(), String>,
) -> Result<ClassOverrides>
where
    T: clap::Args + FromArgMatches,
{
    let text = std::fs::read_to_string(Path::new(path))
        .with_context(|| format!("reading --class-opts file {path}"))?;
    let mut out = ClassOverrides::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let label = words.next().unwrap_or_default().to_string();
        let args: Vec<String> = words
            .map(|w| match w.split_once('=') {
                Some((n, v)) => format!("{}={v}", n.replace('_', "-")),
                None => w.replace('_', "-"),
            })
            .collect();
        if args.is_empty() {
            bail!("{path}:{}: no options after the label '{label}'", i + 1);
        }
        let cmd = T::augment_args(clap::Command::new("class-opts").no_binary_name(true));
        let m = cmd
            .try_get_matches_from(&args)
            .map_err(|e| anyhow::anyhow!("{path}:{}: {}", i + 1, e.render().to_string().trim()))?;
        let parsed =
            T::from_arg_matches(&m).map_err(|e| anyhow::anyhow!("{path}:{}: {e}", i + 1))?;
        let ov = explicit_overrides(&m, &to_json(&parsed)?);
        check(&label, &ov).map_err(|e| anyhow::anyhow!("{path}:{}: {e}", i + 1))?;
        if out.insert(label.clone(), ov).is_some() {
            bail!("{path}:{}: class '{label}' appears twice", i + 1);
        }
    }
    Ok(out)
}
