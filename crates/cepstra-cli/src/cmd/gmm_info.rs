//! `cepstra gmm-info`: print what a model (or a model set) is.

use std::io::Write;

use anyhow::{Context, Result};
use cepstra_io::filename::Input;
use cepstra_train::{is_model_set, ModelSet};

/// Print the number of Gaussians, dimension, covariance type, parameter count and weights; for a
/// model set (train-classes, init-classes, est-classes), one line per class and its front-end.
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra gmm-info final.mdl")]
pub struct Args {
    /// The model (any format) or model set
    model: String,
}

pub fn run(a: Args) -> Result<()> {
    // writeln! (not println!): a closed stdout is an error the caller treats as success, never
    // a panic.
    let mut out = std::io::stdout().lock();
    let bytes = Input::open(&a.model)?.read_all()?;
    if is_model_set(&bytes) {
        let set = ModelSet::from_bytes(&bytes, &a.model)?;
        write!(out, "{}", set.info())?;
        return Ok(());
    }
    let gmm = cepstra_gmm::io::model_from_bytes(&bytes)
        .with_context(|| format!("reading model {}", a.model))?;
    writeln!(out, "number of gaussians {}", gmm.num_gauss())?;
    writeln!(out, "feature dimension {}", gmm.dim())?;
    writeln!(
        out,
        "covariance {}",
        format!("{:?}", gmm.covariance_type()).to_lowercase()
    )?;
    writeln!(out, "number of parameters {}", gmm.num_params())?;
    let w: Vec<String> = gmm.weights().iter().map(|w| format!("{w:.6}")).collect();
    writeln!(out, "weights {}", w.join(" "))?;
    out.flush()?;
    Ok(())
}
