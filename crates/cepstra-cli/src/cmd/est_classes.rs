//! `cepstra est-classes`: sum the per-job statistics of a pass and update every class.

use anyhow::{bail, Context, Result};
use cepstra_gmm::EstimateOptions;
use cepstra_train::{ClassAccs, ModelSet, Overrides};
use clap::{ArgMatches, FromArgMatches};

use crate::common::class_args::{explicit_overrides, log_summary};

/// Sum the statistics files of one EM pass (exactly: any split gives the same bits) and
/// re-estimate every class (converged classes are kept). Uses the options recorded in the model
/// set; estimation options given here replace them (and are recorded).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra est-classes exp/classes/0.mdl exp/classes/0.1.acc exp/classes/0.2.acc exp/classes/1.mdl
See also: acc-classes, init-classes"
)]
pub struct Inner {
    #[command(flatten)]
    estimate: EstimateOptions,
    /// Convergence threshold on |Δ average log-likelihood per frame| (0: never converged)
    #[arg(long, default_value_t = 0.0)]
    tol: f64,
    /// MODELSET ACC1 [ACC2 ...] MODELSET_OUT
    #[arg(required = true, num_args = 3.., value_name = "FILES")]
    files: Vec<String>,
}

/// The arguments, with the options given explicitly (they override the recorded ones).
#[derive(Debug)]
pub struct Args {
    inner: Inner,
    explicit: Overrides,
}

impl FromArgMatches for Args {
    fn from_arg_matches(m: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let inner = Inner::from_arg_matches(m)?;
        let mut values = serde_json::to_value(&inner.estimate)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e))?;
        if let Some(o) = values.as_object_mut() {
            o.insert("tol".into(), inner.tol.into());
        }
        let explicit = explicit_overrides(m, &values);
        Ok(Args { inner, explicit })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for Args {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Inner::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Inner::augment_args_for_update(cmd)
    }
}

pub fn run(a: Args) -> Result<()> {
    let files = &a.inner.files;
    let (model_in, rest) = files.split_first().context("no model set given")?;
    let (model_out, accs) = rest.split_last().context("no output model set given")?;
    if accs.is_empty() {
        bail!("no statistics files: est-classes MODELSET ACC1 [ACC2 ...] MODELSET_OUT");
    }
    let set = ModelSet::read(model_in).with_context(|| format!("reading {model_in}"))?;
    let mut sum = ClassAccs::read(&accs[0]).with_context(|| format!("reading {}", accs[0]))?;
    sum.check_model_set(&set, &accs[0])?;
    for p in &accs[1..] {
        let acc = ClassAccs::read(p).with_context(|| format!("reading {p}"))?;
        sum.merge(&acc, p)?;
    }
    if !a.explicit.is_empty() {
        log::info!("options replacing the recorded ones: {:?}", a.explicit);
    }
    let next = cepstra_train::est_classes_with(&set, &sum, &a.explicit)?;
    next.write(model_out)
        .with_context(|| format!("writing {model_out}"))?;
    log_summary(&next);
    Ok(())
}
