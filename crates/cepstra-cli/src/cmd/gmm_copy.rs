//! `cepstra gmm-copy`: convert a model between formats (JSON, Kaldi binary, Kaldi text).

use anyhow::Result;

use crate::common::gmm_io::{read_model, write_model, ModelOutArgs};

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

pub fn run(a: Args) -> Result<()> {
    let gmm = read_model(&a.model_in)?;
    write_model(&gmm, &a.model_out, &a.out)
}
