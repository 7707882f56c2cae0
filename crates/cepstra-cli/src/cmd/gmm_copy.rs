//! `cepstra gmm-copy`: convert a model between formats (JSON, Kaldi binary, Kaldi text). Under
//! Kaldi's names (gmm-global-copy, fgmm-global-copy) Kaldi's format is the default.

use anyhow::Result;

use crate::common::gmm_io::{read_model, write_model, Invocation, ModelOutArgs};

/// Copy a model, converting its format (the input format is detected).
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra gmm-copy --format=kaldi --binary=false final.mdl final.txt")]
pub struct Args {
    #[command(flatten)]
    out: ModelOutArgs,
    /// The model (any format)
    model_in: String,
    /// Where to write it
    model_out: String,
}

pub fn run(mut a: Args, inv: &Invocation) -> Result<()> {
    a.out.apply_kaldi_defaults(inv);
    let gmm = read_model(&a.model_in)?;
    write_model(&gmm, &a.model_out, &a.out)
}
