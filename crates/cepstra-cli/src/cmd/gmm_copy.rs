//! `cepstra gmm-copy`: convert a model between formats (JSON, Kaldi binary, Kaldi text) or
//! covariance types (`--covariance`; Kaldi's gmm-global-to-fgmm, fgmm-global-to-gmm), or take one
//! class out of a model set.

use std::io::Write;

use anyhow::{bail, Context, Result};
use cepstra_io::filename::{Input, Output};
use cepstra_train::{is_model_set, ModelSet};

use crate::common::gmm_io::{write_model, Invocation, ModelOutArgs};

/// Copy a model, converting its format (the input format is detected). A model set is copied
/// whole (JSON: as is; --format=kaldi: a Kaldi archive `<label> <FullGMM>…`, text with
/// --binary=false), or one class of it with --class.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "e.g.: cepstra gmm-copy --format=kaldi --binary=false final.mdl final.txt
       cepstra gmm-copy --class=7 exp/classes/final.mdl 7.mdl"
)]
pub struct Args {
    #[command(flatten)]
    out: ModelOutArgs,
    /// Convert to this covariance type (under gmm-global-to-fgmm: full; under
    /// fgmm-global-to-gmm: diag)
    #[arg(long, value_enum)]
    covariance: Option<cepstra_gmm::CovarianceType>,
    /// Of a model set, copy only the model of this class
    #[arg(long, value_name = "LABEL")]
    class: Option<String>,
    /// The model (any format) or model set
    model_in: String,
    /// Where to write it
    model_out: String,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    a.out.apply_kaldi_defaults(inv);
    let covariance = match (a.covariance, inv.name()) {
        (None, "gmm-global-to-fgmm") => Some(cepstra_gmm::CovarianceType::Full),
        (None, "fgmm-global-to-gmm") => Some(cepstra_gmm::CovarianceType::Diag),
        (c, _) => c,
    };
    let bytes = Input::open(&a.model_in)?.read_all()?;
    if !is_model_set(&bytes) {
        if a.class.is_some() {
            bail!("--class: {} is a single model, not a model set", a.model_in);
        }
        let mut gmm = cepstra_gmm::io::model_from_bytes(&bytes)
            .with_context(|| format!("reading model {}", a.model_in))?;
        if let Some(to) = covariance {
            gmm = cepstra_gmm::kaldi_compat::convert_covariance(&gmm, to)?;
        }
        return write_model(&gmm, &a.model_out, &a.out);
    }
    if covariance.is_some() {
        bail!(
            "--covariance: {} is a model set; convert single models (gmm-copy --class=LABEL first)",
            a.model_in
        );
    }
    let set = ModelSet::from_bytes(&bytes, &a.model_in)?;
    match &a.class {
        Some(label) => {
            let Some(c) = set.class(label) else {
                bail!(
                    "--class={label}: {} has no such class (classes: {})",
                    a.model_in,
                    set.labels().collect::<Vec<_>>().join(" ")
                );
            };
            write_model(&c.model, &a.model_out, &a.out)
        }
        None => {
            let bytes = match a.out.format.as_str() {
                "kaldi" => set.to_kaldi_archive(a.out.binary)?,
                _ => set.to_bytes()?,
            };
            let mut out = Output::create(&a.model_out)?;
            out.write_all(&bytes)
                .with_context(|| format!("writing {}", a.model_out))?;
            out.commit()?;
            Ok(())
        }
    }
}
