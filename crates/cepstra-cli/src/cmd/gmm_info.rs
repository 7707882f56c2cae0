//! `cepstra gmm-info`: print what a model is.

use anyhow::Result;

use crate::common::gmm_io::read_model;

/// Print the number of Gaussians, dimension, covariance type, parameter count and weights.
#[derive(clap::Args, Debug)]
#[command(after_help = "e.g.: cepstra gmm-info final.mdl")]
pub struct Args {
    /// The model (any format)
    model: String,
}

pub fn run(a: Args) -> Result<()> {
    let gmm = read_model(&a.model)?;
    println!("number of gaussians {}", gmm.num_gauss());
    println!("feature dimension {}", gmm.dim());
    println!(
        "covariance {}",
        format!("{:?}", gmm.covariance_type()).to_lowercase()
    );
    println!("number of parameters {}", gmm.num_params());
    let w: Vec<String> = gmm.weights().iter().map(|w| format!("{w:.6}")).collect();
    println!("weights {}", w.join(" "));
    Ok(())
}
